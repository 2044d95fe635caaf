"""The service's side of duplicate grouping: group a batch of answered appeals in the incremental
dedupe index (appeals.dedupe) and rebuild that index from the store when the service starts.

The index sees masked texts only, the same text the store keeps, so a rebuilt index matches the
one that was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from appeals.routing import DUPLICATE

Grouping = tuple[str | None, str | None, int, list[str]]  # group id, duplicate_of, group size, reasons
_CHUNK = 2000
# New appeals in one call from which grouping takes the batch path (see group_batch).
CHUNK_MIN = 64


def _known(index: Any, appeal_id: str) -> Grouping:
    group = index.group_id_of(appeal_id)
    members = index.members(group)
    first = members[0] if members and members[0] != appeal_id else None
    return group, first, len(members), []


def group_batch(index: Any, ids: Sequence[str], masked: Sequence[str], created: Sequence[datetime | None],
                topic_groups: Sequence[str | None], tops: Sequence[object] | None = None) -> list[Grouping]:
    """Add the appeals not yet indexed, in order, and report every appeal's group.

    From CHUNK_MIN new appeals on, they go in as one chunk (`dedupe_batch.add_chunk`: candidates
    looked up and judged for all of them at once, each grouped against the appeals before it, as
    one-by-one `add` calls would group them) at about a third of the cost per appeal. A chunk also
    sorts the index's tables, work that grows with the index, so a few appeals go in one by one
    (a load test of single appeals doubled its CPU per request the other way). An id already
    indexed, or repeated within the batch, is answered with its group as it stands after the batch.
    `tops`: each appeal's best topics with probabilities (`topic_top3`), when the topic model ran.
    """
    from appeals.dedupe_batch import add_chunk
    from appeals.dedupe_features import featurize
    from appeals.dedupe_groups import day_number
    from appeals.schema import Appeal

    new: dict[str, int] = {}
    for i, appeal_id in enumerate(ids):
        if appeal_id not in new and appeal_id not in index.row_of:
            new[appeal_id] = i
    found: dict[int, Any] = {}  # position in the batch -> its match, for each appeal added
    if new:
        at = list(new.values())
        feats = featurize([masked[i] for i in at], index.config)
        if tops is not None:
            index.set_topics(feats, [tops[i] for i in at])
        days = np.array([day_number(created[i]) for i in at], dtype=np.float64)
        topics = np.array([index.topic_code(topic_groups[i]) for i in at], dtype=np.int32)
        if len(at) >= CHUNK_MIN:
            matches = add_chunk(index, feats, list(new), days, topics, np.zeros(len(at), dtype=np.uint32))
        else:
            matches = [index.add_features(feats, k, Appeal(id=ids[i], text=masked[i], created_at=created[i],
                                                              topic_group=topic_groups[i]))
                       for k, i in enumerate(at)]
        found = dict(zip(at, matches, strict=True))
    out: list[Grouping] = []
    for i, appeal_id in enumerate(ids):
        match = found.get(i)
        if match is None:
            out.append(_known(index, appeal_id))
            continue
        reasons = [DUPLICATE] if match.status != "new" else []
        out.append((match.group_id, match.duplicate_of, match.group_size, reasons))
    return out


def restore_index(engine: Any, config: Any = None, now: datetime | None = None) -> Any:
    """The dedupe index rebuilt from the stored appeals of the last `restore_days` (all when unset),
    each in the group saved with it."""
    from appeals.dedupe_config import load_dedupe_config
    from appeals.dedupe_index import DedupeIndex
    from appeals.store import index_rows

    index = DedupeIndex(config or load_dedupe_config())
    keep = index.config.restore_days
    since = None if keep is None else (now or datetime.now(UTC)) - timedelta(days=keep)
    _restore_rows(index, index_rows(engine, since))
    return index


def _restore_rows(index: Any, rows: pd.DataFrame) -> None:
    """Add stored appeals (index_rows' columns) to `index`, each in the group saved with it."""
    from appeals.dedupe_batch import restore_chunk
    from appeals.dedupe_features import featurize
    from appeals.dedupe_index import day_number

    for start in range(0, len(rows), _CHUNK):
        part = rows.iloc[start:start + _CHUNK]
        feats = featurize(part["text"].astype(str).tolist(), index.config)
        if "topic_top3" in part.columns:
            index.set_topics(feats, part["topic_top3"].tolist())
        days = np.array([day_number(None if pd.isna(d) else pd.Timestamp(d).to_pydatetime())
                         for d in part["created_at"]], dtype=np.float64)
        codes = np.array([index.topic_code(None if pd.isna(t) else t) for t in part["topic_group"]], dtype=np.int32)
        groups = [g if isinstance(g, str) and g else i for g, i in zip(part["group_id"], part["id"], strict=True)]
        restore_chunk(index, feats, part["id"].tolist(), days, codes, np.zeros(len(part), dtype=np.uint32), groups)


def refresh_index(engine: Any, lock: Any, regroups: Callable[[], int], swap: Callable[[Any], None],
                  config: Any = None, margin: timedelta = timedelta(minutes=10)) -> int | None:
    """Rebuild the duplicate index from the store (last `restore_days`) while the service keeps
    answering, then swap it in: a long-running worker drops appeals older than that instead of
    holding every appeal since it started.

    The build runs outside `lock`; under it, appeals stored meanwhile (received from `margin` before
    the build started on) are added, and `swap` installs the new index. When an operator split or
    merged a group during the build (`regroups()` changed) nothing is swapped: None, try again later.
    Returns the number of appeals in the new index.
    """
    from appeals.store import index_rows

    started, before = datetime.now(UTC), regroups()
    fresh = restore_index(engine, config)
    with lock:
        if regroups() != before:
            return None
        recent = index_rows(engine, received_since=started - margin)
        _restore_rows(fresh, recent[~fresh.row_of.contains_many(recent["id"].tolist())])
        swap(fresh)
    return len(fresh)


def regroup(index: Any, appeal_id: str, action: str, merge_with: str | None = None
            ) -> dict[str, tuple[str, str | None]]:
    """Apply an operator's split or merge to the index.

    Returns {appeal id: (group id, duplicate_of)} for every appeal whose group changed or whose group
    lost or gained its first appeal, to be stored. Raises KeyError naming an appeal the index lacks.
    """
    for known in (appeal_id, merge_with):
        if known is not None and known not in index.row_of:
            raise KeyError(known)
    before = index.group_id_of(appeal_id)
    if action == "split":
        groups = [index.split(appeal_id), before]
    else:
        target = index.group_id_of(merge_with)
        groups = [index.merge(target, before)]
    changed: dict[str, tuple[str, str | None]] = {}
    for group in groups:
        try:
            members = index.members(group)
        except KeyError:  # the group emptied by a split
            continue
        for member in members:
            changed[member] = (group, members[0] if member != members[0] else None)
    return changed
