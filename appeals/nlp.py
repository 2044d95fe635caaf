"""The Russian language layer: normalisation, lemmas and the spaCy pipeline built on `spacy.blank("ru")`.

Two paths share one lemma function so they cannot drift apart:
- `lemmatize` / `lemmatize_many`: the fast path for features (regex tokens + pymorphy3's first parse,
  cached per word form), used by the training pipelines and the service;
- `build_nlp`: a spaCy pipeline whose components (registered the spaCy way) write the same lemmas onto
  tokens, natasha's NER onto `doc.ents`, the masked text and the places onto `doc._`.
Heavy resources (pymorphy3 dictionaries, natasha models) load on first use and are cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pymorphy3
    from spacy.language import Language
    from spacy.tokens import Doc

WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|\d+")
# Latin letters that look like Cyrillic ones; only swapped inside words that already hold Cyrillic.
_LATIN_TO_CYR = str.maketrans("aceopxyABCEHKMOPTXk", "асеорхуАВСЕНКМОРТХк")
# Whole words only, matched from a word start (possessive, so a long run is scanned once); the mix of
# scripts is checked in the callback.
_MIXED_WORD_RE = re.compile(r"(?<![A-Za-zА-Яа-яЁё])[A-Za-zА-Яа-яЁё]++")
_MIX_RE = re.compile(r"[A-Za-z][А-Яа-яЁё]|[А-Яа-яЁё][A-Za-z]")
LEMMA_CACHE_SIZE = 500_000


@lru_cache(maxsize=1)
def get_morph() -> pymorphy3.MorphAnalyzer:
    """The shared pymorphy3 analyser (loaded once, about 0.1 s)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def _fix_mixed(match: re.Match[str]) -> str:
    word = match.group(0)
    if not _MIX_RE.search(word):
        return word
    cyr = sum("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in word)
    return word.translate(_LATIN_TO_CYR) if cyr * 2 >= len(word) else word


def normalize_lookalikes(text: str) -> str:
    """Swap Latin look-alike letters for Cyrillic inside mostly-Cyrillic words («Тeлефон» → «Телефон»).

    Character for character, so offsets in the result are offsets in the input.
    """
    # A word mixing the two scripts has a Latin letter next to a Cyrillic one somewhere: most texts
    # have none, and the per-word pass is skipped for them.
    if not _MIX_RE.search(text):
        return text
    return _MIXED_WORD_RE.sub(_fix_mixed, text)


# pymorphy3's answers that came with fitted models (`MorphTable.adopt`), consulted before pymorphy3 by
# lemma_of, appeals.names.name_tags and appeals.gazetteer.geo_lemma.
KNOWN_LEMMAS: dict[str, str] = {}
KNOWN_NAME_TAGS: dict[str, frozenset[str]] = {}
KNOWN_GEO_LEMMAS: dict[str, str] = {}


@lru_cache(maxsize=LEMMA_CACHE_SIZE)
def lemma_of(word: str) -> str:
    """Lower-case lemma of one word form (pymorphy3 first parse, ё → е); numbers stay as they are."""
    known = KNOWN_LEMMAS.get(word)
    if known is not None:
        return known
    low = word.lower().replace("ё", "е")
    if low.isdigit():
        return low
    if not any("а" <= ch <= "я" for ch in low):
        return low
    return get_morph().parse(low)[0].normal_form.replace("ё", "е")


def tokens(text: str) -> list[str]:
    """Word and number tokens of a text after look-alike normalisation."""
    return WORD_RE.findall(normalize_lookalikes(text))


# The classifier lemmatises each rule-masked text twice (the topic models' lemma features and the
# urgency rules read the same string): the last few thousand texts are kept to answer the second.
# appeals.places keeps as many texts' places, for the same reason.
TEXT_CACHE_SIZE = 2048


@lru_cache(maxsize=TEXT_CACHE_SIZE)
def lemmatize(text: str) -> str:
    """Lower-case lemmas of the words of `text`, joined by single spaces."""
    return " ".join(lemma_of(tok) for tok in tokens(text))


def lemmatize_many(texts: Iterable[str]) -> list[str]:
    """`lemmatize` over many texts (the feature path, about 5,000+ texts/s once the cache is warm)."""
    return [lemmatize(text) for text in texts]


@dataclass
class MorphTable:
    """pymorphy3's answers for the word forms of a model's training texts, stored with the fitted model.

    Parsing a word form the process has not met yet costs about 40 µs here, and a file of new appeals
    is mostly made of forms the training texts hold: looked up in the table instead, the Perm test file
    scored about 1.2 times faster in a fresh process. `adopt` makes `lemma_of`, `appeals.names.name_tags`
    and `appeals.gazetteer.geo_lemma` consult the table before pymorphy3. Its answers are pymorphy3's own for
    those forms, so no output changes; should the dictionary be upgraded, the forms a model learnt
    from keep the lemmas it learnt them with. At most `max_forms` forms (the most frequent) are kept.
    """

    lemmas: dict[str, str]
    name_tags: dict[str, tuple[str, ...]]
    geo_lemmas: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, cleaned: Iterable[str], masked: Iterable[str], max_forms: int = 200_000) -> MorphTable:
        """From training texts: `cleaned` (clean_text; the name rules read them) and the same texts
        `masked` (the lemma step and the urgency rules read them)."""
        from collections import Counter

        from appeals.gazetteer import geo_lemma
        from appeals.masking import shadow
        from appeals.names import looked_up_words, name_tags
        from appeals.places import place_words

        masked = list(masked)
        forms = Counter(tok for text in masked for tok in tokens(text))
        words = Counter(w for text in cleaned for w in looked_up_words(shadow(text)))
        places = Counter(w for text in masked for w in place_words(text))
        # tags as sorted tuples: a frozenset's order, and so the pickled model, would vary between runs
        return cls({form: lemma_of(form) for form, _n in forms.most_common(max_forms)},
                   {word: tuple(sorted(name_tags(word))) for word, _n in words.most_common(max_forms)},
                   {word: geo_lemma(word) for word, _n in places.most_common(max_forms)})

    def adopt(self) -> MorphTable:
        """Let this process's lookups use the table; returns the table adopted, which is an equal one
        adopted before when there is one (the models of one training run carry equal copies)."""
        for other in _ADOPTED_TABLES:
            if other is self or other == self:
                return other
        KNOWN_LEMMAS.update(self.lemmas)
        KNOWN_NAME_TAGS.update({word: frozenset(tags) for word, tags in self.name_tags.items()})
        KNOWN_GEO_LEMMAS.update(getattr(self, "geo_lemmas", {}))  # tables saved before it have none
        _ADOPTED_TABLES.append(self)
        return self


