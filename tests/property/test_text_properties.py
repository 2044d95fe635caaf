"""Properties of the text layer (appeals.text) on hostile input: never raises, canonical, stable."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from appeals.text import _CTRL_RE, _TAG_RE, check_length, clean_text, cyrillic_share, normalize_for_dedup
from tests.property.strategies import texts

ENTITY_MARKUP = "&lt;script&gt;alert(1)&lt;/script&gt;"


@given(texts)
def test_clean_text_never_raises_and_is_canonical(text: str) -> None:
    out = clean_text(text)
    assert isinstance(out, str)
    assert _CTRL_RE.search(out) is None and "\r" not in out
    assert out == out.strip() and "  " not in out and "\n\n" not in out
    assert not out.startswith("'")


@given(texts.filter(lambda t: "&" not in t))
def test_clean_text_is_idempotent_without_entities(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(texts.filter(lambda t: "&" not in t))
def test_clean_text_leaves_no_tags_without_entities(text: str) -> None:
    assert _TAG_RE.search(clean_text(text)) is None


@given(texts)
@example(ENTITY_MARKUP)
@example("&amp;lt;b&amp;gt;срочно&amp;lt;/b&amp;gt;")
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(texts)
@example(ENTITY_MARKUP)
def test_clean_text_leaves_no_tags(text: str) -> None:
    assert _TAG_RE.search(clean_text(text)) is None


@given(texts)
def test_normalize_for_dedup_is_stable(text: str) -> None:
    key = normalize_for_dedup(text)
    assert normalize_for_dedup(key) == key
    assert key == key.lower() and "ё" not in key and "  " not in key


@given(texts)
@example("&lt0&gt")
def test_normalize_for_dedup_agrees_on_cleaned_text(text: str) -> None:
    # The service cleans before the dedupe index sees a text: both must give one key.
    assert normalize_for_dedup(clean_text(text)) == normalize_for_dedup(text)


@given(texts, st.integers(min_value=1, max_value=400))
def test_check_length_accepts_or_explains(text: str, limit: int) -> None:
    try:
        assert check_length(text, max_chars=limit) == text
    except ValueError as exc:
        assert "text" in str(exc)


@given(texts)
def test_cyrillic_share_is_a_share(text: str) -> None:
    assert 0.0 <= cyrillic_share(text) <= 1.0


def test_clean_text_is_linear_on_100_kb_of_one_word() -> None:
    import time

    start = time.perf_counter()
    out = clean_text("я" * 100_000)
    assert len(out) == 100_000 and time.perf_counter() - start < 2.0
