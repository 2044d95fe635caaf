"""Properties of the loaders (appeals.datasets): any bytes give a LoadResult or a readable LoadError.

A user's export may be anything; nothing but LoadError (a ValueError that names the file) may come out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from appeals.datasets import COLUMNS, LoadError, LoadResult, load_file

CSV_PIECES = ("text", "id", "created_at", "topic", "urgency", "Текст", "тема", ",", ";", "\"", "\"\"", "\n",
              "\r\n", "'", " ", "яма", "2025-01-02", "01.02.2025", "critical", "1", "", "\x00", "\ufeff", "=1+2")
JSON_KEYS = ("text", "id", "created_at", "topic", "topic_group", "department", "urgency", "district", "x", " text")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
csv_bytes = st.one_of(
    st.binary(max_size=400),
    st.lists(st.sampled_from(CSV_PIECES) | st.text(max_size=6), max_size=60).map(lambda p: "".join(p).encode()),
    st.lists(st.sampled_from(CSV_PIECES) | st.text(max_size=6), max_size=60).map(
        lambda p: "".join(p).encode("cp1251", errors="replace")),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("loader-properties")


def _check(path: Path, raw: bytes) -> None:
    path.write_bytes(raw)
    try:
        result = load_file(path)
    except LoadError as exc:
        assert path.name in str(exc)
        return
    assert isinstance(result, LoadResult)
    assert list(result.frame.columns) == list(COLUMNS)
    assert result.frame["id"].is_unique
    assert all(isinstance(t, str) and t.strip() for t in result.frame["text"])


@given(csv_bytes)
@example(b"text\n\x00\x00")
@example(b"text,text\n1,2\n")
@example("text;created_at\nяма;99.99.9999\n".encode())
def test_any_csv_bytes_load_or_explain(folder: Path, raw: bytes) -> None:
    _check(folder / "export.csv", raw)


@given(st.lists(st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=4), json_values, max_size=6),
                max_size=6))
@example([{"text": "яма", "created_at": 1e300}])
@example([{"text": ["яма"], "id": {"a": 1}}])
@example([{"text": "a", " text": "b"}])
def test_any_jsonl_objects_load_or_explain(folder: Path, rows: list[dict]) -> None:
    raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    _check(folder / "export.jsonl", raw)


@given(json_values)
def test_any_json_document_loads_or_explains(folder: Path, value: object) -> None:
    _check(folder / "export.json", json.dumps(value).encode())
