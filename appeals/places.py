"""Place extraction: municipality, district, settlement, street and house named in an appeal.

Rules over the text, normalised with pymorphy3 lemmas and a gazetteer (`appeals.gazetteer`):
abbreviations «г.», «ул.», «р-н», «пр-т» are expanded, adjectives brought to their lemma, towns to
their nominative («в Лысьве», «Лысьвенского округа» → «лысьва»). About 0.05 ms a text, so it runs on
the request path; natasha's AddrExtractor (about 110 ms a text) is not used.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache

from appeals.gazetteer import (
    DISTRICT,
    MUNICIPALITY,
    SETTLEMENT,
    Gazetteer,
    adj_lemma,
    default_gazetteer,
    geo_lemma,
    municipality_name,
)
from appeals.nlp import TEXT_CACHE_SIZE, get_morph, normalize_lookalikes

FIELDS: tuple[str, ...] = ("municipality", "district", "settlement", "street", "house")
_STREET_TYPES: tuple[tuple[str, str], ...] = (
    ("пр-кт", "проспект"), ("пр-т", "проспект"), ("просп", "проспект"), ("пр", "проспект"),
    ("ул", "улица"), ("пер", "переулок"), ("б-р", "бульвар"), ("бул", "бульвар"), ("ш", "шоссе"),
    ("наб", "набережная"), ("пл", "площадь"), ("мкр", "микрорайон"), ("тракт", "тракт"),
    ("проезд", "проезд"),
)
_TYPE = (r"(?:ул\.?|улиц(?!ах|ам)\w*|пр-кт\.?|пр-т\.?|просп\.|пр\.|проспект\w*|пер\.|переул\w*|б-р|бульвар\w*|ш\.|"
         r"шоссе|наб\.|набережн\w*|пл\.|площад\w*|проезд\w*|тракт\w*|мкр\.?|микрорайон\w*)")
_NAME = r"(?:\d+-?(?:го|й|я|е)?\s+(?:лет\s+)?)?[А-ЯЁ][\w\-]*(?:\s+[А-ЯЁ][\w\-]*)?"
_STREET_RE = re.compile(rf"(?<![\w-])(?i:{_TYPE})\s*(?P<name>{_NAME})")
_STREET_POST_RE = re.compile(
    r"(?<![\w\-])(?P<name>[А-ЯЁ][\w\-]++)\s+(?P<type>(?i:улиц(?!ах|ам)\w*|проспект\w*|переул\w*|бульвар\w*|шоссе|тракт\w*|проезд\w*|площад(?:ь|и|ью)))")
_HOUSE_BEFORE_RE = re.compile(r"(?i:дом[аеу]?|д\.)\s*№?\s*(?P<house>\d+[а-яА-Я]?(?:/\d+)?)\s+по\s+$")
_HOUSE_RE = re.compile(r"^\s*,?\s*(?:(?:возле|у|около|напротив|рядом\s+с|от|до)\s+)?(?i:д\.|дом[аеу]?|д)?\s*№?\s*"
                       r"(?P<house>\d+[а-яА-Я]?(?:/\d+)?)(?![\d.,]\d)")
_SETTLEMENT_RE = re.compile(
    r"(?<![\w-])(?:г\.|п\.|с\.|д\.(?=\s*[А-ЯЁ][а-яё]+)|(?i:гор\.|город[аеуом]?|пос\.|посел[оке]\w*|пгт\.?|"
    r"рп\.?|сел[оеау]|дер\.|деревн\w+))\s*(?P<name>[А-ЯЁ][\w\-]+)")
_MUNI_RE = re.compile(r"(?P<adj>[А-ЯЁ][а-яё\-]+)\s+(?i:(?:городско\w*|муниципальн\w*)\s+(?:округ|район)\w*)")
_DISTRICT_RE = re.compile(r"(?P<adj>[А-ЯЁ][а-яё\-]+)\s+(?i:(?<![\w-])район\w*|р-н\w*)|"
                          r"(?i:(?<![\w-])район\w*|р-н\w*)\s+(?P<adj2>[А-ЯЁ][а-яё\-]+(?:ий|ый|ой|ом|ого))")
_CAP_WORD_RE = re.compile(r"(?<![\w-])[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё]+)?")
_REGION_WORD_RE = re.compile(r"^\s+(?i:(?:муниципальн\w+\s+|городск\w+\s+)?округ\w*|район\w*|р-н|кра[йяюе]\w*|област\w*|обл\.)")
_REGION_AFTER_RE = re.compile(r"^\s+(?i:кра[йяюе]\w*|област\w*|обл\.)")
_NAME_POS = {"ADJF", "NOUN", None}
_GENDER = {"улица": "femn", "площадь": "femn", "набережная": "femn", "проспект": "masc", "переулок": "masc",
           "бульвар": "masc", "тракт": "masc", "проезд": "masc", "микрорайон": "masc", "шоссе": "neut"}


@dataclass(frozen=True)
class Places:
    """Places named in one appeal, each a canonical lower-case string or None."""

    municipality: str | None = None
    district: str | None = None
    settlement: str | None = None
    street: str | None = None
    house: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    def features(self) -> list[str]:
        """`field=value` strings for a vectoriser (e.g. «municipality=лысьва»)."""
        return [f"{k}={v}" for k, v in asdict(self).items() if v]


def _street_type(raw: str) -> str:
    low = raw.lower().rstrip(".")
    for prefix, canon in _STREET_TYPES:
        if low == prefix:
            return canon
    return str(get_morph().parse(low)[0].normal_form)


@lru_cache(maxsize=50_000)
def _name_word(word: str, gender: str) -> str:
    """A street-name word: adjectives agree with the street type («улица советская»), others as written."""
    if word[0].isdigit():
        return word.lower()
    parse = get_morph().parse(word.lower())[0]
    if parse.tag.POS != "ADJF":
        return word.lower()
    agreed = parse.inflect({gender, "sing", "nomn"}) if gender else None
    return str(agreed.word if agreed else parse.normal_form)


def _street_name(name: str, gender: str) -> str | None:
    words = name.split()
    if len(words) > 1 and not words[0][0].isdigit():
        second = get_morph().parse(words[1].lower())[0].tag
        if not ({"Name", "Surn", "Patr"} & set(str(second).replace(" ", ",").split(",")) or
                second.POS == "ADJF" or words[0].lower().endswith(("ого", "ева", "ова", "ина"))):
            words = words[:1]
    first = words[-1] if words[0][0].isdigit() else words[0]
    if get_morph().parse(first.lower())[0].tag.POS not in _NAME_POS:
        return None
    return " ".join(_name_word(w, gender) for w in words).replace("ё", "е")


# Adjectives that make «площадь» a floor area, not a square: «Общая площадь 24.5 кв. м».
_AREA_WORDS = frozenset({"общий", "жилой", "полезный", "нежилой", "посевной"})


def _postfix_name_ok(word: str, street_type: str) -> bool:
    """«Советской улице», «Иванова улица» name a street; «Квартира площадью», «Общая площадь» do not."""
    parse = get_morph().parse(word.lower())[0]
    if street_type.lower().startswith("площад") and parse.normal_form in _AREA_WORDS:
        return False
    return parse.tag.POS == "ADJF" or "Surn" in parse.tag or "Name" in parse.tag


def _find_street(text: str) -> tuple[str | None, str | None, list[tuple[int, int]]]:
    matches = [(m.start(), m.end(), m.group(0)[: m.start("name") - m.start()].strip(), m.group("name"))
               for m in _STREET_RE.finditer(text)]
    matches += [(m.start(), m.end(), m.group("type"), m.group("name")) for m in _STREET_POST_RE.finditer(text)
                if _postfix_name_ok(m.group("name"), m.group("type"))]
    for start, end, kind, raw_name in sorted(matches):
        street_type = _street_type(kind)
        name = _street_name(raw_name, _GENDER.get(street_type, ""))
        if name is None:
            continue
        house = _HOUSE_RE.match(text[end:end + 40]) or _HOUSE_BEFORE_RE.search(text[max(0, start - 30):start])
        return f"{street_type} {name}", house.group("house").lower() if house else None, [(start, end)]
    return None, None, []


def _district(text: str, gaz: Gazetteer) -> tuple[str | None, str | None]:
    """(district, municipality) from «Заречный район» / «р-н Заречный» / «Бардымский район»."""
    for m in _DISTRICT_RE.finditer(text):
        name = adj_lemma(m.group("adj") or m.group("adj2"))
        if name is None:
            continue
        muni = municipality_name(name)
        if gaz.kind_of(muni) == MUNICIPALITY and gaz.kind_of(name) != DISTRICT:
            return None, muni
        return name, None
    return None, None


def _names_town(word: str, canonical: str, after: str) -> bool:
    """A noun («в Лысьве») or a town whose name is an adjective («в Чайковском»), not «Бардымском округе»."""
    if get_morph().parse(word.lower())[0].tag.POS != "ADJF":
        return True
    return adj_lemma(word) == canonical and not _REGION_WORD_RE.match(after)


def _scan_gazetteer(text: str, gaz: Gazetteer, skip: list[tuple[int, int]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _CAP_WORD_RE.finditer(text):
        if any(s <= m.start() < e for s, e in skip) or _REGION_AFTER_RE.match(text[m.end():m.end() + 12]):
            continue
        hit = gaz.lookup(m.group(0))
        if hit and hit[0] not in found:
            found[hit[0]] = hit[1]
            if _names_town(m.group(0), hit[1], text[m.end():m.end() + 30]):
                found.setdefault("noun", hit[1])
    return found


def place_words(text: str) -> list[str]:
    """The words of `text` whose `geo_lemma` the place finder looks up (capitalised words and the names
    after «г.», «пос.», …), for appeals.nlp.MorphTable."""
    text = normalize_lookalikes(text)
    return _CAP_WORD_RE.findall(text) + [m.group("name") for m in _SETTLEMENT_RE.finditer(text)]


def extract_places(text: str, gazetteer: Gazetteer | None = None) -> Places:
    """Municipality, district, settlement, street and house named in `text` (first of each)."""
    return _places_default(text) if gazetteer is None else _extract_places(text, gazetteer)


# The classifier reads places twice per appeal (the department model's place features from the
# rule-masked text, the answer's places from the fully masked one), and the two texts are the same
# unless a name was masked: the last few thousand texts' places are kept (Places is frozen).
@lru_cache(maxsize=TEXT_CACHE_SIZE)
def _places_default(text: str) -> Places:
    return _extract_places(text, _default())


def _house_from_place_key(text: str, street: str) -> str | None:
    """The house the grouping's address patterns read for the same street, where ours read none
    («дома 5 на улице Ленина», «с домов 51 по 61 на ул Восточной», «Васнецова 8А»); a plain number
    with an optional letter only, so a building («18к2») or a crossing is never given as a house."""
    from appeals.dedupe_places import extract_place_key, same_street_name

    key = extract_place_key(text)
    if key.house and key.street and _PLAIN_HOUSE_RE.fullmatch(key.house) and same_street_name(
            street.split(" ", 1)[-1], key.street):
        return key.house
    return None


_PLAIN_HOUSE_RE = re.compile(r"\d{1,4}[а-д]?")


def _extract_places(text: str, gaz: Gazetteer) -> Places:
    text = normalize_lookalikes(text)
    street, house, skip = _find_street(text)
    if street and not house:
        house = _house_from_place_key(text, street)
    settlement = None
    for m in _SETTLEMENT_RE.finditer(text):
        settlement = geo_lemma(m.group("name"))
        skip.append((m.start(), m.end()))
        break
    muni_m = _MUNI_RE.search(text)
    municipality = municipality_name(muni_m.group("adj")) if muni_m else None
    district, district_muni = _district(text, gaz)
    found = _scan_gazetteer(text, gaz, skip)
    municipality = municipality or district_muni or found.get(MUNICIPALITY)
    if settlement and not municipality and gaz.kind_of(settlement) == MUNICIPALITY:
        municipality = settlement
    noun = found.get("noun")  # a town named by a noun («в Лысьве»), not by an adjective («лысьвенская»)
    settlement = settlement or (found.get(SETTLEMENT) if found.get(SETTLEMENT) == noun else None) or (
        noun if noun is not None and noun == municipality else None)
    return Places(municipality, district, settlement, street, house)


_DEFAULT: list[Gazetteer] = []


def _default() -> Gazetteer:
    if not _DEFAULT:
        _DEFAULT.append(default_gazetteer())
    return _DEFAULT[0]


def extract_places_many(texts: list[str], gazetteer: Gazetteer | None = None) -> list[Places]:
    """`extract_places` over many texts."""
    return [extract_places(t, gazetteer) for t in texts]
