"""The incremental index of stored appeals: match one new appeal against all of them, add it, regroup.

It keeps no text: per appeal the low 16 bits of its MinHash, content-term codes, place codes, day,
topic group and sender codes. Candidates come from the exact normalised-text key (always grouped,
whatever the dates or labels), LSH bands over the MinHash, blocks (same street or settlement, same
numbered object, same sender) and the appeal's rarest content terms; `dedupe_rules.judge` decides.
Ids (`dedupe_strings.StringTable`) and groups (`dedupe_groups.Groups`) are numpy arrays too: a
stored appeal costs no Python object, which in a worker holding a million appeals is what counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from appeals.dedupe_columns import Columns
from appeals.dedupe_config import DedupeConfig
from appeals.dedupe_features import Features, featurize, parse_top_topics
from appeals.dedupe_groups import (
    POSSIBLE_DUPLICATE,
    GroupMatch,
    Groups,
    MatchStatus,
    day_number,
    sender_code,
)
from appeals.dedupe_rules import (
    NONE,
    SURE,
    Evidence,
    Side,
    evidence,
    gather_terms,
    judge,
    term_scores,
    unique_sorted,
)
from appeals.dedupe_strings import NumberOf, StringTable
from appeals.dedupe_table import KeyTable
from appeals.schema import Appeal

_SENDER_SALT = 0x5BD1E995
TABLES: tuple[str, ...] = ("exact_table", "band_table", "block_table", "term_table")


class DedupeIndex:
    """Stored appeals: `query` / `add` one at a time; `appeals.dedupe.group_frame` adds many at once."""

    def __init__(self, config: DedupeConfig) -> None:
        self.config = config
        self.count = 0
        self.ids = StringTable()  # appeal id of each row; `row_of` finds the row of an id
        self.topics: dict[str, int] = {}
        self.fine_topics: dict[str, int] = {}  # topic model labels of `topic_top3` -> codes
        self.groups = Groups(self.ids)
        self.exact_table = KeyTable(np.uint64)  # normalised-text key -> rows
        self.band_table = KeyTable(np.uint32)  # LSH band hashes -> rows
        self.block_table = KeyTable(np.uint32)  # street/settlement, numbered object, sender -> rows
        self.term_table = KeyTable(np.uint32)  # content term -> rows (newest few per term are read)
        self.cols = Columns(config.num_perm)

    def __len__(self) -> int:
        return self.count

    @property
    def row_of(self) -> NumberOf:
        """appeal id -> row, a read-only dict view of the id table (`in`, `[]`, iteration)."""
        return NumberOf(self.ids)

    # ------------------------------------------------------------------ public API

    def query(self, appeal: Appeal, sender: str | None = None, topics: object = None) -> GroupMatch:
        """Where `appeal` would go, without storing it (group_size counts it in). `topics`: the topic
        model's best topics with their probabilities (`topic_top3`), when known."""
        feats = self.set_topics(featurize([appeal.text], self.config), [topics])
        return self._decide(feats, 0, appeal, sender, store=False)

    def add(self, appeal: Appeal, sender: str | None = None, group_id: str | None = None,
            topics: object = None) -> GroupMatch:
        """Store `appeal` and return its group. With `group_id`, put it there (restoring a saved state)."""
        feats = self.set_topics(featurize([appeal.text], self.config), [topics])
        return self.add_features(feats, 0, appeal, sender, group_id)

    def set_topics(self, feats: Features, tops: Sequence[object]) -> Features:
        """Fill `feats`' topic columns from one `topic_top3` value per row (see
        `dedupe_features.parse_top_topics`; None where the topics are unknown). Returns `feats`."""
        for row, value in enumerate(tops):
            for k, (label, proba) in enumerate(parse_top_topics(value)):
                feats.topic_ids[row, k] = self.fine_topics.setdefault(label, len(self.fine_topics))
                feats.topic_p[row, k] = proba
        return feats

    def add_features(
        self, feats: Features, i: int, appeal: Appeal, sender: str | None = None, group_id: str | None = None
    ) -> GroupMatch:
        """`add` for row `i` of features computed in bulk by `featurize`."""
        if self.ids.find(appeal.id) >= 0:
            raise ValueError(f"appeal {appeal.id!r} is already in the dedupe index; ids must be unique")
        if group_id is not None:
            return self._restore(feats, i, appeal, sender, group_id)
        return self._decide(feats, i, appeal, sender, store=True)

    def group_id_of(self, appeal_id: str) -> str:
        return self.groups.label(self.groups.of_row[self._row(appeal_id)])

    def members(self, group_id: str) -> list[str]:
        """Ids of the group's appeals, oldest first."""
        return [self.ids[r] for r in self.groups.rows_of(self._group(group_id), self.count)]

    def group_size(self, group_id: str) -> int:
        return int(self.groups.size[self._group(group_id)])

    def split(self, appeal_id: str) -> str:
        """Take `appeal_id` out of its group into a new group of its own; returns the new group id."""
        row = self._row(appeal_id)
        target = self.groups.open_fresh(appeal_id)
        self.groups.move(np.array([row]), target, self.cols["sender"], self.count)
        return self.groups.label(target)

    def merge(self, group_a: str, group_b: str) -> str:
        """Move every appeal of `group_b` into `group_a`; returns `group_a`."""
        a, b = self._group(group_a), self._group(group_b)
        if a != b:
            self.groups.move(self.groups.rows_of(b, self.count), a, self.cols["sender"], self.count)
        return group_a

    def memory_bytes(self) -> int:
        """Approximate size of the numpy columns and tables, ids and groups included (the sets of
        sender repeats and the topic codes are not counted)."""
        tables = sum(getattr(self, name).nbytes for name in TABLES)
        return self.cols.nbytes + tables + self.ids.nbytes + self.groups.nbytes

    # ------------------------------------------------------------------ matching

    def _row(self, appeal_id: str) -> int:
        row = self.ids.find(appeal_id)
        if row < 0:
            raise KeyError(f"appeal {appeal_id!r} is not in the dedupe index")
        return row

    def _group(self, group_id: str) -> int:
        group = self.groups.find(group_id)
        if group < 0 or not self.groups.size[group]:
            raise KeyError(f"group {group_id!r} is not in the dedupe index")
        return group

    def _blocks(self, feats: Features, i: int, sender: int) -> list[int]:
        """Blocks an appeal is filed under: street (else settlement), numbered object, sender."""
        keys = [
            int(feats.street[i] or feats.settlement[i]),
            int(feats.object[i]),
            (sender ^ _SENDER_SALT) | 1 if sender else 0,
        ]
        return [k for k in keys if k]

    def _candidates(self, feats: Features, i: int, sender: int) -> np.ndarray:
        config, parts = self.config, []
        if feats.has_shingles[i]:
            parts.append(self.band_table.lookup(feats.bands[i].tolist()))
        blocks = self._blocks(feats, i, sender)
        if blocks:
            parts.append(self.block_table.lookup(blocks, limit=config.max_place_candidates))
        terms = feats.terms(i).tolist()
        if terms and config.max_term_candidates:
            if len(terms) > config.term_lookups:  # the rarest terms find retellings; common ones only noise
                counts = self.term_table.counts(terms)
                order = np.argsort(np.where(counts > 0, counts, np.iinfo(np.int64).max), kind="stable")
                terms = [terms[k] for k in order[: config.term_lookups].tolist()]
            parts.append(self.term_table.lookup(terms, limit=config.max_term_candidates))
        if not parts:
            return np.empty(0, dtype=np.int32)
        rows = unique_sorted(np.concatenate(parts))
        return rows[-config.max_candidates :]

    def _query_side(self, feats: Features, i: int, day: float, topic: int, sender: int = 0) -> Side:
        return Side(
            signature=feats.signature[i].astype(np.uint16),
            has_shingles=feats.has_shingles[i : i + 1],
            comparable=feats.comparable[i : i + 1],
            settlement=feats.settlement[i : i + 1],
            settlement_prefix=feats.settlement_prefix[i : i + 1],
            street=feats.street[i : i + 1],
            house=feats.house[i : i + 1],
            building=feats.building[i : i + 1],
            object_kind=feats.object_kind[i : i + 1],
            object=feats.object[i : i + 1],
            day=np.array([day]),
            topic=np.array([topic], dtype=np.int32),
            topic_ids=feats.topic_ids[i : i + 1],
            topic_p=feats.topic_p[i : i + 1],
            names=feats.names[i : i + 1],
            sender=np.array([sender], dtype=np.uint32),
        )

    def _best(self, feats: Features, i: int, day: float, topic: int, sender: int) -> tuple[int, int, float]:
        """(row, verdict, similarity) of the best stored match; row -1 when there is none."""
        exact = self.exact_table.lookup([int(feats.exact[i])])
        if len(exact) and self.exact_joins(int(exact.min()), day):
            return int(exact.min()), SURE + 1, 1.0
        rows = self._candidates(feats, i, sender)
        rows = rows[self._plausible(rows, day, topic)]
        if not len(rows):
            return -1, NONE, 0.0
        query = self._query_side(feats, i, day, topic, sender)
        verdict, sim = self._judge(query, feats.terms(i), rows)
        if not verdict.any():
            return -1, NONE, float(sim.max())
        # A new member must also resemble its group's first appeal, or groups drift along chains.
        hits = np.flatnonzero(verdict)
        anchors = self.groups.first_row[self.groups.of_row[rows[hits]]]
        apart = anchors != rows[hits]
        if apart.any():
            anchor_verdict, _ = self._judge(query, feats.terms(i), anchors[apart])
            verdict[hits[apart]] = np.minimum(verdict[hits[apart]], anchor_verdict)
        if not verdict.any():
            return -1, NONE, float(sim.max())
        best = int(np.lexsort((rows, -sim, -verdict))[0])
        return int(rows[best]), int(verdict[best]), float(sim[best])

    def within_window(self, row: int, day: float) -> bool:
        """False only when both dates are known and further apart than the window: the same words
        months apart («Спасибо!», a yearly complaint) are two problems, not one mass appeal."""
        gap = abs(float(self.cols["day"][row]) - day)
        return not gap > self.config.window_days  # NaN (a date unknown) stays inside

    def exact_joins(self, row: int, day: float) -> bool:
        """An exact repeat joins `row`'s group only when both that row and the group's first appeal lie
        inside the window, so groups cannot chain through repeats beyond it."""
        anchor = int(self.groups.first_row[int(self.groups.of_row[row])])
        return self.within_window(row, day) and self.within_window(anchor, day)

    def _plausible(self, rows: np.ndarray, day: float, topic: int) -> np.ndarray:
        """Cheap first cut on two columns: same topic group (when known) and inside the window."""
        keep = np.ones(len(rows), dtype=bool)
        if topic >= 0:
            other = self.cols["topic"][rows]
            keep &= (other < 0) | (other == topic)
        if day == day:  # not NaN
            gap = np.abs(self.cols["day"][rows] - day)
            keep &= ~(gap > self.config.window_days)  # NaN gaps stay
        return keep

    def _term_scores(self, terms: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`term_scores` of the query's content terms against the stored `rows`."""
        flat, owner = gather_terms(self.cols.terms, self.cols.term_offsets, rows)
        return term_scores(terms, flat, owner, len(rows), self.config.overlap_smoothing, self.config.min_shared_terms)

    def _judge(self, query: Side, terms: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = self._term_scores(terms, rows)
        # the topic rule needs topics on both sides: without the query's, skip gathering the rows'
        return judge(query, self.cols.side(rows, topics=bool(query.topic_p.any())), scores, self.config)

    def evidence_against(self, appeal: Appeal, topics: object = None) -> tuple[Side, Side, Evidence]:
        """The evidence of `appeal` against every stored appeal, without storing it (for fitting and
        explaining the pair scorer): its side, the stored rows' sides and `dedupe_rules.evidence`."""
        feats = self.set_topics(featurize([appeal.text], self.config), [topics])
        rows = np.arange(len(self), dtype=np.int64)
        query = self._query_side(feats, 0, day_number(appeal.created_at), self.topic_code(appeal.topic_group))
        terms = self._term_scores(feats.terms(0), rows)
        stored = self.cols.side(rows)
        return query, stored, evidence(query, stored, terms, self.config)

    def topic_code(self, topic_group: str | None) -> int:
        """Small integer standing for a topic group (-1 when unknown)."""
        if not topic_group:
            return -1
        return self.topics.setdefault(topic_group, len(self.topics))

    def _decide(
        self,
        feats: Features,
        i: int,
        appeal: Appeal,
        sender: str | None,
        store: bool,
    ) -> GroupMatch:
        day, topic = day_number(appeal.created_at), self.topic_code(appeal.topic_group)
        code = sender_code(sender)
        best, verdict, sim = self._best(feats, i, day, topic, code)
        if store:
            row = self._store(feats, i, appeal.id, day, topic, code)
            return self.join(row, best, verdict, sim)
        joins = best >= 0 and (verdict != 1 or self.config.join_possible)
        group = int(self.groups.of_row[best]) if joins else -1
        return GroupMatch(
            appeal_id=appeal.id,
            group_id=self.groups.label(group) if joins else appeal.id,
            group_size=int(self.groups.size[group]) + 1 if joins else 1,
            duplicate_of=self.ids[self.groups.first_row[group]] if joins else None,
            matched_id=self.ids[best] if best >= 0 else None,
            status=_status(best, verdict),
            similarity=round(sim, 4),
            repeat_by_sender=joins and bool(code) and (group, code) in self.groups.sender_keys,
            needs_review=POSSIBLE_DUPLICATE if _status(best, verdict) == "possible" else None,
        )

    def join(self, row: int, best: int, verdict: int, sim: float) -> GroupMatch:
        """Put stored `row` into the group of its best match `best` (or a new group) and describe it."""
        joins = best >= 0 and (verdict != 1 or self.config.join_possible)
        appeal_id = self.ids[row]
        group = int(self.groups.of_row[best]) if joins else self.groups.open_fresh(appeal_id)
        repeat = self.groups.assign(row, group, int(self.cols["sender"][row]))
        status = _status(best, verdict)
        return GroupMatch(
            appeal_id=appeal_id,
            group_id=self.groups.label(group),
            group_size=int(self.groups.size[group]),
            duplicate_of=self.ids[self.groups.first_row[group]] if joins else None,
            matched_id=self.ids[best] if best >= 0 else None,
            status=status,
            similarity=round(sim, 4),
            repeat_by_sender=repeat,
            needs_review=POSSIBLE_DUPLICATE if status == "possible" else None,
        )

    def _restore(
        self,
        feats: Features,
        i: int,
        appeal: Appeal,
        sender: str | None,
        group_id: str,
    ) -> GroupMatch:
        day, topic, code = (
            day_number(appeal.created_at),
            self.topic_code(appeal.topic_group),
            sender_code(sender),
        )
        row = self._store(feats, i, appeal.id, day, topic, code)
        group = self.groups.open(group_id)
        repeat = self.groups.assign(row, group, code)
        first = self.ids[self.groups.first_row[group]]
        return GroupMatch(
            appeal_id=appeal.id,
            group_id=group_id,
            group_size=int(self.groups.size[group]),
            duplicate_of=first if first != appeal.id else None,
            matched_id=None,
            status="new" if first == appeal.id else "duplicate",
            similarity=0.0,
            repeat_by_sender=repeat,
        )

    def _store(self, feats: Features, i: int, appeal_id: str, day: float, topic: int, sender: int) -> int:
        row = self.cols.append(feats, i, day, topic, sender)
        self.exact_table.add([int(feats.exact[i])], row)
        if feats.has_shingles[i]:
            self.band_table.add(feats.bands[i].tolist(), row)
        blocks = self._blocks(feats, i, sender)
        if blocks:
            self.block_table.add(blocks, row)
        if len(feats.terms(i)):
            self.term_table.add(feats.terms(i).tolist(), row)
        self.ids.append(appeal_id)
        self.count += 1
        return row


def _status(best: int, verdict: int) -> MatchStatus:
    return (
        "new" if best < 0 else "exact" if verdict > SURE else "duplicate" if verdict == SURE else "possible"
    )
