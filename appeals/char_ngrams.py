"""Character n-gram TF-IDF whose transform counts with numpy: the same matrix as scikit-learn's.

`TfidfVectorizer(analyzer="char_wb")` builds every n-gram of every word as a Python string and looks
each one up in a dict: about 500 strings an appeal, the largest single cost of batch scoring. Here a
batch of texts becomes one array of code points; each n-gram is packed into one integer (its
characters' places in the vocabulary's alphabet, and its length), and all n-grams of the batch are
matched against the vocabulary's packed n-grams at once (a binary search of the sorted keys for one
appeal, a pandas hash index of them for a batch). Fitting is left to scikit-learn, so the vocabulary,
the idf weights and the matrix are exactly those of `TfidfVectorizer` with the same parameters
(tests/unit/test_char_ngrams.py compares them).

`char_wb` semantics reproduced: the lower-cased text is split on white space, each word padded with
one space on both sides, and every window of n characters inside a padded word counted, for n from
the range's lower end up to the padded word's length.

`weigh_counts` is the TF-IDF weighting of scikit-learn's `TfidfTransformer.transform` without its input
checks, which cost about 0.25 ms each here (a one-appeal call went through about 17 of them, most of it
in narwhals' data-frame detection); `WordTfidf` is `TfidfVectorizer` using it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.utils._sparse import _align_api_if_sparse
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

_LENGTH_BITS = 4  # an n-gram's length, kept in the low bits of its packed key
# An alphabet whose code points all lie below this is looked up in a table (one entry a code point)
# instead of by binary search: the Cyrillic block ends at U+04FF.
_TABLE_LIMIT = 1 << 16


class Packed(NamedTuple):
    """A vocabulary's n-grams packed into integers, with what `char_wb_counts` looks them up by."""

    alphabet: np.ndarray  # sorted code points of the vocabulary's characters
    bits: int  # bits a character
    keys: np.ndarray  # the packed n-grams, sorted
    features: np.ndarray  # each key's feature index
    hashed: pd.Index  # the same keys with a hash table (built on first lookup), for large batches
    table: np.ndarray | None  # code point -> character code (0: not in the alphabet), or None


# Below this many n-grams a lookup is a binary search of the sorted keys: a hash lookup costs about
# 0.06 ms a call whatever its size (one appeal has a few hundred n-grams of each length).
_HASH_FROM = 1500


