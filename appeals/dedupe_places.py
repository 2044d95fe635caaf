"""Fast place keys for duplicate grouping: settlement, street and house found by regular expressions.

Grouping has to look at every appeal (a million stored, 100,000 in a batch), so it cannot afford a
full address parser per text; these patterns cover the way residents write addresses («ул. Ленина,
д. 5», «Ленина 5», «в доме 12 по Садовой», «п. Заречный», «перекрёсток Победы и Литейной») and reduce
names to a stem without the case ending, soft signs and doubled letters, so «Садовая»/«Садовой» and
«Металлистов»/«Металистов» meet and «Ленина»/«Ленинградская» do not. A missed address only makes a match less strict, never wrong.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_TYPE = (
    r"(?:(?i:ул(?:ица|ице|ицу|ицы|ицей|иц)?|пр-?т(?:а|е|у|ом)?|просп(?:ект(?:а|е|у|ом)?)?|пер(?:еул(?:ок|ке|ка|ку|ком))?"
    r"|б-р|бульвар(?:а|е|у|ом)?|шоссе|проезд(?:а|е|у|ом)?|пл|площад(?:ь|и|ью)|наб(?:ережн(?:ая|ой|ую))?"
    r"|тракт(?:а|е|у|ом)?|мкр|микрорайон(?:а|е|у|ом)?)"
    # «пр.» is «проспект» only before a name or a number, and not in «и пр.» («и прочее»).
    r"|(?<!и\s)[Пп]р(?=\.\s*[А-ЯЁ\d]))"
)
# A number may open a name: «8 Марта», «10 лет Октября», «20-летия Победы», «1-я Красноармейская».
_NAME = r"((?:\d{1,3}-?(?:го|й|я)?\s+|\d{1,3}-?(?=лет))?[А-ЯЁа-яё][А-ЯЁа-яё\-]+(?:\s+[А-ЯЁ][а-яё\-]+)?)"
# A house number: digits (never cut short: «10» is not «1»), a letter, and a building after «/» or
# «корпус» («18/2», «18 к2», «дом 18, корпус 2»).
# A letter after a space is the house's only when capital or not followed by a word: «12 А», «12 а,»,
# but «Мира 12 в Чусовом» is house 12 «в» a town, «дом 8 а вода…» house 8.
_HOUSE = (
    r"(\d{1,4}(?!\d)(?:[а-дА-Д](?![А-ЯЁа-яё])|\s[А-Д](?![А-ЯЁа-яё])|\s[а-д](?![А-ЯЁа-яё])(?!\s*[А-ЯЁа-яё\d]))?"
    r"(?:\s*/\s*\d{1,3}(?!\d)|,?\s*(?:к|корп(?:ус)?)\.?\s*\d{1,2}(?!\d))?)"
)
_HOUSE_WORD = r"(?:(?:д|дом|доме|дома|домом)\.?\s*)?(?:№\s*)?"
# Words after a number that make it a count, not a house («10 дней», «3 раза»); a flat, entrance or
# floor word makes it a count only when no number follows («2 подъезда», but «Ленина 5 кв 12»).
_STOP_AFTER = (
    r"(?!\s*(?:год|г\.(?!\s*(?-i:[А-ЯЁ]))|руб|чел|дн(?:я|ей|и)?\b|день|час|мин|лет\b|раза?\b|тыс|%"
    # a distance, a length or a weight: «до Фоков 7 км» is no house 7
    r"|км\b|м\b|метр|см\b|кг\b|шт\b|градус"
    # a date: «Скоро 1 сентября» is no house 1
    r"|(?:январ|феврал|март|апрел|ма[яй]\b|июн|июл|август|сентябр|октябр|ноябр|декабр)"
    r"|(?:кв\b|квартир|подъезд|этаж)(?![а-я]*\.?\s*№?\s*\d)"
    # an ordinal before an entrance or floor word: «ул. Мира, 3-й подъезд» is not house 3
    r"|-?(?:й|м|го|ом)\s+(?:подъезд|этаж)))"
)

# A period only after a short type word («ул.», «пер.», «просп.»): after a whole word («как на улице.
# Сплю…») it ends a sentence, and the next sentence's first word is not a street.
_TYPE_DOT = r"(?:(?<![а-яё]{5})\.|(?<=просп)\.)?"
_TYPED = re.compile(rf"\b{_TYPE}{_TYPE_DOT}\s+{_NAME}(?:[,\s]+{_HOUSE_WORD}{_HOUSE}{_STOP_AFTER})?")
# A whole type word followed by a lower-case word is a street only where the text gives a house number
# («улица ленина 5», «на улице заводской возле дома 18»):
# «улица грунтовая», «на Набережной басы долбят» describe, they do not name.
_WHOLE_TYPE = re.compile(r"[А-ЯЁа-яё]{5,}")
_NAME_THEN_TYPE = re.compile(
    rf"\b([А-ЯЁ][а-яё\-]+)\s+{_TYPE}\b\.?(?:[,\s]+{_HOUSE_WORD}{_HOUSE}{_STOP_AFTER})?"
)
_HOUSE_FIRST = re.compile(
    rf"\b(?i:д\.|дом[ае]?\b|доме\b)\s*№?\s*{_HOUSE}\s+(?:по|на)\s+(?:{_TYPE}\.?\s+)?([А-ЯЁа-яё][а-яё\-]+)"
)
# «возле 25-го дома на Лесной»: an ordinal number (not «3 дома», a count), «дом», «по/на» and the street.
_NUMBER_HOUSE_FIRST = re.compile(
    rf"(?<![\d.,:/])(\d{{1,4}})-?(?:го|му|м|й|ом)\s+(?i:дом(?:а|е|у|ом)?)\s+(?:по|на)\s+"
    rf"(?:{_TYPE}\.?\s+)?([А-ЯЁ][а-яё\-]+)"
)
# «на Мира, возле 32-го дома»: a street named after «на/по», then a house near which something is.
_STREET_THEN_HOUSE = re.compile(
    r"\b(?:на|по)\s+([А-ЯЁ][а-яё\-]+),?\s+(?:у|возле|около|напротив|рядом\s+с)\s+(\d{1,4})"
    r"-?(?:го|му|м|й|ом)?\s+(?i:дом(?:а|е|у|ом)?)\b"
)
# «в 9А на Кооперативной»: a bare number before «по/на» and a capitalised street name.
_IN_HOUSE = re.compile(rf"\bв\s+{_HOUSE}{_STOP_AFTER}\s+(?:по|на)\s+(?:{_TYPE}\.?\s+)?([А-ЯЁ][а-яё\-]+)")
# A house anywhere once the street is known: «дом 18», «д. 5», «около 7-го дома».
_ANY_HOUSE = re.compile(
    rf"\b(?i:д\.|дом(?:ов|[ауеом]{{0,2}})\b)\s*№?\s*{_HOUSE}{_STOP_AFTER}"
    r"|(?<![\d.,:/])(\d{1,4})(?:-?(?:го|му|м|й|ом))?\s+(?i:дом(?:а|е|у|ом)?)\b"
)
# A crossing of two streets («на перекрёстке проспекта Победы и улицы Литейной», «пр-т Победы / Литейная»)
# is one place, as precise as a house: both names, in either order.
_NUMBERED = r"(?:\d{1,3}(?:-?летия|\s+лет)?\s+)?"  # «8 Марта», «10 лет Октября», «20-летия Победы»
_CROSSING = re.compile(
    rf"\b(?i:перекр[её]ст\w*|пересечени\w*|угол|углу)\s+(?:{_TYPE}\.?\s+)?({_NUMBERED}[А-ЯЁ][а-яё\-]+)"
    rf"(?:\s+(?:и|с)\s+|\s*[—–]\s*|\s+-\s+)(?:{_TYPE}\.?\s+)?({_NUMBERED}[А-ЯЁ][а-яё\-]+)"
    rf"|\b{_TYPE}\.?\s*([А-ЯЁ][а-яё\-]+)\s*/\s*(?:{_TYPE}\.?\s*)?([А-ЯЁ][а-яё\-]+)"
    rf"|\b([А-ЯЁ][а-яё\-]+)\s*/\s*{_TYPE}\.?\s*([А-ЯЁ][а-яё\-]+)"
    r"|(?<![\w/])([А-ЯЁ][а-яё]{2,})\s*/\s*([А-ЯЁ][а-яё]{2,})(?![\w/])"  # «Садовая/Кирова»
)
# How a street's name written in lower case ends: as an adjective or a name in the genitive («лесной»,
# «ленина»), not «собак 6-7»; after a crossing word also a plural genitive («ветеранов», «строителей»).
_STREET_ENDING = "ая|ой|ий|ый|ей|ого|ую|ом|а|я|и|ы"
# The same in a text typed without capitals («на перекрестке ул уральской и ул ветеранов»): only after a
# crossing word, each name a word that ends like a street's.
_LOWER_STREET_NAME = rf"([а-яё]{{2,}}(?:ов|ев|ых|их|{_STREET_ENDING}))"
_CROSSING_LOWER = re.compile(
    rf"\b(?:перекр[её]ст\w*|пересечени\w*|угл[уе]|угол)\s+(?:{_TYPE}\.?\s+)?{_LOWER_STREET_NAME}"
    rf"(?:\s+(?:и|с)\s+|\s*[—–]\s*|\s+-\s+)(?:{_TYPE}\.?\s+)?{_LOWER_STREET_NAME}\b"
)
_CROSSING_HOUSE = "crossing"  # the house of a crossing's key: no «к», so no building is read from it
# Every street pattern needs a digit or a street-type word; most texts have neither and skip them.
_MICRODISTRICT = re.compile(r"(?i:мкр|микрорайон)")
_STREET_HINT = re.compile(rf"\d|\b{_TYPE}")
# «Родители 45-й школы»: a number before an object word is the object's, not a house.
_OBJECT_NEXT = r"(?!-?[а-я]{0,3}\s+(?i:школ|гимнази|лице|поликлин|больниц|детск|детсад|садик|маршрут|автобус))"
_BARE = re.compile(
    rf"\b([А-ЯЁ][а-яё]+(?:\s+[А-ЯЁ][а-яё]+)?),?\s+(?:д\.\s*|дом\s+)?{_HOUSE}\b{_STOP_AFTER}{_OBJECT_NEXT}"
)
_SETTLEMENT = re.compile(
    r"(?:\b(?i:пгт\.?|пос\.|п\.|пос[её]л(?:ок|ке|ка|ку|ком)|с\.|сел(?:о|а|е|у|ом)\b|деревн(?:я|е|и|ю|ей)"
    r"|г\.|город(?:а|е|у|ом)?)|\bд\.(?=\s*[А-ЯЁ]))"
    r"\s*([А-ЯЁ][а-яё\-]+)"
)
# «сад №…», «садик» and «д/с» with a number are how residents name a kindergarten («сад 112», «в двадцатом
# садике», «д/с 20»); «в саду 3 яблони» and «кол. сад 15» (a garden plot community) are gardens.
_OBJECT_WORD = (
    r"(поликлиник|больниц|школ|сош|гимнази|лице|детск\w*\s+сад|детсад|садик|(?<!кол\.\s)(?<!кол\.)(?<!ллективный\s)(?<!снт\s)сад(?=\s*№?\s*\d)|д/с|маршрут|автобус|трамва"
    r"|троллейбус|подъезд)(?:а|ы|е|у|ой|ей|и|я|ю|й|ем|ом|ик|ика|ике|иком)?\b"
)
_OBJECT_AFTER = re.compile(
    rf"\b{_OBJECT_WORD}\s*(?:№\s*)?(\d{{1,3}})(?!\d|[.,:]\d){_STOP_AFTER}", re.IGNORECASE
)
# A named stop is one place like a numbered object: «на остановке «Рынок»», «остановка Школа».
_STOP = re.compile(r"\b(?i:остановк[аиеуой]{1,2}|ост\.)\s+(?:[«\"]([^»\"]{2,40})[»\"]|([А-ЯЁ][а-яё\-]+(?:\s+[А-ЯЁ][а-яё\-]+)?))")
# «на все 3 садика» counts kindergartens.
_OBJECT_BEFORE = re.compile(
    rf"(?<![\d.,:])(\d{{1,3}})(?:-?[а-я]{{1,3}})?\s+(?!садик(?:а|ов)\b){_OBJECT_WORD}", re.IGNORECASE
)
# Numbers written as words before a numbered object («третий подъезд», «тридцать шестой автобус»,
# «в сороковой школе»): an ordinal (stem and case ending), after a cardinal ten or not.
_ORDINAL_STEMS = {"перв": 1, "втор": 2, "трет": 3, "четв[её]рт": 4, "пят": 5, "шест": 6, "седьм": 7,
                  "восьм": 8, "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13,
                  "четырнадцат": 14, "пятнадцат": 15, "шестнадцат": 16, "семнадцат": 17, "восемнадцат": 18,
                  "девятнадцат": 19, "двадцат": 20, "тридцат": 30, "сороков": 40, "пятидесят": 50,
                  "шестидесят": 60, "семидесят": 70, "восьмидесят": 80, "девяност": 90}
_CARDINAL_TENS = {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
                  "семьдесят": 70, "восемьдесят": 80, "девяносто": 90}
_ORDINAL_ENDING = r"(?:ый|ой|ий|ая|ое|ые|ого|ому|ом|ую|ых|ым|ыми|ей|ьего|ьему|ьем|ья|ье|ьи|ью|ьей|ьих|ьим|ьими)"


def _alternatives(stems: dict[str, int]) -> str:
    return "|".join(sorted(stems, key=len, reverse=True))


_OBJECT_ORDINAL = re.compile(
    rf"\b(?:({_alternatives(_CARDINAL_TENS)})\s+)?({_alternatives(_ORDINAL_STEMS)}){_ORDINAL_ENDING}\s+"
    # one adjective may come between: «второй детской поликлиники», «седьмой городской больнице»
    rf"(?:(?:детск|городск|районн|средн|общеобразовательн)[а-яё]{{1,3}}\s+)?{_OBJECT_WORD}",
    re.IGNORECASE,
)


# A house number written as a word («Сосновая, двенадцатый дом», «седьмой дом на Лесной»).
_HOUSE_ORDINAL = re.compile(
    rf"\b(?:({_alternatives(_CARDINAL_TENS)})\s+)?({_alternatives(_ORDINAL_STEMS)}){_ORDINAL_ENDING}(?=\s+дом)",
    re.IGNORECASE,
)


_ORDINAL_BEFORE_HOUSE = re.compile(r"[а-яё](?:ый|ой|ий|ого|ому|ом|ая|ую)\s+дом", re.IGNORECASE)  # a cheap pre-check


def _house_words_as_digits(text: str) -> str:
    """`text` with house numbers written as ordinal words turned into digits, padded with spaces to the
    same length, so the spans found in it are spans of `text`."""
    if "дом" not in text or not _ORDINAL_BEFORE_HOUSE.search(text):
        return text
    # «у восьмого дома» -> «у 8-го дома»: written as an ordinal, so the ordinal house patterns read it.
    return _HOUSE_ORDINAL.sub(lambda m: f"{_number_in_words(m.group(1), m.group(2))}-го".ljust(len(m.group(0))), text)


def _number_in_words(tens: str | None, stem: str) -> str:
    low = stem.lower().replace("ё", "е")
    value = next(v for k, v in _ORDINAL_STEMS.items() if re.fullmatch(k, low))
    return str(value + (_CARDINAL_TENS[tens.lower()] if tens and value < 10 else 0))


# Cheap substring checks that let most texts skip the slower patterns.
_OBJECT_HINTS = (
    "поликлин",
    "больниц",
    "школ",
    "сош",
    "гимнази",
    "лице",
    "детск",
    "детсад",
    "сад",
    "д/с",
    "маршрут",
    "автобус",
    "трамва",
    "троллейбус",
    "подъезд",
    "остановк",
    "ост.",
)
_SETTLEMENT_HINTS = ("пгт", "пос", "п.", "с.", "сел", "дерев", "д.", "г.", "город")
_NOT_PLACE = frozenset(
    {
        "дом",
        "доме",
        "дома",
        "номер",
        "квартира",
        "подъезд",
        "этаж",
        "около",
        "возле",
        "напротив",
        "улица",
        "улице",
        "уже",
        "прошу",
        "просим",
        "здравствуйте",
        "жители",
        "родители",
        "снова",
        "опять",
        "это",
        "эта",
        "этой",
        "эту",
        "вся",
        "всей",
        "всю",
        "наша",
        "нашей",
        "нашу",
        "моя",
        "моей",
        "мою",
        "целая",
        "целой",
        "каждая",
        "каждой",
        "вот",
        "здесь",
        "тут",
        "там",
        "вновь",
        "сегодня",
        "вчера",
        # prepositions starting a sentence («От 17-го дома до остановки темень»)
        "от",
        "до",
        "за",
        "из",
        "под",
        "после",
        "между",
        "жителей",
        "житель",
        "жительница",
        "жильцы",
        "жильцов",
        "уважаемые",
        "просьба",
        "добрый",
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
        "с",
        "по",
        "на",
        "в",
        "и",
    }
)


@dataclass(frozen=True)
class PlaceKey:
    """Canonical forms (lower case, names as stems without their case ending); None where the text does
    not say. The codes compare names by `_spelling_key`, and a bare name by the stem's first letters."""

    settlement: str | None = None
    street: str | None = None
    house: str | None = None
    # A numbered object («поликлиника №3», «41 автобус», «2 подъезд»): kind stem and number.
    object_kind: str | None = None
    object_number: str | None = None
    spans: tuple[tuple[int, int], ...] = ()

    def codes(self) -> tuple[int, int, int, int, int, int, int]:
        """32-bit codes (0 = unknown): settlement, street, street+house, street+house+building (only
        when a building is named: «18к2»), object kind, kind+number, and the settlement's name cut to
        NAME_PREFIX letters a word (`name_code`; 0 for a regional capital, see `_bare_settlement`). «18»
        and «18к2» share the house and do not contradict each other; «18к1» and «18к2» do."""
        house = building = None
        street = _spelling_key(self.street)
        if street and self.house:
            base, _, corpus = self.house.partition("к")
            house = f"{street}|{base}"
            building = f"{street}|{self.house}" if corpus else None
        numbered = f"{self.object_kind}|{_spelling_key(self.object_number)}" if self.object_kind else None
        return (
            _code(_spelling_key(self.settlement)),
            _code(street),
            _code(house),
            _code(building),
            _code(self.object_kind),
            _code(numbered),
            _code(_prefix(_bare_settlement(self.settlement))),
        )


