"""Growable numpy columns holding what the dedupe index keeps of each stored appeal (no text)."""

from __future__ import annotations

import numpy as np

from appeals.dedupe_features import NAME_K, TOPIC_K, Features
from appeals.dedupe_rules import Side
from appeals.dedupe_table import capacity, reserve, resized

# name: (shape after the row axis, dtype). Every row is written whole when it is stored (`append`,
# `extend`), so new capacity is left zero and unread: no fill value for empty rows is needed.
_LAYOUT: dict[str, tuple[tuple[int, ...], type]] = {
    "exact": ((), np.uint64),
    "has_shingles": ((), np.bool_),
    "comparable": ((), np.bool_),
    "settlement": ((), np.uint32),
    "settlement_prefix": ((), np.uint32),
    "street": ((), np.uint32),
    "house": ((), np.uint32),
    "building": ((), np.uint32),
    "object_kind": ((), np.uint32),
    "object": ((), np.uint32),
    "topic_ids": ((TOPIC_K,), np.int32),
    "topic_p": ((TOPIC_K,), np.float32),
    "names": ((NAME_K,), np.uint32),
    "day": ((), np.float64),
    "topic": ((), np.int32),
    "sender": ((), np.uint32),
}
_FROM_FEATURES = (
    "exact",
    "has_shingles",
    "comparable",
    "settlement",
    "settlement_prefix",
    "street",
    "house",
    "building",
    "object_kind",
    "object",
    "topic_ids",
    "topic_p",
    "names",
)


class Columns:
    """Row i of every array describes stored appeal i; capacity grows (`dedupe_table.capacity`) as
    rows are appended, and rows past `count` are spare room that is never read."""

    def __init__(self, num_perm: int) -> None:
        self.num_perm = num_perm
        self.count = 0
        # The MinHash is kept as its low 16 bits: two different 32-bit minima agree in them with
        # probability 2^-16, which does not move a similarity estimate, and it halves the memory.
        self.arrays: dict[str, np.ndarray] = {"signature": np.zeros((0, num_perm), dtype=np.uint16)}
        for name, (tail, dtype) in _LAYOUT.items():
            self.arrays[name] = np.zeros((0, *tail), dtype=dtype)
        self.terms = np.zeros(0, dtype=np.uint32)
        self.term_offsets = np.zeros(1, dtype=np.int64)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def nbytes(self) -> int:
        used = sum(int(a[: self.count].nbytes) for a in self.arrays.values())
        return used + int(self.term_offsets[self.count]) * 4 + (self.count + 1) * 8

    def _grow(self, rows: int) -> None:
        old = len(self.arrays["exact"])
        size = capacity(old, rows)
        if size == old:
            return
        for name, array in self.arrays.items():
            self.arrays[name] = resized(array, size, self.count)
        self.term_offsets = resized(self.term_offsets, size + 1, self.count + 1)

    def _grow_terms(self, size: int) -> None:
        self.terms = reserve(self.terms, size, int(self.term_offsets[self.count]), minimum=4096)

    def append(self, feats: Features, i: int, day: float, topic: int, sender: int) -> int:
        """Store row `i` of `feats` with its day, topic code and sender code; returns its row number."""
        row = self.count
        self._grow(row + 1)
        for name in _FROM_FEATURES:
            self.arrays[name][row] = getattr(feats, name)[i]
        self.arrays["signature"][row] = feats.signature[i].astype(np.uint16)
        self.arrays["day"][row], self.arrays["topic"][row], self.arrays["sender"][row] = day, topic, sender
        terms = feats.terms(i)
        start = int(self.term_offsets[row])
        self._grow_terms(start + len(terms))
        self.terms[start : start + len(terms)] = terms
        self.term_offsets[row + 1] = start + len(terms)
        self.count += 1
        return row

    def extend(
        self, feats: Features, days: np.ndarray, topics: np.ndarray, senders: np.ndarray
    ) -> np.ndarray:
        """Store all rows of `feats` at once (the batch path); returns their row numbers."""
        start, n = self.count, len(feats)
        self._grow(start + n)
        rows = slice(start, start + n)
        for name in _FROM_FEATURES:
            self.arrays[name][rows] = getattr(feats, name)
        self.arrays["signature"][rows] = feats.signature.astype(np.uint16)
        self.arrays["day"][rows], self.arrays["topic"][rows], self.arrays["sender"][rows] = (
            days,
            topics,
            senders,
        )
        first, size = int(self.term_offsets[start]), len(feats.term_flat)
        self._grow_terms(first + size)
        self.terms[first : first + size] = feats.term_flat
        self.term_offsets[start + 1 : start + n + 1] = first + feats.term_offsets[1:]
        self.count += n
        return np.arange(start, start + n)

    def side(self, rows: np.ndarray, signature: bool = True, topics: bool = True) -> Side:
        """The columns of `rows`, for `dedupe_rules.judge` (without the signature: a cheap first look;
        without topics and names, which only the topic rule reads, as "unknown")."""
        a = self.arrays
        if topics:
            topic_ids, topic_p, names = a["topic_ids"][rows], a["topic_p"][rows], a["names"][rows]
        else:
            topic_ids = np.full((len(rows), TOPIC_K), -1, dtype=np.int32)
            topic_p = np.zeros((len(rows), TOPIC_K), dtype=np.float32)
            names = np.zeros((len(rows), NAME_K), dtype=np.uint32)
        return Side(
            signature=a["signature"][rows] if signature else np.empty((len(rows), 0), dtype=np.uint16),
            has_shingles=a["has_shingles"][rows],
            comparable=a["comparable"][rows],
            settlement=a["settlement"][rows],
            settlement_prefix=a["settlement_prefix"][rows],
            street=a["street"][rows],
            house=a["house"][rows],
            building=a["building"][rows],
            object_kind=a["object_kind"][rows],
            object=a["object"][rows],
            day=a["day"][rows],
            topic=a["topic"][rows],
            topic_ids=topic_ids,
            topic_p=topic_p,
            names=names,
            sender=a["sender"][rows],
        )

    def state(self) -> dict[str, np.ndarray]:
        n = self.count
        arrays = {f"col_{k}": v[:n] for k, v in self.arrays.items()}
        arrays["terms"] = self.terms[: int(self.term_offsets[n])]
        arrays["term_offsets"] = self.term_offsets[: n + 1]
        return arrays

    @classmethod
    def from_state(cls, data: dict[str, np.ndarray], num_perm: int) -> Columns:
        columns = cls(num_perm)
        columns.arrays = {k.removeprefix("col_"): np.array(data[k]) for k in data if k.startswith("col_")}
        columns.terms, columns.term_offsets = np.array(data["terms"]), np.array(data["term_offsets"])
        columns.count = len(columns.arrays["exact"])
        return columns
