"""Hypothesis strategies for hostile text: control characters, mixed scripts, markup, SQL, personal data.

Every string here is written by us; none comes from the real datasets.
"""

from __future__ import annotations

from hypothesis import strategies as st

# Fragments an attacker or a broken export puts into an appeal.
HOSTILE_FRAGMENTS: tuple[str, ...] = (
    "<script>alert(1)</script>", "<b>", "</p>", "<br/>", "<img src=x onerror=alert(1)>", "&lt;", "&gt;",
    "&amp;", "&lt;script&gt;", "&amp;lt;b&amp;gt;", "&#39;", "&nbsp;", "'", "\"", "'; DROP TABLE appeals;--",
    "' OR '1'='1", "UNION SELECT * FROM users", "\x00", "\x07", "\x1b[31m", "\u200b", "\u202e", "\ufeff",
    "\r\n", "\n", "\t", "\u00a0", "\u2028", "ё", "Ё", "é", "ǅ", "ﬁ", "①", "١٢٣", "漢字", "👍🏽", "🇷🇺", "\U0001f600",
    "Тeлефон", "дом", "ул. Ленина", "кв. 5", "д. 7", "тел.", "8", "+7", "(", ")", "-", "@", ".", ",", ";", "/",
    "ЯМА", "яма", "Иванов", "Петровна", "г. Пермь", "123", "9O2", "http://vk.com/id1", "[id1|Имя]",
)
RUSSIAN_WORDS: tuple[str, ...] = (
    "прошу", "помочь", "во", "дворе", "яма", "не", "вывозят", "мусор", "уже", "неделю", "нет", "горячей",
    "воды", "отопления", "в", "подъезде", "холодно", "управляющая", "компания", "не", "отвечает", "на",
    "остановке", "сломана", "скамейка", "освещение", "детская", "площадка", "сосулька", "крыше", "дорога",
    "разбита", "автобус", "ходит", "редко", "спасибо", "заранее", "жалоба", "срочно", "затопило", "подвал",
)
SEPARATORS: tuple[str, ...] = (" ", ", ", ". ", "; ", " — ", "\n", ": ", "! ")

control_chars = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(
    ["\x7f", "\x85", "\u200b", "\u200e", "\u2028", "\u2029", "\ufeff"])
any_unicode = st.text(st.characters(codec="utf-8"), max_size=300)
hostile_text = st.lists(
    st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=8) | control_chars, max_size=40).map("".join)
texts = any_unicode | hostile_text
russian_text = st.lists(st.sampled_from(RUSSIAN_WORDS), min_size=0, max_size=25).map(" ".join)
# Random text that does not glue itself to a planted value (digits or letters right beside it).
surrounding = st.one_of(russian_text, st.text(st.characters(codec="utf-8", exclude_categories=["Nd"]),
                                              max_size=60))


@st.composite
def russian_phone(draw: st.DrawFn) -> str:
    """A fictional Russian phone number in one of the formats people write."""
    code = draw(st.sampled_from(["900", "902", "912", "950", "982", "999"]))
    a, b, c = draw(st.integers(0, 999)), draw(st.integers(0, 99)), draw(st.integers(0, 99))
    n = f"{a:03d}{b:02d}{c:02d}"
    formats = (
        f"+7 ({code}) {n[:3]}-{n[3:5]}-{n[5:]}", f"+7{code}{n}", f"8{code}{n}", f"8 {code} {n[:3]} {n[3:5]} {n[5:]}",
        f"8-{code}-{n[:3]}-{n[3:5]}-{n[5:]}", f"8({code}){n}", f"+7 {code} {n}", f"7{code}{n}",
        f"8 ({code}) {n[:3]}-{n[3:5]}-{n[5:]}", f"+7-{code}-{n[:3]}-{n[3:5]}-{n[5:]}", f"({code}) {n[:3]}-{n[3:5]}-{n[5:]}",
        f"8 800 {n[:3]} {n[3:5]} {n[5:]}", f"(342) {n[:3]}-{n[3:5]}-{n[5:]}",
    )
    return draw(st.sampled_from(formats))


@st.composite
def email(draw: st.DrawFn) -> str:
    local = draw(st.from_regex(r"[a-z][a-z0-9._\-]{1,14}[a-z0-9]", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z][a-z0-9\-]{1,10}[a-z0-9]", fullmatch=True))
    return f"{local}@{domain}.{draw(st.sampled_from(['ru', 'com', 'org', 'рф', 'net', 'info']))}"


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())