def _bare_settlement(settlement: str | None) -> str | None:
    """The settlement as a bare name may meet it: not a regional capital. Most of the region's appeals
    come from there, and «в Перми» in an appeal naming no street says nothing about which problem it
    is: read by hand, every Perm appeal joined to another only by a bare «Пермь» was another problem."""
    return None if settlement in _CAPITAL_STEMS else settlement


# A name written bare («Шумиха», «Кунгурцы, осторожно!») is compared with a settlement's name by their first
# letters only: loose enough for a short or derived form of the name, and used only where the topics agree.
NAME_PREFIX = 5


def _prefix(stem: str | None) -> str | None:
    return " ".join(w[:NAME_PREFIX] for w in stem.split()) if stem else None


@lru_cache(maxsize=100_000)
def name_code(word: str) -> int:
    """The code of a capitalised word as a bare settlement name: its stem cut to NAME_PREFIX letters, as
    the settlement's own in `PlaceKey.codes` (0 when the word cannot be a place name)."""
    return _code(_prefix(_stem_name(word)))


def _code(value: str | None) -> int:
    return (zlib.crc32(value.encode("utf-8")) or 1) if value else 0


_ENDING = re.compile(
    r"(?:ями|ами|ого|его|ому|ему|ая|яя|ой|ей|ую|юю|ий|ый|ое|ее|ом|ем|ые|ие|ых|их|ым|им"
    r"|ах|ях|ам|ям|ов|ев|а|я|у|ю|е|ы|и|о|ь)$"
)


