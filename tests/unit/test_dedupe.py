"""Duplicate and mass-appeal grouping (issue 9): signatures, places, pair decisions, groups, CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appeals.config import ConfigError
from appeals.dedupe import DedupeIndex, group_frame, load_dedupe_config, load_index, save_index
from appeals.dedupe_config import DedupeConfig
from appeals.dedupe_features import exact_key, featurize, minhash_many, shingle_hashes
from appeals.dedupe_groups import GroupMatch
from appeals.dedupe_places import extract_place_key
from appeals.dedupe_rules import Side
from appeals.dedupe_table import KeyTable
from appeals.schema import Appeal
from appeals.text import normalize_for_dedup

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dedupe_pairs.csv"
# The sets written after the first one, each by an author who saw neither the code nor the earlier sets.
LATER_SETS = tuple(sorted(p.stem.removeprefix("dedupe_pairs_") for p in FIXTURE.parent.glob("dedupe_pairs_*.csv")))
T0 = datetime(2024, 3, 1, 9, 0)


@pytest.fixture(scope="module")
def config() -> DedupeConfig:
    return load_dedupe_config()


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, keep_default_na=False, dtype=str)


def appeal(appeal_id: str, text: str, days: float = 0, topic: str | None = "ЖКХ") -> Appeal:
    return Appeal(id=appeal_id, text=text, created_at=T0 + timedelta(days=days), topic_group=topic)


@pytest.mark.parametrize("text", ["Прорвало трубу у дома 5 по ул. Ленина", "Нет света", "а", ""])
def test_minhash_matches_datasketch(text: str) -> None:
    from datasketch import MinHash

    hashes = shingle_hashes(normalize_for_dedup(text), 5)
    ours = minhash_many([hashes], 64, 7)[0]
    theirs = MinHash(num_perm=64, seed=7, hashfunc=lambda value: value)
    theirs.update_batch([int(h) for h in hashes])
    assert np.array_equal(ours, theirs.hashvalues)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Нет горячей воды", "  нет   ГОРЯЧЕЙ воды ", True),
        ("Нет горячей воды!", "нет горячей воды", True),
        ("Ёлка упала", "елка упала", True),
        ("Нет горячей воды", "Нет холодной воды", False),
    ],
)
def test_exact_key(a: str, b: str, same: bool) -> None:
    assert (exact_key(a) == exact_key(b)) is same


@pytest.mark.parametrize(
    ("text", "street", "house", "settlement", "obj"),
    [
        ("Прорвало трубу у дома 5 по ул. Ленина", "ленин", "5", None, None),
        ("На Садовой улице, 12 нет света", "садов", "12", None, None),
        ("в доме №14 на улице Садовой течёт крыша", "садов", "14", None, None),
        ("Садовая 12а третий день без воды", "садов", "12а", None, None),
        ("На улице Заводской возле дома 18 яма", "заводск", "18", None, None),
        ("Улица Школьная разбита полностью", "школьн", None, None, None),
        ("В посёлке Заречный нет электричества с 2023 года", None, None, "заречн", None),
        ("Пос. Кедровый без света", None, None, "кедров", None),
        ("Запись в поликлинику №3 не работает", None, None, None, "полик|3"),
        ("Родители учеников 7-й школы", None, None, None, "школ|7"),
        ("Во втором подъезде не горит свет", None, None, None, "подъе|2"),
        ("Тридцать шестой автобус не ходит с утра", None, None, None, "маршр|36"),
        ("В четвёртом подъезде сломан домофон", None, None, None, "подъе|4"),
        ("Учителя сороковой школы жалуются на холод", None, None, None, "школ|40"),
        ("Девяносто девятый автобус опять опоздал", None, None, None, "маршр|99"),
        ("Пятнадцатая поликлиника не берёт трубку", None, None, None, "полик|15"),
        ("Пятница, автобус не пришёл", None, None, None, None),  # a word that starts like «пятый»
        ("Вторую неделю автобус 5 не ходит", None, None, None, "маршр|5"),
        ("Здравствуйте, 5 дней нет воды", None, None, None, None),
        ("На ул. Мира, 10 разобран пандус", "мир", "10", None, None),  # not «1» before «раз…»
        ("Рябиновая 14 подъезд 3 лифт стоит", "рябинов", "14", None, "подъе|3"),
        ("Ленина 5 кв 12 нет воды", "ленин", "5", None, None),
        ("Жители мкр. Солнечный просят", "солнечн", None, "солнечн", None),
        ("Тротуар у дома 22 по проспекту Космонавтов", "космонавт", "22", None, None),
        ("Проспект Космонавтов, дом 18, корпус 2, течёт крыша", "космонавт", "18к2", None, None),
        ("Гололёд на тротуаре у дома 22, пр. Космонавтов", "космонавт", "22", None, None),  # «пр.» = проспект
        ("На перекрёстке проспекта Победы и улицы Литейной светофор", "литейн|побед", "crossing", None, None),
        ("Перекресток Литейной и Победы: нет разметки", "литейн|побед", "crossing", None, None),  # either order
        ("пр-т Победы / Литейная, светофор мигает", "литейн|побед", "crossing", None, None),
        ("На пересечении ул. Мира с ул. Ленина яма", "ленин|мир", "crossing", None, None),
        ("перекресток возле школы опасный", None, None, None, None),
        ("На Комсомольском пр. 12 нет света", "комсомольск", "12", None, None),
        ("Ремонт пр. подъездов не делали", None, None, None, None),  # not before a name
        ("Ямы, мусор и пр. Когда уберут?", None, None, None, None),  # «и пр.» = «и прочее»
        ("Космонавтов 18/2: с кровли капает", "космонавт", "18к2", None, None),
        ("Мёрзнем в 9А на Кооперативной!", "кооперативн", "9а", None, None),
        ("Заречная ул., около 7-го дома провал", "заречн", "7", None, None),
        ("На Ленина 2 подъезда не убираются", None, None, None, "подъе|2"),
        # settlement type words in any case
        ("За деревней Ивановка, у съезда к лесу, свалка", None, None, "ивановк", None),
        ("Приезжайте в деревню Петровка и посмотрите", None, None, "петровк", None),
        ("Посёлком Лесной никто не занимается", None, None, "лесн", None),
        # house numbers written as ordinals; «3 дома» is a count
        ("На Сосновой, двенадцатый дом — батареи ледяные", "соснов", "12", None, None),
        ("Выбоина возле 25-го дома на Лесной", "лесн", "25", None, None),
        ("Уже 3 дома на Лесной без воды", None, None, None, None),
        # an adjective between the ordinal and its object; a named stop
        ("Седьмой участок второй детской поликлиники без врача", None, None, None, "полик|2"),
        ("На остановке «Рынок» нет павильона", None, None, None, "остан|рынок"),
        ("ост. Рынок (Вокзальная) — ступени во льду", None, None, None, "остан|рынок"),
        ("Нет павильона на остановке «Улица Горького»", None, None, None, "остан|горьк"),  # a stop, not the street
        # «г.» before a name is «город», not «год»; «улиц» before a crossing; towns without a type word
        ("Питание в школе №12 г. Лысьвы", None, None, "лысьв", "школ|12"),
        ("Школа №5 1975 г. постройки", None, None, None, "школ|5"),
        ("На перекрёстке улиц Уральской и Вишерской нет разметки", "вишерск|уральск", "crossing", None, None),
        ("В школе №3 в Губахе нет тепла", None, None, "губах", "школ|3"),
        ("В парке Победы в Губахе не горят фонари", None, None, None, None),  # a bare town alone: no place
        ("Заречная 3, Кунгур. Лифт стоит", "заречн", "3", "кунгур", None),
        ("В Березовке нет воды", None, None, None, None),  # not Березники
        ("В Перми на Ленина 5 яма", "ленин", "5", None, None),  # the regional capital says nothing
        # a period after a whole type word ends a sentence; a whole type word before a lower-case word
        # names a street only where a house number is given
        ("В квартире холодно как на улице. Сплю в свитере", None, None, None, None),
        ("Рябиновая в Новых Лядах: улица грунтовая, грязь по колено", None, None, None, None),
        ("с веранды на Набережной басы долбят до утра", None, None, None, None),
        ("на улице заводской возле дома 18 яма", "заводск", "18", None, None),
        ("ул. ленина нет воды", "ленин", None, None, None),
        ("просп. Мира 3 — яма", "мир", "3", None, None),
        ("пр-т. Победы, д. 5 — яма", "побед", "5", None, None),
        # a microdistrict is also the appeal's settlement
        ("мкр. Заречье: маршрутка не доезжает", "заречь", None, "заречь", None),
        # crossings on a corner, with a dash, or two bare names with a slash
        ("Возле зебры на углу Кирова и Садовой нет крышки люка", "киров|садов", "crossing", None, None),
        ("у перекрёстка Советская — Кирова светофор мигает", "киров|советск", "crossing", None, None),
        ("Садовая/Кирова, у перехода открытый люк!", "киров|садов", "crossing", None, None),
        # an ordinal house word before «дома на …»; a street, then the house near which
        ("Сухой тополь у восьмого дома на Чапаева качается", "чапаев", "8", None, None),
        ("Пробил колесо на Мира, возле 32-го дома, в правом ряду", "мир", "32", None, None),
        # typed without capitals: a street-like word before a house number; counts and objects are not
        ("на лесной 14 крыша течет 3 подьезд", "лесн", "14", None, None),
        ("лифт во втором подезде на садовой 14 не работает", "садов", "14", None, None),
        ("бегает стая собак 6-7 штук возле школы №8", None, None, None, "школ|8"),
        ("температура 39 второй день врача нет", None, None, None, None),
        ("в квартире 16 градусов", None, None, None, None),
        # a letter after a space is the house's only when capital or not followed by a word
        ("Мира 12 в Чусовом — вода из-под крана ржавая", "мир", "12", "чусов", None),
        ("ул. Ленина 9 А нет воды", "ленин", "9а", None, None),
        ("ул. Ленина, 9 а, кв 5 нет воды", "ленин", "9а", None, None),
        # a town before a bare street is the town, not part of the street's name
        ("Лысьва Металлистов 8 течёт крыша", "металлист", "8", "лысьв", None),
        # a kindergarten written either way is one kind of object, and not a street
        ("Детсад 5 Солнышко - веранда аварийная", None, None, None, "детса|5"),
        ("В детском саду №5 нет воспитателя", None, None, None, "детса|5"),
        # «сад №…», «садик», «д/с» with a number are kindergartens; a count or a garden is not
        ("Сад 112 на Лесной Поляне — холодина в группах", None, None, None, "детса|112"),
        ("Лесной, восьмой садик: группу расформировали", None, None, None, "детса|8"),
        ("д/с 20 не закрывайте ясельную группу", None, None, None, "детса|20"),
        ("на все 3 садика выделяют деньги?", None, None, None, None),
        ("в саду 3 яблони засохли", None, None, None, None),
        ("расписание маршрута кол. сад 15 не соответствует", None, None, None, None),
        # a crossing typed without capitals
        ("на перекрестке ул уральской и ул ветеранов яма", "ветеран|уральск", "crossing", None, None),
        ("на углу дома и подъезда лужа", None, None, None, None),
        # a microdistrict beside a street: the street, in that microdistrict, in either order
        ("Жители микрорайона Северный Берег задыхаются от дыма с ул. Заводской", "заводск", None, "северн берег", None),
        ("дым с ул. Заводской (мкр Северный Берег)", "заводск", None, "северн берег", None),
        ("г. Пермь, мкр. Новые Ляды, нет света", "нов ляд", None, "нов ляд", None),  # narrower than the city
        # typed without capitals, an adjective and its noun make one name
        ("детский сад 112 мкр лесная поляна холодно", "лесн полян", None, "лесн полян", "детса|112"),
        ("на ул садовая течет крыша дом 5", "садов", "5", None, None),
        ("фонарей нет возле домов 5 и 7 по ул. Комарова", "комаров", "5", None, None),
        # «пр-та» as «пр-т»; a number before an object word is the object's; «Снова» is not a street
        ("очистите тротуар вдоль пр-та Ленина от дома 10/1 до дома 16", "ленин", "10к1", None, None),
        ("Родители 45-й школы, осторожно! У гаражей стая собак", None, None, None, "школ|45"),
        ("Снова Гагарина 5, кафе «Луна»: музыка до утра", "гагарин", "5", None, None),
        # 2026-11-29, from blind9's errors: longer stems keep similar names apart, common misspellings meet
        ("Яма у дома 27 по ул. Ленинградской", "ленинградск", "27", None, None),
        ("Яма у дома 27 по ул. Ленина", "ленин", "27", None, None),
        ("В д. Кедровка нет света", None, None, "кедровк", None),
        ("ул. Металистов, 8 (Лысьва)", "металист", "8", "лысьв", None),
        ("ул Октябрская 22 течет", "октябрск", "22", None, None),
        # «3-й подъезд» after a street is the entrance, not the house; «Это ул. …» is no street «Это»
        ("лифт в доме 45 по ул. Мира, 3-й подъезд", "мир", "45", None, "подъе|3"),
        ("Это ул. Гагарина в Лысьве, участок от дома 3 до 19", "гагарин", "3", "лысьв", None),
        # 2026-11-29, from blind11's errors: a preposition is no street, a distance no house
        ("Гайва, Репина. От 17-го дома до остановки темень", None, None, None, None),
        ("пешком до Фоков 7 км по трассе", None, None, None, None),
        # from blind12's errors: a date is no house, a road's part no street, a stop's name no street
        ("Губаха, Никонова у второй школы: Скоро 1 сентября", None, None, "губах", "школ|2"),
        ("На ул. Хлебозаводской у дома 48 на проезжей части яма", "хлебозаводск", "48", None, None),
        ("во дворе дома 15 по октябрьской снег не убирают. УК молчит", "октябрьск", "15", None, None),
        ("павильон на остановке «Улица Кочегаров» (шоссе Космонавтов)", "космонавт", None, None, "остан|кочегар"),
        ("Остановка «Улица Горького»: разбит павильон", None, None, None, "остан|горьк"),
        # 2026-11-30, from blind14's errors: a pronoun is no street, «СОШ №» is a school
        ("Сосед опять жжёт шины. Вся улица в копоти", None, None, None, None),
        ("В МАОУ «СОШ № 163» г. Перми (ул. Целинная) холодно", "целинн", None, "перм", "школ|163"),
        # a town in brackets beside a street
        ("Во дворе дома 6 по ул. Спортивной (Чусовой) у второго подъезда", "спортивн", "6", "чусов", "подъе|2"),
    ],
)
def test_place_key(
    text: str, street: str | None, house: str | None, settlement: str | None, obj: str | None
) -> None:
    key = extract_place_key(text)
    found_obj = f"{key.object_kind}|{key.object_number}" if key.object_kind else None
    assert (key.street, key.house, key.settlement, found_obj) == (street, house, settlement, obj)


def test_crossings_differ_by_either_street_and_meet_in_either_order() -> None:
    same = [extract_place_key(t).codes() for t in (
        "На перекрёстке проспекта Победы и улицы Литейной не работает светофор",
        "Литейная / пр. Победы: светофор мигает жёлтым")]
    other = extract_place_key("На перекрёстке проспекта Победы и улицы Литовской не работает светофор").codes()
    assert same[0][1:3] == same[1][1:3]  # street and house codes agree
    assert other[1] != same[0][1] and other[2] != same[0][2]


@pytest.mark.parametrize("kind", ["reordered", "typos", "repeat_by_sender"])
def test_fixture_retellings_are_grouped(pairs: pd.DataFrame, config: DedupeConfig, kind: str) -> None:
    for row in pairs[pairs["kind"] == kind].itertuples():
        index = DedupeIndex(config)
        index.add(appeal(row.id_a, row.text_a, topic=row.topic_group_a or None), row.sender_a)
        match = index.query(appeal(row.id_b, row.text_b, topic=row.topic_group_b or None), row.sender_b)
        assert match.duplicate_of == row.id_a, row.pair_id


@pytest.mark.parametrize(
    "kind", ["other_house", "other_settlement", "same_template_other_place", "other_street"]
)
def test_fixture_other_places_are_kept_apart(pairs: pd.DataFrame, config: DedupeConfig, kind: str) -> None:
    for row in pairs[pairs["kind"] == kind].itertuples():
        index = DedupeIndex(config)
        index.add(appeal(row.id_a, row.text_a, topic=row.topic_group_a or None))
        match = index.query(appeal(row.id_b, row.text_b, topic=row.topic_group_b or None))
        assert match.duplicate_of is None, row.pair_id


def test_fixture_shape(pairs: pd.DataFrame) -> None:
    assert len(pairs) >= 200
    assert set(pairs["label"]) == {"0", "1"} and set(pairs["split"]) == {"dev", "test"}
    assert pairs["pair_id"].is_unique
    for side in ("a", "b"):
        assert pd.to_datetime(pairs[f"created_at_{side}"]).notna().all()


def test_every_later_pair_file_is_scored_by_the_eval() -> None:
    from evaluation.eval_dedupe import HELD_OUT_SPLITS

    assert sorted(LATER_SETS) == sorted(HELD_OUT_SPLITS[1:])


@pytest.mark.parametrize("split", LATER_SETS)
def test_held_out_set_shape(pairs: pd.DataFrame, split: str) -> None:
    """The later held-out sets: same columns, their own families and ids, one text per id."""
    held = pd.read_csv(FIXTURE.with_name(f"dedupe_pairs_{split}.csv"), keep_default_na=False, dtype=str)
    others = pd.concat(
        [pairs]
        + [
            pd.read_csv(FIXTURE.with_name(f"dedupe_pairs_{s}.csv"), keep_default_na=False, dtype=str)
            for s in LATER_SETS
            if s != split
        ]
    )
    assert list(held.columns) == list(pairs.columns)
    assert set(held["split"]) == {split} and set(held["label"]) == {"0", "1"} and len(held) >= 100
    assert held["pair_id"].is_unique and not set(held["family"]) & set(others["family"])
    sides = pd.concat([held[[f"id_{s}", f"text_{s}"]].set_axis(["id", "text"], axis=1) for s in ("a", "b")])
    assert (sides.groupby("id")["text"].nunique() == 1).all()
    assert not set(sides["id"]) & (set(others["id_a"]) | set(others["id_b"]))
    assert not set(held["pair_id"]) & set(others["pair_id"])
    for side in ("a", "b"):
        assert pd.to_datetime(held[f"created_at_{side}"]).notna().all()


def test_unscored_held_out_set_is_apart_from_the_others(pairs: pd.DataFrame) -> None:
    """tests/fixtures/held_out: a set kept unscored for the next change; its own families, ids and texts."""
    held = pd.read_csv(FIXTURE.parent / "held_out" / "dedupe_pairs_blind18.csv", keep_default_na=False, dtype=str)
    others = pd.concat([pairs] + [
        pd.read_csv(FIXTURE.with_name(f"dedupe_pairs_{s}.csv"), keep_default_na=False, dtype=str)
        for s in LATER_SETS
    ])
    assert list(held.columns) == list(pairs.columns) and set(held["split"]) == {"blind18"}
    assert held["pair_id"].is_unique and not set(held["family"]) & set(others["family"])
    assert not set(held["pair_id"]) & set(others["pair_id"])
    sides = pd.concat([held[[f"id_{s}", f"text_{s}"]].set_axis(["id", "text"], axis=1) for s in ("a", "b")])
    assert (sides.groupby("id")["text"].nunique() == 1).all()
    other_texts = set(others["text_a"]) | set(others["text_b"])
    assert not set(sides["id"]) & (set(others["id_a"]) | set(others["id_b"])) and not set(sides["text"]) & other_texts


def test_pair_set_quality_on_dev(pairs: pd.DataFrame, config: DedupeConfig) -> None:
    from evaluation.eval_dedupe import decide_pairs, precision_recall

    dev = decide_pairs(pairs[pairs["split"] == "dev"].assign(label=lambda d: d["label"].astype(int)), config)
    precision, recall, _, _ = precision_recall(dev["label"], dev["grouped"])
    assert precision >= 0.95 and recall >= 0.8


def test_same_problem_three_times_makes_one_group_of_three(config: DedupeConfig) -> None:
    index = DedupeIndex(config)
    texts = [
        "В доме 8 по улице Лесной с понедельника нет горячей воды, объявлений не было.",
        "Лесная 8 — нет горячей воды с понедельника!",
        "в доме 8 по улице лесной с понедельника нет горячей воды объявлений не было",
    ]
    matches = [index.add(appeal(f"a{k}", text, days=k * 0.5)) for k, text in enumerate(texts)]
    assert [m.group_size for m in matches] == [1, 2, 3]
    assert {m.group_id for m in matches} == {"a0"}
    assert [m.duplicate_of for m in matches] == [None, "a0", "a0"]
    assert index.members("a0") == ["a0", "a1", "a2"]


@pytest.mark.parametrize(
    ("second", "days", "topic", "joins"),
    [
        ("Лесная 8: с понедельника нет горячей воды", 1, "ЖКХ", True),
        ("Лесная 8: с понедельника нет горячей воды", 40, "ЖКХ", False),  # outside window
        ("Лесная 8: с понедельника нет горячей воды", 1, "Дороги", False),  # other topic
        ("Лесная 10: с понедельника нет горячей воды", 1, "ЖКХ", False),  # other house
        ("В доме 8 по улице Лесной не работает лифт вторую неделю", 1, "ЖКХ", False),  # other problem
        ("в доме 8 по улице лесной с понедельника нет горячей воды!!", 1, "Дороги", True),  # exact key
        ("в доме 8 по улице лесной с понедельника нет горячей воды!!", 400, "ЖКХ", False),  # same words, a year on
    ],
)
def test_grouping_rules(config: DedupeConfig, second: str, days: float, topic: str, joins: bool) -> None:
    index = DedupeIndex(config)
    index.add(appeal("first", "В доме 8 по улице Лесной с понедельника нет горячей воды"))
    match = index.add(appeal("second", second, days=days, topic=topic))
    assert (match.duplicate_of == "first") is joins


@pytest.mark.parametrize(
    ("first", "second", "joins"),
    [
        ("Проспект Космонавтов, дом 18, корпус 2: течёт крыша", "Космонавтов 18/2 течёт крыша", True),
        ("Проспект Космонавтов, дом 18, корпус 2: течёт крыша", "Космонавтов 18: течёт крыша", True),
        ("Проспект Космонавтов, дом 18, корпус 2: течёт крыша", "Космонавтов 18 к1: течёт крыша", False),
        ("Проспект Космонавтов, дом 18: течёт крыша", "Космонавтов 19: течёт крыша", False),
    ],
)
def test_buildings_of_one_house(config: DedupeConfig, first: str, second: str, joins: bool) -> None:
    """«18» and «18к2» may be one building; «18к1» and «18к2» are two."""
    index = DedupeIndex(config)
    index.add(appeal("first", first))
    assert (index.add(appeal("second", second, days=1)).duplicate_of == "first") is joins


def test_index_of_an_older_format_is_refused(config: DedupeConfig, tmp_path: Path) -> None:
    import json

    index = DedupeIndex(config)
    index.add(appeal("a", "Садовая 12, прорвало трубу"))
    path = save_index(index, tmp_path / "index.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
    del meta["format"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="format 1.*rebuild it"):
        load_index(path)


def test_query_does_not_store_and_senders_are_marked(config: DedupeConfig) -> None:
    index = DedupeIndex(config)
    text = "Во дворе дома 7 на Молодёжной улице мусор не вывозят пятый день"
    index.add(appeal("a", text), sender="ivanova")
    assert index.query(appeal("q", text + ", вонь"), sender="ivanova").repeat_by_sender
    assert len(index) == 1
    assert index.add(appeal("b", text + ", вонь"), sender="ivanova").repeat_by_sender
    assert not index.add(appeal("c", text + "!"), sender="petrov").repeat_by_sender
    with pytest.raises(ValueError, match="already in the dedupe index"):
        index.add(appeal("a", text))


def test_split_merge_and_save_load(config: DedupeConfig, tmp_path: Path) -> None:
    index = DedupeIndex(config)
    for k in range(3):
        index.add(appeal(f"a{k}", "Садовая 12, прорвало трубу в подвале, подвал затоплен", days=k))
    assert index.split("a1") == "a1" and index.members("a0") == ["a0", "a2"]
    assert index.merge("a0", "a1") == "a0" and index.group_size("a0") == 3
    assert index.split("a0") == "a0#2" and index.members("a0") == ["a1", "a2"]
    loaded = load_index(save_index(index, tmp_path / "index.npz"))
    assert loaded.members("a0") == ["a1", "a2"] and loaded.members("a0#2") == ["a0"]
    again = loaded.add(appeal("a3", "Садовая 12, прорвало трубу в подвале, подвал затоплен!", days=3))
    assert again.status == "exact" and again.group_id in {"a0", "a0#2"}


def test_batch_matches_incremental(pairs: pd.DataFrame, config: DedupeConfig) -> None:
    rows = {}
    for side in ("a", "b"):
        for row in pairs.itertuples():
            rows[getattr(row, f"id_{side}")] = {
                "id": getattr(row, f"id_{side}"),
                "text": getattr(row, f"text_{side}"),
                "topic_group": getattr(row, f"topic_group_{side}") or None,
                "created_at": pd.Timestamp(getattr(row, f"created_at_{side}")),
                "sender": getattr(row, f"sender_{side}"),
            }
    frame = pd.DataFrame(list(rows.values())).sort_values(["created_at", "id"], ignore_index=True)
    batch = group_frame(frame, config)
    index = DedupeIndex(config)
    incremental = [
        index.add(
            Appeal(
                id=r.id,
                text=r.text,
                created_at=r.created_at,
                topic_group=r.topic_group if isinstance(r.topic_group, str) else None,
            ),
            r.sender,
        ).group_id
        for r in frame.itertuples()
    ]
    assert batch["group_id"].tolist() == incremental
    sizes = batch.groupby("group_id")["group_size"].first().to_dict()
    assert sizes == batch["group_id"].value_counts().to_dict()


@pytest.mark.parametrize("limit", [None, 2])
def test_key_table_lookup_survives_compaction(limit: int | None) -> None:
    table = KeyTable(np.uint32)
    for row in range(10):
        table.add([row % 3, 100 + row], row)
    before = sorted(table.lookup([0, 1, 105], limit=limit).tolist())
    table.compact()
    assert sorted(table.lookup([0, 1, 105], limit=limit).tolist()) == before
    expected = [0, 3, 6, 9, 1, 4, 7, 5] if limit is None else [6, 9, 4, 7, 5]
    assert before == sorted(expected)


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "dedupe.toml"
    text = (Path(__file__).resolve().parents[2] / "training" / "configs" / "dedupe.toml").read_text("utf-8")
    bad.write_text(text.replace("bands = 20", "bands = 7"), encoding="utf-8")
    with pytest.raises(ConfigError, match="multiple of bands"):
        load_dedupe_config(bad)


def test_featurize_keeps_no_text(config: DedupeConfig) -> None:
    feats = featurize(["Иванов И.И., ул. Ленина, д. 5: нет воды"], config)
    assert all(isinstance(v, np.ndarray) for v in feats.__dict__.values())


def test_cli_adds_group_columns(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from appeals.cli import build_app

    source = tmp_path / "in.csv"
    pd.DataFrame(
        {
            "Текст": ["Нет света на Садовой 5", "нет света на садовой 5!", "Яма на Мира 3", ""],
            "автор": ["a", "b", "c", "d"],
        }
    ).to_csv(source, index=False)
    result = CliRunner().invoke(
        build_app(), ["dedupe", "--input", str(source), "--output", str(tmp_path / "out.csv")]
    )
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["group_size"].tolist()[:3] == [2, 2, 1] and pd.isna(out["group_id"].iloc[3])
    assert out["group_id"].iloc[0] == out["group_id"].iloc[1] == "row-2"


@pytest.mark.realdata
@pytest.mark.slow
def test_perm_exact_duplicates_all_grouped(real_data_dir: Path, config: DedupeConfig) -> None:
    from appeals.datasets import load_dataset

    frame = load_dataset("perm_promobot_2023", real_data_dir).frame
    key = frame["text"].map(normalize_for_dedup)
    dup = key.duplicated(keep=False)
    sample = pd.concat([frame[dup], frame[~dup].head(1500)])
    grouped = group_frame(sample, config)
    per_key = grouped.groupby(key[sample.index].to_numpy())["group_id"].nunique()
    assert dup.sum() > 100 and (per_key == 1).all()


def test_cli_reads_iso_dates_month_first(tmp_path: Path) -> None:
    """2025-09-12 is the 12th of September: read day-first it would fall within a window of 2025-12-16."""
    from typer.testing import CliRunner

    from appeals.cli import build_app

    text = "Во дворе дома 5 по улице Садовой сломаны качели, дети могут пораниться"
    source = tmp_path / "in.csv"
    pd.DataFrame([{"id": "a", "text": text, "created_at": "2025-09-12T10:00:00"},
                  {"id": "b", "text": text + " Просим починить.", "created_at": "2025-12-16T10:00:00"}]
                 ).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(build_app(), ["dedupe", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["group_size"].tolist() == [1, 1]  # 95 days apart: two problems


def test_key_table_matches_a_plain_multimap_across_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random adds with merges of the small level every few dozen entries: every lookup and count
    agrees with a dict of lists (the newest `limit` per key may come from either level)."""
    import random

    from appeals import dedupe_table

    monkeypatch.setattr(dedupe_table, "_MIN_PENDING", 40)
    rng = random.Random(7)
    table, reference = KeyTable(np.uint32), {}
    merges_seen = 0
    for row in range(600):
        keys = rng.sample(range(60), rng.randint(1, 6))
        before = len(table.keys)
        table.add(keys, row)
        merges_seen += len(table.keys) > before
        for key in keys:
            reference.setdefault(key, []).append(row)
        probe = rng.sample(range(70), 5)
        assert sorted(table.lookup(probe).tolist()) == sorted(r for k in probe for r in reference.get(k, []))
        assert table.counts(probe).tolist() == [len(reference.get(k, [])) for k in probe]
        newest = set(table.lookup(probe, limit=3).tolist())
        assert {r for k in probe for r in reference.get(k, [])[-3:]} <= newest
    assert merges_seen >= 10 and len(table) == sum(map(len, reference.values()))
    assert table.nbytes == 8 * len(table)  # uint32 key + int32 row, no per-entry Python object


