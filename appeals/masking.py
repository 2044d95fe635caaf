"""Personal-data masking: spans of personal data become typed placeholders.

`mask_text` finds phones (every Russian format, split across a line break too), e-mails, links to
personal pages, passport / SNILS / policy numbers, flat numbers and private addresses (after «проживаю
по адресу», «мой адрес» or with a flat number) and people's names (rules in `appeals.names`), and
replaces each with [ТЕЛЕФОН], [EMAIL], [ССЫЛКА], [ДОКУМЕНТ], [АДРЕС] or [ФИО]. Streets named as the place
of a problem («на ул. Ленина возле дома 5 яма») and institutions are kept.

Matching runs on a shadow copy with Latin look-alikes and the letter O inside digit runs fixed; the
shadow has the same length, so spans found there cut the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from appeals.names import find_names, plausible_person
from appeals.nlp import normalize_lookalikes

Span = tuple[int, int, str]
PLACEHOLDERS: dict[str, str] = {t: f"[{t}]" for t in ("ФИО", "ТЕЛЕФОН", "EMAIL", "АДРЕС", "ДОКУМЕНТ", "ССЫЛКА")}
# When spans overlap, the union takes the type first in this order.
PRIORITY: tuple[str, ...] = ("EMAIL", "ССЫЛКА", "ДОКУМЕНТ", "ТЕЛЕФОН", "АДРЕС", "ФИО")
# natasha's NER on the doubtful windows by default: the rules alone miss about a quarter of the names
# in text they were not written on (evaluation/RESULTS.md, section «language»).
DEFAULT_NER = True

_O_RUN_RE = re.compile(r"(?<![А-ЯЁа-яёA-Za-z])[\dOoОо]*\d[\dOoОо]*(?![А-ЯЁа-яёA-Za-z])")
# Lookbehinds make every pattern start only at the start of a run: linear time on long junk runs.
_EMAIL_RE = re.compile(r"(?<![\w.%+\-])[\w.%+\-]++\s?@\s?[\w\-]+(?:\.[\w\-]+)*\.[A-Za-zА-Яа-я]{2,}")
_LINK_RE = re.compile(
    r"(?<![\w\-.])(?:https?://)?(?:www\.|m\.)?(?:vk\.com|vk\.ru|vkontakte\.ru|ok\.ru|odnoklassniki\.ru|facebook\.com|"
    r"fb\.com|instagram\.com|t\.me|telegram\.me|twitter\.com|x\.com|tiktok\.com|my\.mail\.ru|"
    r"youtube\.com/(?:c|channel|user)|[\w\-]++\.livejournal\.com)(?:/[^\s,;)\]]*)?",
    re.IGNORECASE,
)
_VK_MENTION_RE = re.compile(r"\[id\d+\|[^\]\n]{0,80}\]")
_HANDLE_RE = re.compile(r"(?<![\w.@])@[A-Za-z][A-Za-z0-9_]{3,}")
_SEP = r"(?:[ \t\u00a0\-–]{0,3}|[ \t]*(?:\n|<br\s*/?>)[ \t]*)"
# Any grouping of 10 or 11 digits (spaces, dashes, brackets, a line break between groups), then checked.
_PHONE_RE = re.compile(
    rf"(?<![\w+])(?:\+\s?)?\(?\d(?:{_SEP}[()]?{_SEP}\d){{9,10}}(?!\d)"
)
_LOCAL_PHONE_RE = re.compile(r"(?<![\d\-.,/])\d{1,3}-\d{2}-\d{2}(?![\d\-])")
# Words that announce a phone number; a short number up to 40 characters after one is a phone too.
_PHONE_CUE_RE = re.compile(
    r"(?:\bтел(?:ефон)?\w*\.?|\bт\.|\bмоб\w*\.?|\bсот\w*\.?|whats\s?app|вайбер|viber|ватсап|вотсап|"
    r"звон\w+|позвонит\w*|горяч\w+\s+лини\w+|справочн\w+|номер\w*\s+для\s+(?:вызова|связи|звонков))",
    re.IGNORECASE,
)
_CUED_NUMBER_RE = re.compile(r"(?<![\w\-./])(?:\+\s?)?\(?\d(?:[\s\-()]{0,3}\d){4,10}(?![\w\-/])")
_SENTENCE_END_RE = re.compile(r"[.!?\n]\s")
_DOC_RE = re.compile(
    r"(?:паспорт\w*|снилс\w*|полис\w*|\bомс\b|\bинн\b|свидетельств\w*|удостоверени\w*|лицев\w*\s+сч[её]т\w*|"
    r"\bл/с\b|\bл\.\s?с\.?|номер\w*\s+клиента|№\s*клиента|водительск\w+\s+прав\w*)[^\d\n.]{0,40}?"
    r"(?P<num>(?:(?:сери[яи]|сер\.?|номер|ном\.?|№|N)\s*)?\d[\d \-]*\d(?:\s*(?:номер|ном\.?|№|N)\s*\d[\d \-]*\d)?)",
    re.IGNORECASE,
)
_SNILS_RE = re.compile(r"(?<![\d\-])\d{3}-\d{3}-\d{3}[ \-]\d{2}(?![\d\-])")
_LONG_NUMBER_RE = re.compile(r"(?<![\d\-])\d{16}(?!\d)")
_FLAT = r"(?:кв\.?|квартир[аыеуой]\w*)\s*(?:№\s*)?(?!(?:19|20)\d\d\s*г)\d+[а-яА-Я]?(?![\d])(?!\s*(?:кв\.?\s?м|м2|м²|квадрат|метр))"
_FLAT_RE = re.compile(rf"(?<![\w])(?:{_FLAT})", re.IGNORECASE)
_CAP = r"[А-ЯЁ0-9][\w\-]*"
_SETTLEMENT_PART = r"(?:г\.|город|пос\.|п\.|пгт\.?|с\.|село|дер\.|деревня|д\.(?=\s*[А-ЯЁ]))\s*[А-ЯЁ][\w\-]+"
_ADDR_PART = (
    rf"(?:{_SETTLEMENT_PART}"
    rf"|(?i:ул[.,]?|улица|пр\.|пр-т|пр-кт|проспект|пер\.|переулок|б-р|бульвар|ш\.|шоссе|наб\.|набережная|пл\.|"
    rf"площадь|проезд|тракт|мкр\.?|микрорайон)\s*{_CAP}(?:\s+[А-ЯЁ][\w\-]*)?"
    rf"|(?<![\w\-])[А-ЯЁ][\w\-]++\s+(?:ул\.|улица|проспект|переулок|бульвар)"
    # a street without its type, when a flat or block follows: «Краснофлотская 33, кв. 83»
    rf"|(?<![\w\-])[А-ЯЁа-яё][а-яё\-]{{3,}}(?:\s+[А-ЯЁ][а-яё\-]+)?\s+\d+[а-яА-Я]?(?:/\d+)?"
    rf"(?=\s*[,.\-–]?\s*(?i:кв(?!\.?\s?м\b)|корп|к\.|стр))"
    rf"|(?i:д\.|дом[еа]?|д)\s*№?\s*\d+[а-яА-Я]?(?:/\d+)?|(?<!\d)\d+[а-яА-Я]?(?:/\d+)?(?=\s*[,\-–]?\s*(?i:кв(?!\.?\s?м\b)|корп|к\.|стр))"
    rf"|(?i:корп\.?|корпус|к\.|стр\.|строение)\s*\d+|(?i:{_FLAT}))"
)
_ADDR_CHAIN_RE = re.compile(rf"{_ADDR_PART}(?:(?:[\s,]{{1,3}}|\s+по\s+|\.\s?)(?:{_ADDR_PART}|\d+[а-яА-Я]?(?:/\d+)?(?:\s?-\s?\d+)?(?!\d|[.,]\d)))*")
# The town of a home address is not personal on its own and matters to routing: it stays.
_TOWN_PREFIX_RE = re.compile(rf"(?:{_SETTLEMENT_PART}(?:\s+по\s+|[\s,]{{1,3}}|$))+")
_TOWN_SUFFIX_RE = re.compile(rf"(?:[\s,]{{1,3}}{_SETTLEMENT_PART})+$")
_ADDR_TRIGGER_RE = re.compile(
    r"(?:(?:прожива\w+|живу|живем|живём|прописан\w*|зарегистрирован\w*)(?:[^.!?\n]{0,40}?\sпо\s+адресу)?|"
    r"мой\s+адрес|наш\s+адрес|адрес\s+(?:проживания|регистрации|места\s+жительства)|мест\w+\s+жительства|"
    r"домашн\w+\s+адрес\w*)"
    rf"(?:\s+(?:по\s+адресу|на|в|по))?\s*[:\-–]?\s*(?:(?:в\s+)?(?:{_SETTLEMENT_PART}|[А-ЯЁ][\w\-]+)[\s,]*(?:по|на)?\s*)?$",
    re.IGNORECASE,
)


def shadow(text: str) -> str:
    """Same-length copy for matching: look-alike letters fixed, O written for 0 inside digit runs."""
    text = normalize_lookalikes(text)
    return _O_RUN_RE.sub(lambda m: re.sub("[OoОо]", "0", m.group(0)), text)


def _phone_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if len(digits) == 11:
        return digits[0] in "78"
    return len(digits) == 10 and digits[0] in "3489"


_DIGIT_RE = re.compile(r"\d")


def _phones(text: str) -> list[Span]:
    spans = [(m.start(), m.end(), "ТЕЛЕФОН") for m in _PHONE_RE.finditer(text) if _phone_ok(m.group(0))]
    spans += [(m.start(), m.end(), "ТЕЛЕФОН") for m in _LOCAL_PHONE_RE.finditer(text)]
    for cue in _PHONE_CUE_RE.finditer(text):
        window = text[cue.end():cue.end() + 40]
        stop = _SENTENCE_END_RE.search(window)
        window = window[:stop.start()] if stop else window
        for m in _CUED_NUMBER_RE.finditer(window):
            if 5 <= len(re.sub(r"\D", "", m.group(0))) <= 11:
                spans.append((cue.end() + m.start(), cue.end() + m.end(), "ТЕЛЕФОН"))
    return spans


def _documents(text: str) -> list[Span]:
    spans = [(m.start("num"), m.end("num"), "ДОКУМЕНТ") for m in _DOC_RE.finditer(text)
             if len(re.sub(r"\D", "", m.group("num"))) >= 6]
    spans += [(m.start(), m.end(), "ДОКУМЕНТ") for m in _SNILS_RE.finditer(text)]
    spans += [(m.start(), m.end(), "ДОКУМЕНТ") for m in _LONG_NUMBER_RE.finditer(text)]
    return spans


# Every private-address cue of _ADDR_TRIGGER_RE holds one of these words: a text with none of them
# and no flat number has no home address, and the costly chain pattern is not run on it.
_ADDR_CUE_WORD_RE = re.compile(r"прожива|живу|живем|живём|прописан|зарегистрирован|адрес|жительств", re.IGNORECASE)


def _addresses(text: str) -> list[Span]:
    spans = [(m.start(), m.end(), "АДРЕС") for m in _FLAT_RE.finditer(text)]
    flats = [s for s, _, _ in spans]  # found on the whole text, so «50 кв.м» is no flat
    if not flats and not _ADDR_CUE_WORD_RE.search(text):
        return spans
    for m in _ADDR_CHAIN_RE.finditer(text):
        private = any(m.start() <= f < m.end() for f in flats) or bool(
            _ADDR_TRIGGER_RE.search(text[max(0, m.start() - 60):m.start()]))
        town = _TOWN_PREFIX_RE.match(m.group(0))
        start = m.start() + (town.end() if town else 0)
        tail = _TOWN_SUFFIX_RE.search(m.group(0))
        end = m.start() + tail.start() if tail else m.end()
        if private and start < end:
            spans.append((start, end, "АДРЕС"))
    return spans


def _links(text: str) -> list[Span]:
    spans = [(m.start(), m.end(), "ССЫЛКА") for m in _LINK_RE.finditer(text) if "/" in m.group(0)]
    spans += [(m.start(), m.end(), "ССЫЛКА") for m in _VK_MENTION_RE.finditer(text)]
    return spans + [(m.start(), m.end(), "ССЫЛКА") for m in _HANDLE_RE.finditer(text)]


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sort and merge overlapping spans; a merged span takes the type that comes first in PRIORITY."""
    merged: list[Span] = []
    for start, end, kind in sorted(spans):
        if merged and start < merged[-1][1]:
            pstart, pend, pkind = merged[-1]
            best = min(pkind, kind, key=PRIORITY.index)
            merged[-1] = (pstart, max(pend, end), best)
        else:
            merged.append((start, end, kind))
    return merged


