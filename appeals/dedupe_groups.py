"""Group bookkeeping for the dedupe index: which row belongs to which group, sizes, split and merge.

A group's label is the id of the appeal that opened it (readable, and stable when the index is
rebuilt from stored labels); an appeal split off a group whose label is its own id gets `<id>#2`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from appeals.dedupe_strings import Keys, StringTable
from appeals.dedupe_table import reserve

MatchStatus = Literal["new", "exact", "duplicate", "possible"]
POSSIBLE_DUPLICATE = "possible duplicate"
_EPOCH = datetime(1970, 1, 1)


class GroupMatch(BaseModel):
    """Where one appeal belongs. `duplicate_of` is the first appeal of its group (None if it is first)."""

    model_config = ConfigDict(frozen=True)

    appeal_id: str
    group_id: str
    group_size: int
    duplicate_of: str | None
    matched_id: str | None
    status: MatchStatus
    similarity: float
    repeat_by_sender: bool
    needs_review: str | None = None


def day_number(value: object) -> float:
    """Days since 1970 of a datetime/date/pandas timestamp; NaN when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    try:
        if value != value:  # NaT
            return float("nan")
        stamp = value.replace(tzinfo=None) if isinstance(value, datetime) else value
        return (stamp - _EPOCH).total_seconds() / 86400.0  # type: ignore[operator]
    except (TypeError, AttributeError):
        return float("nan")


def sender_code(sender: str | None) -> int:
    if not sender or not str(sender).strip():
        return 0
    digest = hashlib.blake2b(str(sender).strip().lower().encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "little") or 1