def _positions(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's position in the sorted, non-empty array `ordered` (binary search), -1 where absent."""
    where = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return np.where(ordered[where] == values, where, -1)


def _lookup(packed: Packed, found: np.ndarray) -> np.ndarray:
    """Each packed n-gram's position among the vocabulary's sorted keys, -1 where it is not one."""
    if len(found) >= _HASH_FROM:
        return np.asarray(packed.hashed.get_indexer(found))
    return _positions(packed.keys, found)


class CharNgramTfidf(TfidfVectorizer):
    """`TfidfVectorizer(analyzer="char_wb", …)` with a vectorised `transform` (same output)."""

    def __init__(self, *, ngram_range: tuple[int, int] = (2, 5), min_df: float | int = 1,
                 max_df: float | int = 1.0, max_features: int | None = None, sublinear_tf: bool = False,
                 dtype: Any = np.float64) -> None:
        super().__init__(analyzer="char_wb", ngram_range=ngram_range, min_df=min_df, max_df=max_df,
                         max_features=max_features, sublinear_tf=sublinear_tf, dtype=dtype)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_packed_", None)  # rebuilt from the vocabulary on first use
        return state

    def _fast_ok(self) -> bool:
        low, high = self.ngram_range
        # A padded word has at least 3 characters, so with low <= 3 no word is shorter than the shortest
        # n-gram (scikit-learn would then count the whole word once, which is not reproduced here).
        return (self.analyzer == "char_wb" and self.lowercase and self.strip_accents is None
                and self.preprocessor is None and 1 <= low <= 3 and high >= low)

    def _packed(self) -> Packed | None:
        """The vocabulary's n-grams packed for lookup, or None when they do not fit one 63-bit integer
        (then scikit-learn's path is used)."""
        cached = getattr(self, "_packed_", None)
        if cached is not None:
            return cached or None
        grams = list(self.vocabulary_)
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        points = _code_points("".join(grams))
        alphabet = np.unique(points)
        bits = max(1, int(len(alphabet)).bit_length())  # codes 1..len(alphabet); 0 = not in it
        if bits * self.ngram_range[1] + _LENGTH_BITS > 63 or self.ngram_range[1] >= 2 ** _LENGTH_BITS:
            self._packed_: Packed | tuple[()] = ()
            return None
        codes = np.searchsorted(alphabet, points) + 1
        # each gram's characters, packed first to last: a shift by `bits` per character after it
        starts = np.cumsum(lengths) - lengths
        after = np.repeat(starts + lengths, lengths) - np.arange(len(points)) - 1
        shifted = codes << (bits * after)
        keys = np.add.reduceat(shifted, starts) if len(grams) else np.zeros(0, dtype=np.int64)
        keys = (keys << _LENGTH_BITS) | lengths
        index = np.fromiter(self.vocabulary_.values(), dtype=np.int64, count=len(grams))
        table = None
        if not len(alphabet) or alphabet[-1] < _TABLE_LIMIT:
            table = np.zeros(_TABLE_LIMIT, dtype=np.int64)
            table[alphabet] = np.arange(1, len(alphabet) + 1)
        order = np.argsort(keys)
        keys = keys[order]
        self._packed_ = Packed(alphabet, bits, keys, index[order], pd.Index(keys), table)
        return self._packed_

    def transform(self, raw_documents: Any) -> Any:
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        check_is_fitted(self, msg="The TF-IDF vectorizer is not fitted")
        packed = self._packed() if self._fast_ok() else None
        if packed is None:
            return super().transform(raw_documents)
        counts = char_wb_counts(list(raw_documents), packed, self.ngram_range, len(self.vocabulary_), self.dtype)
        if self.binary:
            counts.data.fill(1)
        return weigh_counts(self, counts)


class WordTfidf(TfidfVectorizer):
    """`TfidfVectorizer` whose transform weighs its counts with `weigh_counts` (same output)."""

    def transform(self, raw_documents: Any) -> Any:
        check_is_fitted(self, msg="The TF-IDF vectorizer is not fitted")
        return weigh_counts(self, CountVectorizer.transform(self, raw_documents))


def weigh_counts(vectorizer: TfidfVectorizer, counts: Any) -> Any:
    """`vectorizer._tfidf.transform(counts, copy=False)`, the same arithmetic in the same order (sublinear tf,
    idf, l2 rows), without re-checking counts the vectorizer itself made: a CSR matrix of floats. Anything
    else goes through scikit-learn."""
    tfidf = vectorizer._tfidf
    if (not sp.issparse(counts) or counts.format != "csr" or counts.dtype not in (np.float32, np.float64)
            or tfidf.norm not in (None, "l2") or not counts.shape[0]):
        return tfidf.transform(counts, copy=False)
    if tfidf.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if hasattr(tfidf, "idf_"):
        counts.data *= tfidf.idf_[counts.indices]
    if tfidf.norm == "l2":
        inplace_csr_row_normalize_l2(counts)
    return _align_api_if_sparse(counts)


def _code_points(text: str) -> np.ndarray:
    """The characters of `text` as int64 code points (the vocabulary's and the documents' alike)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _char_codes(points: np.ndarray, packed: Packed) -> np.ndarray:
    """Each code point's place in the alphabet (1-based), 0 for a character outside it."""
    if packed.table is not None:
        inside = points < _TABLE_LIMIT
        return np.where(inside, packed.table[np.where(inside, points, 0)], 0)
    return (_positions(packed.alphabet, points) + 1).astype(np.int64)


def char_wb_counts(docs: list[str], packed: Packed, ngram_range: tuple[int, int], n_features: int,
                   dtype: Any) -> sp.csr_matrix:
    """Document x feature counts of the vocabulary's char_wb n-grams (see the module docstring)."""
    bits = packed.bits
    low, high = ngram_range
    words = [[f" {w} " for w in str(doc).lower().split()] for doc in docs]
    lengths = np.fromiter((len(w) for ws in words for w in ws), dtype=np.int64)
    doc_of_word = np.repeat(np.arange(len(docs)), [len(ws) for ws in words])
    total = int(lengths.sum())
    if total == 0 or not len(packed.alphabet):
        return sp.csr_matrix((len(docs), n_features), dtype=dtype)
    codes = _char_codes(_code_points("".join(w for ws in words for w in ws)), packed)
    unknown = np.concatenate(([0], np.cumsum(codes == 0)))
    starts = np.cumsum(lengths) - lengths
    remaining = np.repeat(lengths, lengths) - (np.arange(total) - np.repeat(starts, lengths))
    doc_of_char = np.repeat(doc_of_word, lengths)
    rows, cols = [], []
    window = codes.copy()  # packed windows of length n starting at each position
    for n in range(1, high + 1):
        if n > 1:
            window = (window[:-1] << bits) | codes[n - 1:]
        if n < low:
            continue
        count = total - n + 1
        if count <= 0:
            break
        ok = (remaining[:count] >= n) & (unknown[n:] - unknown[:count] == 0)
        found = (window[ok] << _LENGTH_BITS) | n
        where = _lookup(packed, found)
        hit = where >= 0
        rows.append(doc_of_char[:count][ok][hit])
        cols.append(packed.features[where[hit]])
    return _count_matrix(np.concatenate(rows), np.concatenate(cols), len(docs), n_features, dtype)


def _count_matrix(row: np.ndarray, col: np.ndarray, n_docs: int, n_features: int, dtype: Any) -> sp.csr_matrix:
    """The CSR matrix counting each (row, col) pair, indices sorted within rows: one sort of the pairs
    as single integers, without scipy's COO conversion (its fixed cost counts for one appeal)."""
    key = row * n_features + col
    key.sort()
    first = np.ones(len(key), dtype=bool)
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(key))).astype(dtype)
    pairs = key[starts]
    rows = pairs // n_features
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_docs), out=indptr[1:])
    matrix = sp.csr_matrix((counts, pairs - rows * n_features, indptr), shape=(n_docs, n_features), dtype=dtype)
    matrix.has_canonical_format = True  # sorted, no repeated pair: built so
    return matrix
