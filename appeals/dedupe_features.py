"""What grouping keeps of an appeal: exact key, MinHash signature, content terms and place codes.

The MinHash is datasketch's own scheme (affine32: MurmurHash3 finalizer, then `a*h + b` modulo 2^32,
with datasketch's permutation parameters), computed with numpy for many texts at once; the unit tests
check it against `datasketch.MinHash.update_batch`. Shingles are character n-grams of
`normalize_for_dedup(text)` hashed by a vectorised polynomial hash, so no Python loop runs per shingle.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from appeals.dedupe_config import DedupeConfig
from appeals.dedupe_places import extract_place_key, stem_word, strip_spans
from appeals.text import normalize_for_dedup, unmix_scripts

_BASE = np.uint64(1_000_003)
_CHUNK = 250_000  # shingles per numpy block: bounds memory at num_perm * 4 bytes each
_MIX = np.arange(1, 65, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) | np.uint64(1)
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
STOPWORDS_FILE = Path(__file__).parent / "resources" / "dedupe_stopwords.txt"
# How many of the topic model's best topics grouping keeps per appeal: the `topic_top3` of
# `appeals predict`, the service's answers and the store.
TOPIC_K = 3
NAME_K = 6
# A capitalised word of four letters or more, or a hyphenated name («Юго-Западном»).
_CAPITAL = re.compile(r"(?<![\w-])[А-ЯЁ](?:[а-яё]{3,}|[а-яё]+-[А-ЯЁа-яё][а-яё]+)")
# In a text typed without capitals («солнечный дом 4 батареи холодные») any word may be the name.
_ANY_WORD = re.compile(r"(?<![\w-])[А-ЯЁа-яё][а-яё]{3,}(?:-[а-яё]+)?")


def name_codes(text_without_places: str) -> list[int]:
    """Settlement-style codes of the first NAME_K capitalised words (see `Features.names`); in a text
    with no capital letter after its first, of its first NAME_K words that are not stop words."""
    from appeals.dedupe_places import name_code, typed_without_capitals

    lower_case = typed_without_capitals(text_without_places)
    codes: list[int] = []
    for match in (_ANY_WORD if lower_case else _CAPITAL).finditer(text_without_places):
        if lower_case and match.group(0).lower() in stop_words():
            continue
        code = name_code(match.group(0))
        if code and code not in codes:
            codes.append(code)
            if len(codes) == NAME_K:
                break
    return codes


def parse_top_topics(value: object) -> list[tuple[str, float]]:
    """[(topic, probability), ...] from a `topic_top3` value: a list of pairs or of objects with
    `label` and `proba`, or its JSON text (a CSV written by `appeals predict`); [] when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"topic_top3 is not JSON: {error.doc[:80]!r} ({error.msg})") from None
    if not isinstance(value, list | tuple):
        raise ValueError(f"topic_top3 must be a list of [topic, probability] pairs, got {value!r:.80}")
    pairs = []
    for item in value:
        try:
            label, proba = (item.label, item.proba) if hasattr(item, "label") else item
            pairs.append((str(label), float(proba)))
        except (TypeError, ValueError):
            raise ValueError(f"topic_top3 item {item!r:.80} is not a [topic, probability] pair") from None
    return pairs[:TOPIC_K]


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Words dropped from content terms (appeals/resources/dedupe_stopwords.txt)."""
    lines = STOPWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


@dataclass
class Features:
    """Column arrays for `n` appeals (row i describes appeal i)."""

    exact: np.ndarray  # uint64[n]: hash of normalize_for_dedup(text)
    signature: np.ndarray  # uint32[n, num_perm]; rows of an empty text are all 0xFFFFFFFF
    has_shingles: np.ndarray  # bool[n]
    # Whether the text has `min_content_terms` content terms or more. Fewer are too few to tell one
    # problem from another («Очень плохо чистят!!!», «Когда будут убирать снег»): such an appeal is alike
    # only to its exact repeats, or to appeals at the same place.
    comparable: np.ndarray  # bool[n]
    term_flat: np.ndarray  # uint32[total]: sorted unique term codes, appeal after appeal
    term_offsets: np.ndarray  # int64[n + 1]
    settlement: np.ndarray  # uint32[n], 0 = unknown
    settlement_prefix: np.ndarray  # uint32[n]: the settlement's name cut short, as `names` codes are
    street: np.ndarray  # uint32[n]
    house: np.ndarray  # uint32[n]: street and house together
    building: np.ndarray  # uint32[n]: street, house and building («18к2»), 0 when no building is named
    object_kind: np.ndarray  # uint32[n]: kind of a numbered object (school, clinic, route, entrance)
    object: np.ndarray  # uint32[n]: kind and number together
    bands: np.ndarray  # uint32[n, bands]: LSH band hashes of the signature
    # The topic model's best TOPIC_K topics (index codes, -1 = none) and their probabilities; empty
    # unless the caller knows them (`DedupeIndex.set_topics`).
    topic_ids: np.ndarray = field(default_factory=lambda: np.zeros((0, TOPIC_K), dtype=np.int32))
    topic_p: np.ndarray = field(default_factory=lambda: np.zeros((0, TOPIC_K), dtype=np.float32))
    # Codes of capitalised words outside the recognised places, as a settlement's code would be
    # («Кедровый — нет света» names the settlement of «пос. Кедровый» without its type word).
    names: np.ndarray = field(default_factory=lambda: np.zeros((0, NAME_K), dtype=np.uint32))

    def __post_init__(self) -> None:
        if len(self.topic_ids) != len(self.exact):
            self.topic_ids = np.full((len(self.exact), TOPIC_K), -1, dtype=np.int32)
            self.topic_p = np.zeros((len(self.exact), TOPIC_K), dtype=np.float32)
        if len(self.names) != len(self.exact):
            self.names = np.zeros((len(self.exact), NAME_K), dtype=np.uint32)

    def __len__(self) -> int:
        return len(self.exact)

    def terms(self, i: int) -> np.ndarray:
        return self.term_flat[self.term_offsets[i] : self.term_offsets[i + 1]]


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b) for `num_perm` and `seed`."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def exact_key(text: str) -> int:
    """64-bit key of the normalised text: equal for texts that differ only in case, spaces, punctuation."""
    digest = hashlib.blake2b(normalize_for_dedup(text).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def shingle_hashes(normalised: str, size: int) -> np.ndarray:
    """uint32 hashes of all character `size`-grams (the whole text when shorter; none when empty)."""
    if not normalised:
        return np.empty(0, dtype=np.uint32)
    codes = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    width = min(size, len(codes))
    count = len(codes) - width + 1
    h = np.zeros(count, dtype=np.uint64)
    for j in range(width):
        h = h * _BASE + codes[j : j + count]
    return ((h >> np.uint64(32)) ^ h).astype(np.uint32)


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch applies it before the permutations."""
    h = values.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def minhash_many(hash_lists: Sequence[np.ndarray], num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures (uint32[n, num_perm]) of many shingle-hash arrays, vectorised in blocks."""
    a, b = permutations(num_perm, seed)
    out = np.full((len(hash_lists), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    start = 0
    while start < len(hash_lists):
        stop, total = start, 0
        while stop < len(hash_lists) and (total == 0 or total + len(hash_lists[stop]) <= _CHUNK):
            total += len(hash_lists[stop])
            stop += 1
        block = list(hash_lists[start:stop])
        sizes = np.array([len(h) for h in block])
        rows = np.flatnonzero(sizes) + start
        if len(rows):
            hv = fmix32(np.concatenate(block))
            # One row per permutation keeps the reduction on contiguous memory (about 9x faster);
            # uint32 arithmetic wraps, i.e. works modulo 2^32 as datasketch's does.
            permuted = np.empty((num_perm, len(hv)), dtype=np.uint32)
            np.multiply(a[:, None], hv[None, :], out=permuted)
            permuted += b[:, None]
            offsets = np.concatenate(([0], np.cumsum(sizes[sizes > 0])[:-1]))
            out[rows] = np.minimum.reduceat(permuted, offsets, axis=1).T
        start = stop
    return out


def band_keys(signatures: np.ndarray, bands: int) -> np.ndarray:
    """uint32[n, bands]: one hash per LSH band (rows of the signature taken `num_perm // bands` at a time)."""
    n, rows = len(signatures), signatures.shape[1] // bands
    parts = signatures.astype(np.uint64).reshape(n, bands, rows)
    mixed = (parts * _MIX[:rows]).sum(axis=2, dtype=np.uint64)
    mixed += np.arange(bands, dtype=np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
    return ((mixed >> np.uint64(32)) ^ mixed).astype(np.uint32)


def _term_words(text: str, config: DedupeConfig) -> list[str]:
    if config.terms == "lemma":
        from appeals.nlp import lemmatize

        words = _WORD.findall(lemmatize(text))
    else:
        words = _WORD.findall(text.lower().replace("ё", "е"))
        return [stem_word(w, config.stem_chars) for w in words if w not in stop_words()]
    return [w for w in words if w not in stop_words()]


def term_codes(text_without_places: str, config: DedupeConfig) -> np.ndarray:
    """Sorted unique uint32 codes of content terms; the `max_terms` smallest codes when there are more."""
    codes = np.unique(
        np.fromiter(
            (zlib.crc32(w.encode("utf-8")) for w in _term_words(text_without_places, config)), dtype=np.uint32
        )
    )
    return codes[: config.max_terms]


# What is no part of the problem's words: links (a photo's address is as long as the text), VK mention
# and community tags («[club171875648|Министерство здравоохранения Пермского края],»), phone numbers.
_NOT_CONTENT = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w\-]+(?:\.[\w\-]+)+/\S*|\[(?:id|club|public)\d+\|[^\]\n]{0,120}\]"
    r"|\+?\d[\d\s\-()]{8,}\d"
)


# Greetings and courtesy formulas: most of a short question's letters («Здравствуйте! Скажите пожалуйста,
# как ездит 5 маршрут?» and «Здравствуйте, скажите пожалуйста как работает психиатр?» were 0.35 alike).
_FORMULA = re.compile(
    r"(?i:\b(?:здравствуйте|добрый\s+(?:день|вечер)|доброе\s+утро|доброго\s+(?:времени\s+суток|дня)|"
    r"(?:под)?скажите|пожалуйста|уважаем\w*|заранее\s+спасибо|спасибо)\b)"
)


def featurize(texts: Sequence[str], config: DedupeConfig) -> Features:
    """Everything grouping needs from `texts`, as numpy columns (no text is kept). Latin look-alikes
    inside Cyrillic words are read as Cyrillic («Kомсомoльская 21» is «Комсомольская 21»)."""
    texts = [unmix_scripts(t) for t in texts]
    exact = np.array([exact_key(t) for t in texts], dtype=np.uint64)
    # Places are read from the raw text: clean_text's NFKC turns «№» into «No».
    places = [extract_place_key(t) for t in texts]
    # Shingles and terms leave the address out: two problems at one house share it, and a match of
    # place is judged by the place codes, not by similar-looking text.
    content = [_FORMULA.sub(" ", _NOT_CONTENT.sub(" ", strip_spans(t, p.spans)))
               for t, p in zip(texts, places, strict=True)]
    terms = [term_codes(t, config) for t in content]
    shingles = [shingle_hashes(normalize_for_dedup(t), config.shingle_size) for t in content]
    codes = np.array([p.codes() for p in places], dtype=np.uint32).reshape(len(texts), 7)
    names = np.zeros((len(texts), NAME_K), dtype=np.uint32)
    for row, text in enumerate(content):
        found = name_codes(text)
        names[row, : len(found)] = found
    lengths = np.array([len(t) for t in terms], dtype=np.int64)
    signature = minhash_many(shingles, config.num_perm, config.seed)
    return Features(
        exact=exact,
        signature=signature,
        has_shingles=np.array([len(s) > 0 for s in shingles], dtype=bool),
        comparable=np.array([len(t) >= config.min_content_terms for t in terms], dtype=bool),
        term_flat=np.concatenate(terms) if terms else np.empty(0, dtype=np.uint32),
        term_offsets=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        settlement=codes[:, 0],
        street=codes[:, 1],
        house=codes[:, 2],
        building=codes[:, 3],
        object_kind=codes[:, 4],
        object=codes[:, 5],
        settlement_prefix=codes[:, 6],
        bands=band_keys(signature, config.bands),
        names=names,
    )
