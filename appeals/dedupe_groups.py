"""Group bookkeeping for the dedupe index: which row belongs to which group, sizes, split and merge.

A group's label is the id of the appeal that opened it (readable, and stable when the index is
rebuilt from stored labels); an appeal split off a group whose label is its own id gets `<id>#2`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

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
    """Row -> group number, with per-group label, size and first row."""

    def __init__(self) -> None:
        self.of_row = np.empty(0, dtype=np.int32)
        self.labels: list[str] = []
        self.number: dict[str, int] = {}
        self.size: list[int] = []
        self.first_row: list[int] = []
        self.sender_keys: set[tuple[int, int]] = set()

    def _grow(self, rows: int) -> None:
        if rows > len(self.of_row):
            grown = np.full(max(rows, 2 * len(self.of_row), 1024), -1, dtype=np.int32)
            grown[: len(self.of_row)] = self.of_row
            self.of_row = grown

    def fresh_label(self, appeal_id: str) -> str:
        label, k = appeal_id, 1
        while label in self.number:
            k += 1
            label = f"{appeal_id}#{k}"
        return label

    def open(self, label: str) -> int:
        """Number of the group called `label`, created empty if it does not exist yet."""
        if label not in self.number:
            self.number[label] = len(self.labels)
            self.labels.append(label)
            self.size.append(0)
            self.first_row.append(-1)
        return self.number[label]

    def assign(self, row: int, group: int, sender: int) -> bool:
        """Put `row` in `group`; True when the same sender already wrote into that group."""
        self._grow(row + 1)
        self.of_row[row] = group
        self.size[group] += 1
        if self.first_row[group] < 0 or row < self.first_row[group]:
            self.first_row[group] = row
        if not sender:
            return False
        repeat = (group, sender) in self.sender_keys
        self.sender_keys.add((group, sender))
        return repeat

    def rows_of(self, group: int, count: int) -> np.ndarray:
        return np.flatnonzero(self.of_row[:count] == group)

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

    def state(self) -> dict[str, np.ndarray]:
        return {"group_of_row": self.of_row, "group_labels": np.array(self.labels, dtype=object)}

    @classmethod
    def from_state(cls, of_row: np.ndarray, labels: list[str], senders: np.ndarray, count: int) -> Groups:
        groups = cls()
        for label in labels:
            groups.open(label)
        groups._grow(count)
        for row, group in enumerate(of_row[:count].tolist()):
            groups.assign(row, group, int(senders[row]))
        return groups
