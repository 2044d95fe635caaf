"""Several fitted pipelines on the same texts, every step they share computed once.

The champions of one training run start with the same stateless text steps (clean → rule masking)
and carry equal copies of the same fitted feature union (lemmas + word/char TF-IDF + places): run
one by one, each appeal would be cleaned, masked, lemmatised and vectorised three times. Here every
non-final step gets a fingerprint once, when the models are loaded (a text step: its class and
parameters; a fitted step: a hash of its pickled state), and a step's output is reused by every
pipeline whose steps up to it have the same fingerprints. The final estimators then run on exactly
the inputs `pipeline.predict_proba` would have given them, so the probabilities are the same.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

Key = tuple[str, ...]


def text_steps(pipeline: Any) -> int:
    """How many leading steps of a Pipeline are stateless text -> text transformers (0 if none)."""
    from appeals.features import TextTransformer

    steps = getattr(pipeline, "steps", None) or []
    count = 0
    for _, step in steps:
        if not isinstance(step, TextTransformer):
            break
        count += 1
    return count if count < len(steps) else 0


def step_fingerprint(step: Any) -> str:
    """Equal for steps that transform alike: class + parameters of a stateless text step, else a hash
    of the fitted step's pickled state (computed once per model load, not per request)."""
    from appeals.features import TextTransformer

    if isinstance(step, TextTransformer):
        params = sorted((k, repr(v)) for k, v in step.get_params().items())
        return f"{type(step).__module__}.{type(step).__qualname__}{params}"
    return _fitted_hash(step)