@pytest.mark.parametrize("with_topics", [False, True])
@pytest.mark.parametrize("batch", [1, 7, 500])
def test_service_batches_group_as_one_by_one_adds(
    pairs: pd.DataFrame, config: DedupeConfig, batch: int, with_topics: bool
) -> None:
    """`grouping.group_batch` (a chunk at a time) answers as `DedupeIndex.add` one appeal at a time,
    repeats of an id inside a batch and ids stored before included; with topics too (here each
    family's name stands for its topic, so same-place retellings join through the topic rule)."""
    from appeals.grouping import group_batch
    from appeals.routing import DUPLICATE

    rows, tops = {}, {}
    for side in ("a", "b"):
        for row in pairs.itertuples():
            rows[getattr(row, f"id_{side}")] = (
                getattr(row, f"text_{side}"),
                datetime.fromisoformat(getattr(row, f"created_at_{side}")),
                getattr(row, f"topic_group_{side}") or None,
            )
            tops[getattr(row, f"id_{side}")] = [(row.family, 0.8), ("other", 0.1)] if with_topics else None
    ids = sorted(rows, key=lambda k: (rows[k][1], k))
    ids = ids + ids[:3]  # ids seen before come back
    one, many = DedupeIndex(config), DedupeIndex(config)
    expected, got = [], []
    for appeal_id in ids:
        text, when, topic = rows[appeal_id]
        if appeal_id in one.row_of:
            expected.append(None)  # answered from the index, compared below as the group it ended in
            continue
        m = one.add(Appeal(id=appeal_id, text=text, created_at=when, topic_group=topic), topics=tops[appeal_id])
        expected.append((m.group_id, m.duplicate_of, m.group_size, [DUPLICATE] if m.status != "new" else []))
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        got += group_batch(many, part, [rows[k][0] for k in part], [rows[k][1] for k in part],
                           [rows[k][2] for k in part], [tops[k] for k in part])
    for appeal_id, want, have in zip(ids, expected, got, strict=True):
        if want is None:
            assert have[0] == one.group_id_of(appeal_id) and have[3] == [], appeal_id
        else:
            assert have == want, appeal_id
    assert [one.group_id_of(k) for k in ids] == [many.group_id_of(k) for k in ids]


