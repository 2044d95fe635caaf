"""Reading a user's table as it is: CSV (comma or semicolon, UTF-8 or cp1251, detected), XLSX, JSON Lines,
JSON and Parquet into a DataFrame of strings, or a LoadError naming the file and what is wrong.
Mapping the columns to appeal records is appeals.datasets' job."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


class LoadError(ValueError):
    """Input that cannot be loaded at all; the message names the file (and row and field when known)."""


def detect_encoding(raw: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) or cp1251; anything else is refused with the offending byte."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4096]:
        raise LoadError(f"{path}: unknown text encoding (looks like UTF-16 or binary); save the file as UTF-8")
    try:
        raw.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as utf_err:
        try:
            decoded = raw.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise LoadError(
                f"{path}: unknown text encoding (not UTF-8, not cp1251): byte {exc.start} "
                f"is {raw[exc.start:exc.start + 1]!r}; save the file as UTF-8"
            ) from exc
        letters = [c for c in decoded if c.isalpha()]
        cyr = sum("\u0400" <= c <= "\u04ff" for c in letters)
        if letters and cyr / len(letters) < 0.3 and sum(not c.isascii() for c in letters) > cyr:
            raise LoadError(
                f"{path}: unknown text encoding: not UTF-8 (bad byte at {utf_err.start}) and it does "
                f"not read as Russian cp1251 either; save the file as UTF-8"
            ) from utf_err
        return "cp1251"


def detect_delimiter(sample: str) -> str:
    """Comma or semicolon, whichever splits the header line into more fields."""
    header = sample.splitlines()[0] if sample else ""
    return ";" if header.count(";") > header.count(",") else ","


def read_table(path: Path | str) -> pd.DataFrame:
    """Read CSV (comma/semicolon, UTF-8/cp1251), CSV.GZ, XLSX, JSON Lines, JSON or Parquet as strings."""
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith((".xlsx", ".xlsm")):
            frame = pd.read_excel(path, dtype=object)
        elif suffixes.endswith(".parquet"):
            frame = pd.read_parquet(path)
        elif suffixes.endswith((".jsonl", ".ndjson")):
            frame = _read_jsonl(path)
        elif suffixes.endswith(".json"):
            frame = _read_json(path)
        else:
            frame = _read_csv(path)
    except LoadError:
        raise
    except Exception as exc:  # a parser's own message, with the file named
        raise LoadError(f"{path}: cannot be read: {exc}") from exc
    if frame.empty:
        raise LoadError(f"{path}: the file has a header but no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    import gzip

    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if not raw.strip():
        raise LoadError(f"{path}: the file is empty")
    encoding = detect_encoding(raw, path)
    text = raw.decode(encoding)
    import io

    return pd.read_csv(io.StringIO(text), sep=detect_delimiter(text[:5000]), dtype=str,
                       keep_default_na=False)


def _read_jsonl(path: Path) -> pd.DataFrame:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadError(f"{path}: line {lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise LoadError(f"{path}: line {lineno}: expected a JSON object, got {type(obj).__name__}")
        rows.append(obj)
    if not rows:
        raise LoadError(f"{path}: the file is empty")
    return pd.DataFrame(rows, dtype=object)


def _read_json(path: Path) -> pd.DataFrame:
    try:
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise LoadError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    items = obj.get("items") if isinstance(obj, dict) else obj
    if not isinstance(items, list):
        raise LoadError(f"{path}: expected a list of objects or an object with 'items'")
    return pd.DataFrame(items, dtype=object)
