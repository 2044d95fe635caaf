"""Adapters against fixtures written in the project, encodings, formats and every bad-input case."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from appeals.datasets import (
    LoadError,
    load_any,
    load_dataset,
    load_file,
    parse_mapping,
    read_table,
)
from appeals.tables import detect_delimiter
from tests.fixtures.make_dataset_fixtures import write_all


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_all(tmp_path_factory.mktemp("datasets"))


def test_perm_adapter(fixture_root: Path) -> None:
    res = load_dataset("perm_promobot_2023", fixture_root)
    frame = res.frame
    assert len(frame) == 4 and res.skipped_rows == 0
    assert frame.loc[0, "topic"] == "Ремонт дороги"
    assert frame.loc[0, "topic_group"] == "Дороги"
    assert frame.loc[0, "department"] == "Город Пермь"
    assert frame["id"].tolist() == ["perm-1", "perm-2", "perm-3", "perm-4"]
    assert (frame["source"] == "perm_promobot_2023").all()


def test_kursk_adapter_maps_category_and_derives_test_groups(fixture_root: Path) -> None:
    frame = load_dataset("kursk_2022", fixture_root).frame
    train = frame[frame["source_split"] == "train"].set_index("id")
    test = frame[frame["source_split"] == "test"].set_index("id")
    assert train.loc["kursk-1", "topic_group"] == "Дороги, парковки и пешеходные переходы"
    assert train.loc["kursk-3", "topic_group"] == "Экология и отходы"
    assert test.loc["kursk-4", "topic_group"] == "Дороги, парковки и пешеходные переходы"
    assert pd.isna(test.loc["kursk-5", "topic_group"])  # topic unseen in train: no group derived
    assert train.loc["kursk-2", "department"] == "Администрация города"


def test_ryazan_adapter_skips_empty_text_and_keeps_first_executor(fixture_root: Path) -> None:
    res = load_dataset("ryazan_nashdom_2019", fixture_root)
    frame = res.frame.set_index("id")
    assert res.skipped_rows == 1
    assert any("row 3, field 'text': empty text" in w for w in res.warnings)
    assert frame.loc["ryazan-5", "department"] == "Префектура Советского района"
    assert pd.isna(frame.loc["ryazan-7", "department"])
    assert any("blank in 1 rows" in w for w in res.warnings)
    assert any("several executors in 1 rows" in w for w in res.warnings)


def test_omsk_feed_ignores_model_severity(fixture_root: Path) -> None:
    frame = load_dataset("omsk_demo_feed_2026", fixture_root).frame
    assert frame.loc[0, "topic_group"] == "Дороги"
    assert frame.loc[0, "municipality"] == "Омск г.о."
    assert frame.loc[0, "created_at"] == pd.Timestamp("2025-12-24 20:06")
    assert pd.isna(frame.loc[0, "urgency"])


def test_unknown_dataset_name_lists_known(fixture_root: Path) -> None:
    with pytest.raises(LoadError, match="known"):
        load_dataset("moscow", fixture_root)


def test_named_dataset_without_data_dir_says_how_to_configure() -> None:
    with pytest.raises(LoadError, match="APPEALS_DATA_DIR"):
        load_any("perm_promobot_2023", None)


ROWS = [{"Номер": "a1", "Текст": "Яма на дороге у дома 5", "Тема": "Ямы"},
        {"Номер": "a2", "Текст": "Не горит фонарь", "Тема": "Освещение"}]
MAPPING = {"id": "Номер", "text": "Текст", "topic": "Тема"}


@pytest.mark.parametrize(("encoding", "sep"), [("utf-8", ","), ("utf-8-sig", ";"), ("cp1251", ";"),
                                               ("cp1251", ",")])
def test_csv_encodings_and_separators(tmp_path: Path, encoding: str, sep: str) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame(ROWS).to_csv(path, sep=sep, index=False, encoding=encoding)
    frame = load_file(path, MAPPING).frame
    assert frame["text"].tolist() == ["Яма на дороге у дома 5", "Не горит фонарь"]
    assert frame["id"].tolist() == ["a1", "a2"]


@pytest.mark.parametrize("suffix", [".xlsx", ".jsonl", ".parquet", ".json"])
def test_other_formats(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"export{suffix}"
    frame = pd.DataFrame(ROWS)
    if suffix == ".xlsx":
        frame.to_excel(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".json":
        path.write_text(json.dumps(ROWS, ensure_ascii=False), encoding="utf-8")
    else:
        frame.to_parquet(path)
    loaded = load_file(path, MAPPING).frame
    assert loaded["topic"].tolist() == ["Ямы", "Освещение"]


def test_columns_guessed_by_name(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"Текст обращения": "Нет воды", "Дата": "01.02.2026", "Район": "Северный"}]).to_csv(
        path, index=False)
    frame = load_file(path).frame
    assert frame.loc[0, "text"] == "Нет воды"
    assert frame.loc[0, "district"] == "Северный"
    assert frame.loc[0, "created_at"] == pd.Timestamp("2026-02-01")


def test_detect_delimiter() -> None:
    assert detect_delimiter("a;b;c\n1;2;3") == ";"
    assert detect_delimiter("a,b\n") == ","


# ----------------------------------------------------------------------------- bad input


def test_missing_column_names_file_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    with pytest.raises(LoadError, match=r"export.csv: column\(s\) \['Исполнитель'\] not found"):
        load_file(path, {**MAPPING, "department": "Исполнитель"})


def test_no_text_column(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"a": 1}]).to_csv(path, index=False)
    with pytest.raises(LoadError, match="no text column found"):
        load_file(path)


@pytest.mark.parametrize("content", [b"", b"   \n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(LoadError, match="empty"):
        read_table(path)


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("id,text\n", encoding="utf-8")
    with pytest.raises(LoadError, match="header but no rows"):
        read_table(path)


@pytest.mark.parametrize("raw", ["id,text\n1,Привет\n".encode("utf-16"), b"id,text\n1,\x98\x98\x98\n"])
def test_unknown_encoding(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "weird.csv"
    path.write_bytes(raw)
    with pytest.raises(LoadError, match="unknown text encoding"):
        read_table(path)


def test_non_text_value_skipped_with_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('{"text": "Нормальный текст"}\n{"text": 42}\n{"text": {"a": 1}}\n', encoding="utf-8")
    res = load_file(path)
    assert len(res.frame) == 1 and res.skipped_rows == 2
    assert "row 2, field 'text': not text (int)" in res.warnings[0]
    assert "row 3, field 'text': not text (dict)" in res.warnings[1]


def test_invalid_json_line(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(LoadError, match="line 2: not valid JSON"):
        read_table(path)


def test_label_blanks_are_counted_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"text": "a", "topic": "Ямы"}, {"text": "b", "topic": ""}, {"text": "c", "topic": " "}]
                 ).to_csv(path, index=False)
    res = load_file(path)
    assert len(res.frame) == 3
    assert res.frame["topic"].isna().sum() == 2
    assert any("'topic' (topic) is blank in 2 rows" in w for w in res.warnings)


def test_bad_urgency_label_dropped_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"text": "a", "urgency": "asap"}, {"text": "b", "urgency": "high"}]).to_csv(path, index=False)
    res = load_file(path)
    assert res.frame["urgency"].tolist()[1] == "high" and pd.isna(res.frame["urgency"].iloc[0])
    assert any("row 2, field 'urgency'" in w for w in res.warnings)


def test_bad_dates_counted(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"text": "a", "created_at": "вчера"}, {"text": "b", "created_at": "2026-01-05"}]).to_csv(
        path, index=False)
    res = load_file(path)
    assert pd.isna(res.frame["created_at"].iloc[0])
    assert any("1 values are not dates" in w for w in res.warnings)


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"id": "1", "text": "a"}, {"id": "1", "text": "b"}]).to_csv(path, index=False)
    with pytest.raises(LoadError, match="ids are not unique"):
        load_file(path)


def test_missing_file() -> None:
    with pytest.raises(LoadError, match="file not found"):
        read_table(Path("no/such/file.csv"))


@pytest.mark.parametrize("items", [["text"], ["=x"], ["text="]])
def test_parse_mapping_errors(items: list[str]) -> None:
    with pytest.raises(LoadError, match="field=column"):
        parse_mapping(items)


def test_parse_mapping() -> None:
    assert parse_mapping(["text = Текст", "topic=Тема"]) == {"text": "Текст", "topic": "Тема"}


def test_mapping_unknown_field(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    with pytest.raises(LoadError, match="unknown fields"):
        load_file(path, {"txt": "Текст", "text": "Текст"})


@pytest.mark.parametrize(("raw", "expected"), [("2025-09-01T08:15:00", "2025-09-01 08:15"),
                                               ("2025-03-04", "2025-03-04"),
                                               ("04.03.2025", "2025-03-04"),
                                               ("04.03.2025 10:30", "2025-03-04 10:30")])
def test_dates_iso_and_russian_order(tmp_path: Path, raw: str, expected: str) -> None:
    path = tmp_path / "export.csv"
    pd.DataFrame([{"text": "a", "created_at": raw}]).to_csv(path, index=False)
    assert load_file(path).frame.loc[0, "created_at"] == pd.Timestamp(expected)
