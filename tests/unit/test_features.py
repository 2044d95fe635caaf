"""Preprocessing transformers, feature sets, calibration and the figures training logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from appeals.features import CleanTransformer, MaskTransformer, PlaceTransformer, as_texts
from appeals.model_metrics import (
    classification_metrics,
    expected_calibration_error,
    routing_on,
    routing_threshold,
)
from appeals.models import (
    CalibratedModel,
    CharSpec,
    FamilySpec,
    WordSpec,
    build_features,
    compact_features,
    fit_temperature,
)

TEXTS = ["Не вывозят мусор во дворе", "Яма на дороге у школы", "Нет горячей воды в доме",
         "Не вывозят мусор с площадки", "Большая яма на дороге", "Нет воды третий день"]
LABELS = ["мусор", "дороги", "жкх", "мусор", "дороги", "жкх"]


@pytest.mark.parametrize(("given", "expected"), [
    (["a", "b"], ["a", "b"]),
    (np.array(["a", None], dtype=object), ["a", ""]),
    (pd.Series(["x"]), ["x"]),
    (pd.DataFrame({"text": ["y", "z"], "other": [1, 2]}), ["y", "z"]),
])
def test_as_texts_accepts_lists_arrays_and_text_tables(given, expected) -> None:
    assert as_texts(given) == expected


@pytest.mark.parametrize(("given", "error"), [
    ("one string", TypeError),
    (pd.DataFrame({"body": ["x"]}), ValueError),
])
def test_as_texts_refuses_what_is_not_a_list_of_texts(given, error) -> None:
    with pytest.raises(error):
        as_texts(given)


@pytest.mark.parametrize(("raw", "expected"), [
    ("'Нет&nbsp;воды<br>в доме", "Нет воды\nв доме"),
    ("  двойные   пробелы  ", "двойные пробелы"),
    ("<p>абзац</p>", "абзац"),
])
def test_clean_transformer_applies_clean_text(raw: str, expected: str) -> None:
    assert CleanTransformer().fit_transform([raw]) == [expected]


@pytest.mark.parametrize(("raw", "secret", "placeholder"), [
    ("Позвоните мне 8 912 345-67-89, не вывозят мусор", "345-67-89", "[ТЕЛЕФОН]"),
    ("Пишите на ivan.petrov@example.ru, яма во дворе", "ivan.petrov", "[EMAIL]"),
])
def test_mask_transformer_hides_personal_data(raw: str, secret: str, placeholder: str) -> None:
    masked = MaskTransformer().transform([raw])[0]
    assert secret not in masked and placeholder in masked


def test_place_transformer_emits_place_tokens() -> None:
    tokens = PlaceTransformer().transform(["Яма на ул. Ленина в Лысьве", "просто текст"])
    assert "street=" in tokens[0]
    assert tokens[1] == "place=none"


@pytest.mark.parametrize(("spec", "parts"), [
    (FamilySpec(), ["word", "char"]),
    (FamilySpec(char=CharSpec(enabled=False)), ["word"]),
    (FamilySpec(word=WordSpec(lemmas=True), places_weight=0.5), ["word", "char", "places"]),
    (FamilySpec(word=WordSpec(enabled=False), char=CharSpec(enabled=False), navec_weight=1.0), ["navec"]),
])
def test_build_features_follows_the_family_spec(spec: FamilySpec, parts: list[str]) -> None:
    assert [name for name, _ in build_features(spec).transformer_list] == parts


def test_no_features_is_a_readable_error() -> None:
    with pytest.raises(ValueError, match="at least one feature set"):
        build_features(FamilySpec(word=WordSpec(enabled=False), char=CharSpec(enabled=False)))


def test_families_with_equal_features_share_a_key() -> None:
    assert FamilySpec(C=1.0).feature_key() == FamilySpec(C=0.1, classifier="logreg").feature_key()
    assert FamilySpec().feature_key() != FamilySpec(places_weight=0.5).feature_key()


def test_compact_features_keeps_the_transform() -> None:
    spec = FamilySpec(word=WordSpec(min_df=1), char=CharSpec(min_df=1))
    union = build_features(spec).fit(TEXTS)
    before = union.transform(TEXTS).toarray()
    compact_features(union)
    vocab = union.transformer_list[0][1].named_steps["tfidf"].vocabulary_
    assert all(type(v) is int for v in vocab.values())
    np.testing.assert_array_equal(union.transform(TEXTS).toarray(), before)


@pytest.mark.parametrize("temperature", [0.5, 2.0, 4.0])
def test_fit_temperature_recovers_the_generating_temperature(temperature: float) -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 3, size=(4000, 5))
    proba = np.exp(scores / temperature)
    proba /= proba.sum(axis=1, keepdims=True)
    classes = np.array(list("abcde"), dtype=object)
    y = np.array([rng.choice(classes, p=p) for p in proba], dtype=object)
    assert fit_temperature(scores, y, classes) == pytest.approx(temperature, rel=0.15)


def test_calibrated_model_gives_probabilities_and_keeps_the_argmax() -> None:
    from sklearn.svm import LinearSVC

    X = build_features(FamilySpec(word=WordSpec(min_df=1), char=CharSpec(min_df=1))).fit_transform(TEXTS)
    model = CalibratedModel(LinearSVC()).fit(X, LABELS).calibrate(X, LABELS)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(model.predict(X)) == list(model.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize(("correct", "confidence", "ece"), [
    ([1, 1, 1, 1], [1.0, 1.0, 1.0, 1.0], 0.0),
    ([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], 0.0),
    ([0, 0, 0, 0], [0.9, 0.9, 0.9, 0.9], 0.9),
])
def test_expected_calibration_error(correct, confidence, ece) -> None:
    assert expected_calibration_error(np.array(correct, bool), np.array(confidence)) == pytest.approx(ece)


def test_routing_threshold_reaches_the_precision_on_what_it_routes() -> None:
    confidence = np.linspace(1.0, 0.0, 200)
    correct = np.arange(200) < 100  # the 100 most confident are right, the rest wrong
    threshold = routing_threshold(correct, confidence, precision=0.95)
    routed = routing_on(correct, confidence, threshold)
    assert routed.precision >= 0.95
    assert 0.5 <= routed.share <= 0.53


def test_routing_threshold_routes_nothing_when_precision_is_out_of_reach() -> None:
    assert routing_threshold(np.zeros(100, bool), np.ones(100), precision=0.95) > 1.0


def test_classification_metrics_on_a_known_table() -> None:
    classes = np.array(["a", "b"], dtype=object)
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    metrics = classification_metrics(np.array(["a", "b", "b", "b"], dtype=object), proba, classes)
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["top3_accuracy"] == 1.0
    assert metrics["n"] == 4


def test_group_mapping_sums_topic_probabilities_into_their_groups() -> None:
    from appeals.ensemble import group_mapping

    frame = pd.DataFrame({"topic": ["яма", "свет", "мусор", "яма"],
                          "topic_group": ["Дороги", "Дороги", "ЖКХ", "Дороги"]})
    topics = np.array(["мусор", "свет", "яма"], dtype=object)
    groups, matrix = group_mapping(topics, frame)
    assert list(groups) == ["Дороги", "ЖКХ"]
    np.testing.assert_allclose(np.array([[0.2, 0.3, 0.5]]) @ matrix, [[0.8, 0.2]])


@pytest.mark.parametrize("mapped", [0.05, 0.5, 0.99])
def test_confidence_map_keeps_labels_and_sums_to_one(mapped: float) -> None:
    from appeals.models import apply_confidence_map

    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(6), size=50)
    out = apply_confidence_map(proba, np.array([0.0, 1.0]), np.array([mapped, mapped]))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_array_equal(out.argmax(axis=1), proba.argmax(axis=1))


def test_confidence_map_learns_observed_accuracy() -> None:
    from appeals.models import apply_confidence_map, fit_confidence_map

    confidence = np.repeat([0.3, 0.9], 500)
    correct = np.concatenate([np.arange(500) < 250, np.arange(500) < 450])  # 50 % and 90 % right
    xs, ys = fit_confidence_map(correct, confidence)
    out = apply_confidence_map(np.array([[0.3, 0.25, 0.25, 0.2], [0.9, 0.1, 0.0, 0.0]]), xs, ys)
    assert out.max(axis=1) == pytest.approx([0.5, 0.9], abs=0.02)


def test_routing_threshold_respects_runs_of_equal_confidence() -> None:
    # 200 appeals at 0.99 (all right), then 300 tied at 0.8 of which only 80 % are right
    confidence = np.r_[np.full(200, 0.99), np.full(300, 0.8)]
    correct = np.r_[np.ones(200, bool), np.arange(300) < 240]
    threshold = routing_threshold(correct, confidence, precision=0.95)
    assert threshold == pytest.approx(0.99)
    assert routing_on(correct, confidence, threshold).precision == 1.0


def test_transfer_features_are_another_configs_probabilities() -> None:
    """A family borrowing the demo config's topic-group model gets one column per demo topic group,
    each row a probability distribution, and the fitted union survives pickling unchanged."""
    import pickle

    from appeals.features import TransferTransformer, source_model
    from appeals.training import masked_texts

    spec = FamilySpec(word=WordSpec(min_df=1), char=CharSpec(enabled=False), transfer_weight=1.0,
                      transfer_source="demo", transfer_task="topic_group")
    union = build_features(spec)
    texts = masked_texts(pd.DataFrame({"text": TEXTS}))
    x = union.fit_transform(texts, LABELS).toarray()
    source = source_model("demo", "topic_group")
    groups = len(source.classes_)
    transfer = TransferTransformer("demo", "topic_group").fit(texts).transform(texts)
    assert transfer.shape == (len(TEXTS), groups) and groups > 2
    np.testing.assert_allclose(transfer.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(x[:, -groups:], transfer, rtol=1e-5)  # the last block, weight 1
    assert source_model("demo", "topic_group") is source  # fitted once per process
    again = pickle.loads(pickle.dumps(union))
    np.testing.assert_allclose(again.transform(texts).toarray(), x, rtol=1e-6)
    assert spec.feature_key() != spec.model_copy(update={"transfer_weight": 0.0}).feature_key()


def test_transfer_source_without_its_data_says_which_family_needs_what(monkeypatch: pytest.MonkeyPatch) -> None:
    from appeals.datasets import LoadError
    from appeals.features import source_model

    monkeypatch.delenv("APPEALS_DATA_DIR", raising=False)
    with pytest.raises(LoadError, match=r"transfer source 'perm'.*APPEALS_DATA_DIR"):
        source_model("perm", "department")


def test_transfer_from_the_same_dataset_is_refused() -> None:
    """Borrowing from a config that reads the same data would feed the model in-sample predictions."""
    from appeals.config import project_root
    from appeals.training import load_train_config, prepare_transfer

    config = load_train_config(project_root() / "training" / "configs" / "demo.toml")
    borrowing = config.families["lemma_svm"].model_copy(update={"transfer_weight": 1.0, "transfer_source": "demo"})
    config = config.model_copy(update={"families": {**config.families, "lemma_svm_demo": borrowing}})
    with pytest.raises(ValueError, match="same dataset"):
        prepare_transfer(config, None)
