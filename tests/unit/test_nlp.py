"""The lemma path and the spaCy pipeline of the language layer."""

from __future__ import annotations

import pytest

from appeals.nlp import build_nlp, doc_lemmas, lemma_of, lemmatize, lemmatize_many, normalize_lookalikes


@pytest.fixture(scope="module")
def nlp_rules():
    return build_nlp(with_ner=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Лысьвенского городского округа", "лысьвенский городской округ"),
        ("Во дворах не убирают снег!", "в двор не убирать снег"),
        ("ЁЛКИ у школы №2", "елка у школа 2"),
        ("Тeлефон не отвечает", "телефон не отвечать"),  # Latin e inside a Cyrillic word
        ("Wi-Fi в поликлинике", "wi-fi в поликлиника"),
        ("", ""),
        ("  ,.!  ", ""),
    ],
)
def test_lemmatize(text: str, expected: str) -> None:
    assert lemmatize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Тeлефон", "Телефон"),  # Latin e
        ("KBAPTИPA", "KBAPTИPA"),  # mostly Latin: left alone
        ("Пpошу пoмочь", "Прошу помочь"),
        ("hello мир", "hello мир"),
        ("СOБAКА", "СОБАКА"),
    ],
)
def test_normalize_lookalikes(text: str, expected: str) -> None:
    out = normalize_lookalikes(text)
    assert out == expected
    assert len(out) == len(text)


def test_lemmatize_many_matches_single() -> None:
    texts = ["Нет отопления в доме", "Прошу отремонтировать дорогу"]
    assert lemmatize_many(texts) == [lemmatize(t) for t in texts]


def test_lemma_of_numbers_and_latin() -> None:
    assert lemma_of("2023") == "2023"
    assert lemma_of("WhatsApp") == "whatsapp"


@pytest.mark.parametrize(
    "text",
    [
        "Уважаемая Анна Сергеевна! В Лысьве на ул. Ленина, д. 5 нет воды уже третий день.",
        "Прошу разобраться: в поликлинике №2 г. Губахи невозможно записаться к терапевту.",
        "Тeлефон горячей линии не отвечает, звонил 8-902-123-45-67 весь день.",
        "Сосед с 3-го этажа (кв. 45) жжёт мусор во дворе; Санкт-Петербург тут ни при чём.",
        "ПОЧЕМУ НЕ ВЫВОЗЯТ МУСОР???",
    ],
)
def test_spacy_lemmas_equal_fast_path(nlp_rules, text: str) -> None:
    doc = nlp_rules(text)
    assert doc_lemmas(doc) == lemmatize(text)


def test_pipeline_components_registered(nlp_rules) -> None:
    assert nlp_rules.pipe_names == ["appeals_normalize", "appeals_lemmas", "appeals_pd_rules", "appeals_mask",
                                    "appeals_places"]
    assert nlp_rules.lang == "ru"


def test_pipeline_masks_and_finds_places(nlp_rules) -> None:
    docs = list(nlp_rules.pipe(["Меня зовут Иванов Пётр, в Лысьве на ул. Мира яма. Тел. 89021234567"]))
    doc = docs[0]
    assert "[ФИО]" in doc._.masked and "[ТЕЛЕФОН]" in doc._.masked
    assert "Иванов" not in doc._.masked
    assert doc._.places.municipality == "лысьва"
    assert doc._.places.street == "улица мира"