@lru_cache(maxsize=200_000)
def stem_word(word: str, chars: int = 5) -> str:
    """A crude Russian stem: the case/number ending cut, then the first `chars` letters.

    «Садовая»/«Садовой», «вода»/«воды»/«водой» meet; it is ten times faster than a lemmatiser and
    good enough for comparing two short texts about one place.
    """
    word = word.lower().replace("ё", "е")
    if len(word) > 3:
        word = _ENDING.sub("", word) or word
    return word[:chars]


_STEM_CHARS = 12  # letters a word of a place name keeps


def _stem_name(name: str, chars: int = _STEM_CHARS) -> str | None:
    words = [w for w in re.split(r"[\s\-]+", name.lower().replace("ё", "е")) if w]
    if not words or words[0] in _NOT_PLACE:
        return None
    # «Карла Маркса», «Розы Люксембург» are written «К. Маркса», «Маркса»: a first name before the
    # surname a street is named after is left out.
    while len(words) > 1 and words[0].isalpha() and _is_first_name(words[0]):
        words = words[1:]
    # «20-летия Победы» and «20 лет Победы» are one street
    words = ["лет" if w == "летия" else w for w in words]
    return " ".join(w if w[0].isdigit() else stem_word(w, chars) for w in words)


def _is_first_name(word: str) -> bool:
    from appeals.names import NAME, name_tags

    return any(tag.startswith(NAME) for tag in name_tags(word.capitalize()))


