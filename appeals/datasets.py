"""Loaders: named adapters for the real datasets and a generic loader for a user's own export.

Every loader returns a `LoadResult`: a DataFrame with the canonical columns of `schema.Appeal`
(plus `source` and `source_split`) and the list of problems met. Rows that cannot be used are
skipped with a counted warning that names file, row and field; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from appeals.schema import LABEL_FIELDS, RECORD_FIELDS, URGENCY_LEVELS
from appeals.tables import LoadError as LoadError  # re-exported: callers catch it from here
from appeals.tables import read_table as read_table

EXTRA_COLUMNS: tuple[str, ...] = ("source", "source_split")
COLUMNS: tuple[str, ...] = (*RECORD_FIELDS, *EXTRA_COLUMNS)

KURSK_CATEGORY_NAMES: dict[int, str] = {
    0: "Дороги, парковки и пешеходные переходы",
    1: "Безнадзорные животные",
    2: "Государственные услуги",
    3: "ЖКХ и благоустройство",
    4: "Здравоохранение",
    5: "Культура",
    6: "Социальные выплаты",
    7: "Образование",
    8: "Общественный транспорт",
    9: "Связь",
    10: "Социальная защита и льготы",
    11: "Строительство",
    12: "Тестовая категория",
    13: "Торговля",
    14: "Труд и государственные услуги",
    15: "Спорт",
    16: "Экология и отходы",
}


@dataclass
class LoadResult:
    """Loaded appeals plus every problem met on the way."""

    frame: pd.DataFrame
    path: Path
    warnings: list[str] = field(default_factory=list)
    skipped_rows: int = 0

    def summary(self) -> str:
        return f"{self.path}: {len(self.frame)} appeals loaded, {self.skipped_rows} rows skipped"


# ----------------------------------------------------------------------------- mapping to records


def row_label(path: Path, index: int, suffixes: str) -> str:
    offset = 1 if suffixes.endswith((".jsonl", ".ndjson", ".json", ".parquet")) else 2
    return f"{path}: row {index + offset}"


def map_columns(
    raw: pd.DataFrame,
    mapping: Mapping[str, str],
    path: Path,
    source: str,
    id_prefix: str | None = None,
) -> LoadResult:
    """Build canonical records from `raw` using `mapping` (canonical field -> source column).

    `text` must be mapped. Rows with an empty or non-text `text` are skipped with a warning naming
    file, row and field; blank labels stay None and are counted.
    """
    unknown = [k for k in mapping if k not in RECORD_FIELDS]
    if unknown:
        raise LoadError(f"{path}: mapping names unknown fields {unknown}; known: {list(RECORD_FIELDS)}")
    if "text" not in mapping:
        raise LoadError(f"{path}: the column mapping must say which column holds the text")
    missing = [col for col in mapping.values() if col not in raw.columns]
    if missing:
        raise LoadError(
            f"{path}: column(s) {missing} not found; the file has {list(raw.columns)}. "
            "Fix the column mapping (--map field=column) or the file header."
        )
    suffixes = "".join(path.suffixes).lower()
    result = LoadResult(frame=pd.DataFrame(columns=list(COLUMNS)), path=path)
    out: dict[str, list] = {name: [] for name in COLUMNS}
    blank_labels: dict[str, int] = {}
    for index, row in enumerate(raw.itertuples(index=False)):
        record = dict(zip(raw.columns, row, strict=True))
        where = row_label(path, index, suffixes)
        text = record[mapping["text"]]
        if not isinstance(text, str):
            if text is None or (isinstance(text, float) and pd.isna(text)):
                text = ""
            else:
                result.warnings.append(
                    f"{where}, field '{mapping['text']}': not text ({type(text).__name__}); row skipped")
                result.skipped_rows += 1
                continue
        if not text.strip() or not text.strip("' \n\t"):
            result.warnings.append(f"{where}, field '{mapping['text']}': empty text; row skipped")
            result.skipped_rows += 1
            continue
        values = {name: _as_optional_str(record[col]) for name, col in mapping.items()}
        values["text"] = text
        rid = values.get("id") or f"{id_prefix or source}-{index + 1}"
        values["id"] = str(rid)
        for label in LABEL_FIELDS:
            if label in mapping and values.get(label) is None:
                blank_labels[label] = blank_labels.get(label, 0) + 1
        if values.get("urgency") is not None and values["urgency"] not in URGENCY_LEVELS:
            result.warnings.append(
                f"{where}, field '{mapping['urgency']}': urgency {values['urgency']!r} is not one of "
                f"{list(URGENCY_LEVELS)}; label dropped")
            values["urgency"] = None
        for name in COLUMNS:
            out[name].append(values.get(name))
        out["source"][-1] = source
    for label, count in blank_labels.items():
        result.warnings.append(f"{path}: field '{mapping[label]}' ({label}) is blank in {count} rows; "
                               "those rows are kept as unlabelled for that task")
    frame = pd.DataFrame(out, columns=list(COLUMNS))
    if "created_at" in mapping:
        frame["created_at"] = _parse_dates(frame["created_at"], path, result)
    if frame["id"].duplicated().any():
        dups = frame.loc[frame["id"].duplicated(), "id"].head(5).tolist()
        raise LoadError(f"{path}: ids are not unique (for example {dups}); map another id column")
    result.frame = frame
    return result


def _as_optional_str(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates as the project reads them everywhere: ISO 8601 first (day-first parsing would swap day
    and month in 2025-09-01), then Russian 01.09.2025 forms; unreadable values become NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    iso = pd.to_datetime(values, errors="coerce", format="ISO8601")
    rest = values.where(iso.isna())
    return iso.fillna(pd.to_datetime(rest, errors="coerce", dayfirst=True, format="mixed"))


def _parse_dates(values: pd.Series, path: Path, result: LoadResult) -> pd.Series:
    parsed = parse_dates(values)
    bad = values.notna() & parsed.isna()
    if bad.any():
        result.warnings.append(
            f"{path}: field created_at: {int(bad.sum())} values are not dates "
            f"(for example {values[bad].iloc[0]!r}); they are left empty")
    return parsed


# ----------------------------------------------------------------------------- named adapters


def load_perm(data_dir: Path) -> LoadResult:
    path = data_dir / "perm_promobot_2023" / "train.csv.gz"
    mapping = {"text": "Текст инцидента", "topic": "Тема", "topic_group": "Группа тем",
               "department": "Исполнитель"}
    return map_columns(read_table(path), mapping, path, "perm_promobot_2023", "perm")


def load_kursk(data_dir: Path) -> LoadResult:
    """Official train and test, marked in `source_split`; the numeric category becomes topic_group."""
    results = []
    for split, name in (("train", "train_dataset_train.csv"), ("test", "test_dataset_test.csv")):
        path = data_dir / "kursk_2022" / name
        raw = read_table(path)
        mapping = {"id": "id", "text": "Текст Сообщения", "topic": "Тематика",
                   "department": "Ответственное лицо"}
        res = map_columns(raw, mapping, path, "kursk_2022")
        res.frame["id"] = "kursk-" + res.frame["id"]
        res.frame["source_split"] = split
        if "Категория" in raw.columns:
            codes = raw.set_index(raw["id"].astype(str))["Категория"]
            res.frame["topic_group"] = [
                KURSK_CATEGORY_NAMES.get(int(c)) if str(c).strip().isdigit() else None
                for c in codes.reindex(res.frame["id"].str.removeprefix("kursk-"))
            ]
        results.append(res)
    train, test = results
    topic_to_group = (train.frame.dropna(subset=["topic", "topic_group"])
                      .drop_duplicates("topic").set_index("topic")["topic_group"])
    test.frame["topic_group"] = test.frame["topic"].map(topic_to_group)
    frame = pd.concat([train.frame, test.frame], ignore_index=True)
    return LoadResult(frame=frame, path=data_dir / "kursk_2022", warnings=train.warnings + test.warnings,
                      skipped_rows=train.skipped_rows + test.skipped_rows)


def load_ryazan(data_dir: Path) -> LoadResult:
    """Category becomes topic_group, theme becomes topic; of several executors the first is kept."""
    path = data_dir / "ryazan_nashdom_2019" / "NashDomRyazan-29-03-2019.csv"
    mapping = {"id": "id", "text": "text", "topic": "theme", "topic_group": "category",
               "department": "executor"}
    res = map_columns(read_table(path), mapping, path, "ryazan_nashdom_2019")
    res.frame["id"] = "ryazan-" + res.frame["id"]
    multi = res.frame["department"].fillna("").str.contains(";")
    if multi.any():
        res.frame.loc[multi, "department"] = (
            res.frame.loc[multi, "department"].str.split(";").str[0].str.strip())
        res.warnings.append(f"{path}: field 'executor' lists several executors in {int(multi.sum())} "
                            "rows; the first one is kept as the department")
    return res


def load_omsk_feed(data_dir: Path) -> LoadResult:
    """150 dated Omsk incidents; `severity` is a model output and is deliberately not loaded."""
    path = data_dir / "omsk_demo_feed_2026" / "liveDemoFeed.json"
    mapping = {"id": "id", "text": "text", "topic": "topic", "topic_group": "group",
               "municipality": "municipality", "created_at": "created_at"}
    res = map_columns(read_table(path), mapping, path, "omsk_demo_feed_2026", "omsk")
    res.frame["id"] = "omsk-" + res.frame["id"]
    return res


ADAPTERS: dict[str, Callable[[Path], LoadResult]] = {
    "perm_promobot_2023": load_perm,
    "kursk_2022": load_kursk,
    "ryazan_nashdom_2019": load_ryazan,
    "omsk_demo_feed_2026": load_omsk_feed,
}


def load_dataset(name: str, data_dir: Path) -> LoadResult:
    """Load a named real dataset from `data_dir` (the folder holding the dataset folders)."""
    if name not in ADAPTERS:
        raise LoadError(f"unknown dataset {name!r}; known: {sorted(ADAPTERS)} (or give a file path)")
    return ADAPTERS[name](data_dir)


def parse_mapping(items: list[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Turn ["text=Текст", "topic=Тема"] (CLI) or a dict (config) into a canonical mapping."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    mapping = {}
    for item in items:
        if "=" not in item:
            raise LoadError(f"column mapping {item!r} must look like field=column, e.g. text=Текст")
        key, col = (part.strip() for part in item.split("=", 1))
        if not key or not col:
            raise LoadError(f"column mapping {item!r} has an empty side; write field=column, e.g. text=Текст")
        mapping[key] = col
    return mapping


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Map columns that already carry canonical (or common Russian) names."""
    aliases = {
        "text": ("text", "текст", "текст обращения", "текст инцидента", "текст сообщения", "description"),
        "id": ("id", "номер", "номер обращения"),
        "created_at": ("created_at", "дата", "дата создания", "date"),
        "topic": ("topic", "тема", "тематика"),
        "topic_group": ("topic_group", "группа тем", "категория"),
        "department": ("department", "исполнитель", "ответственный", "отдел"),
        "urgency": ("urgency", "срочность"),
        "district": ("district", "район"),
        "municipality": ("municipality", "муниципалитет"),
        "address": ("address", "адрес"),
        "channel": ("channel", "канал", "источник"),
    }
    lower = {c.lower().strip(): c for c in columns}
    mapping = {}
    for canon, names in aliases.items():
        for name in names:
            if name in lower:
                mapping[canon] = lower[name]
                break
    return mapping


def load_file(path: Path | str, mapping: Mapping[str, str] | None = None, source: str | None = None) -> LoadResult:
    """Load a user's export; columns are mapped by `mapping` or guessed from their names."""
    path = Path(path)
    raw = read_table(path)
    full = guess_mapping(list(raw.columns))
    full.update(mapping or {})
    if "text" not in full:
        raise LoadError(f"{path}: no text column found among {list(raw.columns)}; "
                        "say which one with --map text=COLUMN")
    return map_columns(raw, full, path, source or path.stem)


def load_any(spec: str, data_dir: Path | None = None, mapping: Mapping[str, str] | None = None) -> LoadResult:
    """A dataset name (read under data_dir), 'demo' (the project's demo data) or a file path."""
    if spec == "demo":
        from appeals.demo import demo_path

        return load_file(demo_path(), source="demo")
    if spec in ADAPTERS:
        if data_dir is None:
            raise LoadError(f"dataset {spec!r} needs the data folder: set APPEALS_DATA_DIR or --data-dir")
        return load_dataset(spec, data_dir)
    return load_file(spec, mapping)
