"""Properties of the language layer: lemmas (appeals.nlp) and places (appeals.places) on hostile input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given

from appeals.nlp import lemmatize, normalize_lookalikes
from appeals.places import FIELDS, Places, extract_places
from tests.property.strategies import texts

LONG_WORD_CHARS, LONG_WORD_BUDGET_S = 6_000, 0.3


@given(texts)
def test_lemmatize_never_raises(text: str) -> None:
    lemmas = lemmatize(text)
    assert lemmas == lemmas.lower() and "  " not in lemmas and lemmas == lemmas.strip()


@given(texts)
def test_normalize_lookalikes_keeps_offsets(text: str) -> None:
    assert len(normalize_lookalikes(text)) == len(text)


@given(texts)
def test_extract_places_never_raises(text: str) -> None:
    places = extract_places(text)
    assert isinstance(places, Places)
    for name in FIELDS:
        value = getattr(places, name)
        assert value is None or (isinstance(value, str) and value.strip())


def test_lemmatize_and_places_on_100_kb_of_words() -> None:
    text = "не вывозят мусор во дворе " * 4_000
    for func in (lemmatize, extract_places):
        start = time.perf_counter()
        func(text)
        assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("func", [lemmatize, extract_places], ids=["lemmatize", "extract_places"])
def test_one_long_word_in_linear_time(func) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    func("a" * LONG_WORD_CHARS)
    took = time.perf_counter() - start
    assert took < LONG_WORD_BUDGET_S, f"{took:.2f} s for {LONG_WORD_CHARS} characters"