def _spelling_key(stem: str | None) -> str | None:
    """`stem` without soft and hard signs and with doubled letters single, so the usual misspellings of
    a name meet («Металистов» and «Металлистов», «Октябрская» and «Октябрьская»). Each word is then cut to
    one letter less than a stem keeps: a stem cut at 12 letters keeps one letter more where the name
    has a doubled one («коммунистиче» and «комунистичес» are both «комунистиче»)."""
    if not stem:
        return stem
    plain = _DOUBLE.sub(r"\1", stem.replace("ь", "").replace("ъ", ""))
    return " ".join(word[:_STEM_CHARS - 1] for word in plain.split(" "))


_DOUBLE = re.compile(r"(.)\1+")


def same_street_name(name: str, stem: str) -> bool:
    """Whether a street's name as written («карла маркса», «восточная») is the street `stem` of a
    PlaceKey («карл маркс», «восточн»), compared as the place codes compare them."""
    return _spelling_key(_stem_name(name)) == _spelling_key(stem)


def _canon_house(house: str | None) -> str | None:
    """«18/2», «18 к.2», «18, корпус 2» -> «18к2»; «9 А» -> «9а»."""
    if not house:
        return None
    return re.sub(r"[\s.,]|орпус|орп", "", house.lower()).replace("/", "к")


