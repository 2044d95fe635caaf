"""Shared pipeline steps: computed once, and the probabilities exactly those of the whole pipelines."""

from __future__ import annotations

import copy
from datetime import datetime

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from appeals.features import CleanTransformer, MaskTransformer
from appeals.masking import mask_many, mask_rules_and_ner
from appeals.shared_steps import SharedPipelines, chain_keys, step_fingerprint, text_steps

TEXTS = [
    "Не вывозят мусор во дворе дома на ул. Ленина, звоните 8 912 000-00-00",
    "Яма на дороге возле школы, колесо пробил",
    "Нет горячей воды третий день, Иванов Пётр Сергеевич, кв. 12",
    "Сломан светофор на перекрёстке, прошу починить",
    "Во дворе не убран снег, тротуар не чистят",
    "Не работает уличное освещение на улице Мира",
]
LABELS = ["мусор", "дороги", "жкх", "дороги", "жкх", "дороги"]
OTHER = ["a", "b", "a", "b", "a", "b"]


class CountingTfidf(TfidfVectorizer):
    """A TF-IDF vectoriser that counts its transform calls (class-level, survives deepcopy)."""

    calls = 0

    def transform(self, raw_documents):  # type: ignore[no-untyped-def]
        CountingTfidf.calls += 1
        return super().transform(raw_documents)


def _pipelines() -> dict[str, Pipeline]:
    features = CountingTfidf(min_df=1).fit(mask_many([CleanTransformer().transform([t])[0] for t in TEXTS], ner=False))
    out = {}
    for name, labels, C in (("topic", LABELS, 1.0), ("group", OTHER, 3.0)):
        pipe = Pipeline([("clean", CleanTransformer()), ("mask", MaskTransformer()),
                         ("features", copy.deepcopy(features)), ("classifier", LogisticRegression(C=C))])
        pipe[-1].fit(pipe[:-1].transform(TEXTS), labels)
        out[name] = pipe
    return out


def test_shared_steps_give_the_whole_pipelines_probabilities_and_run_once() -> None:
    pipelines = _pipelines()
    shared = SharedPipelines(pipelines)
    CountingTfidf.calls = 0
    probas = shared.predict_proba(TEXTS)
    assert CountingTfidf.calls == 1, "equal fitted copies of the features are computed once"
    for name, pipe in pipelines.items():
        assert np.array_equal(probas[name], pipe.predict_proba(TEXTS)), name


def test_different_fitted_steps_are_not_shared() -> None:
    pipelines = _pipelines()
    pipelines["group"].steps[2][1].set_params(sublinear_tf=True)  # computes other features: its own
    assert step_fingerprint(pipelines["group"].steps[2][1]) != step_fingerprint(pipelines["topic"].steps[2][1])
    shared = SharedPipelines(pipelines)
    CountingTfidf.calls = 0
    probas = shared.predict_proba(TEXTS)
    assert CountingTfidf.calls == 2
    assert np.array_equal(probas["group"], pipelines["group"].predict_proba(TEXTS))


def test_equal_steps_are_shared_whatever_objects_their_state_shares() -> None:
    """Equal fitted state in other objects (a string held by two attributes in one model, two equal
    strings in the other) pickles to other bytes; the steps transform alike and are computed once."""
    import pickle

    pipelines = _pipelines()
    topic, group = pipelines["topic"].steps[2][1], pipelines["group"].steps[2][1]
    assert group._tfidf.norm is group.norm  # TfidfVectorizer hands its own string on
    group._tfidf.norm = "".join(["l", "2"])  # equal, not the same object
    assert pickle.dumps(topic) != pickle.dumps(group)
    assert step_fingerprint(topic) == step_fingerprint(group)
    CountingTfidf.calls = 0
    probas = SharedPipelines(pipelines).predict_proba(TEXTS)
    assert CountingTfidf.calls == 1
    for name, pipe in pipelines.items():
        assert np.array_equal(probas[name], pipe.predict_proba(TEXTS)), name


def test_a_step_with_a_reference_cycle_is_still_fingerprinted() -> None:
    step = _pipelines()["topic"].steps[2][1]
    step.loop_ = [step]  # fast-mode pickling cannot write a cycle
    other = copy.deepcopy(step)
    assert step_fingerprint(step).startswith("fitted:")
    assert step_fingerprint(step) == step_fingerprint(other)


