"""Duplicate and mass-appeal grouping (issue 9): one problem told by many residents, or many times.

Public API:
- `DedupeIndex(config)` (appeals.dedupe_index): `add(appeal, sender=None) -> GroupMatch` stores an
  appeal and says which group it joined; `query` does the same without storing; `split`, `merge`,
  `members`, `group_size`, `group_id_of`; `save_index` / `load_index` keep it between runs.
- `group_frame(frame, config)`: batch grouping of a loaded table (the CLI `appeals dedupe`).
- `load_dedupe_config(path=None)`: the [dedupe] table of training/configs/dedupe.toml.

Exact and whitespace/case-only repeats (same `normalize_for_dedup` key) are always grouped; other
pairs need similar text, compatible places, the same topic group (when known) and dates within the
window (when known). Repeats by one sender are marked `repeat_by_sender`.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from appeals.dedupe_batch import add_chunk
from appeals.dedupe_columns import Columns
from appeals.dedupe_config import DedupeConfig, load_dedupe_config
from appeals.dedupe_features import Features, featurize, parse_top_topics
from appeals.dedupe_groups import POSSIBLE_DUPLICATE, GroupMatch, Groups, day_number, sender_code
from appeals.dedupe_index import TABLES, DedupeIndex
from appeals.dedupe_strings import StringTable
from appeals.dedupe_table import KeyTable

__all__ = [
    "OUTPUT_COLUMNS",
    "POSSIBLE_DUPLICATE",
    "DedupeConfig",
    "DedupeIndex",
    "GroupMatch",
    "group_frame",
    "load_dedupe_config",
    "load_index",
    "save_index",
]

OUTPUT_COLUMNS: tuple[str, ...] = (
    "group_id",
    "group_size",
    "duplicate_of",
    "match_status",
    "similarity",
    "repeat_by_sender",
    "needs_review",
)
_CHUNK = 2_000  # appeals stored and matched together; smaller chunks see fewer of their own newcomers


def _processing_order(frame: pd.DataFrame) -> np.ndarray:
    """Oldest first when dates are given (undated rows last), else file order."""
    if "created_at" not in frame.columns or frame["created_at"].isna().all():
        return np.arange(len(frame))
    dates = pd.to_datetime(frame["created_at"], errors="coerce")
    return np.lexsort(
        (np.arange(len(frame)), dates.isna().to_numpy(), dates.fillna(pd.Timestamp.max).to_numpy())
    )


def _column(frame: pd.DataFrame, name: str | None) -> list:
    if name and name in frame.columns:
        return [None if pd.isna(v) else v for v in frame[name].tolist()]
    return [None] * len(frame)


def group_frame(
    frame: pd.DataFrame,
    config: DedupeConfig,
    sender_column: str | None = "sender",
    index: DedupeIndex | None = None,
    jobs: int = 1,
) -> pd.DataFrame:
    """A copy of `frame` (columns id, text; created_at, topic_group, topic_top3, sender optional) with
    OUTPUT_COLUMNS. `topic_top3` is the column `appeals predict` writes (JSON [[topic, probability], ...]):
    with it, appeals at the same place whose topics agree are grouped even in other words.

    Appeals are added oldest first to `index` (a new one by default), so a batch gives the groups
    the service would have built appeal by appeal. `group_size` and `duplicate_of` are final values.
    With `jobs` > 1 (on a system that can fork), that many worker processes read the texts (places,
    shingles, terms: about 70 % of the time) while this one matches and stores; the result is the same.
    """
    if "text" not in frame.columns or "id" not in frame.columns:
        raise ValueError(f"dedupe needs columns 'id' and 'text'; the table has {list(frame.columns)}")
    index = index if index is not None else DedupeIndex(config)  # an empty index is falsy (len 0)
    order = _processing_order(frame)
    texts = frame["text"].astype(str).tolist()
    ids, dates = [str(v) for v in frame["id"].tolist()], _column(frame, "created_at")
    topics, senders = _column(frame, "topic_group"), _column(frame, sender_column)
    tops = frame["topic_top3"].tolist() if "topic_top3" in frame.columns else [None] * len(frame)
    matches: dict[int, GroupMatch] = {}
    chunks = [order[start : start + _CHUNK] for start in range(0, len(order), _CHUNK)]
    featurized = _featurized([[texts[r] for r in rows] for rows in chunks], config, jobs)
    for rows, feats in zip(chunks, featurized, strict=True):
        try:
            index.set_topics(feats, [tops[r] for r in rows])
        except ValueError as error:
            bad = next(r for r in rows.tolist() if not _parses(tops[r]))
            raise ValueError(f"row {bad + 1} (id {ids[bad]!r}), field topic_top3: {error}") from None
        days = np.array([day_number(dates[r]) for r in rows], dtype=np.float64)
        codes = np.array([index.topic_code(topics[r]) for r in rows], dtype=np.int32)
        senders_ = np.array([sender_code(senders[r]) for r in rows], dtype=np.uint32)
        found = add_chunk(index, feats, [ids[r] for r in rows], days, codes, senders_)
        matches.update(zip(rows.tolist(), found, strict=True))
    return _with_results(frame, matches, index)


def _featurized(chunks: list[list[str]], config: DedupeConfig, jobs: int) -> Iterator[Features]:
    """`featurize` of each chunk, in order; by `jobs` forked processes, at most 2 * `jobs` chunks ahead
    of the consumer (so a million texts are not all sent to the workers at once)."""
    import multiprocessing

    if jobs <= 1 or len(chunks) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (featurize(chunk, config) for chunk in chunks)
        return
    from concurrent.futures import Future, ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: deque[Future[Features]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(featurize, chunk, config))
            if len(pending) > 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _parses(value: object) -> bool:
    try:
        parse_top_topics(value)
    except ValueError:
        return False
    return True


def _with_results(frame: pd.DataFrame, matches: dict[int, GroupMatch], index: DedupeIndex) -> pd.DataFrame:
    out = frame.copy()
    found = [matches[r] for r in range(len(frame))]
    groups = index.groups
    numbers = groups.find_many([m.group_id for m in found])
    out["group_id"] = [m.group_id for m in found]
    out["group_size"] = groups.size[numbers].tolist()
    firsts = [index.ids[row] for row in groups.first_row[numbers].tolist()]
    out["duplicate_of"] = [f if f != m.appeal_id else None for f, m in zip(firsts, found, strict=True)]
    out["match_status"] = [m.status for m in found]
    out["similarity"] = [m.similarity for m in found]
    out["repeat_by_sender"] = [m.repeat_by_sender for m in found]
    out["needs_review"] = [m.needs_review for m in found]
    return out


# Version of the saved index's layout: 2 added the building code («18к2») to the place columns,
# 3 the topic model's best topics of each appeal, 4 the codes of capitalised words (bare place names),
# 5 place codes of the mended parser (settlement words in every case, ordinal houses, named stops),
# 6 six name codes (words of texts typed without capitals, hyphenated names) and a microdistrict as the
# settlement, 7 place codes read from corners, dashes, slashes and texts typed without capitals, one
# kindergarten kind, Latin look-alikes read as Cyrillic; 8 house letters after a space read only when
# capital or followed by no word, a town before a bare street read as the settlement; 9 crossings typed
# without capitals, a microdistrict beside a street as that street's settlement, «садик»/«д/с» kindergartens,
# «пр-та», a number before an object word as the object's; 10 longer name stems without soft signs and
# doubled letters («Ленина» and «Ленинградская» apart, «Металистов» and «Металлистов» together), «3-й
# подъезд» not a house, a town in brackets, and the settlement's name cut short for bare names
# (`settlement_prefix`); 11 a preposition read as no street, a distance or date as no house, a part of
# a road («на проезжей части») or a stop's name as no street; 12 the stop's name also where «Остановка»
# opens a sentence; 13 no bare-name code for a regional capital («в Перми» meets no «г. Пермь»); 14
# links, VK tags and phones left out of the content, and whether a text has enough words to compare
# (a town without a street no longer a shared place: a rule, no column); 15 greetings and courtesy
# formulas left out of the content.
INDEX_FORMAT = 15


def save_index(index: DedupeIndex, path: Path | str) -> Path:
    """Write the index to one .npz file (hashes and codes only, no text)."""
    path = Path(path)
    arrays = index.cols.state()
    for name in TABLES:
        for key, value in getattr(index, name).state().items():
            arrays[f"{name}_{key}"] = value
    arrays["group_of_row"] = index.groups.group_of_rows(index.count)
    meta = {
        "format": INDEX_FORMAT,
        "config": index.config.model_dump(),
        "ids": list(index.ids),
        "labels": index.groups.labels(),
        "topics": index.topics,
        "fine_topics": index.fine_topics,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    return path


def load_index(path: Path | str) -> DedupeIndex:
    """Read an index written by `save_index`; its own config travels with it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: dedupe index not found; build it with `appeals dedupe` or the service"
        )
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(bytes(arrays.pop("meta")).decode("utf-8"))
    if meta.get("format", 1) != INDEX_FORMAT:
        raise ValueError(
            f"{path}: dedupe index format {meta.get('format', 1)}, this version reads format "
            f"{INDEX_FORMAT}; rebuild it with `appeals dedupe` (place codes or columns changed)"
        )
    index = DedupeIndex(DedupeConfig.model_validate(meta["config"]))
    index.ids, index.topics = StringTable.from_strings(meta["ids"]), meta["topics"]
    index.fine_topics = meta["fine_topics"]
    index.count = len(index.ids)
    index.cols = Columns.from_state(arrays, index.config.num_perm)
    for name in TABLES:
        setattr(index, name, KeyTable.from_state(arrays[f"{name}_keys"], arrays[f"{name}_rows"]))
    index.groups = Groups.from_state(
        index.ids, arrays["group_of_row"], meta["labels"], index.cols["sender"], index.count
    )
    return index