_Found = tuple[bool, int, str, str | None, tuple[int, int]]  # (no house, start, street, house, span)


def _first_street(text: str) -> tuple[str | None, str | None, tuple[int, int] | None, _Found | None]:
    """The earliest street that comes with a house number, else the earliest street at all; and the
    first microdistrict named («мкр Северный Берег»), if any.

    A microdistrict is the street only where no other street is named («мкр. Заречье, д. 5», «в мкр
    Северный Берег нет света»): «жители микрорайона Северный Берег … на ул. Заводской» and «на ул. Заводской
    (мкр Северный Берег)» are both Заводская in that microdistrict."""
    if not _STREET_HINT.search(text):
        return None, None, None, None
    found: list[_Found] = []
    lower_case = typed_without_capitals(text)
    # A stop named after a street («остановка «Улица Кочегаров»» on «шоссе Космонавтов») is a stop.
    low = text.lower()
    stops = [m.span() for m in _STOP.finditer(text)] if "остан" in low or "ост." in low else []
    for pattern, name_group, house_group in (
        (_TYPED, 1, 2),
        (_NAME_THEN_TYPE, 1, 2),
        (_HOUSE_FIRST, 2, 1),
        (_NUMBER_HOUSE_FIRST, 2, 1),
        (_IN_HOUSE, 2, 1),
        (_STREET_THEN_HOUSE, 1, 2),
        (_BARE, 1, 2),
    ):
        if pattern is _NUMBER_HOUSE_FIRST and "дом" not in text:
            continue
        pos = 0
        while match := pattern.search(text, pos):
            pos = match.start() + 1  # overlapping: «На Набережной улице» must not hide «Набережной улице»
            name = match.group(name_group)
            span = match.span()
            if pattern is _TYPED and name.islower() and " " not in name and lower_case:
                name, name_end = _with_noun(text, match.end(name_group), name)
                span = (span[0], max(span[1], name_end))
            if pattern is _BARE and " " in name and _is_town(name.split()[0]):
                name = name.split()[1]  # «Лысьва Металлистов 8»: the town, then the street
            if pattern is _HOUSE_FIRST and name[0].islower() and _ROAD_PART.match(name):
                continue  # «у дома 48 на проезжей части», «дом 5 по придомовой территории»
            if any(start <= match.start(name_group) < end for start, end in stops) and not _MICRODISTRICT.match(
                    text, match.start()):
                continue
            street = _stem_name(name)
            house = _canon_house(match.group(house_group))
            if street is None or (pattern is _BARE and (not house or _NOT_STREET_WORD.match(match.group(1).lower()))):
                continue
            if (pattern is _TYPED and not house and match.group(1)[0].islower()
                    and _WHOLE_TYPE.match(text, match.start()) and not _ANY_HOUSE.search(text)):
                continue
            found.append((house is None, match.start(), street, house, span))
        if any(item[3] for item in found):
            break  # a street with its house: the later, looser patterns would not be preferred
    if not found and lower_case:
        found = _lower_case_streets(text)
    if not found:
        return None, None, None, None
    districts = [item for item in found if _MICRODISTRICT.match(text, item[4][0])]
    district = min(districts, key=lambda item: item[1]) if districts else None
    streets = [item for item in found if item not in districts] or districts
    _, _, street, house, span = min(streets, key=lambda item: (item[0], item[1]))
    return street, house, span, district


