"""A compact multimap from integer keys to row numbers, for LSH bands, exact keys and place blocks.

A million appeals with 32 LSH bands make 32 million entries: as Python dicts of lists that is
several gigabytes, as two sorted numpy arrays it is 8 bytes an entry. Entries live in two such
sorted levels: a large one, and a small one that takes the new entries (an insertion copies only
the small level) and is merged into the large one when it holds `_MIN_PENDING` entries or a
`_PENDING_SHARE`-th of the large level, at most `_MAX_PENDING`. Adding one appeal stays cheap, a
lookup is a binary search in each level, and no entry costs a Python object (a dict of lists for
the new entries took about 75 bytes an entry).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_MIN_PENDING = 16_384
_PENDING_SHARE = 32
_MAX_PENDING = 131_072
GROWTH = 1.5  # capacity factor of the growable arrays below


def capacity(current: int, needed: int, minimum: int = 1024) -> int:
    """Capacity for `needed` rows: `current` when it has room, else at least GROWTH times it, so that
    appending one row at a time copies each row a bounded number of times."""
    if needed <= current:
        return current
    return max(needed, int(current * GROWTH), minimum)


def resized(array: np.ndarray, size: int, used: int) -> np.ndarray:
    """A copy of `array` with `size` rows, its first `used` rows kept and the rest zero.

    np.zeros takes memory from calloc, which leaves a large block's pages untouched until a row is
    written to them: the spare capacity costs address space, not resident memory (np.full wrote
    every element and made all of it resident at once). Rows past `used` are never copied, so they
    stay untouched too; readers must not look past the rows written (nothing reads them).
    """
    grown = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


def reserve(array: np.ndarray, needed: int, used: int, minimum: int = 1024) -> np.ndarray:
    """`array` itself when it has room for `needed` rows, else a larger copy of its `used` rows."""
    size = capacity(len(array), needed, minimum)
    return array if size == len(array) else resized(array, size, used)


def _spans(keys: np.ndarray, query: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(positions in sorted `keys` under any of `query`, how many under each query key); per key at
    most the `limit` newest (the last ones)."""
    left = np.searchsorted(keys, query, side="left")
    right = np.searchsorted(keys, query, side="right")
    if limit is not None:
        left = np.maximum(left, right - limit)
    lengths = right - left
    total = int(lengths.sum())
    if not total:
        return np.empty(0, dtype=np.intp), lengths
    starts = np.repeat(left - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return starts + np.arange(total), lengths


def _find(keys: np.ndarray, rows: np.ndarray, query: np.ndarray, limit: int | None) -> np.ndarray:
    """Rows of sorted `keys` under any of `query`, per key at most the `limit` newest (the last ones)."""
    positions, _ = _spans(keys, query, limit)
    return rows[positions] if len(positions) else np.empty(0, dtype=np.int32)


def _count(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    return np.searchsorted(keys, query, side="right") - np.searchsorted(keys, query, side="left")


def _insert(keys: np.ndarray, rows: np.ndarray, new_keys: np.ndarray, new_rows: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted `keys`/`rows` with the new pairs inserted; equal keys keep the order they were added in."""
    order = np.lexsort((new_rows, new_keys))
    new_keys, new_rows = new_keys[order], new_rows[order]
    at = np.searchsorted(keys, new_keys, side="right")
    return np.insert(keys, at, new_keys), np.insert(rows, at, new_rows)


class KeyTable:
    """Multimap key -> rows. Rows come back in the order they were added (oldest first)."""

    def __init__(self, dtype: type[np.unsignedinteger] = np.uint32) -> None:
        self.dtype = dtype
        self.keys = np.empty(0, dtype=dtype)
        self.rows = np.empty(0, dtype=np.int32)
        self.pending_keys = np.empty(0, dtype=dtype)  # the small level, sorted like the large one
        self.pending_rows = np.empty(0, dtype=np.int32)

    @property
    def pending_count(self) -> int:
        return len(self.pending_keys)

    def __len__(self) -> int:
        return len(self.keys) + self.pending_count

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.rows.nbytes + self.pending_keys.nbytes + self.pending_rows.nbytes)

    def add(self, keys: Sequence[int], row: int) -> None:
        """Add one row under each of `keys` (Python ints)."""
        new_keys = np.asarray(keys, dtype=self.dtype)
        self.pending_keys, self.pending_rows = _insert(
            self.pending_keys, self.pending_rows, new_keys, np.full(len(new_keys), row, dtype=np.int32))
        if self.pending_count > max(_MIN_PENDING, min(len(self.keys) // _PENDING_SHARE, _MAX_PENDING)):
            self.compact()

    def add_many(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Add many (key, row) pairs at once; rows must be newer than every row already stored."""
        self.compact()
        self.keys, self.rows = _insert(self.keys, self.rows, np.asarray(keys, dtype=self.dtype).ravel(),
                                       np.asarray(rows, dtype=np.int32).ravel())

    def compact(self) -> None:
        """Merge the small level into the large one (its rows are newer than every row there)."""
        if not self.pending_count:
            return
        self.keys, self.rows = _insert(self.keys, self.rows, self.pending_keys, self.pending_rows)
        self.pending_keys = np.empty(0, dtype=self.dtype)
        self.pending_rows = np.empty(0, dtype=np.int32)

    def counts(self, keys: Sequence[int]) -> np.ndarray:
        """How many rows each of `keys` has (a document frequency, for term tables)."""
        query = np.asarray(keys, dtype=self.dtype)
        return _count(self.keys, query) + _count(self.pending_keys, query)

    def lookup(self, keys: Sequence[int], limit: int | None = None) -> np.ndarray:
        """Rows stored under any of `keys` (Python ints); per key at most the `limit` newest ones
        of each level."""
        query = np.asarray(keys, dtype=self.dtype)
        old = _find(self.keys, self.rows, query, limit)
        if not self.pending_count:
            return old
        new = _find(self.pending_keys, self.pending_rows, query, limit)
        return np.concatenate((old, new)) if len(new) else old

    def rows_under(self, key: int | np.unsignedinteger) -> list[int]:
        """`lookup` of one key, oldest first, as a list: two scalar binary searches per level and no
        array plumbing, for the per-appeal id lookups."""
        found: list[int] = []
        for keys, rows in ((self.keys, self.rows), (self.pending_keys, self.pending_rows)):
            wanted = keys.dtype.type(key)
            found += rows[keys.searchsorted(wanted, "left") : keys.searchsorted(wanted, "right")].tolist()
        return found

    def lookup_pairs(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `keys`, row) for every row stored under each of `keys`, for batch lookups
        that must know which key found which row."""
        query, asking, found = np.asarray(keys, dtype=self.dtype), [], []
        for level_keys, level_rows in ((self.keys, self.rows), (self.pending_keys, self.pending_rows)):
            positions, lengths = _spans(level_keys, query, None)
            asking.append(np.repeat(np.arange(len(query)), lengths))
            found.append(level_rows[positions])
        return np.concatenate(asking), np.concatenate(found)

    def state(self) -> dict[str, np.ndarray]:
        self.compact()
        return {"keys": self.keys, "rows": self.rows}

    @classmethod
    def from_state(cls, keys: np.ndarray, rows: np.ndarray) -> KeyTable:
        table = cls(keys.dtype.type)
        table.keys, table.rows = keys, rows.astype(np.int32)
        return table