def find_spans(text: str, extra: Iterable[Span] = ()) -> list[Span]:
    """All personal-data spans of `text` (plus `extra`, e.g. NER persons), merged and sorted."""
    sh = shadow(text)
    spans: list[Span] = [(m.start(), m.end(), "EMAIL") for m in _EMAIL_RE.finditer(sh)]
    spans += _links(sh) + _addresses(sh)
    if _DIGIT_RE.search(sh):  # every phone and document pattern needs a digit
        spans += _documents(sh) + _phones(sh)
    spans += [(s, e, "ФИО") for s, e in find_names(sh)]
    spans += list(extra)
    return merge_spans(spans)


def render(text: str, spans: Iterable[Span]) -> str:
    """Replace each span of `text` with its placeholder."""
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def find_spans_many(texts: Sequence[str], ner: bool = DEFAULT_NER, batch_size: int = 64) -> list[list[Span]]:
    """`find_spans` for many texts; with `ner`, plus natasha's persons from the doubtful windows."""
    spans = [find_spans(text) for text in texts]
    return add_ner_spans(texts, spans, batch_size) if ner else spans


def add_ner_spans(texts: Sequence[str], spans: Sequence[list[Span]], batch_size: int = 64) -> list[list[Span]]:
    """The rule spans of each text (from `find_spans`) plus natasha's persons from the doubtful windows."""
    from appeals.ner import ner_persons_many

    ents = ner_persons_many(texts, spans, batch_size)
    return [merge_spans([*s, *person_spans(t, e)]) for t, s, e in zip(texts, spans, ents, strict=True)]