# A text typed without capitals («на лесной 14 крыша течет», «вишневая 11 первый подьезд»): a word
# before a house number is the street, unless it is a word that comes before numbers anyway (also
# checked for a capitalised bare name: «Детсад 5 Солнышко» names a kindergarten, not a street).
_UPPER = re.compile(r"[А-ЯЁ]")
_BARE_LOWER = re.compile(
    rf"(?<![\w-])([а-яё]{{2,}}(?:{_STREET_ENDING})),?\s+(?:д\.\s*|дом\s+)?{_HOUSE}\b"
    rf"(?!-\d|\s*штук){_STOP_AFTER}"
)
_NOT_STREET_WORD = re.compile(
    r"(?:подъ?ь?езд|этаж|кварт|дом|маршрут|автобус|трамва|троллейб|школ|гимнази|лице|поликлин|больниц"
    r"|садик|детсад|сад|корпус|кабинет|участ|номер|телеф|тел|час|минут|утр|вечер|ноч|год|лет|дне|ден|дня"
    r"|раз|рубл|тыс|градус|человек|семе|дет|мест|числ|недел|месяц|уже|через|около|после|более|менее|всего"
    r"|только|почти|примерно|остановк|окол|кроме|ещё|еще|было|была|были|будет|стало|стал|нет|где"
    r"|температур|давлени|групп|класс|сумм|пенси|зарплат|цен|код|размер)[а-яё]{0,3}$"
)


