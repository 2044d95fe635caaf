"""Operator corrections flow back into training: `add_corrections` joins them to the training part only."""

from __future__ import annotations

import pandas as pd
import pytest

from appeals.splits import add_group_keys
from appeals.training_data import Parts, add_corrections


def _part(rows: list[tuple[str, str, str | None, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "text", "topic", "topic_group"])
    frame["department"] = "Отдел благоустройства"
    return add_group_keys(frame).assign(members=lambda f: [[i] for i in f["id"]])


@pytest.fixture
def parts() -> Parts:
    train = _part([("t1", "Не вывозят мусор во дворе", "Мусор", "ЖКХ"),
                   ("t2", "Яма на дороге у школы", "Дороги", "Транспорт"),
                   ("t3", "Сломана скамейка в сквере", "Благоустройство", "ЖКХ")])
    val = _part([("v1", "Не горит фонарь у подъезда", "Освещение", "ЖКХ")])
    test = _part([("s1", "Нет воды в доме третий день", "Водоснабжение", "ЖКХ")])
    return Parts("demo", "hash", train, val, test, {"dataset": "demo"})


def test_a_correction_of_a_training_text_replaces_its_label(parts: Parts) -> None:
    fixes = pd.DataFrame({"text": ["  не вывозят МУСОР во дворе!  "], "topic": [None],
                          "department": ["Управление ЖКХ"]})
    out, counts = add_corrections(parts, fixes)
    row = out.train.set_index("id").loc["t1"]
    assert row["department"] == "Управление ЖКХ"
    assert row["topic"] == "Мусор"  # not corrected, so kept
    assert len(out.train) == 3
    assert counts["corrections_relabelled_train_rows"] == 1 and counts["corrected_labels"] == 1


def test_a_new_text_joins_training_with_only_its_corrected_labels(parts: Parts) -> None:
    fixes = pd.DataFrame({"id": ["a-9"], "text": ["Самокаты брошены поперёк тротуара"],
                          "department": ["Отдел транспорта"]})
    out, counts = add_corrections(parts, fixes)
    new = out.train.set_index("id").loc["a-9"]
    assert new["department"] == "Отдел транспорта"
    assert pd.isna(new["topic"]) and pd.isna(new["topic_group"])  # never the model's own guess
    assert new["source"] == "feedback"
    assert counts["corrections_added"] == 1
    assert out.manifest["corrections"] == counts and out.manifest["dataset"] == "demo"


def test_a_corrected_topic_brings_its_group(parts: Parts) -> None:
    fixes = pd.DataFrame({"text": ["Опять яма на дороге возле остановки"], "topic": ["Дороги"]})
    out, _ = add_corrections(parts, fixes)
    added = out.train[out.train["source"] == "feedback"].iloc[0]
    assert added["topic_group"] == "Транспорт"


def test_corrections_of_held_out_texts_stay_out_of_training(parts: Parts) -> None:
    fixes = pd.DataFrame({"text": ["Не горит фонарь у подъезда.", "НЕТ ВОДЫ В ДОМЕ ТРЕТИЙ ДЕНЬ"],
                          "department": ["Горсвет", "Водоканал"]})
    out, counts = add_corrections(parts, fixes)
    assert counts["corrections_skipped_in_val_or_test"] == 2 and counts["corrections_added"] == 0
    assert out.train.equals(parts.train)
    assert out.val is parts.val and out.test is parts.test


def test_the_newest_correction_of_a_text_wins(parts: Parts) -> None:
    fixes = pd.DataFrame({"text": ["Самокат на газоне", "самокат на газоне"],
                          "department": ["Первый отдел", "Второй отдел"]})
    out, counts = add_corrections(parts, fixes)
    added = out.train[out.train["source"] == "feedback"]
    assert list(added["department"]) == ["Второй отдел"] and counts["corrections_added"] == 1


def test_corrections_without_labels_are_refused_with_the_columns_named(parts: Parts) -> None:
    with pytest.raises(ValueError, match="column text and at least one of"):
        add_corrections(parts, pd.DataFrame({"text": ["что-то"], "comment": ["ок"]}))
