"""A compact multimap from integer keys to row numbers, for LSH bands, exact keys and place blocks.

A million appeals with 32 LSH bands make 32 million entries: as Python dicts of lists that is
several gigabytes, as two sorted numpy arrays it is 8 bytes an entry. New entries wait in a small dict
and are merged into the sorted arrays once they reach an eighth of them, so adding one appeal stays
cheap and the merges cost O(n log n) over a whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_MIN_PENDING = 65_536


class KeyTable:
    """Multimap key -> rows. Rows come back in the order they were added (oldest first)."""

    def __init__(self, dtype: type[np.unsignedinteger] = np.uint32) -> None:
        self.dtype = dtype
        self.keys = np.empty(0, dtype=dtype)
        self.rows = np.empty(0, dtype=np.int32)
        self.pending: dict[int, list[int]] = {}
        self.pending_count = 0

    def __len__(self) -> int:
        return len(self.keys) + self.pending_count

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.rows.nbytes) + 100 * self.pending_count

    def add(self, keys: Sequence[int], row: int) -> None:
        """Add one row under each of `keys` (Python ints)."""
        for key in keys:
            self.pending.setdefault(key, []).append(row)
        self.pending_count += len(keys)
        if self.pending_count > max(_MIN_PENDING, len(self.keys) // 8):
            self.compact()

    def add_many(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Add many (key, row) pairs at once; rows must be newer than every row already stored."""
        self.compact()
        self._merge(np.asarray(keys, dtype=self.dtype).ravel(), np.asarray(rows, dtype=np.int32).ravel())

    def compact(self) -> None:
        """Move the pending entries into the sorted arrays."""
        if not self.pending_count:
            return
        keys = np.fromiter(
            (k for k, rows in self.pending.items() for _ in rows), dtype=self.dtype, count=self.pending_count
        )
        rows = np.fromiter(
            (r for rows in self.pending.values() for r in rows), dtype=np.int32, count=self.pending_count
        )
        self.pending, self.pending_count = {}, 0
        self._merge(keys, rows)

    def _merge(self, keys: np.ndarray, rows: np.ndarray) -> None:
        order = np.lexsort((rows, keys))
        keys, rows = keys[order], rows[order]
        # Inserting after equal keys keeps each key's rows in insertion order.
        at = np.searchsorted(self.keys, keys, side="right")
        self.keys = np.insert(self.keys, at, keys)
        self.rows = np.insert(self.rows, at, rows)

    def counts(self, keys: Sequence[int]) -> np.ndarray:
        """How many rows each of `keys` has (a document frequency, for term tables)."""
        query = np.asarray(keys, dtype=self.dtype)
        found = np.searchsorted(self.keys, query, side="right") - np.searchsorted(
            self.keys, query, side="left"
        )
        if self.pending_count:
            found = found + np.array([len(self.pending.get(k, ())) for k in keys])
        return found

    def lookup(self, keys: Sequence[int], limit: int | None = None) -> np.ndarray:
        """Rows stored under any of `keys` (Python ints); per key at most the `limit` newest ones
        of the sorted part and of the pending part each."""
        query = np.asarray(keys, dtype=self.dtype)
        left = np.searchsorted(self.keys, query, side="left")
        right = np.searchsorted(self.keys, query, side="right")
        if limit is not None:
            left = np.maximum(left, right - limit)
        lengths = right - left
        total = int(lengths.sum())
        parts = []
        if total:
            starts = np.repeat(left - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
            parts.append(self.rows[starts + np.arange(total)])
        if self.pending_count:
            for key in keys:
                recent = self.pending.get(key)
                if recent:
                    parts.append(np.asarray(recent[-limit:] if limit else recent, dtype=np.int32))
        if not parts:
            return np.empty(0, dtype=np.int32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def state(self) -> dict[str, np.ndarray]:
        self.compact()
        return {"keys": self.keys, "rows": self.rows}

    @classmethod
    def from_state(cls, keys: np.ndarray, rows: np.ndarray) -> KeyTable:
        table = cls(keys.dtype.type)
        table.keys, table.rows = keys, rows.astype(np.int32)
        return table