# Adjectives of a part of a road or yard, not a street's name, after «дома 48 на …».
_ROAD_PART = re.compile(r"(?:проезж|придомов|внутридворов|дворов|пешеходн|прилегающ|встречн|крайн|правой|левой)")


_NEXT_WORD = re.compile(r"\s+([а-яё]{3,})\b")


def _with_noun(text: str, end: int, name: str) -> tuple[str, int]:
    """`name` and the next word where that word is a noun agreeing with `name` as an adjective, and where
    the name ends: in a text typed without capitals «мкр лесная поляна сообщают» names «Лесная Поляна»,
    as the capitals would say. `end`: where `name` ends in `text`."""
    following = _NEXT_WORD.match(text, end)
    if not following:
        return name, end
    from appeals.nlp import get_morph

    morph = get_morph()
    adjective, noun = morph.parse(name)[0].tag, morph.parse(following.group(1))[0].tag
    if ("ADJF" in adjective and "NOUN" in noun and adjective.case == noun.case
            and adjective.number == noun.number and (adjective.number == "plur" or adjective.gender == noun.gender)):
        return f"{name} {following.group(1)}", following.end()
    return name, end


def _lower_case_streets(text: str) -> list[_Found]:
    found = []
    for match in _BARE_LOWER.finditer(text):
        word = match.group(1)
        if _NOT_STREET_WORD.match(word) or not (street := _stem_name(word)):
            continue
        found.append((False, match.start(), street, _canon_house(match.group(2)), match.span()))
    return found


def _crossing(text: str, low: str) -> tuple[str | None, tuple[int, int] | None]:
    """«литей|побед» for a crossing of two streets (stems sorted, so either order meets), with its span;
    `low` is `text` in lower case."""
    if "перекр" not in low and "пересеч" not in low and "угл" not in low and "угол" not in low and "/" not in text:
        return None, None
    match = _CROSSING.search(text) or (_CROSSING_LOWER.search(text) if typed_without_capitals(text) else None)
    if not match:
        return None, None
    names = [stem for n in match.groups() if n and not _NOT_STREET_WORD.match(n) and (stem := _stem_name(n))]
    if len(names) != 2 or names[0] == names[1]:
        return None, None
    return "|".join(sorted(names)), match.span()


def extract_place_key(text: str) -> PlaceKey:
    """The first street (with its house number, if any) and the first settlement named in `text`; a
    crossing of two streets counts as one street and house («перекрёсток Победы и Литейной»)."""
    street: str | None
    house: str | None
    span: tuple[int, int] | None
    text = _house_words_as_digits(text)
    low = text.lower()
    crossing, crossing_span = _crossing(text, low)
    district = None
    if crossing and crossing_span:
        street, house, span = crossing, _CROSSING_HOUSE, crossing_span
    else:
        street, house, span, district = _first_street(text)
    spans = [span] if span else []
    if district and district[4] != span:
        spans.append(district[4])
    if street and not house:  # «на улице Заводской возле дома 18»
        loose = _ANY_HOUSE.search(text)
        if loose:
            house = _canon_house(loose.group(1) or loose.group(2))
            spans.append(loose.span())
    settlement = None
    for match in _SETTLEMENT.finditer(text) if any(w in low for w in _SETTLEMENT_HINTS) else ():
        settlement = _stem_name(match.group(1))
        if settlement:
            spans.append(match.span())
            break
    if district:
        # «мкр. Заречье» is a place like «пос. Южный» (the two contradict each other), and within «г. Пермь,
        # мкр Новые Ляды» the narrower place: the city alone would meet every appeal from Perm.
        settlement = district[2]
    kind, number = _first_object(text) if any(w in low for w in _OBJECT_HINTS) else (None, None)
    if settlement is None and (street or kind):
        # Only beside a street or a numbered object, where it can only tell two places apart: alone, a
        # bare town would make every appeal from Лысьва naming no street «the same place» (on Perm's
        # appeals that joined 70 more groups, most of them mixing topic groups).
        settlement, town_span = _bare_town(text)
        if town_span:
            spans.append(town_span)
    return PlaceKey(
        settlement=settlement,
        street=street,
        house=house,
        object_kind=kind,
        object_number=number,
        spans=tuple(spans),
    )


