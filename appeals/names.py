"""Fast rules that find names of people in appeal text (no neural model, about 0.1 ms a text).

A name is masked when the words say so together: a first name followed by a patronymic («Анна
Сергеевна»), a surname next to a first name («Иванова Мария»), initials next to a surname («И. П.
Смирнов»), or a capitalised word after a cue («меня зовут …», «врач …»). A surname alone is not
enough: «Иванова улица», «ул. Гагарина» and «школа имени Пушкина» are places, not people.
Word tags come from pymorphy3 (Name / Surn / Patr), cached per word form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from appeals.gazetteer import street_eponyms
from appeals.nlp import KNOWN_NAME_TAGS, get_morph

# Capitalised words (title or upper case) and initials («И.», «И.П.»).
_TOKEN_RE = re.compile(r"(?<![А-ЯЁа-яё])(?P<init>(?:[А-ЯЁ]\.\s?){1,2})(?![а-яё])|(?P<word>[А-ЯЁ][А-ЯЁа-яё]+(?:-[А-ЯЁ][а-яё]+)?)")
# Words before a group that make it a place or an institution's name, not a person.
# Abbreviations may carry their dot; full words may not, so «на остановке. Загорулько …» does not
# reach across a sentence end. «площадка», «проездной» are not place words.
_PLACE_BEFORE_RE = re.compile(
    r"(?:\b(?:ул|пр|пр-т|пр-кт|пер|пл|б-р|наб|ш|им|ст|мкр)\.?\s*"
    r"|\b(?:улиц[аеыуой]|проспект\w*|переул\w*|площад(?:ь|и|ью)|бульвар\w*|набережн\w*|шоссе|имени|"
    r"тракт\w*|проезд(?:а|е|у|ом)?|микрорайон\w*|станци\w*|метро|остановк\w*|парк\w*|сквер\w*)\s*"
    r"|\b(?:пос|г|с|п|д|дер)\.\s*)$",
    re.IGNORECASE,
)
_PATRONYMIC_RE = re.compile(r"\b[А-ЯЁ][а-яё]+(?:ич|вна|чна)\b")
_INITIALS_RE = re.compile(r"\b[А-ЯЁ]\.\s?[А-ЯЁ]\.")
_HOUSE_AFTER_RE = re.compile(r"^\s*,?\s*(?:д\.|дом)?\s*\d")
_PLACE_AFTER_RE = re.compile(
    r"^\s*(?:ул\.|улиц\w*|проспект\w*|пр-т|переул\w*|пер\.|бульвар\w*|площад(?:ь|и|ью)\b|шоссе|тракт\w*|"
    r"проезд(?:а|е|у|ом)?\b"
    # a region or district named by its adjective: «Пермского края», «Ленинского района», «Чусовского
    # городского округа» (nouns only: «врач Иванова районной больницы» is a person)
    r"|(?:(?:городск|муниципальн|сельск)\w{1,3}\s+)?(?:кра(?:й|я|ю|е|ем)|район(?:а|е|у|ом|ы|ов)?"
    r"|област(?:ь|и|ью)|округ(?:а|е|у|ом)?|республик(?:а|и|е|у|ой)|губерни(?:я|и|ю|ей))\b)",
    re.IGNORECASE,
)
# Roles and kin after which a capitalised word is a person; a role may be followed by a few words
# in lower case («руководитель управляющей компании Шилов»).
_ROLES = (r"врач\w*(?:-\w+)?|пенсионер\w*|жител\w*|житель\w*|доктор\w*|терапевт\w*|педиатр\w*|хирург\w*|фельдшер\w*|медсестр\w*|сосед\w*|участков\w*|"
          r"мастер\w*|директор\w*|заведующ\w*|учител\w*|воспитател\w*|инспектор\w*|сотрудни\w*|специалист\w*|"
          r"руководител\w*|начальни\w*|председател\w*|глав\w*|управляющ\w*|юрист\w*|депутат\w*|"
          r"(?:мо[йяеи]\s+)?(?:сын\w*|доч\w*|мам\w*|пап\w*|муж\w*|жен\w*|отц\w*|отец|мат\w*|бабушк\w*|"
          r"дедушк\w*|брат\w*|сестр\w*|внук\w*|внучк\w*)")
_CUE_RE = re.compile(
    rf"(?:меня\s+зовут|зовут(?:\s+меня)?|я\s*[,—–-]|ф\.?\s?и\.?\s?о\.?\s*[:\-–]?|заявител\w*|гражданк?\w*|позвоните|"
    rf"передайте|спасибо|благодар\w+|обратил\w*\s+к|(?:{_ROLES})(?-i:\s+[а-яё]+){{0,3}}?)"
    r"\s*[,:]?\s*$",
    re.IGNORECASE,
)
NAME, SURN, PATR, UNKNOWN, SHAPE, NAME1 = "Name", "Surn", "Patr", "Unkn", "Shape", "Name1"
_PATR_SHAPE_RE = re.compile(r"(?:[оеё]вич|[оеё]вн|ичн|инич)\w{0,3}$|[^а-яё]ич(?:а|у|ем|е)?$")
# A phone or e-mail just before a lone first name makes it a signature («звоните 8 912…, Светлана»).
_CONTACT_BEFORE_RE = re.compile(r"(?:\d[\d\s\-()]{4,}\d|@[\w.\-]+\.\w+)[\s,.;:—–-]{0,3}$")
# Endings of Russian surnames in any case, for words after a cue that the dictionary does not tag.
_SURNAME_SHAPE_RE = re.compile(
    r"(?:[оеё]в|[иы]н)(?:а|у|ым|ой|е|ых|ыми)?$|(?:ск|цк)(?:ий|ая|ого|ой|ому|ую|им|ом)$|(?:ко|ук|юк|ян|дзе|швили)$")


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str
    initials: bool
    tags: frozenset[str]


@lru_cache(maxsize=200_000)
def name_tags(word: str) -> frozenset[str]:
    """Name/Surn/Patr tags of any parse of `word`, with their cases («Surn:gent»); Unkn off-dictionary."""
    known = KNOWN_NAME_TAGS.get(word)  # from a fitted model (appeals.nlp.MorphTable)
    if known is not None:
        return known
    morph = get_morph()
    low = word.lower()
    tags: set[str] = set()
    parses = morph.parse(low)
    for p in parses:
        gender = p.tag.gender
        genders = ("masc", "femn") if gender is None or "ms-f" in p.tag else (str(gender),)
        for t in (NAME, SURN, PATR):
            if t in p.tag:
                tags.add(t)
                tags.update(f"{t}:{p.tag.case}:{g}" for g in genders)
    if parses and NAME in parses[0].tag:
        tags.add(NAME1)
    if not morph.word_is_known(low):
        tags.add(UNKNOWN)
        if _PATR_SHAPE_RE.search(low):
            tags.add(PATR)
    if _SURNAME_SHAPE_RE.search(low):
        tags.add(SHAPE)
    return frozenset(tags)


def _agree(a: _Tok, kind_a: str, b: _Tok, kind_b: str) -> bool:
    """Both words carry the tags in one case and gender («Иванова Мария», not «Роман Толстого»)."""
    forms = {t.split(":", 1)[1] for t in a.tags if t.startswith(kind_a + ":")}
    return any(f"{kind_b}:{form}" in b.tags for form in forms)


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN_RE.finditer(text):
        if m.group("init"):
            end = m.start() + len(m.group("init").rstrip())
            out.append(_Tok(m.start(), end, text[m.start():end], True, frozenset()))
        else:
            out.append(_word(m))
    return out


def capitalised_words(text: str) -> list[tuple[int, int, frozenset[str]]]:
    """(start, end, name tags) of the capitalised words of `text`."""
    return [(t.start, t.end, t.tags) for t in _tokens(text) if not t.initials]


def _adjacent(text: str, a: _Tok, b: _Tok) -> bool:
    return a.end <= b.start and not text[a.end:b.start].strip()


def _groups(text: str, toks: list[_Tok]) -> list[list[_Tok]]:
    """Runs of capitalised words / initials separated only by spaces."""
    groups: list[list[_Tok]] = []
    for tok in toks:
        if groups and _adjacent(text, groups[-1][-1], tok):
            groups[-1].append(tok)
        else:
            groups.append([tok])
    return groups


def _is_person(group: list[_Tok]) -> bool:
    words = [t for t in group if not t.initials]
    has_init = any(t.initials for t in group)
    if has_init and any(SURN in t.tags or UNKNOWN in t.tags for t in words):
        return True
    for a, b in zip(group, group[1:], strict=False):
        if _agree(a, NAME, b, PATR) or _agree(a, SURN, b, NAME) or _agree(a, NAME, b, SURN):
            return True
        # a patronymic after two capitalised words: «Алиева Севиль Гасановна» (first name off-dictionary)
        if PATR in b.tags and not a.initials and len(words) >= 3:
            return True
    return False


def _is_signature(text: str, group: list[_Tok]) -> bool:
    """A lone first name right after a phone / e-mail, or alone at the very end of the text."""
    tok = group[0]
    if len(group) != 1 or NAME1 not in tok.tags:
        return False
    before = text[max(0, tok.start - 30):tok.start]
    at_end = not text[tok.end:].strip(" .!\n") and bool(re.search(r"[.!?\n]\s*$", before))
    return bool(_CONTACT_BEFORE_RE.search(before)) or at_end


def _trim(group: list[_Tok], shape: bool = False) -> list[_Tok]:
    """Drop words at the edges that carry no name tag (a capitalised first word of a sentence)."""
    wanted = {NAME, SURN, PATR, UNKNOWN, SHAPE} if shape else {NAME, SURN, PATR, UNKNOWN}
    keep = [t for t in group if t.initials or t.tags & wanted]
    if not keep:
        return []
    first, last = group.index(keep[0]), group.index(keep[-1])
    return group[first:last + 1]


def plausible_person(text: str, start: int, end: int) -> bool:
    """Whether an NER person span could be a person and not a street or a stray capitalised word.

    A lone word must carry a name tag or a surname ending («Здраствуйте», «Ковид» do not), must not be
    followed by a house number («Ленина, 15») and, when it is a common street eponym («на Пушкина»),
    needs a role or kinship word before it («врач Пушкина»).
    """
    if in_place_context(text, start, end):
        return False
    word = text[start:end].strip(" .,")
    if not word or " " in word:
        return bool(word)
    tags = name_tags(word)
    if not tags & {NAME, SURN, PATR, SHAPE} or _HOUSE_AFTER_RE.match(text[end:end + 12]):
        return False
    if _CUE_RE.search(text[max(0, start - 40):start]):
        return True
    lemmas = {str(p.normal_form) for p in get_morph().parse(word.lower()) if SURN in p.tag or NAME in p.tag}
    return not lemmas & street_eponyms()


def in_place_context(text: str, start: int, end: int) -> bool:
    """True when the words around text[start:end] make it a street or an institution's name.

    A name with a patronymic is a person whatever stands around it, and so is a surname with two
    initials before a street word («Иванов Иван Иванович улица …»).
    """
    span = text[start:end]
    if _PATRONYMIC_RE.search(span):
        return False
    if _PLACE_BEFORE_RE.search(text[max(0, start - 40):start]):
        return True  # «ул. Ленина», «школа имени А. С. Пушкина»
    return bool(_PLACE_AFTER_RE.match(text[end:end + 20])) and not _INITIALS_RE.search(span)


def _lead_trimmed(group: list[_Tok]) -> list[_Tok]:
    """The group from its first name-like word on («Врач Кузнецова» → «Кузнецова»)."""
    for i, tok in enumerate(group):
        if tok.initials or tok.tags & {NAME, SURN, PATR, UNKNOWN, SHAPE}:
            return group[i:]
    return []


_WORD_RE = re.compile(r"(?<![А-ЯЁа-яё\-])[А-ЯЁа-яё][а-яё]+(?![А-ЯЁа-яё\-])")
# Every form of a patronymic, in the dictionary or by _PATR_SHAPE_RE, ends in -ич, -ыч, -вн, -чн, -шн
# (or -вен, -чен, -шен) and at most three letters («петровичами», «ильиничной», «саввишной»): only pairs
# whose second word looks so are parsed, which keeps masking as fast as before the lower-case rule.
_PATR_HINT_RE = re.compile(r"(?:ич|ыч|вн|чн|шн|вен|чен|шен)[а-яё]{0,3}$")


def _word(m: re.Match[str]) -> _Tok:
    return _Tok(m.start(), m.end(), m.group(0), False, name_tags(m.group(0)))


def lowercase_names(text: str) -> list[tuple[int, int]]:
    """Names written in lower case, as in messengers («петрова татьяна юрьевна», «сергей петрович»).

    Anchored on a first name followed by a patronymic that agrees with it in case and gender (the pair
    is rare outside names); a surname next to the pair (in any case) joins the span when it agrees too.
    """
    words = list(_WORD_RE.finditer(text))
    spans: list[tuple[int, int]] = []
    for i in range(len(words) - 1):
        if not (words[i].group(0)[0].islower() and _PATR_HINT_RE.search(words[i + 1].group(0).lower())):
            continue
        first, patr = _word(words[i]), _word(words[i + 1])
        if not (NAME in first.tags and PATR in patr.tags and _adjacent(text, first, patr)):
            continue
        if not (_agree(first, NAME, patr, PATR) or UNKNOWN in patr.tags):
            continue
        start, end = first.start, patr.end
        before = _word(words[i - 1]) if i > 0 else None
        after = _word(words[i + 2]) if i + 2 < len(words) else None
        if before is not None and _adjacent(text, before, first) and _agree(before, SURN, first, NAME):
            start = before.start
        elif after is not None and _adjacent(text, patr, after) and _agree(after, SURN, first, NAME):
            end = after.end
        spans.append((start, end))
    return spans


def looked_up_words(text: str) -> set[str]:
    """The words of `text` whose tags `find_names` looks up (capitalised words, and the words around a
    lower-case first name and patronymic), for appeals.nlp.MorphTable."""
    out = {m.group(0) for m in _TOKEN_RE.finditer(text) if not m.group("init")}
    words = list(_WORD_RE.finditer(text))
    for i in range(len(words) - 1):
        if words[i].group(0)[0].islower() and _PATR_HINT_RE.search(words[i + 1].group(0).lower()):
            out.update(w.group(0) for w in words[max(0, i - 1):i + 3])
    return out


def find_names(text: str) -> list[tuple[int, int]]:
    """Character spans of people's names in `text` (expects look-alike letters already normalised)."""
    spans = lowercase_names(text)
    for whole in _groups(text, _tokens(text)):
        group = _lead_trimmed(whole)
        if not group or in_place_context(text, group[0].start, group[-1].end):
            continue
        cue = _CUE_RE.search(text[max(0, group[0].start - 40):group[0].start])
        if _is_person(group):
            part = _trim(group, shape=True)
        elif _is_signature(text, group):
            part = group
        elif cue and "зовут" in cue.group(0).lower():
            part = group[:3]
        elif cue and not group[0].text.isupper():
            part = _trim(group, shape=True)[:3]
        else:
            continue
        if part:
            spans.append((part[0].start, part[-1].end))
    return spans
