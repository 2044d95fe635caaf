"""Place extraction and the gazetteer: one table per field, plus the hard cases."""

from __future__ import annotations

import pandas as pd
import pytest

from appeals.gazetteer import build_gazetteer, default_gazetteer, geo_noun_for, places_in_label, stem_keys
from appeals.places import Places, extract_places


@pytest.mark.parametrize(
    ("text", "street", "house"),
    [
        ("На ул. Ленина возле дома 5 огромная яма", "улица ленина", "5"),
        ("по улице Ленина, д. 12а", "улица ленина", "12а"),
        ("Иванова улица не чищена", "улица иванова", None),
        ("на Советской улице у дома 7", "улица советская", "7"),
        ("на Комсомольском проспекте, 34", "проспект комсомольский", "34"),
        ("пр-т Парковый 12", "проспект парковый", "12"),
        ("ул. 25 Октября, д. 3", "улица 25 октября", "3"),
        ("на ул. 50 лет Октября", "улица 50 лет октября", None),
        ("у дома 8 по ул. Строителей", "улица строителей", "8"),
        ("улица Максима Горького не освещена", "улица максима горького", None),
        ("На Театральной площади наледь", "площадь театральная", None),
        ("пер. Лесной", "переулок лесной", None),
        ("Прошу улицу почистить", None, None),
        ("Квартира площадью 54 кв. м", None, None),
        ("Общая площадь 24.5 кв. м, жилая площадь 18", None, None),  # a floor area, not a square
        # the house written before the street, or after a range word: read as the grouping reads it
        ("Во дворе дома 5 на улице Ленина не вывозят мусор", "улица ленина", "5"),
        ("На ул Восточной с домов 51 по 61 нет фонарей", "улица восточная", "51"),
        ("Когда заменят бак напротив дома 91 ул. Карла Маркса", "улица карла маркса", "91"),
        # ... but never another street's house, a building or a crossing
        ("На ул. Ленина яма, а у дома 7 по ул. Мира лужа", "улица ленина", None),
        ("на перекрёстке ул. Попова и ул. Луначарского", "улица попова", None),
        ("Детская площадка сломана", None, None),
        ("грязь на улицах Лысьвы", None, None),
    ],
)
def test_street_and_house(text: str, street: str | None, house: str | None) -> None:
    places = extract_places(text)
    assert (places.street, places.house) == (street, house)


@pytest.mark.parametrize(
    ("text", "municipality", "settlement"),
    [
        ("В Лысьве нет воды", "лысьва", "лысьва"),
        ("Администрация Лысьвенского городского округа молчит", "лысьва", None),
        ("Лысьвенская больница закрыта", "лысьва", None),
        ("лысьвенская больница закрыта", None, None),  # lower-case adjectives are not looked up
        ("в г. Губаха", "губаха", "губаха"),
        ("в городе Перми", "пермь", "пермь"),
        ("Александровский муниципальный округ", "александровск", None),
        ("в Бардымском округе", "бардымский", None),
        ("в п. Яйва", None, "яйва"),
        ("В Чайковском нет воды", "чайковский", "чайковский"),
        ("Жители Пермского края просят", None, None),
        ("Школа имени А. С. Пушкина", None, None),
        ("", None, None),
    ],
)
def test_municipality_and_settlement(text: str, municipality: str | None, settlement: str | None) -> None:
    places = extract_places(text)
    assert (places.municipality, places.settlement) == (municipality, settlement)


@pytest.mark.parametrize(
    ("text", "district", "municipality"),
    [
        ("В Заречном районе не ходят автобусы", "заречный", None),
        ("р-н Мотовилихинский", "мотовилихинский", None),
        ("В Ленинском районе нет света", "ленинский", None),
        ("в Кировском районе Перми", "кировский", "пермь"),
        ("Бардымский район, село Барда", None, "бардымский"),
    ],
)
def test_district(text: str, district: str | None, municipality: str | None) -> None:
    places = extract_places(text)
    assert (places.district, places.municipality) == (district, municipality)


def test_latin_lookalikes_in_place_names() -> None:
    assert extract_places("на ул. Лeнина в Лысьвe").street == "улица ленина"  # Latin e twice


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Лысьвенский городской округ", [("municipality", "лысьва")]),
        ("Губахинский городской округ", [("municipality", "губаха")]),
        ("Александровский муниципальный округ Пермского края", [("municipality", "александровск")]),
        ("Бардымский муниципальный округ Пермского края", [("municipality", "бардымский")]),
        ("Город Пермь", [("municipality", "пермь")]),
        ("Администрация города Курска", [("municipality", "курск")]),
        ("Администрация Заречного района", [("district", "заречный")]),
        ("Префектура Железнодорожного района", [("district", "железнодорожный")]),
        ("Министерство здравоохранения", []),
    ],
)
def test_places_in_label(label: str, expected: list[tuple[str, str]]) -> None:
    assert places_in_label(label) == expected


def test_stem_keys_join_noun_and_adjective() -> None:
    assert stem_keys("лысьва") & stem_keys("лысьвенский")
    assert stem_keys("пермь") & stem_keys("пермский")
    assert geo_noun_for("Губахинского") == "губаха"


def test_build_gazetteer_adds_training_labels() -> None:
    frame = pd.DataFrame({"department": ["Администрация Заречноборского городского округа", "Министерство"],
                          "district": ["Курьинский", None], "municipality": [None, "Нижнеборск"]})
    gaz = build_gazetteer(frame)
    assert "заречноборский" in gaz.places["municipality"]
    assert "курьинский" in gaz.places["district"]
    assert "нижнеборск" in gaz.places["municipality"]
    assert extract_places("в Нижнеборске нет воды", gaz).municipality == "нижнеборск"
    assert extract_places("в Нижнеборске нет воды").municipality is None  # not in the default one
    assert "нижнеборск" not in default_gazetteer().places["municipality"]


def test_places_features() -> None:
    places = Places(municipality="лысьва", street="улица мира")
    assert places.features() == ["municipality=лысьва", "street=улица мира"]
    assert Places().features() == []
