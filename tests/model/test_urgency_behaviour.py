"""Behaviour of the urgency model (issue 5): season, tone and negation, on sentences we wrote.

Two models are checked: one trained on a small corpus written for these tests (always runs) and one
trained on weak labels of a sample of the real appeals (skipped without the data).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from appeals.urgency import UrgencyModel, add_urgency_columns, predict_urgency
from appeals.urgency_config import load_urgency_config
from appeals.urgency_data import weak_labels
from appeals.urgency_train import model_from_config

WRITTEN = [
    "В доме нет отопления, батареи ледяные", "Сильно пахнет газом в подъезде", "Прорвало трубу, затопило подвал",
    "Упало дерево на провода", "Открытый люк на тротуаре у школы", "Сосульки висят над входом в магазин",
    "Стая собак напала на прохожего", "Вызвали скорую, ждём третий час", "Нет воды во всём доме со вчерашнего дня",
    "Во дворе не убран снег, не пройти", "Мусор не вывозят неделю, контейнеры переполнены",
    "Не горят фонари на улице, темно", "Батареи чуть тёплые, в квартире холодно", "Лифт не работает неделю",
    "Не могу записаться к терапевту месяц", "Пособие не пришло в этом месяце", "Автобус в посёлок отменили",
    "Просим установить скамейку у подъезда", "Когда будет ремонт дороги во дворе?",
    "Управляющая компания завышает плату в квитанции", "Прошу провести проверку работы управляющей компании",
    "Когда расселят аварийный дом?", "Уже третий год обещают отремонтировать тротуар",
    "Спасибо за новую детскую площадку!", "Подскажите, где оформить субсидию?", "А что там?",
    "Предлагаю построить бассейн в микрорайоне", "Подскажите, какие документы нужны для пособия?",
    "Благодарим дворников за чистый двор", "#город #праздник #фото #новости",
]
BENCH = "Установите, пожалуйста, новую скамейку у третьего подъезда, старая совсем облезла."
HEATING = "В нашем доме нет отопления, в квартирах холодно, дети мёрзнут."


@pytest.fixture(scope="module")
def written_model() -> UrgencyModel:
    cfg = load_urgency_config()
    model = model_from_config(cfg).set_params(classifier_params={"min_df": 1, "C": 5.0})
    frame = weak_labels(pd.DataFrame({"text": WRITTEN * 3, "created_at": None}), model)
    return model.fit(frame[["text", "created_at"]], frame["urgency"].tolist())


@pytest.fixture(scope="module")
def real_model(real_data_dir: Path) -> UrgencyModel:
    from appeals.urgency_data import load_dev, load_unlabelled

    cfg = load_urgency_config()
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"max_train": 4000})})
    model = model_from_config(cfg)
    dev = load_dev(real_data_dir, cfg)
    frame = weak_labels(load_unlabelled(real_data_dir, cfg, exclude=dev["text"].tolist()), model)
    return model.fit(frame[["text", "created_at"]], frame["urgency"].tolist())


MODELS = ["written_model", pytest.param("real_model", marks=[pytest.mark.slow, pytest.mark.realdata])]


def level(model: UrgencyModel, text: str, created_at: object = None) -> str:
    return predict_urgency(model, [text], [created_at])[0][0]


@pytest.mark.parametrize("model_name", MODELS)
def test_no_heating_is_critical_in_january_not_in_july(model_name: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(model_name)
    assert level(model, HEATING, datetime(2026, 1, 15, 9, 0)) == "critical"
    assert level(model, HEATING, datetime(2026, 7, 15, 9, 0)) != "critical"
    assert level(model, HEATING, "2026-07-15T09:00:00+05:00") != "critical"


@pytest.mark.parametrize("model_name", MODELS)
def test_shouting_does_not_make_a_bench_critical(model_name: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(model_name)
    calm = level(model, BENCH)
    for loud in (f"СРОЧНО!!! {BENCH}", f"{BENCH.upper()} СРОЧНО!!!", f"Срочно помогите! {BENCH}"):
        assert level(model, loud) == calm
        assert level(model, loud) != "critical"


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("text", [
    "Проверяли подвал: запаха газа нет, просим только прислать график проверок.",
    "Газом не пахнет, но хотим узнать, когда поменяют счётчики.",
])
def test_negated_danger_is_not_critical(model_name: str, text: str, request: pytest.FixtureRequest) -> None:
    assert level(request.getfixturevalue(model_name), text) != "critical"


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("text", [
    "В подъезде сильно пахнет газом, соседи не открывают дверь.",
    "Упало дерево на провода у детского сада.",
    "Открытый люк прямо на тротуаре возле школы.",
])
def test_stated_dangers_are_critical(model_name: str, text: str, request: pytest.FixtureRequest) -> None:
    assert level(request.getfixturevalue(model_name), text) == "critical"


@pytest.mark.parametrize("model_name", MODELS)
def test_a_thank_you_is_not_urgent(model_name: str, request: pytest.FixtureRequest) -> None:
    assert level(request.getfixturevalue(model_name), "Большое спасибо за новую детскую площадку!") == "low"


def test_add_urgency_columns_with_and_without_dates(written_model: UrgencyModel) -> None:
    frame = pd.DataFrame({"text": [HEATING, "Спасибо за уборку двора!", HEATING],
                          "created_at": ["2026-01-16 10:00", "2026-01-16 10:00", None]})
    out = add_urgency_columns(frame, written_model)
    assert list(out.columns) == ["text", "created_at", "urgency", "urgency_proba", "deadline"]
    assert out["urgency"].tolist()[0] == "critical" and out["urgency"].tolist()[1] == "low"
    assert out["deadline"][0] == "2026-01-17T10:00:00+05:00"      # 24 h, Perm time
    assert pd.isna(out["deadline"][1]) and pd.isna(out["deadline"][2])   # low; date unknown
    assert ((out["urgency_proba"] > 0) & (out["urgency_proba"] <= 1)).all()
    assert written_model.predict([HEATING]).tolist() == ["critical"]
    assert written_model.predict_proba([HEATING]).sum() == pytest.approx(1.0)


def test_personal_data_stays_out_of_the_stored_vocabulary() -> None:
    cfg = load_urgency_config()
    texts = ["Петрова Анна Сергеевна, тел. 8 912 345-67-89: во дворе не убран снег, машины буксуют"] * 3 + WRITTEN
    model = model_from_config(cfg).set_params(classifier_params={"min_df": 1})
    frame = weak_labels(pd.DataFrame({"text": texts, "created_at": None}), model)
    model.fit(frame[["text", "created_at"]], frame["urgency"].tolist())
    vocabulary = " ".join(model.classifier_.named_steps["tfidfvectorizer"].vocabulary_)
    assert "петров" not in vocabulary and "345" not in vocabulary and "912" not in vocabulary
    assert "буксовать" in vocabulary


def test_batch_scoring_reuses_masked_texts_without_changing_a_number(written_model: UrgencyModel) -> None:
    from appeals.shared_steps import prepare_texts

    texts = [HEATING, "Звоните 8 912 345-67-89, Петрова Анна: прорвало трубу!", BENCH, *WRITTEN]
    dates = ["2026-01-16 10:00", None, "2026-07-01"] + [None] * len(WRITTEN)
    assert not written_model.masks_with_ner  # the shared path applies only to rule-masking models
    direct = predict_urgency(written_model, texts, dates)
    shared = predict_urgency(written_model, texts, dates, prepare_texts(texts)["rule_masked"])
    assert shared == direct