# A town of the gazetteer named without a type word («в Губахе», «из Кунгура», «Заречная 3, Кунгур»,
# «ул. Спортивной (Краснокамск)»).
_BARE_TOWN = re.compile(r"(?:^\s*|\b(?:[Вв]о?|[Ии]з|[Гг]ород(?:а|е)?)\s+|[,(]\s*)([А-ЯЁ][а-яё\-]+)")
# Left out: the regional capitals, named by most of their appeals and holding settlements of their own
# («пос. Новые Ляды» is in Perm), and names that are common words («Оса», «Тара»).
_NOT_BARE_TOWNS = frozenset({"пермь", "курск", "рязань", "омск", "оса", "тара"})


def _gazetteer_nouns(*lists: str) -> list[str]:
    """The names of the gazetteer's `lists` written as a noun (Пермь, Яйва), without the districts,
    whose names are adjectives («Бардымский»)."""
    from appeals.gazetteer import places_data

    data = places_data()
    names = [n.replace("ё", "е") for key in lists for n in data.get(key, [])]
    return [n for n in names if not re.search(r"(?:ский|цкий|ный|вый|кий)$", n)]


@lru_cache(maxsize=1)
def _town_stems() -> frozenset[str]:
    nouns = [n for n in _gazetteer_nouns("municipalities", "settlements") if n not in _NOT_BARE_TOWNS]
    return frozenset(_ENDING.sub("", n) or n for n in nouns)


@lru_cache(maxsize=1)
def town_codes() -> np.ndarray:
    """Settlement codes (as `PlaceKey.codes` gives them) of the gazetteer's towns: its municipalities
    named as a noun (Пермь, Березники, Кунгур, Курск …)."""
    return np.array(sorted({_code(_spelling_key(_stem_name(n))) for n in _gazetteer_nouns("municipalities")}),
                    dtype=np.uint32)


def _is_town(word: str) -> bool:
    """Whether `word` (in any case ending) is a town of the gazetteer, the regional capitals included."""
    low = word.lower().replace("ё", "е")
    stem = _ENDING.sub("", low) or low
    return stem in _town_stems() or stem in _CAPITAL_STEMS


_CAPITAL_STEMS = frozenset(_ENDING.sub("", t) or t for t in _NOT_BARE_TOWNS)


def typed_without_capitals(text: str) -> bool:
    """No capital letter after the first character: a text typed on a phone («на лесной 14 течет»)."""
    return not _UPPER.search(text.lstrip()[1:])


def _bare_town(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """The first town of the gazetteer named without a type word: the whole word without its case ending
    must be the town's («Березниках» is Березники, «Березовке» is not), and its code is the usual stem."""
    for match in _BARE_TOWN.finditer(text):
        word = match.group(1).lower().replace("ё", "е")
        if (_ENDING.sub("", word) or word) in _town_stems():
            return _stem_name(match.group(1)), match.span(1)
    return None, None


# Object words that name one kind: «детский сад №15», «садик 15», «д/с 15» are «детсад 15», «СОШ № 163»
# (средняя общеобразовательная школа) is school 163, «41 автобус» is route 41.
_KIND_ALIASES = {"детск": "детса", "сад": "детса", "садик": "детса", "д/с": "детса", "сош": "школ", "автоб": "маршр"}


def _first_object(text: str) -> tuple[str | None, str | None]:
    after, before = _OBJECT_AFTER.search(text), _OBJECT_BEFORE.search(text)
    ordinal = _OBJECT_ORDINAL.search(text)
    if before and after and before.end() > after.start():
        before = None  # «Рябиновая 14 подъезд 3»: the number after the word is the entrance
    found = [(m.start(), m.group(1), m.group(2)) for m in [after] if m]
    found += [(m.start(), m.group(2), m.group(1)) for m in [before] if m]
    found += [(m.start(), m.group(3), _number_in_words(m.group(1), m.group(2))) for m in [ordinal] if m]
    stop = _STOP.search(text)
    if stop and (name := _stem_name(re.sub(r"^(?i:улица|ул\.?)\s+", "", stop.group(1) or stop.group(2)))):
        found.append((stop.start(), "остан", name))
    if not found:
        return None, None
    _, word, number = min(found)
    kind = re.sub(r"\s+", " ", word.lower())[:5]
    return _KIND_ALIASES.get(kind, kind), number


def strip_spans(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """`text` with the place spans blanked, so place words do not count as content terms."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text
