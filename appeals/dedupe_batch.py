"""Batch grouping: the same decisions as `DedupeIndex.add`, a chunk of appeals at a time.

Adding 100,000 appeals one by one costs about a millisecond each in numpy calls. Here a chunk is
stored first, candidates of all its appeals are looked up with a handful of vectorised searches
(only rows older than the asking appeal count), every (appeal, candidate) pair is judged at once,
and only the final choice of a group runs appeal by appeal, oldest first, as the service would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from appeals.dedupe_features import Features
from appeals.dedupe_groups import GroupMatch
from appeals.dedupe_index import _SENDER_SALT, DedupeIndex
from appeals.dedupe_rules import (
    NONE,
    SURE,
    allowed_pairs,
    gather_terms,
    judge,
    place_relation,
    unique_sorted,
)
from appeals.dedupe_strings import Keys
from appeals.dedupe_table import KeyTable

_ROW_BITS = np.uint64(32)


def _block_keys(feats: Features, senders: np.ndarray) -> np.ndarray:
    place = np.where(feats.street > 0, feats.street, feats.settlement)
    sender = np.where(senders > 0, (senders ^ np.uint32(_SENDER_SALT)) | np.uint32(1), 0)
    return np.stack([place, feats.object, sender], axis=1).astype(np.uint32)


def _store_chunk(
    index: DedupeIndex,
    feats: Features,
    ids: Sequence[str],
    days: np.ndarray,
    topics: np.ndarray,
    senders: np.ndarray,
) -> np.ndarray:
    keys = Keys.of(ids)
    known = np.flatnonzero(index.ids.find_many(keys) >= 0)
    if len(known):
        raise ValueError(f"appeal {ids[int(known[0])]!r} is already in the dedupe index; ids must be unique")
    rows = index.cols.extend(feats, days, topics, senders)
    index.exact_table.add_many(feats.exact, rows)
    shingled = rows[feats.has_shingles]
    index.band_table.add_many(feats.bands[feats.has_shingles], np.repeat(shingled, feats.bands.shape[1]))
    blocks = _block_keys(feats, senders)
    index.block_table.add_many(blocks[blocks > 0], np.repeat(rows, 3)[blocks.ravel() > 0])
    index.term_table.add_many(feats.term_flat, np.repeat(rows, np.diff(feats.term_offsets)))
    index.ids.extend(keys)
    index.count += len(rows)
    return rows


def _older(
    table: KeyTable,
    keys: np.ndarray,
    asking: np.ndarray,
    limit: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(asking row, stored row) for rows filed under `keys` that are older than the asking row."""
    table.compact()
    composite = (table.keys.astype(np.uint64) << _ROW_BITS) | table.rows.astype(np.uint64)
    base = keys.astype(np.uint64) << _ROW_BITS
    lo = np.searchsorted(composite, base, side="left")
    hi = np.searchsorted(composite, base | asking.astype(np.uint64), side="left")
    if limit is not None:
        lo = np.maximum(lo, hi - limit)
    lengths = np.maximum(hi - lo, 0)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.repeat(asking, lengths), table.rows[starts + np.arange(int(lengths.sum()))]


