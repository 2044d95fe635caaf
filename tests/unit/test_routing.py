"""Routing rules as data: department overrides, thresholds, review reasons, the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from appeals.config import ConfigError
from appeals.routing import (
    CONFLICT,
    DUPLICATE,
    LOW_CONFIDENCE,
    NO_LETTERS,
    NOT_RUSSIAN,
    DepartmentRule,
    Thresholds,
    confidence_reasons,
    conflict_reasons,
    language_reasons,
    load_routing_config,
    review_reasons,
    route_department,
    task_thresholds,
)

RULES = (
    DepartmentRule(topic="Вывоз мусора", district="Заречный", department="Подрядчик Заречья"),
    DepartmentRule(topic_group="Мусор и ТКО", department="Региональный оператор"),
    DepartmentRule(settlement="ёлкино", department="Администрация Ёлкино"),
)


@pytest.mark.parametrize("facts, expected", [
    ({"topic": "Вывоз мусора", "topic_group": "Мусор и ТКО", "district": "Заречный"},
     ("Подрядчик Заречья", 1.0, "rule")),
    ({"topic": "Вывоз мусора", "topic_group": "Мусор и ТКО", "district": "Центральный"},
     ("Региональный оператор", 1.0, "rule")),
    ({"topic": "Ямы", "topic_group": "Дороги", "district": " заречный "}, ("Модель", 0.7, "model")),
    ({"topic": "Ямы", "topic_group": "Дороги", "settlement": "Елкино"}, ("Администрация Ёлкино", 1.0, "rule")),
    ({"topic": "Ямы", "topic_group": "Дороги", "settlement": None}, ("Модель", 0.7, "model")),
])
def test_first_matching_rule_wins_else_model(facts: dict, expected: tuple) -> None:
    assert route_department("Модель", 0.7, facts, RULES) == expected


def test_rule_without_keys_never_matches() -> None:
    assert not DepartmentRule(department="X").matches({"topic": "Ямы"})


@pytest.mark.parametrize("text, reasons", [
    ("Яма на дороге у дома", []),
    ("Глубокая яма на дороге возле дома, photo attached", []),
    ("The road near my house is broken", [NOT_RUSSIAN]),
    ("Lorem ipsum dolor sit amet, consectetur", [NOT_RUSSIAN]),
    ("12345 !!! ???", [NO_LETTERS]),
    ("ок", [NO_LETTERS]),
    ("", [NO_LETTERS]),
])
def test_language_reasons(text: str, reasons: list[str]) -> None:
    assert language_reasons(text, Thresholds()) == reasons


@pytest.mark.parametrize("probas, low", [
    ({"topic": 0.9, "topic_group": 0.9, "department": 0.9, "urgency": 0.9}, False),
    ({"topic": 0.29, "topic_group": 0.9, "department": 0.9, "urgency": 0.9}, True),
    ({"topic": 0.9, "topic_group": 0.9, "department": 0.49, "urgency": 0.9}, True),
    ({"topic": 0.3, "topic_group": 0.45, "department": 0.5, "urgency": 0.4}, False),
])
def test_confidence_reasons_follow_thresholds(probas: dict, low: bool) -> None:
    limits = task_thresholds(Thresholds(), {})
    assert confidence_reasons(probas, limits) == ([LOW_CONFIDENCE] if low else [])


@pytest.mark.parametrize("from_models, learnt, expected_topic", [
    (True, {"topic": 0.8}, 0.8), (True, {"topic": None}, 0.3), (False, {"topic": 0.8}, 0.3)])
def test_thresholds_learnt_in_training_win_when_allowed(from_models: bool, learnt: dict,
                                                        expected_topic: float) -> None:
    limits = task_thresholds(Thresholds(from_models=from_models), learnt)
    assert limits["topic"] == expected_topic and limits["department"] == 0.5


@pytest.mark.parametrize("topic, group, groups, expected", [
    ("Ямы", "Дороги", {"Ямы": "Дороги"}, []),
    ("Ямы", "ЖКХ", {"Ямы": "Дороги"}, [CONFLICT]),
    ("Ямы", "ЖКХ", {}, []),
    ("Новая тема", "ЖКХ", {"Ямы": "Дороги"}, []),
])
def test_conflict_between_topic_and_group(topic: str, group: str, groups: dict, expected: list) -> None:
    assert conflict_reasons(topic, group, groups) == expected


def test_review_reasons_are_ordered_and_unique() -> None:
    assert review_reasons([DUPLICATE], [LOW_CONFIDENCE, DUPLICATE], [], [NOT_RUSSIAN]) == [
        LOW_CONFIDENCE, DUPLICATE, NOT_RUSSIAN]


def test_project_config_loads() -> None:
    config = load_routing_config()
    assert config.limits.max_batch == 1000 and config.service.cors_origins == ()
    assert 0 < config.thresholds.topic < 1


@pytest.mark.parametrize("body, message", [
    ("[thresholds]\ntopic = 2.0\n", "thresholds.topic"),
    ("[limits]\nmax_batch = 10\nmax_bach = 5\n", "limits.max_bach"),
    ("[[departments]]\ntopic = 'Ямы'\n", "departments.0.department"),
    ("[service\n", "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load_routing_config(path)


def test_departments_from_file(tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text("[[departments]]\ntopic_group = 'Мусор'\ndepartment = 'ТКО'\n", encoding="utf-8")
    config = load_routing_config(path)
    assert route_department("M", 0.2, {"topic_group": "мусор"}, config.departments) == ("ТКО", 1.0, "rule")