def mask_rules_and_ner(texts: Iterable[str], ner: bool = DEFAULT_NER) -> tuple[list[str], list[str]]:
    """(`mask_many(texts, ner=False)`, `mask_many(texts, ner)`) with the rules run once for both: the
    rule-masked texts feed the models, the fully masked ones are stored and shown."""
    texts = list(texts)
    rules = [find_spans(t) for t in texts]
    plain = [render(t, s) for t, s in zip(texts, rules, strict=True)]
    if not ner:
        return plain, plain
    return plain, [render(t, s) for t, s in zip(texts, add_ner_spans(texts, rules), strict=True)]


def mask_many(texts: Iterable[str], ner: bool = DEFAULT_NER) -> list[str]:
    """Texts with personal data replaced by typed placeholders ([ФИО], [ТЕЛЕФОН], [EMAIL], …)."""
    texts = list(texts)
    return [render(t, s) for t, s in zip(texts, find_spans_many(texts, ner), strict=True)]


def mask_text(text: str, ner: bool = DEFAULT_NER) -> str:
    """One text with personal data replaced by typed placeholders."""
    return mask_many([text], ner)[0]


def person_spans(text: str, ner_spans: Iterable[tuple[int, int, str]]) -> list[Span]:
    """PER spans of an NER model as [ФИО] spans, except streets, institutions and stray words."""
    return [(s, e, "ФИО") for s, e, label in ner_spans if label == "PER" and plausible_person(text, s, e)]


# Audit patterns, deliberately simpler and independent of the masking rules: what a reviewer would grep
# for in a shared export. `count_leftovers` counts their hits in (masked) texts.
PHONE_AUDIT_RE = re.compile(
    r"(?<!\d)(?:(?:\+\s?7|8|7)[\s\-()]*\d{3}|\(?9\d{2}\)?)[\s\-()]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
EMAIL_AUDIT_RE = re.compile(r"(?<![\w.+\-])[\w.+\-]++@[\w\-]+\.[\w.\-]+")


def count_leftovers(texts: Iterable[str]) -> dict[str, int]:
    """Texts that still hold a phone-like or e-mail-like pattern, by kind (never the texts themselves)."""
    counts = {"phone": 0, "email": 0, "texts": 0}
    for text in texts:
        counts["texts"] += 1
        counts["phone"] += bool(PHONE_AUDIT_RE.search(text))
        counts["email"] += bool(EMAIL_AUDIT_RE.search(text))
    return counts