# The topic model's three best topics, as `appeals predict` and the service give them.
HOT_WATER = [("Отсутствие горячей воды", 0.71), ("Ненадлежащее качество ГВС", 0.12), ("Жалобы на УК", 0.05)]
HOT_WATER_2 = [("Отсутствие горячей воды", 0.55), ("Жалобы на УК", 0.2), ("Ненадлежащее качество ГВС", 0.1)]
LIFT = [("Неисправность лифта", 0.8), ("Жалобы на УК", 0.1), ("Капитальный ремонт", 0.04)]
LIGHT = [("Отключение электроэнергии", 0.74), ("Электроснабжение", 0.1), ("Жалобы на УК", 0.02)]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (HOT_WATER, HOT_WATER, 1.0),
        (HOT_WATER, LIFT, 0.05 * 0.1 / (np.linalg.norm([0.71, 0.12, 0.05]) * np.linalg.norm([0.8, 0.1, 0.04]))),
        (HOT_WATER, None, 0.0),
        (None, None, 0.0),
        ([("x", 1.0)], [("y", 1.0)], 0.0),
    ],
)
def test_topic_similarity(config: DedupeConfig, a: list | None, b: list | None, expected: float) -> None:
    from appeals.dedupe_rules import topic_similarity

    index = DedupeIndex(config)
    one = index.set_topics(featurize(["a"], config), [a])
    two = index.set_topics(featurize(["b"], config), [b])
    sides = [index._query_side(f, 0, 0.0, -1) for f in (one, two)]
    assert topic_similarity(*sides)[0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("second", "topics", "joins"),
    [
        # another resident's words about the same problem: few shared terms, the same topics
        ("Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем", HOT_WATER_2, True),
        ("Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем", None, False),
        ("Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем", LIFT, False),
        # the same topics at another house, or with no place named: not the same place
        ("Лесная, 10. Третий день из кранов течёт только холодная, помыть ребёнка нечем", HOT_WATER_2, False),
        ("Третий день из кранов течёт только холодная, помыть ребёнка нечем", HOT_WATER_2, False),
    ],
)
def test_same_place_and_topics_make_a_possible_duplicate(
    config: DedupeConfig, second: str, topics: list | None, joins: bool
) -> None:
    first = "В доме 8 по улице Лесной с понедельника нет горячей воды"
    match = second_after_first(DedupeIndex(config), (first, HOT_WATER), (second, topics), days=1)
    assert (match.duplicate_of == "first") is joins
    if joins:
        assert match.status == "possible" and match.needs_review == "possible duplicate"


