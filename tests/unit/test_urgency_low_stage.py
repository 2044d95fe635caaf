"""The normal/low stage: learnt from levels people gave, it splits the blend's normal + low share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from appeals.labelmodel import LEVELS
from appeals.urgency_config import load_urgency_config
from appeals.urgency_train import Prepared, _subset, fit_model, model_from_config

QUESTIONS = [f"Подскажите, пожалуйста, где узнать расписание кружка номер {i}?" for i in range(30)]
REQUESTS = [f"Прошу отремонтировать скамейку во дворе дома {i} на улице Мира" for i in range(30)]
NORMAL, LOW = LEVELS.index("normal"), LEVELS.index("low")


def _stage_model():  # type: ignore[no-untyped-def]
    model = model_from_config(load_urgency_config())
    return model.fit_low_stage(QUESTIONS + REQUESTS, ["low"] * 30 + ["normal"] * 30)


def test_the_stage_splits_only_the_normal_and_low_share() -> None:
    model = _stage_model()
    contexts, scores = model.prepare(["Подскажите, где узнать расписание бассейна?",
                                      "Прошу отремонтировать лавочку у дома 5 на улице Ленина"])
    clf = np.array([[0.1, 0.2, 0.6, 0.1], [0.1, 0.2, 0.1, 0.6]])  # the classifier says the opposite
    proba = model.combine(contexts, np.zeros_like(scores), clf)
    assert proba[:, :NORMAL] == pytest.approx(clf[:, :NORMAL])  # critical and high untouched
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert proba[0, LOW] > proba[0, NORMAL]  # the question is low
    assert proba[1, NORMAL] > proba[1, LOW]  # the request is normal


def test_a_model_without_a_stage_combines_as_before() -> None:
    model = model_from_config(load_urgency_config())
    contexts, scores = model.prepare(["Подскажите, где узнать расписание бассейна?"])
    clf = np.array([[0.1, 0.2, 0.6, 0.1]])
    assert model.low_share(contexts) is None
    assert model.combine(contexts, np.zeros_like(scores), clf) == pytest.approx(clf)


def test_the_stage_learns_normal_and_low_only() -> None:
    with pytest.raises(ValueError, match="only normal and low; got \\['high'\\]"):
        model_from_config(load_urgency_config()).fit_low_stage(["a", "b"], ["normal", "high"])


def _rows(texts: list[str], labels: list[str], weight: float, person: bool) -> Prepared:
    return Prepared(texts, labels, np.full(len(texts), weight), pd.DataFrame({"text": texts}),
                    masked=list(texts), person=np.full(len(texts), person))


def test_fit_model_feeds_the_stage_person_labels_and_the_classifier_positive_weights() -> None:
    cfg = load_urgency_config()
    assert cfg.low_stage.enabled
    weak = _rows(["нет света в доме", "яма на дороге", "спасибо за работу", "вопрос про пособие"] * 10,
                 ["critical", "high", "low", "normal"] * 10, 1.0, person=False)
    annotated = _rows(QUESTIONS + REQUESTS, ["low"] * 30 + ["normal"] * 30, 0.0, person=True)
    model = fit_model(cfg, weak.plus(annotated))
    vocabulary = model.classifier_.named_steps["tfidfvectorizer"].vocabulary_
    assert "скамейку" not in vocabulary and "подскажите" not in vocabulary  # weight 0: stage only
    stage_words = model.low_stage_.steps[0][1].vocabulary_
    assert " пос" not in stage_words  # the weak rows («пособие») never reach the stage
    assert " ска" in stage_words


def test_too_few_person_labels_give_no_stage() -> None:
    cfg = load_urgency_config()
    weak = _rows(["нет света", "яма", "спасибо", "вопрос"] * 10, ["critical", "high", "low", "normal"] * 10,
                 1.0, person=False)
    few = _rows(QUESTIONS[:5] + REQUESTS[:5], ["low"] * 5 + ["normal"] * 5, 0.0, person=True)
    assert getattr(fit_model(cfg, weak.plus(few)), "low_stage_", None) is None


def test_subsets_keep_texts_and_person_flags() -> None:
    rows = _rows(["a", "b"], ["low", "normal"], 1.0, person=False).plus(_rows(["c"], ["low"], 0.0, person=True))
    part = _subset(rows, np.array([0, 2]))
    assert part.masked == ["a", "c"]
    assert part.by_person().tolist() == [False, True]
    assert part.weights.tolist() == [1.0, 0.0]


def test_the_run_records_the_stage_and_the_annotation_file() -> None:
    import hashlib

    from appeals.config import project_root
    from appeals.urgency_train import run_params

    cfg = load_urgency_config()
    params = run_params(_stage_model(), cfg)
    digest = hashlib.sha256((project_root() / cfg.data.annotations).read_bytes()).hexdigest()[:16]
    assert params["low_stage"] is True and params["annotations_sha256"] == digest
    demo = load_urgency_config(project_root() / "training/configs/urgency_demo.toml")
    plain = run_params(model_from_config(demo), demo)
    assert plain["low_stage"] is False and plain["annotations"] == "none" and "annotations_sha256" not in plain


def test_tuning_runs_the_stage_once_and_chooses_as_if_it_ran_per_blend(monkeypatch: pytest.MonkeyPatch) -> None:
    from appeals.urgency_train import tune

    model = _stage_model()
    texts = [*QUESTIONS[:6], *REQUESTS[:6]]
    contexts, scores = model.prepare(texts)
    rng = np.random.default_rng(0)
    clf = rng.dirichlet(np.ones(4), size=len(texts))
    y = np.array(["low"] * 6 + ["normal"] * 6)
    combine = load_urgency_config().combine
    expected = max(((b, t) for b in combine.blend_grid for t in combine.threshold_grid),
                   key=lambda bt: _objective_of(model, contexts, scores, clf, y, combine, *bt))
    calls = []
    real = model.low_share
    monkeypatch.setattr(model, "low_share", lambda ctx: calls.append(1) or real(ctx))
    assert tune(model, contexts, scores, clf, y, combine) == expected
    assert len(calls) == 1


def _objective_of(model, contexts, scores, clf, y, combine, blend, threshold):  # type: ignore[no-untyped-def]
    from appeals.urgency_train import _objective

    proba = model.combine(contexts, scores, clf, blend=blend)  # the stage run again for each blend
    return _objective(y, np.array(LEVELS)[model.decide(proba, threshold)], combine)
