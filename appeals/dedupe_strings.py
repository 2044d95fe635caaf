"""Strings by number and numbers by string without a Python object per string: the dedupe index's
appeal ids (row -> id, id -> row) and the group labels that are no appeal's id.

As a list plus a dict, a 25-character id cost about 160 bytes in a worker: the str object, a dict
entry, an int object for its row and a list slot. Here it costs its UTF-8 bytes in one buffer, an
8-byte offset, and a 12-byte entry of a `KeyTable` from a 64-bit hash of those bytes to its number.
A lookup compares the stored bytes, so ids that share a hash never mix up their rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from appeals.dedupe_table import KeyTable, reserve

_MASK = (1 << 64) - 1


def encode(text: str) -> bytes:
    """UTF-8, lone surrogates kept (a JSON body may carry "\\ud800"; a dict key could, so an id may)."""
    return text.encode("utf-8", "surrogatepass")


def hash_key(raw: bytes) -> int:
    """64-bit hash of one string's bytes: Python's own hash of bytes (SipHash keyed per process), fast
    and hard to collide on purpose. Hashes live only in memory, so a per-process key is fine: a
    table read back from a file hashes its strings again."""
    return hash(raw) & _MASK


def hash_bytes(values: Sequence[bytes]) -> np.ndarray:
    """`hash_key` of each of `values`."""
    return np.fromiter((hash_key(v) for v in values), dtype=np.uint64, count=len(values))


class Keys(NamedTuple):
    """A batch of strings as a `StringTable` looks them up: bytes and hashes, computed once for the
    several lookups and the insertion a batch of ids goes through."""

    raws: list[bytes]
    hashes: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str] | Keys) -> Keys:
        if isinstance(texts, Keys):
            return texts
        raws = [encode(t) for t in texts]
        return cls(raws, hash_bytes(raws))

    def take(self, positions: Sequence[int]) -> Keys:
        return Keys([self.raws[k] for k in positions], self.hashes[np.asarray(positions, dtype=np.int64)])


class StringTable:
    """Strings numbered 0, 1, … in the order they were added; `find` gives a string's number.

    A string may be added twice (a batch with a repeated id); `find` then gives the newest number,
    as a dict updated in order would.
    """

    def __init__(self) -> None:
        self.count = 0
        self.data = np.zeros(0, dtype=np.uint8)  # the UTF-8 bytes of all strings, one after another
        self.offsets = np.zeros(1, dtype=np.int64)  # string k is data[offsets[k] : offsets[k + 1]]
        self.table = KeyTable(np.uint64)  # hash of the bytes -> number

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, number: int) -> str:
        return self.raw(number).decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return (self[k] for k in range(self.count))

    @property
    def nbytes(self) -> int:
        return int(self.offsets[self.count]) + 8 * (self.count + 1) + self.table.nbytes

    def raw(self, number: int) -> bytes:
        number = int(number)
        if not 0 <= number < self.count:
            raise IndexError(f"string {number} of {self.count}")
        return self.data[self.offsets[number] : self.offsets[number + 1]].tobytes()

    # ------------------------------------------------------------------ adding

    def _reserve(self, count: int, size: int) -> None:
        """Room for `count` strings of `size` bytes in all."""
        self.offsets = reserve(self.offsets, count + 1, self.count + 1)
        self.data = reserve(self.data, size, int(self.offsets[self.count]), minimum=16_384)

    def append(self, text: str) -> int:
        """Add one string; returns its number."""
        raw, number = encode(text), self.count
        start = int(self.offsets[number])
        self._reserve(number + 1, start + len(raw))
        self.data[start : start + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        self.offsets[number + 1] = start + len(raw)
        self.table.add([hash_key(raw)], number)
        self.count += 1
        return number

    def extend(self, texts: Sequence[str] | Keys) -> np.ndarray:
        """Add many strings at once (the batch path); returns their numbers."""
        raws, hashes = Keys.of(texts)
        first, n, blob = self.count, len(raws), b"".join(raws)
        start = int(self.offsets[first])
        self._reserve(first + n, start + len(blob))
        self.data[start : start + len(blob)] = np.frombuffer(blob, dtype=np.uint8)
        self.offsets[first + 1 : first + n + 1] = start + np.cumsum(
            np.fromiter(map(len, raws), dtype=np.int64, count=n))
        numbers = np.arange(first, first + n)
        self.table.add_many(hashes, numbers)
        self.count += n
        return numbers

    # ------------------------------------------------------------------ finding

    def find_all(self, text: str) -> list[int]:
        """The numbers of `text`, oldest first (one, unless it was added twice; none if never)."""
        raw = encode(text)
        return [n for n in self.table.rows_under(hash_key(raw)) if self.raw(n) == raw]

    def find(self, text: str) -> int:
        """The newest number of `text`, -1 when it was never added."""
        numbers = self.find_all(text)
        return numbers[-1] if numbers else -1

    def matches(self, texts: Sequence[str] | Keys) -> tuple[np.ndarray, np.ndarray]:
        """(position in `texts`, number) for every stored copy of each of `texts`: numpy searches, and
        a Python loop only over the hash hits to compare their bytes."""
        raws, hashes = Keys.of(texts)
        if not raws or not self.count:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        asking, numbers = self.table.lookup_pairs(hashes)
        same = [self.raw(n) == raws[k] for k, n in zip(asking.tolist(), numbers.tolist(), strict=True)]
        keep = np.array(same, dtype=bool)
        return asking[keep], numbers[keep].astype(np.int64)

    def find_many(self, texts: Sequence[str] | Keys) -> np.ndarray:
        """`find` for each of `texts` at once."""
        keys = Keys.of(texts)
        found = np.full(len(keys.raws), -1, dtype=np.int64)
        asking, numbers = self.matches(keys)
        np.maximum.at(found, asking, numbers)
        return found

    def newest(self) -> np.ndarray:
        """Numbers that are their string's newest (all of them unless a string was added twice)."""
        numbers = np.arange(self.count)
        return numbers[self.find_many(list(self)) == numbers]

    # ------------------------------------------------------------------ saving

    @classmethod
    def from_strings(cls, texts: Sequence[str]) -> StringTable:
        table = cls()
        table.extend(texts)
        return table


class NumberOf(Mapping[str, int]):
    """A read-only dict view of a `StringTable`: string -> its newest number (`index.row_of`)."""

    def __init__(self, strings: StringTable) -> None:
        self.strings = strings

    def __getitem__(self, text: str) -> int:
        number = self.strings.find(text) if isinstance(text, str) else -1
        if number < 0:
            raise KeyError(text)
        return number

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self.strings.find(text) >= 0

    def __iter__(self) -> Iterator[str]:
        return (self.strings[k] for k in self.newest())

    def __len__(self) -> int:
        return len(self.newest())

    def newest(self) -> list[int]:
        return self.strings.newest().tolist()

    def contains_many(self, texts: Sequence[str]) -> np.ndarray:
        """Whether each of `texts` is a key, at once (for `pandas.Series.isin`-like filters)."""
        return self.strings.find_many(texts) >= 0