@pytest.mark.parametrize(
    ("topics", "joins"),
    [
        (LIFT, False),  # the model is sure of another problem: the shared address words are not enough
        ([("Неисправность лифта", 0.2), ("Жалобы на УК", 0.1)], True),  # an unsure model says nothing
        (None, True),  # topics unknown
    ],
)
def test_sure_topics_that_disagree_undo_a_possible_match_at_the_same_place(
    config: DedupeConfig, topics: list | None, joins: bool
) -> None:
    first = "В доме 8 по улице Лесной с понедельника нет горячей воды, управляющая компания молчит"
    second = "Лесная, 8: в подъезде не работает лифт, пожилые соседи сидят дома, компания молчит"
    match = second_after_first(DedupeIndex(config), (first, HOT_WATER), (second, topics), days=1)
    assert (match.duplicate_of == "first") is joins
    off = DedupeIndex(config.model_copy(update={"place_topic_conflict": None}))
    assert second_after_first(off, (first, HOT_WATER), (second, topics), days=1).status == "possible"


def test_sure_topics_that_disagree_undo_a_match_only_the_place_lets_through(config: DedupeConfig) -> None:
    """The same house and the same formulas, another problem: similar enough for the place thresholds,
    not for the general ones; a topic model sure of two different problems undoes the match."""
    first = "В доме 8 по улице Лесной третий день нет горячей воды. Управляющая компания на звонки не отвечает. Прошу принять меры."
    second = "В доме 8 по улице Лесной неделю не работает лифт. Управляющая компания на звонки не отвечает. Прошу принять меры."
    assert second_after_first(DedupeIndex(config), (first, HOT_WATER), (second, LIFT), days=1).duplicate_of is None
    assert second_after_first(DedupeIndex(config), (first, HOT_WATER), (second, None), days=1).status == "duplicate"
    off = DedupeIndex(config.model_copy(update={"place_topic_conflict": None}))
    assert second_after_first(off, (first, HOT_WATER), (second, LIFT), days=1).status == "duplicate"


