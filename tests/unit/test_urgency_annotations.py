"""The project's annotated appeals (data/urgency_annotations.csv): joined to texts by id, checked row by row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from appeals.config import project_root
from appeals.datasets import LoadError
from appeals.labelmodel import LEVELS
from appeals.urgency_config import load_urgency_config
from appeals.urgency_data import annotated_rows, load_annotations

TEXTS = pd.DataFrame({"id": ["a-1", "a-2", "a-3"],
                      "text": ["Нет света на улице Мира", "Спасибо за ремонт!", "Когда откроют каток?"]})


def test_levels_are_joined_to_texts_by_id_and_dev_texts_dropped() -> None:
    table = pd.DataFrame({"id": ["a-3", "a-1", "a-2"], "urgency": ["low", "high", "low"]})
    rows = annotated_rows(table, TEXTS, exclude=["спасибо  за ремонт!"])
    assert rows["text"].tolist() == ["Когда откроют каток?", "Нет света на улице Мира"]
    assert rows["urgency"].tolist() == ["low", "high"]
    assert rows["created_at"].isna().all()


@pytest.mark.parametrize(("table", "message"), [
    (pd.DataFrame({"id": ["a-1"]}), "missing columns ['urgency']"),
    (pd.DataFrame({"id": ["a-1", "a-2"], "urgency": ["low", "urgent"]}), "row 2, field urgency: 'urgent'"),
    (pd.DataFrame({"id": ["a-1", "a-1"], "urgency": ["low", "low"]}), "row 2, field id: 'a-1' is labelled twice"),
    (pd.DataFrame({"id": ["a-1", "b-9"], "urgency": ["low", "low"]}), "row 2, field id: 'b-9' is in none"),
])
def test_bad_rows_name_file_row_and_field(table: pd.DataFrame, message: str) -> None:
    with pytest.raises(LoadError) as caught:
        annotated_rows(table, TEXTS, source="ann.csv")
    assert str(caught.value).startswith("ann.csv: ")
    assert message in str(caught.value)


def test_every_problem_is_counted_not_only_the_first() -> None:
    table = pd.DataFrame({"id": [f"x-{i}" for i in range(8)], "urgency": ["low"] * 8})
    with pytest.raises(LoadError, match=r"row 5, .*\(and 3 more\)"):
        annotated_rows(table, TEXTS, source="ann.csv")


def test_a_missing_annotation_file_is_a_readable_error(tmp_path: Path) -> None:
    cfg = load_urgency_config()
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"annotations": str(tmp_path / "none.csv")})})
    with pytest.raises(LoadError, match="none.csv: the urgency annotation file"):
        load_annotations(None, cfg)


def test_no_annotation_file_configured_gives_no_rows() -> None:
    cfg = load_urgency_config(project_root() / "training/configs/urgency_demo.toml")
    assert load_annotations(None, cfg).empty


def test_the_shipped_annotations_hold_ids_and_levels_only() -> None:
    cfg = load_urgency_config()
    table = pd.read_csv(project_root() / cfg.data.annotations, dtype=str)
    assert list(table.columns) == ["id", "urgency", "batch"]  # no text: the datasets stay outside the repo
    assert table["id"].is_unique
    assert set(table["urgency"]) == set(LEVELS)
    assert table["id"].str.match(r"^(perm|kursk|ryazan)-\d+$").all()


def test_the_shipped_annotations_join_the_real_datasets(real_data_dir: Path) -> None:
    cfg = load_urgency_config()
    rows = load_annotations(real_data_dir, cfg)
    assert len(rows) == 2800
    assert rows["text"].str.strip().ne("").all()
