"""A gazetteer of places: canonical lower-case names and the keys under which text finds them.

Keys are stems of lemmas, so «в Лысьве», «Лысьвенского округа» and «г. Лысьва» all land on «лысьва»:
a noun loses its last vowel («лысьв»), an adjective its suffix («лысьвенский» → «лысьв»). The default
entries come from `appeals/resources/places.toml`; `build_gazetteer(frame)` adds the places named in a
training set's labels (municipality and district columns, department names such as «Лысьвенский
городской округ» or «Администрация Заречного района»).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from appeals.nlp import KNOWN_GEO_LEMMAS, get_morph

if TYPE_CHECKING:
    import pandas as pd

MUNICIPALITY, DISTRICT, SETTLEMENT = "municipality", "district", "settlement"
_ADJ_SUFFIXES = ("енский", "инский", "ский", "цкий", "ий", "ый", "ой")
_NOUN_ENDINGS = ("а", "ь", "", "я", "и", "ы", "о", "е", "ск")
_MIN_STEM = 4
_CITY_RE = re.compile(r"(?i:\b(?:город[аеу]?|гор\.|г\.))\s*(?P<name>[А-ЯЁ][\w\-]+)")
_MUNI_RE = re.compile(r"(?P<adj>[А-ЯЁ][а-яё\-]+)\s+(?i:(?:городско\w*|муниципальн\w*)\s+(?:округ|район)\w*)")
_DISTRICT_RE = re.compile(r"(?P<adj>[А-ЯЁ][а-яё\-]+)\s+(?i:район\w*|р-н\w*)")


def stem_keys(lemma: str) -> set[str]:
    """Keys of a lemma: itself, without its last vowel, without an adjective suffix."""
    lemma = lemma.lower().replace("ё", "е")
    keys = {lemma, re.sub(r"[аяоеьиыйу]$", "", lemma)}
    for suffix in _ADJ_SUFFIXES:
        if lemma.endswith(suffix) and len(lemma) > len(suffix) + 2:
            keys.add(lemma[: -len(suffix)])
    return {k for k in keys if len(k) >= _MIN_STEM or k == lemma and len(k) >= 3}


@lru_cache(maxsize=100_000)
def geo_lemma(word: str) -> str:
    """Lemma of a place word: a Geox or adjective parse when there is one, else the word in lower case."""
    known = KNOWN_GEO_LEMMAS.get(word)  # from a fitted model (appeals.nlp.MorphTable)
    if known is not None:
        return known
    morph = get_morph()
    low = word.lower().replace("ё", "е")
    parses = morph.parse(low)
    for p in parses:
        if "Geox" in p.tag:
            return str(p.normal_form).replace("ё", "е")
    if parses and parses[0].tag.POS == "ADJF":
        return str(parses[0].normal_form).replace("ё", "е")
    return low


@lru_cache(maxsize=50_000)
def adj_lemma(word: str) -> str | None:
    """Masculine lemma of an adjective reading of `word` («Ленинском» → «ленинский»), if it has one."""
    for p in get_morph().parse(word.lower().replace("ё", "е")):
        if p.tag.POS == "ADJF":
            return str(p.normal_form).replace("ё", "е")
    return None


@lru_cache(maxsize=10_000)
def geo_noun_for(adjective: str) -> str | None:
    """The town an adjective is made from («лысьвенский» → «лысьва»), when pymorphy3 knows it as Geox."""
    morph = get_morph()
    lemma = geo_lemma(adjective)
    found = []
    for suffix in _ADJ_SUFFIXES:
        if not lemma.endswith(suffix):
            continue
        stem = lemma[: -len(suffix)]
        for ending in _NOUN_ENDINGS:
            cand = stem + ending
            if len(cand) >= 3 and morph.word_is_known(cand) and any(
                    "Geox" in p.tag and p.tag.POS == "NOUN" and p.normal_form.replace("ё", "е") == cand
                    for p in morph.parse(cand)):
                found.append(cand)
    return max(found, key=len) if found else None


@dataclass
class Gazetteer:
    """Canonical places by kind, and the stem keys that find them."""

    places: dict[str, set[str]] = field(default_factory=lambda: {MUNICIPALITY: set(), DISTRICT: set(),
                                                                  SETTLEMENT: set()})
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, kind: str, name: str) -> None:
        """Add a canonical name; a municipality's keys win over a settlement's with the same stem."""
        name = name.lower().replace("ё", "е").strip()
        if not name:
            return
        self.places[kind].add(name)
        if kind == DISTRICT:
            return  # districts are found only next to «район», never by a bare word
        for key in stem_keys(name):
            if key not in self.keys or kind == MUNICIPALITY:
                self.keys[key] = (kind, name)

    def lookup(self, word: str) -> tuple[str, str] | None:
        """(kind, canonical name) for a word of running text, or None."""
        lemma = geo_lemma(word)
        for key in sorted(stem_keys(lemma), key=len, reverse=True):
            if key in self.keys:
                return self.keys[key]
        return None

    def kind_of(self, name: str) -> str | None:
        for kind in (MUNICIPALITY, SETTLEMENT, DISTRICT):
            if name in self.places[kind]:
                return kind
        return None


def municipality_name(adjective: str) -> str:
    """Canonical municipality from the adjective of «… городской округ»: the town if known, else the adjective."""
    return geo_noun_for(adjective) or geo_lemma(adjective)


def places_in_label(label: str) -> list[tuple[str, str]]:
    """Places named in a label such as «Лысьвенский городской округ» or «Администрация города Курска»."""
    found = [(MUNICIPALITY, municipality_name(m.group("adj"))) for m in _MUNI_RE.finditer(label)]
    found += [(MUNICIPALITY, geo_lemma(m.group("name"))) for m in _CITY_RE.finditer(label)]
    if not found:
        found = [(DISTRICT, adj_lemma(m.group("adj")) or geo_lemma(m.group("adj")))
                 for m in _DISTRICT_RE.finditer(label)]
    return found


@lru_cache(maxsize=1)
def places_data() -> dict[str, list[str]]:
    """The lists of `appeals/resources/places.toml` (municipalities, districts, settlements, street
    eponyms), read once."""
    raw = resources.files("appeals").joinpath("resources/places.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


@lru_cache(maxsize=1)
def _default_entries() -> tuple[tuple[str, str], ...]:
    data = places_data()
    out = [(MUNICIPALITY, geo_noun_for(n) or n) for n in data.get("municipalities", [])]
    out += [(DISTRICT, n) for n in data.get("districts", [])]
    out += [(SETTLEMENT, n) for n in data.get("settlements", [])]
    return tuple(out)


@lru_cache(maxsize=1)
def street_eponyms() -> frozenset[str]:
    """Masculine lemmas of surnames that usually name streets («ленин», «пушкин»), from places.toml."""
    return frozenset(places_data().get("street_eponyms", []))


def default_gazetteer() -> Gazetteer:
    """The gazetteer of `appeals/resources/places.toml` (a fresh object each call: safe to extend)."""
    gaz = Gazetteer()
    for kind, name in _default_entries():
        gaz.add(kind, name)
    return gaz


def build_gazetteer(frame: pd.DataFrame, base: Gazetteer | None = None) -> Gazetteer:
    """The default gazetteer plus the places in a training frame's municipality/district/department."""
    gaz = base or default_gazetteer()
    for column, kind in (("municipality", MUNICIPALITY), ("district", DISTRICT), ("department", None)):
        if column not in frame.columns:
            continue
        for label in frame[column].dropna().astype(str).unique():
            found = places_in_label(label)
            if not found and kind is not None and re.fullmatch(r"[А-ЯЁа-яё\-]+", label.strip()):
                found = [(kind, geo_lemma(label.strip()))]
            for place_kind, name in found:
                gaz.add(kind if kind == DISTRICT else place_kind, name)
    return gaz