def second_after_first(index: DedupeIndex, first: tuple[str, list | None], second: tuple[str, list | None],
                       days: float) -> GroupMatch:
    """Store appeal "first" (text, topics), then add "second" `days` later; the second's match."""
    index.add(appeal("first", first[0]), topics=first[1])
    return index.add(appeal("second", second[0], days=days), topics=second[1])


def test_topics_off_in_config_change_nothing(config: DedupeConfig) -> None:
    off = DedupeIndex(config.model_copy(update={"place_topic_threshold": None}))
    first = "В доме 8 по улице Лесной с понедельника нет горячей воды"
    second = "Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем"
    assert second_after_first(off, (first, HOT_WATER), (second, HOT_WATER), days=1).duplicate_of is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        (float("nan"), []),
        ("", []),
        ('[["Ремонт дороги", 0.61], ["Ямы", 0.2]]', [("Ремонт дороги", 0.61), ("Ямы", 0.2)]),
        ([("a", 0.5), ("b", 0.3), ("c", 0.1), ("d", 0.05)], [("a", 0.5), ("b", 0.3), ("c", 0.1)]),
    ],
)
def test_parse_top_topics(value: object, expected: list) -> None:
    from appeals.dedupe_features import parse_top_topics

    assert parse_top_topics(value) == expected