_ADOPTED_TABLES: list[MorphTable] = []  # adopted in this process


def adopt_morph_tables(model: Any) -> int:
    """Adopt every `MorphTable` a fitted model carries (attribute `morph_table_` of a feature union, in
    a Pipeline, a FeatureUnion or a blend's member pipelines); returns how many it found."""
    found = 0
    table = getattr(model, "morph_table_", None)
    if isinstance(table, MorphTable):
        model.morph_table_ = table.adopt()  # equal copies of other models' files: one kept in memory
        found += 1
    parts: list[Any] = []
    parts += [step for _name, step in getattr(model, "steps", None) or []]
    parts += [part for _name, part in getattr(model, "transformer_list", None) or []]
    members = getattr(model, "members", None)
    parts += list(members) if isinstance(members, list) else []
    return found + sum(adopt_morph_tables(part) for part in parts if part is not None and not isinstance(part, str))


# ----------------------------------------------------------------------------- spaCy components


def doc_lemmas(doc: Doc) -> str:
    """The lemma string of a doc processed by `build_nlp`; equals `lemmatize(doc.text)`."""
    from appeals.nlp_components import doc_lemmas as lemmas_of_doc

    return lemmas_of_doc(doc)


@lru_cache(maxsize=1)
def get_navec() -> Any:
    """natasha's navec news embedding (lazy, cached; about 50 MB in memory)."""
    from natasha import NewsEmbedding

    return NewsEmbedding()


def navec_table(words: Iterable[str]) -> dict[str, np.ndarray]:
    """navec's vector of each distinct word it knows (each decoded once; unknown words left out)."""
    navec = get_navec()
    return {w: navec[w] for w in set(words) if w in navec}


@lru_cache(maxsize=1)
def get_ner_tagger() -> Any:
    """natasha's news NER tagger (PER / LOC / ORG), loaded once."""
    from natasha import NewsNERTagger

    return NewsNERTagger(get_navec())


def build_nlp(with_ner: bool = True, with_mask: bool = True, with_places: bool = True,
              ner_windows: bool = True) -> Language:
    """spacy.blank("ru") with our components.

    normalise → lemmas → personal-data rules → natasha NER (on doubtful windows, or the whole text
    with `ner_windows=False`) → mask (rules + NER persons) → places (from the masked text).
    """
    import spacy

    from appeals.nlp_components import keep_hyphenated_words, register_components, register_extensions

    register_extensions()
    register_components()
    nlp = spacy.blank("ru")
    keep_hyphenated_words(nlp)
    nlp.add_pipe("appeals_normalize")
    nlp.add_pipe("appeals_lemmas")
    if with_mask:
        nlp.add_pipe("appeals_pd_rules")
    if with_ner:
        nlp.add_pipe("appeals_ner", config={"windows": with_mask and ner_windows})
    if with_mask:
        nlp.add_pipe("appeals_mask")
    if with_places:
        nlp.add_pipe("appeals_places")
    return nlp


@dataclass(frozen=True)
class Analysis:
    """The full language layer for one appeal: cleaned text, masked text, its lemmas, its places."""

    text: str
    masked: str
    lemmas: str
    places: Any  # appeals.places.Places


@lru_cache(maxsize=4)
def get_nlp(with_ner: bool = True) -> Language:
    """A shared pipeline from `build_nlp` (one per setting, built on first use)."""
    return build_nlp(with_ner=with_ner)


def analyze_many(texts: Iterable[str], nlp: Language | None = None, batch_size: int = 256) -> list[Analysis]:
    """Clean, mask, lemmatise and place many raw appeals through `nlp.pipe` in batches.

    Lemmas are those of the masked text (what the models see), equal to
    `lemmatize(mask_text(clean_text(t)))`; for the many texts with nothing masked they come
    straight from the pipeline's tokens.
    """
    from appeals.nlp_components import doc_lemmas, doc_text
    from appeals.text import clean_text

    nlp = nlp or get_nlp()
    out = []
    for doc in nlp.pipe((clean_text(t) for t in texts), batch_size=batch_size):
        text = doc_text(doc)
        masked = doc._.masked if doc._.masked is not None else text
        lemmas = doc_lemmas(doc) if masked == text else lemmatize(masked)
        out.append(Analysis(text, masked, lemmas, doc._.places))
    return out