def _rare_terms(index: DedupeIndex, feats: Features, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(term, asking row) for each appeal's `term_lookups` terms filed under the fewest rows."""
    owner = np.repeat(rows, np.diff(feats.term_offsets))
    counts = index.term_table.counts(feats.term_flat.tolist()) if len(feats.term_flat) else np.zeros(0)
    counts = np.where(counts > 1, counts, np.iinfo(np.int64).max)  # 1: only the appeal itself
    order = np.lexsort((counts, owner))
    first = np.searchsorted(owner[order], owner[order], side="left")
    keep = order[np.arange(len(order)) - first < index.config.term_lookups]
    return feats.term_flat[keep], owner[keep]


def _candidate_pairs(
    index: DedupeIndex,
    feats: Features,
    rows: np.ndarray,
    senders: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    config = index.config
    bands = np.repeat(rows[feats.has_shingles], feats.bands.shape[1])
    parts = [_older(index.band_table, feats.bands[feats.has_shingles].ravel(), bands, None)]
    blocks = _block_keys(feats, senders)
    asking = np.repeat(rows, 3)[blocks.ravel() > 0]
    parts.append(_older(index.block_table, blocks[blocks > 0], asking, config.max_place_candidates))
    if config.max_term_candidates:
        terms, owners = _rare_terms(index, feats, rows)
        parts.append(_older(index.term_table, terms, owners, config.max_term_candidates))
    q = np.concatenate([p[0] for p in parts]).astype(np.int64)
    c = np.concatenate([p[1] for p in parts]).astype(np.int64)
    unique = unique_sorted((q << 32) | c)
    return unique >> 32, unique & 0xFFFFFFFF


def pair_term_scores(index: DedupeIndex, q: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`term_scores` for aligned pairs of stored rows."""
    cols, config = index.cols, index.config
    asking = unique_sorted(q)
    q_flat, q_owner = gather_terms(cols.terms, cols.term_offsets, asking)
    table = (q_owner.astype(np.uint64) << _ROW_BITS) | q_flat.astype(np.uint64)
    c_flat, c_owner = gather_terms(cols.terms, cols.term_offsets, c)
    probe = (np.searchsorted(asking, q[c_owner]).astype(np.uint64) << _ROW_BITS) | c_flat.astype(np.uint64)
    at = np.minimum(np.searchsorted(table, probe), max(len(table) - 1, 0))
    hit = table[at] == probe if len(table) else np.zeros(len(probe), dtype=bool)
    shared = np.bincount(c_owner, weights=hit, minlength=len(c))
    offsets = cols.term_offsets
    n_q = (offsets[q + 1] - offsets[q]).astype(np.float64)
    n_c = (offsets[c + 1] - offsets[c]).astype(np.float64)
    overlap = np.where(
        shared >= config.min_shared_terms, shared / (np.minimum(n_q, n_c) + config.overlap_smoothing), 0.0
    )
    union = n_q + n_c - shared
    return overlap, np.divide(shared, union, out=np.zeros(len(c)), where=union > 0)


def judge_pairs(index: DedupeIndex, q: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(verdict, similarity) of stored row q[k] against stored row c[k], for all k at once.

    Pairs stopped by dates, topic groups or contradicting places are dropped on a first look at the
    cheap columns, before signatures and terms are gathered.
    """
    verdict, sim = np.zeros(len(q), dtype=np.int64), np.zeros(len(q))
    if not len(q):
        return verdict, sim
    cols = index.cols
    light_q, light_c = cols.side(q, signature=False, topics=False), cols.side(c, signature=False, topics=False)
    conflict, _ = place_relation(light_q, light_c)
    keep = np.flatnonzero(allowed_pairs(light_q, light_c, index.config) & ~conflict)
    q, c = q[keep], c[keep]
    scores = pair_term_scores(index, q, c)
    side_q = cols.side(q)
    # the topic rule needs topics on both sides: without the queries', skip gathering the candidates'
    side_c = cols.side(c, topics=bool(side_q.topic_p.any()))
    verdict[keep], sim[keep] = judge(side_q, side_c, scores, index.config)
    return verdict, sim


def _exact_first(index: DedupeIndex, feats: Features) -> np.ndarray:
    """For each appeal of the chunk, the oldest stored row with the same normalised-text key."""
    table = index.exact_table
    table.compact()
    return table.rows[np.searchsorted(table.keys, feats.exact.astype(table.dtype), side="left")]


def _choose(
    index: DedupeIndex,
    row: int,
    cands: np.ndarray,
    verdicts: np.ndarray,
    sims: np.ndarray,
) -> tuple[int, int, float]:
    """Best candidate after the anchor check (a match must also hold against its group's first)."""
    known = dict(zip(cands.tolist(), verdicts.tolist(), strict=True))
    best: tuple[int, float, int] | None = None
    for cand, verdict, sim in zip(cands.tolist(), verdicts.tolist(), sims.tolist(), strict=True):
        if best is not None and (verdict, sim) < (best[0], best[1]):
            break  # candidates come sorted by verdict, then similarity
        anchor = int(index.groups.first_row[index.groups.of_row[cand]])
        if anchor != cand:
            if anchor not in known:
                known[anchor] = int(judge_pairs(index, np.array([row]), np.array([anchor]))[0][0])
            verdict = min(verdict, known[anchor])
        if verdict > NONE and (best is None or (verdict, sim, -cand) > best):
            best = (verdict, sim, -cand)
    if best is None:
        return -1, NONE, float(sims.max()) if len(sims) else 0.0
    return -best[2], best[0], best[1]


def add_chunk(
    index: DedupeIndex,
    feats: Features,
    ids: Sequence[str],
    days: np.ndarray,
    topics: np.ndarray,
    senders: np.ndarray,
) -> list[GroupMatch]:
    """Store a chunk of appeals (oldest first) and group each one as `DedupeIndex.add` would."""
    rows = _store_chunk(index, feats, ids, days, topics, senders)
    exact = _exact_first(index, feats)
    q, c = _candidate_pairs(index, feats, rows, senders)
    verdict, sim = judge_pairs(index, q, c)
    keep = verdict > NONE
    q, c, verdict, sim = q[keep], c[keep], verdict[keep], sim[keep]
    order = np.lexsort((c, -sim, -verdict, q))
    q, c, verdict, sim = q[order], c[order], verdict[order], sim[order]
    starts, ends = np.searchsorted(q, rows, side="left"), np.searchsorted(q, rows, side="right")
    matches = []
    for k, row in enumerate(rows.tolist()):
        if exact[k] < row and index.exact_joins(int(exact[k]), float(index.cols["day"][row])):
            best, best_verdict, best_sim = int(exact[k]), SURE + 1, 1.0
        else:
            part = slice(starts[k], ends[k])
            best, best_verdict, best_sim = _choose(index, row, c[part], verdict[part], sim[part])
        matches.append(index.join(row, best, best_verdict, best_sim))
    return matches


def restore_chunk(
    index: DedupeIndex,
    feats: Features,
    ids: Sequence[str],
    days: np.ndarray,
    topics: np.ndarray,
    senders: np.ndarray,
    group_ids: Sequence[str] | None = None,
) -> None:
    """Store appeals whose groups are already known (saved labels; each its own group when None)."""
    rows = _store_chunk(index, feats, ids, days, topics, senders)
    labels = group_ids if group_ids is not None else ids
    index.groups.assign_many(rows, index.groups.open_many(labels), senders)