def test_parse_top_topics_reads_the_services_objects() -> None:
    from appeals.api_models import LabelProba
    from appeals.dedupe_features import parse_top_topics

    assert parse_top_topics([LabelProba(label="Ямы", proba=0.4)]) == [("Ямы", 0.4)]


@pytest.mark.parametrize("value", ["[[", '{"a": 1}', '[["a"]]', '[["a", "много"]]'])
def test_parse_top_topics_says_what_is_wrong(value: str) -> None:
    from appeals.dedupe_features import parse_top_topics

    with pytest.raises(ValueError, match="topic_top3"):
        parse_top_topics(value)


def test_cli_reads_topics_of_appeals_predict_and_names_a_bad_row(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from appeals.cli import build_app

    texts = ["В доме 8 по улице Лесной с понедельника нет горячей воды",
             "Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем"]
    source = tmp_path / "in.csv"
    frame = pd.DataFrame({"text": texts, "topic_top3": [json.dumps(HOT_WATER), json.dumps(HOT_WATER_2)]})
    frame.to_csv(source, index=False)
    result = CliRunner().invoke(build_app(), ["dedupe", "-i", str(source), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["group_size"].tolist() == [2, 2] and out["match_status"].tolist() == ["new", "possible"]
    frame.drop(columns="topic_top3").to_csv(source, index=False)  # without topics: two problems
    result = CliRunner().invoke(build_app(), ["dedupe", "-i", str(source), "-o", str(tmp_path / "out.csv")])
    assert pd.read_csv(tmp_path / "out.csv")["group_size"].tolist() == [1, 1]
    frame.assign(topic_top3=[json.dumps(HOT_WATER), "[[oops"]).to_csv(source, index=False)
    result = CliRunner().invoke(build_app(), ["dedupe", "-i", str(source), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code != 0
    assert "row 3" in result.output and "topic_top3" in result.output


def test_topics_survive_save_and_load(config: DedupeConfig, tmp_path: Path) -> None:
    index = DedupeIndex(config)
    index.add(appeal("first", "В доме 8 по улице Лесной с понедельника нет горячей воды"), topics=HOT_WATER)
    loaded = load_index(save_index(index, tmp_path / "index.npz"))
    second = appeal("second", "Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем", 1)
    assert loaded.query(second, topics=HOT_WATER_2).duplicate_of == "first"
    assert loaded.fine_topics == index.fine_topics


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Кедровый — нет света весь день", ["Кедровый", "света"]),  # no capitals after the first letter
        ("Из Сосновки утром не уехать", ["Сосновки"]),
        ("Нет света весь день в Кедровом", ["Кедровом"]),
        ("нет света весь день", ["света"]),
        ("Когда включат свет в Малиновке и Кедровом, Иванове, Петрове, Сидорове, Егорове, Фомине?",
         ["Когда", "Малиновке", "Кедровом", "Иванове", "Петрове", "Сидорове"]),
        ("В Юго-Западном скорую ждём два часа", ["Юго-Западном"]),  # a hyphenated name is one name
        # typed without capitals: every word that is not a stop word may be the name
        ("кедровый света нет с утра", ["кедровый", "света", "утра"]),
        ("нет света весь день уже в кедровом", ["света", "кедровом"]),
    ],
)
def test_name_codes_are_settlement_codes(text: str, names: list[str]) -> None:
    from appeals.dedupe_features import NAME_K, name_codes
    from appeals.dedupe_places import name_code

    assert name_codes(text) == [name_code(n) for n in names][:NAME_K]
    assert name_code("Кедровый") == name_code("Кедрового") == extract_place_code("пос. Кедровый")


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("ул. Металлистов, 8", "ул. Металистов, 8", True),  # a doubled letter dropped
        ("ул. Октябрьская, 22", "ул Октябрская 22", True),  # a soft sign dropped
        ("ул. Ленина, 27", "ул. Ленинградская, 27", False),  # one name is not the start of another
        ("ул. Строителей, 8", "ул. Строительная, 8", False),
        # 2026-11-30, from blind14's errors: a doubled letter inside a long name, a first name left out
        ("дом № 14 по ул. Коммунистической", "комунистическая 14 течет ржавая вода", True),
        ("г. Нытва, ул. Карла Маркса, д. 41", "Нытва, К. Маркса 41-3", True),
        ("ул. 1-я Красноармейская, 5", "ул. 2-я Красноармейская, 5", False),
        # 2026-11-30, from blind15's errors: streets named with a number, and crossings of them
        ("ул. 20-летия Победы, 5", "ул. 20 лет Победы, д. 5", True),
        ("ул. 20-летия Победы, 5", "ул. Победы, 5", False),
        ("перекрёсток улиц Масленникова и 10 лет Октября", "на пересечении 10 лет Октября и Масленникова", True),
        ("перекрёсток улиц Масленникова и 10 лет Октября", "перекрёсток 10 лет Октября и Лермонтова", False),
        ("пос. Кедровый", "д. Кедровка", False),
    ],
)
def test_place_codes_meet_misspellings_not_similar_names(first: str, second: str, same: bool) -> None:
    a, b = extract_place_key(first).codes(), extract_place_key(second).codes()
    assert (a[:3] == b[:3]) is same


def test_bare_names_meet_short_and_derived_forms() -> None:
    """A bare name is compared by its first letters: «Шумиха» names «пос. Шумихинский», «Лысьвенская
    поликлиника» and «Кунгурцы» their towns."""
    from appeals.dedupe_places import name_code

    assert name_code("Шумиха") == extract_place_code("пос. Шумихинский")
    assert name_code("Лысьвенская") == extract_place_code("г. Лысьва, ул. Кирова")
    assert name_code("Кунгурцы") == extract_place_code("в г. Кунгуре")


def test_the_same_numbered_object_is_no_street_settlement_contradiction() -> None:
    """«школа №3» on «ул. Мира» and «школа №3» «в Лысьве»: one names a street, the other a settlement, but
    the same numbered object makes them no contradiction (other streets and settlements still are)."""
    from appeals.dedupe_rules import place_relation

    def side(text: str) -> Side:
        index = DedupeIndex(load_dedupe_config())
        return index.evidence_against(Appeal(id="x", text=text))[0]

    school_street = side("У школы №3 на ул. Мира нет перехода")
    school_town = side("В Лысьве у школы №3 нет перехода")
    street_only = side("На ул. Мира, 5 нет перехода")
    conflict, _ = place_relation(school_street, school_town)
    assert not conflict[0]
    conflict, _ = place_relation(street_only, side("В г. Лысьве нет перехода"))
    assert conflict[0]


def extract_place_code(text: str) -> int:
    return extract_place_key(text).codes()[6]  # the settlement name cut as a bare name is


@pytest.mark.parametrize(
    ("second", "topics", "joins"),
    [
        ("Кедровый — света нет с утра, холодильники текут, насосы стоят", LIGHT, True),
        ("Кедровый — света нет с утра, холодильники текут, насосы стоят", None, False),  # topics unknown
        ("Кедровый — света нет с утра, холодильники текут, насосы стоят", LIFT, False),  # another problem
        ("Сосновый — света нет с утра, холодильники текут, насосы стоят", LIGHT, False),  # another name
        ("пос. Сосновый — света нет с утра, холодильники текут", LIGHT, False),  # another settlement
        ("кедровый света нет с утра холодильники текут насосы стоят", LIGHT, True),  # typed without capitals
        ("Света нет с утра, холодильники в кедровом текут. Насосы стоят", LIGHT, False),  # capitals elsewhere
        ("мкр. Сосновый — света нет с утра, холодильники текут", LIGHT, False),  # another microdistrict
        ("ул. Лесная — света нет с утра, холодильники текут", LIGHT, False),  # only a street: another place
    ],
)
def test_a_bare_settlement_name_with_agreeing_topics(
    config: DedupeConfig, second: str, topics: list | None, joins: bool
) -> None:
    first = "В посёлке Кедровый с восьми утра нет электричества"
    match = second_after_first(DedupeIndex(config), (first, LIGHT), (second, topics), days=0.2)
    assert (match.duplicate_of == "first") is joins
    if joins:
        assert match.status == "possible"


@pytest.mark.parametrize("first", ["В г. Перми с восьми утра нет электричества", "г. Курск, нет электричества"])
def test_a_bare_regional_capital_is_no_shared_place(config: DedupeConfig, first: str) -> None:
    """Most of a region's appeals come from its capital: «Пермь — света нет» and an appeal about «г. Пермь»
    with agreeing topics are two problems, unlike a bare village name (above)."""
    town = "Пермь" if "Перм" in first else "Курск"
    second = f"{town} — света нет с утра, холодильники текут, насосы стоят"
    match = second_after_first(DedupeIndex(config), (first, LIGHT), (second, LIGHT), days=0.2)
    assert match.duplicate_of is None



def test_evidence_against_every_stored_appeal_without_storing(config: DedupeConfig) -> None:
    """The evidence behind the verdict, per stored appeal: the same house joins, another house stops."""
    index = DedupeIndex(config)
    index.add(appeal("a", "Не работает лифт в доме 14 по ул. Садовой, третий день"))
    index.add(appeal("b", "Не работает лифт в доме 16 по ул. Садовой, третий день"))
    index.add(appeal("c", "Не работает лифт в доме 14 по ул. Садовой, третий день", days=40))
    query, stored, ev = index.evidence_against(appeal("q", "ул. Садовая, дом 14: третий день не работает лифт"))
    assert len(index) == 3 and len(stored.street) == 3 and len(query.street) == 1
    assert ev.strong.tolist() == [True, False, True]
    assert ev.conflict.tolist() == [False, True, False]
    assert ev.allowed.tolist() == [True, False, False]  # c: 40 days apart, beyond the window
    assert ev.overlap[0] > 0.5 and ev.text_sim[0] > 0


def test_cli_error_stays_on_one_line_whatever_the_path_length(tmp_path):
    """Rich wraps at 80 columns when stderr is not a terminal; an error naming a long path must still
    be one line, so «row N, field F» is never cut in two in a log."""
    from typer.testing import CliRunner

    from appeals.cli import build_app

    deep = tmp_path / ("a-rather-long-folder-name-" * 4)
    deep.mkdir()
    source = deep / "appeals.csv"
    pd.DataFrame({"text": ["нет воды", "нет света"], "topic_top3": ["[]", "[[oops"]}).to_csv(source, index=False)
    result = CliRunner().invoke(build_app(), ["dedupe", "-i", str(source), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(source) in lines[0] and "row 3, field topic_top3" in lines[0], result.output


def test_group_frame_gives_the_same_groups_with_worker_processes(
    pairs: pd.DataFrame, config: DedupeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Texts read by two forked workers, chunk by chunk, group exactly as in one process."""
    import appeals.dedupe as dedupe_module

    monkeypatch.setattr(dedupe_module, "_CHUNK", 25)  # several chunks from the fixture's texts
    sides = [pairs[[f"id_{s}", f"text_{s}", f"created_at_{s}", f"sender_{s}"]].set_axis(
        ["id", "text", "created_at", "sender"], axis=1) for s in ("a", "b")]
    frame = pd.concat(sides).drop_duplicates("id").reset_index(drop=True)
    assert len(frame) > 100
    alone = group_frame(frame, config, jobs=1)
    shared = group_frame(frame, config, jobs=2)
    pd.testing.assert_frame_equal(alone, shared)
    assert (alone["group_size"] > 1).sum() > 10  # real groups were compared, not only singletons


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kомсомoльская 21 двор не чистят", "Комсомольская 21 двор не чистят"),  # Latin K and o
        ("Wi-Fi в МФЦ и SMS не приходят", "Wi-Fi в МФЦ и SMS не приходят"),  # Latin words stay Latin
        ("нет воды", "нет воды"),
    ],
)
def test_latin_look_alikes_inside_cyrillic_words(text: str, expected: str) -> None:
    from appeals.text import unmix_scripts

    assert unmix_scripts(text) == expected


def test_a_text_with_latin_look_alikes_meets_its_cyrillic_twin(config: DedupeConfig) -> None:
    index = DedupeIndex(config)
    index.add(appeal("a", "Двор дома 21 по ул. Комсомольской не чистят от снега, скорая не проехала"))
    match = index.add(appeal("b", "Двор дома 21 по ул. Kомсомoльской не чистят от снега, скорая не проехала"))
    assert match.duplicate_of == "a" and match.status == "exact"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Two photos sent through a form: the phone and the link were the whole text.
        ("Пермь г, +79120000001. https://example.org/uploads/incoming_files/aa11-22bb/IMG_20220504_193808.jpg",
         "Пермь г, +79120000002. https://example.org/uploads/incoming_files/cc33-44dd/IMG_20220302_083249.jpg"),
        # Two questions to one community: the tag was most of the likeness.
        ("[club171875648|Министерство здравоохранения Пермского края], где посмотреть список лекарств?",
         "[club171875648|Министерство здравоохранения Пермского края], когда дадут код по антителам?"),
    ],
)
def test_links_phones_and_vk_tags_are_no_content(config: DedupeConfig, first: str, second: str) -> None:
    index = DedupeIndex(config)
    index.add(appeal("a", first))
    assert index.add(appeal("b", second, days=1)).duplicate_of is None


def test_a_text_too_short_to_compare_joins_only_its_exact_repeats(config: DedupeConfig) -> None:
    """«Очень плохо чистят!!!» has two content words: it says no more than the topic of the problem."""
    assert config.min_content_terms == 3
    index = DedupeIndex(config)
    index.add(appeal("a", "Очень плохо чистят дорогу у дома, ул. Пихтовая, 38а"))
    assert index.add(appeal("b", "Очень плохо чистят!!!", days=1)).duplicate_of is None
    assert index.add(appeal("c", "очень плохо чистят", days=1)).duplicate_of == "b"  # an exact repeat
    loose = DedupeIndex(config.model_copy(update={"min_content_terms": 0}))
    loose.add(appeal("a", "Очень плохо чистят дорогу у дома, ул. Пихтовая, 38а"))
    assert loose.add(appeal("b", "Очень плохо чистят!!!", days=1)).duplicate_of == "a"


@pytest.mark.parametrize("placeless_possible", [True, False])
def test_an_uncertain_likeness_without_any_place_is_no_match(config: DedupeConfig, placeless_possible: bool) -> None:
    """Two residents asking alike with no place named are not one problem; at one house they may be."""
    first, second = ("Когда включат отопление? В квартирах холодно, дети болеют",
                     "Отопление до сих пор не включили, холодно, болеем всей семьей")
    index = DedupeIndex(config.model_copy(update={"placeless_possible": placeless_possible}))
    index.add(appeal("a", first))
    assert index.add(appeal("b", second, days=1)).status == ("possible" if placeless_possible else "new")
    at_house = DedupeIndex(config.model_copy(update={"placeless_possible": placeless_possible}))
    at_house.add(appeal("a", f"ул. Лесная, 8. {first}"))
    assert at_house.add(appeal("b", f"{second}. Лесная 8", days=1)).duplicate_of == "a"


@pytest.mark.parametrize(("place", "joins"), [("пос. Кедровый", True), ("д. Кондратово", True), ("г. Кунгур", False),
                                              ("г. Березники", False)])
def test_a_village_is_a_place_for_agreeing_topics_and_a_town_is_not(
    config: DedupeConfig, place: str, joins: bool
) -> None:
    """Two appeals naming only their settlement, in other words, with agreeing topics: one problem in a
    village, but a town holds many («Березники г, …» of a form and another outage there)."""
    first = f"{place}: с восьми утра нет электричества"
    second = f"{place} — света нет с утра, холодильники текут, насосы стоят"
    match = second_after_first(DedupeIndex(config), (first, LIGHT), (second, LIGHT), days=0.2)
    assert (match.duplicate_of == "first") is joins


def test_greetings_and_courtesy_formulas_are_no_content(config: DedupeConfig) -> None:
    """Two short questions about different things share their formulas and little else."""
    index = DedupeIndex(config)
    index.add(appeal("a", "Здравствуйте! Скажите пожалуйста, как ездит 5 маршрут?"))
    assert index.add(appeal("b", "Здравствуйте, скажите пожалуйста как работает психиатр на Веденеева?",
                            days=1)).duplicate_of is None
    assert index.add(appeal("c", "Добрый день! Подскажите, как ездит маршрут 5?", days=1)).duplicate_of == "a"