@lru_cache(maxsize=64)
def _fitted_hash(step: Any) -> str:
    """Hash of a fitted step's pickled state, once per step object (estimators hash by identity):
    batch scoring builds SharedPipelines per file and must not pickle 10 MB models each time.

    Pickled without the memo (the pickler's fast mode), so equal state gives equal bytes whatever
    objects it shares: an ordinary pickle writes a string that two attributes hold once and refers
    back to it, and one written twice changes the bytes. Champions saved from one training run
    differed so (equal vocabularies and weights, other bytes), and the topic model's features were
    computed a second time for every appeal. A step with a reference cycle, which fast mode cannot
    write, is hashed from its ordinary pickle."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: shared objects are written out again
    try:
        pickler.dump(step)
        data = buffer.getvalue()
    except (ValueError, RecursionError):
        data = pickle.dumps(step, protocol=pickle.HIGHEST_PROTOCOL)
    return "fitted:" + hashlib.sha1(data).hexdigest()


def chain_keys(steps: list[Any]) -> list[Key]:
    """The key of each prefix of `steps`: the fingerprints of all steps up to and including it."""
    keys: list[Key] = []
    key: Key = ()
    for step in steps:
        key = (*key, step_fingerprint(step))
        keys.append(key)
    return keys


class SharedPipelines:
    """Fitted sklearn Pipelines (raw texts in, `predict_proba` out) that share their common steps."""

    def __init__(self, pipelines: Mapping[str, Any]) -> None:
        from appeals.nlp import adopt_morph_tables

        self.pipelines = dict(pipelines)
        for pipeline in self.pipelines.values():
            adopt_morph_tables(pipeline)  # the training texts' word forms: fewer pymorphy3 parses
        fingerprints: dict[int, str] = {}  # the same object in several pipelines is hashed once
        self.keys: dict[str, list[Key]] = {}
        for name, pipeline in self.pipelines.items():
            key: Key = ()
            keys = []
            for _, step in pipeline.steps[:-1]:
                if id(step) not in fingerprints:
                    fingerprints[id(step)] = step_fingerprint(step)
                key = (*key, fingerprints[id(step)])
                keys.append(key)
            self.keys[name] = keys

    def predict_proba(self, texts: list[str], known: Mapping[Key, Any] | None = None) -> dict[str, np.ndarray]:
        """Per pipeline, `predict_proba(texts)`; `known` holds outputs already computed for these
        texts, by the key of the steps that produced them (see `chain_keys`)."""
        cache: dict[Key, Any] = dict(known or {})
        out = {}
        for name, pipeline in self.pipelines.items():
            data: Any = texts
            for (_, step), key in zip(pipeline.steps[:-1], self.keys[name], strict=True):
                if key not in cache:
                    cache[key] = fast_transform(step, data)
                data = cache[key]
            out[name] = pipeline.steps[-1][1].predict_proba(data)
        return out


def fast_transform(step: Any, data: Any) -> Any:
    """`step.transform(data)` where `step` is a fitted FeatureUnion or Pipeline, without scikit-learn's
    per-call machinery around their members (joblib's Parallel with a configuration context per member,
    metadata routing): about 0.8 ms of a 3 ms feature union for one appeal here. The members' own
    `transform` and the union's `_hstack` are scikit-learn's, called in the same order with the same
    weights; a union with n_jobs set, and any other step, goes through `step.transform` itself. A missing
    step (None, "passthrough") hands `data` on unchanged."""
    from sklearn.pipeline import FeatureUnion, Pipeline

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return data
    if type(step) is FeatureUnion and step.n_jobs is None:
        parts = []
        for _name, member, weight in step._iter():
            result = fast_transform(member, data)
            parts.append(result if weight is None else result * weight)
        return step._hstack(parts) if parts else step.transform(data)
    if type(step) is Pipeline:
        for _name, member in step.steps:
            data = fast_transform(member, data)
        return data
    return step.transform(data)


def pipeline_proba(pipeline: Any, data: Any) -> np.ndarray:
    """`pipeline.predict_proba(data)` for a fitted Pipeline: its steps through `fast_transform`, and a
    final LogisticRegression's probabilities from `appeals.models.linear_scores` with the same arithmetic
    as scikit-learn's (the logistic function for two classes, softmax for more), without the input checks
    that cost about 0.25 ms each. Anything else goes through `pipeline.predict_proba` itself."""
    from scipy.special import expit
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.utils.extmath import softmax

    from appeals.models import linear_scores

    if type(pipeline) is not Pipeline:
        return np.asarray(pipeline.predict_proba(data))
    for _name, step in pipeline.steps[:-1]:
        data = fast_transform(step, data)
    final = pipeline.steps[-1][1]
    if type(final) is not LogisticRegression:
        return np.asarray(final.predict_proba(data))
    decision = linear_scores(final, data)
    if len(final.classes_) <= 2:
        positive = expit(decision, out=decision)
        return np.stack([1 - positive, positive], axis=1)
    return np.asarray(softmax(decision, copy=False))


def prepare_texts(texts: list[str]) -> dict[str, list[str]]:
    """What the champions' leading steps compute, done once: `cleaned` (clean_text) and `rule_masked`
    (mask_many(ner=False) of the cleaned texts), for `prepared_steps` and the urgency model."""
    from appeals.masking import mask_many
    from appeals.text import clean_text

    cleaned = [clean_text(t) for t in texts]
    return {"cleaned": cleaned, "rule_masked": mask_many(cleaned, ner=False)}


def prepared_steps(prepared: Mapping[str, list[str]] | None) -> dict[Key, list[str]]:
    """The outputs of the pipelines' leading clean -> rule-mask steps, keyed as `SharedPipelines` keys
    them, when the caller has computed them already (`prepare_texts`)."""
    if not prepared:
        return {}
    clean, mask = _prepared_keys()
    return {clean: list(prepared["cleaned"]), mask: list(prepared["rule_masked"])}


@lru_cache(maxsize=1)
def _prepared_keys() -> list[Key]:
    """The keys of the clean -> rule-mask steps (their fingerprints depend on nothing fitted)."""
    from appeals.features import CleanTransformer, MaskTransformer

    return chain_keys([CleanTransformer(), MaskTransformer(ner=False)])