def test_known_outputs_are_reused_and_equal_the_steps_own() -> None:
    pipelines = _pipelines()
    cleaned = CleanTransformer().transform(TEXTS)
    rule_masked, masked = mask_rules_and_ner(cleaned, ner=False)
    assert rule_masked == mask_many(cleaned, ner=False) == masked
    clean_key, mask_key = chain_keys([CleanTransformer(), MaskTransformer(ner=False)])
    probas = SharedPipelines(pipelines).predict_proba(TEXTS, {clean_key: cleaned, mask_key: rule_masked})
    for name, pipe in pipelines.items():
        assert np.array_equal(probas[name], pipe.predict_proba(TEXTS)), name
    assert text_steps(pipelines["topic"]) == 2


@pytest.mark.parametrize("ner", [False, True])
def test_rules_and_ner_masking_match_mask_many(ner: bool) -> None:
    cleaned = CleanTransformer().transform(TEXTS)
    rule_masked, masked = mask_rules_and_ner(cleaned, ner=ner)
    assert rule_masked == mask_many(cleaned, ner=False)
    assert masked == mask_many(cleaned, ner=ner)
    assert all("912" not in t for t in masked)


def test_urgency_on_masked_texts_equals_its_own_preparation() -> None:
    from appeals.urgency import UrgencyModel

    levels = ["critical", "normal", "high", "normal", "low", "normal"]
    model = UrgencyModel(classifier_params={"min_df": 1}).fit(TEXTS, levels)
    dates = [datetime(2026, 1, 10), None, datetime(2026, 7, 1), None, None, datetime(2026, 11, 3)]
    import pandas as pd

    whole = model.predict_proba(pd.DataFrame({"text": TEXTS, "created_at": dates}))
    rule_masked, _ = mask_rules_and_ner(CleanTransformer().transform(TEXTS), ner=False)
    assert not model.masks_with_ner
    assert np.array_equal(model.predict_proba_masked(rule_masked, dates), whole)


def test_fast_transform_is_the_union_and_pipeline_transform() -> None:
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import FeatureUnion
    from sklearn.preprocessing import FunctionTransformer

    from appeals.shared_steps import fast_transform

    numbers = np.array([[1.0, 2.0], [3.0, 4.5], [0.5, 7.0]])
    union = FeatureUnion([
        ("word", Pipeline([("clean", CleanTransformer()), ("skip", "passthrough"), ("tfidf", TfidfVectorizer())])),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3))),
        ("gone", "drop"),
        ("counts", CountVectorizer(binary=True)),
    ], transformer_weights={"word": 1.0, "char": 0.5, "counts": 2.0}).fit(TEXTS)
    dense_union = FeatureUnion([("square", FunctionTransformer(np.square)), ("same", "passthrough")],
                               transformer_weights={"square": 3.0}).fit(numbers)
    for step, data in ((union, TEXTS), (union, TEXTS[:1]), (Pipeline([("u", union)]), TEXTS[2:]),
                       (dense_union, numbers)):
        ours, theirs = fast_transform(step, data), step.transform(data)
        assert type(ours) is type(theirs)
        if sparse.issparse(theirs):
            assert ours.shape == theirs.shape and (ours != theirs).nnz == 0
        else:
            assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("labels", [LABELS, OTHER], ids=["three classes", "two classes"])
def test_pipeline_proba_is_the_pipelines_own(labels: list[str]) -> None:
    from sklearn.naive_bayes import MultinomialNB

    from appeals.char_ngrams import CharNgramTfidf
    from appeals.shared_steps import pipeline_proba

    for vectorizer in (TfidfVectorizer(), CharNgramTfidf(ngram_range=(2, 4), sublinear_tf=True)):
        pipe = Pipeline([("clean", CleanTransformer()), ("tfidf", vectorizer),
                         ("lr", LogisticRegression(C=2.0, class_weight="balanced"))]).fit(TEXTS, labels)
        others = [*TEXTS[::-1], "Совсем другой текст без знакомых слов", ""]
        assert np.array_equal(pipeline_proba(pipe, others), pipe.predict_proba(others))
    bayes = Pipeline([("tfidf", TfidfVectorizer()), ("nb", MultinomialNB())]).fit(TEXTS, labels)
    assert np.array_equal(pipeline_proba(bayes, TEXTS), bayes.predict_proba(TEXTS))
