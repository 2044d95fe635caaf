"""The spaCy components of the language layer, registered the spaCy way (see `appeals.nlp.build_nlp`).

normalise → lemmas → personal-data rules → natasha NER → mask → places. Token norms and lemmas are
written through arrays, and `doc.text` is cached, because those are the hot spots of a blank pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from appeals.nlp import WORD_RE, get_ner_tagger, lemma_of, normalize_lookalikes

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

def register_extensions() -> None:
    from spacy.tokens import Doc

    for name in ("masked", "places", "pd_spans", "ner_ents"):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


def doc_text(doc: Doc) -> str:
    """`doc.text`, cached: spaCy rebuilds it from the tokens on every access."""
    text = doc.user_data.get("appeals_text")
    if text is None:
        text = doc.user_data["appeals_text"] = doc.text
    return str(text)


def _set_token_strings(doc: Doc, attr: int, values: list[str]) -> None:
    """Write one string per token through arrays (no Python Token objects: the hot path)."""
    import numpy as np

    strings = doc.vocab.strings
    array: Any = np.array([strings.add(v) for v in values], dtype="uint64").reshape(-1, 1)
    doc.from_array([attr], array)


def normalize_component(doc: Doc) -> Doc:
    """Token norms: look-alikes fixed, lower case, ё → е (what lemmas and matching read)."""
    from spacy.attrs import IDX, LENGTH, NORM

    text = doc_text(doc)
    fixed = normalize_lookalikes(text).lower().replace("ё", "е")
    if len(fixed) != len(text):  # lower() lengthens a few non-Russian letters: go token by token
        norms = [normalize_lookalikes(t.text).lower().replace("ё", "е") for t in doc]
    else:
        norms = [fixed[i:i + n] for i, n in doc.to_array([IDX, LENGTH]).tolist()]
    doc.user_data["appeals_norms"] = norms
    _set_token_strings(doc, NORM, norms)
    return doc


def _token_lemma(norm: str) -> str:
    if norm.isalpha() or norm.isdigit():
        return lemma_of(norm)
    words = WORD_RE.findall(norm)
    return " ".join(lemma_of(w) for w in words) if words else norm


def lemma_component(doc: Doc) -> Doc:
    """Token lemmas from the same cached pymorphy3 function as `lemmatize`."""
    from spacy.attrs import LEMMA

    norms = doc.user_data.get("appeals_norms") or [t.norm_ for t in doc]
    lemmas = [_token_lemma(n) for n in norms]
    doc.user_data["appeals_lemmas"] = [lem for n, lem in zip(norms, lemmas, strict=True)
                                       if n.isalnum() or WORD_RE.search(n)]
    _set_token_strings(doc, LEMMA, lemmas)
    return doc


def doc_lemmas(doc: Doc) -> str:
    """The lemma string of a processed doc; equals `lemmatize(doc.text)`."""
    words = doc.user_data.get("appeals_lemmas")
    if words is None:
        words = [t.lemma_ for t in doc if t.norm_.isalnum() or WORD_RE.search(t.norm_)]
    return " ".join(words)


class NatashaNER:
    """spaCy component writing natasha's PER/LOC/ORG spans onto `doc.ents`, batched in `pipe`.

    With `windows` (the default) it reads only the windows around doubtful capitalised words left
    by the personal-data rules (`appeals.ner`), which is what makes the full layer fast enough;
    without, the whole text, so every LOC and ORG lands on `doc.ents` too.
    """

    def __init__(self, batch_size: int = 64, windows: bool = True) -> None:
        self.batch_size = batch_size
        self.windows = windows

    def _set_ents(self, doc: Doc, ents: Iterable[tuple[int, int, str]]) -> Doc:
        doc._.ner_ents = sorted(ents)
        spans: list[Any] = []
        for start, end, label in doc._.ner_ents:
            sp = doc.char_span(start, end, label=label, alignment_mode="expand")
            if sp is not None and (not spans or sp.start >= spans[-1].end):
                spans.append(sp)
        if spans:  # setting doc.ents walks every token: skip it for the many docs without entities
            doc.ents = spans
        return doc

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterable[Doc]:
        from spacy.util import minibatch

        from appeals.ner import ner_persons_many

        for batch in minibatch(docs, size=batch_size or self.batch_size):
            texts = [doc_text(doc) for doc in batch]
            if self.windows:
                found = ner_persons_many(texts, [doc._.pd_spans or [] for doc in batch], self.batch_size)
            else:
                found = _whole_text_ents(texts, self.batch_size)
            yield from (self._set_ents(doc, ents) for doc, ents in zip(batch, found, strict=True))


def _whole_text_ents(texts: list[str], batch_size: int) -> list[list[tuple[int, int, str]]]:
    tagger = get_ner_tagger()
    out: list[list[tuple[int, int, str]]] = []
    for b in range(0, len(texts), batch_size):
        out += [[(s.start, s.stop, s.type) for s in m.spans] for m in tagger.map(texts[b:b + batch_size])]
    return out


def register_components() -> None:
    from spacy.language import Language

    if "appeals_normalize" in Language.factories:
        return
    Language.component("appeals_normalize", func=normalize_component)
    Language.component("appeals_lemmas", func=lemma_component)
    Language.component("appeals_pd_rules", func=_pd_rules_component)
    Language.factory("appeals_ner", default_config={"batch_size": 64, "windows": True},
                     func=lambda nlp, name, batch_size, windows: NatashaNER(batch_size, windows))
    Language.component("appeals_mask", func=_mask_component)
    Language.component("appeals_places", func=_places_component)


def _pd_rules_component(doc: Doc) -> Doc:
    from appeals.masking import find_spans

    doc._.pd_spans = find_spans(doc_text(doc))
    return doc


def _mask_component(doc: Doc) -> Doc:
    from appeals.masking import merge_spans, person_spans, render

    text = doc_text(doc)
    persons = person_spans(text, doc._.ner_ents or [])
    doc._.pd_spans = merge_spans([*(doc._.pd_spans or []), *persons])
    doc._.masked = render(text, doc._.pd_spans)
    return doc


def _places_component(doc: Doc) -> Doc:
    from appeals.places import extract_places

    doc._.places = extract_places(doc._.masked if doc._.masked is not None else doc_text(doc))
    return doc


def keep_hyphenated_words(nlp: Language) -> None:
    """Stop the tokenizer splitting «Санкт-Петербург», «кто-то» at the hyphen, as `lemmatize` does."""
    from spacy.util import compile_infix_regex

    infixes = [p for p in (nlp.Defaults.infixes or []) if not re.search(p, "санкт-петербург")]
    tokenizer: Any = nlp.tokenizer
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
