"""Cleaning of raw appeal text, shared by training, serving and reports.

Every function here is pure and typed; `clean_text` is what the fitted pipelines and the service call
first, so a model sees the same text in training and in production.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_TEXT_CHARS = 20_000
MIN_TEXT_CHARS = 1

_BR_RE = re.compile(r"<\s*br\s*/?\s*>|</\s*p\s*>|<\s*p(\s[^>]*)?>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]{0,500}>")
_CTRL_RE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")
_NORM_RE = re.compile(r"[^\w]+", re.UNICODE)


class TextTooLongError(ValueError):
    """Raised when a text is over the configured limit; the message says by how much."""


def strip_html(text: str) -> str:
    """Turn HTML fragments into plain text: line breaks for <br>/<p>, tags dropped, entities decoded."""
    # Decode entities, then drop tags, until nothing changes: escaped markup (&lt;script&gt;, even
    # double-escaped &amp;lt;) must not come out as a live tag, and cleaning must be idempotent.
    for _ in range(5):
        before = text
        text = html.unescape(text)
        text = _BR_RE.sub("\n", text)
        text = _TAG_RE.sub(" ", text)
        if text == before:
            break
    return text


def clean_text(text: str) -> str:
    """Return the canonical form of an appeal text.

    NFKC normalisation, HTML removed, the Excel leading apostrophe dropped, control characters removed,
    runs of spaces collapsed, line breaks kept (at most one in a row) and the ends trimmed.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = strip_html(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CTRL_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text)
    text = _NEWLINES_RE.sub("\n", text).strip()
    while text.startswith("'"):
        text = text[1:].lstrip()
    return text


_LATIN = re.compile(r"[a-zA-Z]")
# A word mixing Cyrillic and Latin letters («Kомсомoльская»: Latin K and o typed by hand or by a keyboard
# switch, or planted to dodge filters).
_MIXED_WORD = re.compile(r"\b(?=\w*[а-яёА-ЯЁ])(?=\w*[a-zA-Z])\w+\b")
_LATIN_LOOKALIKES = str.maketrans("aceopxyKkMHTBACEOPX", "асеорхуКкМНТВАСЕОРХ")


def unmix_scripts(text: str) -> str:
    """Latin look-alike letters inside Cyrillic words turned Cyrillic; words wholly Latin are kept."""
    if not _LATIN.search(text):
        return text
    return _MIXED_WORD.sub(lambda m: m.group(0).translate(_LATIN_LOOKALIKES), text)


def normalize_for_dedup(text: str) -> str:
    """Key under which texts count as the same appeal: cleaned, lower-case, ё→е, punctuation dropped."""
    text = clean_text(text).lower().replace("ё", "е")
    return _NORM_RE.sub(" ", text).strip()


def check_length(text: str, max_chars: int = MAX_TEXT_CHARS, where: str = "text") -> str:
    """Raise a readable error when a text is empty or over the limit; return it unchanged otherwise."""
    n = len(text)
    if n < MIN_TEXT_CHARS or not text.strip():
        raise ValueError(f"{where}: the text is empty after cleaning; send the appeal's words")
    if n > max_chars:
        raise TextTooLongError(
            f"{where}: the text has {n} characters, over the limit of {max_chars}; "
            f"shorten it by {n - max_chars} characters or raise text.max_chars in the config"
        )
    return text


def has_letters(text: str) -> bool:
    """True when the text has at least one letter of any script."""
    return any(ch.isalpha() for ch in text)


def cyrillic_share(text: str) -> float:
    """Share of letters that are Cyrillic: a cheap language check for routing unknown texts to review."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum("\u0400" <= ch <= "\u04ff" for ch in letters) / len(letters)