class Groups:
    """Row -> group number, with per-group label, size and first row, all in numpy arrays.

    A group's label is, as a rule, the id of a stored appeal (the one that opened it). Such a group
    keeps only that appeal's row (`label_row`), and `labelled[row]` points back to the group, so the
    label costs no string of its own and is found through the index's id table. Other labels
    (`<id>#2` after a split, a restored label whose appeal is no longer stored) are kept in `named`.
    """

    def __init__(self, ids: StringTable) -> None:
        self.ids = ids  # the index's appeal ids, by row
        self.count = 0  # groups, emptied ones included
        self.rows = 0  # rows that have entries below; the arrays' capacity past them is unset
        self.of_row = np.zeros(0, dtype=np.int32)  # group of each row, -1 before it is assigned
        self.labelled = np.zeros(0, dtype=np.int32)  # per row: 1 + the group its id labels, 0 none
        self.size = np.zeros(0, dtype=np.int32)
        self.first_row = np.zeros(0, dtype=np.int32)  # -1 for an emptied group
        self.label_row = np.zeros(0, dtype=np.int32)  # the row whose id is the label; else -1 - k: named[k]
        self.named = StringTable()
        self.named_group = np.zeros(0, dtype=np.int32)  # group of named label k
        self.sender_keys: set[tuple[int, int]] = set()

    @property
    def nbytes(self) -> int:
        per_row, per_group = 8 * self.rows, 12 * self.count
        return per_row + per_group + self.named.nbytes + 4 * self.named.count

    def _reserve_rows(self, rows: int) -> None:
        """Entries for rows below `rows`; rows new to `of_row` get -1 (no group yet)."""
        if rows <= self.rows:
            return
        self.of_row = reserve(self.of_row, rows, self.rows)
        self.labelled = reserve(self.labelled, rows, self.rows)
        self.of_row[self.rows : rows] = -1
        self.rows = rows

    def _reserve_groups(self, count: int) -> None:
        self.size = reserve(self.size, count, self.count)
        self.first_row = reserve(self.first_row, count, self.count)
        self.label_row = reserve(self.label_row, count, self.count)

    # ------------------------------------------------------------------ labels

    def label(self, group: int) -> str:
        group = int(group)
        if not 0 <= group < self.count:
            raise IndexError(f"group {group} of {self.count}")
        row = int(self.label_row[group])
        return self.ids[row] if row >= 0 else self.named[-1 - row]

    def labels(self) -> list[str]:
        return [self.label(g) for g in range(self.count)]

    def find(self, label: str) -> int:
        """Number of the group called `label`, -1 when there is none (an emptied group still counts)."""
        return self._lookup(label)[0]

    def _lookup(self, label: str) -> tuple[int, int]:
        """(group called `label` or -1, newest row whose id is `label` or -1)."""
        rows = self.ids.find_all(label)
        newest = rows[-1] if rows else -1
        for row in rows:
            if row < self.rows and self.labelled[row]:
                return int(self.labelled[row]) - 1, newest
        named = self.named.find(label) if self.named.count else -1
        return (int(self.named_group[named]) if named >= 0 else -1), newest

    def find_many(self, labels: Sequence[str]) -> np.ndarray:
        """`find` for each of `labels` at once."""
        return self._lookup_many(Keys.of(labels))[0]

    def _lookup_many(self, keys: Keys) -> tuple[np.ndarray, np.ndarray]:
        """`_lookup` for each of a batch of labels: (groups, newest rows), -1 where none."""
        found, newest = np.full((2, len(keys.raws)), -1, dtype=np.int64)
        asking, rows = self.ids.matches(keys)
        np.maximum.at(newest, asking, rows)
        inside = rows < self.rows  # rows without entries yet label nothing
        asking, marks = asking[inside], self.labelled[rows[inside]]
        found[asking[marks > 0]] = marks[marks > 0] - 1
        if self.named.count:
            asking, named = self.named.matches(keys)
            found[asking] = self.named_group[named]
        return found, newest

    def fresh_label(self, appeal_id: str) -> str:
        return self._fresh(appeal_id)[0]

    def _fresh(self, appeal_id: str) -> tuple[str, int]:
        """(`appeal_id`, or `<appeal_id>#k` when that label is taken; the newest row with that id)."""
        label, k = appeal_id, 1
        group, row = self._lookup(label)
        while group >= 0:
            k += 1
            label = f"{appeal_id}#{k}"
            group, row = self._lookup(label)
        return label, row

    def open(self, label: str) -> int:
        """Number of the group called `label`, created empty if it does not exist yet."""
        group, row = self._lookup(label)
        return group if group >= 0 else self._add(label, row)

    def open_fresh(self, appeal_id: str) -> int:
        """A new empty group called `appeal_id`, or `<appeal_id>#k` when that label is taken."""
        return self._add(*self._fresh(appeal_id))

    def _add(self, label: str, row: int) -> int:
        """A new empty group called `label` (no group has it), referring to `row` when that row's id
        is the label (-1: keep the label in `named`). `_create` does the same for many labels."""
        group = self.count
        self._reserve_groups(group + 1)
        if row >= 0:
            self._reserve_rows(row + 1)
            self.labelled[row], self.label_row[group] = group + 1, row
        else:
            named = self.named.append(label)
            self.named_group = reserve(self.named_group, named + 1, named)
            self.named_group[named], self.label_row[group] = group, -1 - named
        self.size[group], self.first_row[group] = 0, -1
        self.count += 1
        return group

    def open_many(self, labels: Sequence[str]) -> np.ndarray:
        """`open` for each of `labels` in turn (new groups are numbered in order of first mention)."""
        keys = Keys.of(labels)
        groups, rows = self._lookup_many(keys)
        missing = np.flatnonzero(groups < 0).tolist()
        if missing:
            first: dict[str, int] = {}  # each new label at its first mention
            for k in missing:
                first.setdefault(labels[k], k)
            at = list(first.values())
            number = dict(zip(first, self._create(keys.take(at), rows[at]).tolist(), strict=True))
            groups[missing] = [number[labels[k]] for k in missing]
        return groups

    def _create(self, keys: Keys, rows: np.ndarray) -> np.ndarray:
        """`_add` for many distinct labels no group has yet, `rows` the newest row with each as id."""
        first, n = self.count, len(rows)
        groups = np.arange(first, first + n, dtype=np.int32)
        self._reserve_groups(first + n)
        by_row = rows >= 0
        if by_row.any():
            self._reserve_rows(int(rows.max()) + 1)
            self.labelled[rows[by_row]] = groups[by_row] + 1
        self.label_row[groups[by_row]] = rows[by_row]
        if not by_row.all():
            named = self.named.extend(keys.take(np.flatnonzero(~by_row).tolist()))
            self.named_group = reserve(self.named_group, self.named.count, self.named.count - len(named))
            self.named_group[named] = groups[~by_row]
            self.label_row[groups[~by_row]] = -1 - named
        self.size[groups], self.first_row[groups] = 0, -1
        self.count += n
        return groups

    # ------------------------------------------------------------------ members

    def assign(self, row: int, group: int, sender: int) -> bool:
        """Put `row` in `group`; True when the same sender already wrote into that group."""
        self._reserve_rows(row + 1)
        self.of_row[row] = group
        self.size[group] += 1
        if self.first_row[group] < 0 or row < self.first_row[group]:
            self.first_row[group] = row
        if not sender:
            return False
        repeat = (group, sender) in self.sender_keys
        self.sender_keys.add((group, sender))
        return repeat

    def assign_many(self, rows: np.ndarray, groups: np.ndarray, senders: np.ndarray) -> None:
        """`assign` for many rows at once (restoring saved groups; who repeated is not reported)."""
        if not len(rows):
            return
        self._reserve_rows(int(rows.max()) + 1)
        self.of_row[rows] = groups
        order = np.lexsort((rows, groups))
        by_group = groups[order]
        starts = np.flatnonzero(np.concatenate(([True], by_group[1:] != by_group[:-1])))
        numbers, lowest = by_group[starts], rows[order][starts]
        self.size[numbers] += np.diff(np.append(starts, len(order))).astype(np.int32)
        current = self.first_row[numbers]
        self.first_row[numbers] = np.where((current < 0) | (lowest < current), lowest, current)
        sent = senders != 0
        self.sender_keys.update(zip(groups[sent].tolist(), senders[sent].tolist(), strict=True))

    def rows_of(self, group: int, count: int) -> np.ndarray:
        return np.flatnonzero(self.of_row[: min(count, self.rows)] == group)

    def move(self, rows: np.ndarray, target: int, senders: np.ndarray, count: int) -> None:
        """Move `rows` (all of one group or a part of it) into `target`, keeping sizes and first rows."""
        sources = {int(g) for g in self.of_row[rows]}
        self.of_row[rows] = target
        for group in sources | {target}:
            members = self.rows_of(group, count)
            self.size[group] = len(members)
            self.first_row[group] = int(members[0]) if len(members) else -1
        self.sender_keys = {(g, s) for g, s in self.sender_keys if g not in sources}
        for group in sources | {target}:
            members = self.rows_of(group, count)
            self.sender_keys.update((group, int(s)) for s in senders[members] if s)

    # ------------------------------------------------------------------ saving

    def group_of_rows(self, count: int) -> np.ndarray:
        """The group of each of the first `count` rows (-1: none), for saving."""
        out = np.full(count, -1, dtype=np.int32)
        known = min(count, self.rows)
        out[:known] = self.of_row[:known]
        return out

    @classmethod
    def from_state(
        cls, ids: StringTable, of_row: np.ndarray, labels: Sequence[str], senders: np.ndarray, count: int
    ) -> Groups:
        """Groups of `count` rows whose ids are `ids`: group k is called labels[k]."""
        groups = cls(ids)
        groups.open_many(labels)
        groups._reserve_rows(count)
        rows = np.flatnonzero(of_row[:count] >= 0)
        groups.assign_many(rows, of_row[rows].astype(np.int32), senders[rows])
        return groups
