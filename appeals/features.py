"""scikit-learn transformers for the project's own text preprocessing, so a fitted pipeline takes raw text.

Every fitted model starts with `CleanTransformer` then `MaskTransformer`: the service hands the model
the raw text and the model cleans and masks it itself (no train/serve skew, and no model can memorise
a phone number). The language tools (lemmas, navec vectors, places) come from appeals.nlp and
appeals.places; they are imported lazily and nothing heavy is kept inside the fitted objects, so the
artifacts stay small and serialise with skops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from appeals.text import clean_text


def as_texts(X: Any) -> list[str]:
    """Texts from a list/array/Series of strings or a DataFrame with a `text` column (MLflow pyfunc)."""
    if hasattr(X, "columns"):
        if "text" not in X.columns:
            raise ValueError(f"the input table needs a 'text' column; it has {list(X.columns)}")
        X = X["text"]
    if isinstance(X, str):
        raise TypeError("expected a list of texts, got one string; wrap it in a list")
    return ["" if t is None else str(t) for t in X]


class RawTextStep(TransformerMixin, BaseEstimator):
    """A step that takes a list of raw texts (not a 2-D array) and needs no fitting, as sklearn's
    tags should say."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


class TextTransformer(RawTextStep):
    """A stateless text -> text step; subclasses define `apply_many`."""

    def fit(self, X: Any, y: Any = None) -> TextTransformer:
        return self

    def transform(self, X: Any) -> list[str]:
        return self.apply_many(as_texts(X))

    def apply_many(self, texts: list[str]) -> list[str]:
        raise NotImplementedError


class CleanTransformer(TextTransformer):
    """appeals.text.clean_text on every text (HTML, Excel apostrophe, spaces, control characters)."""

    def apply_many(self, texts: list[str]) -> list[str]:
        return [clean_text(t) for t in texts]


class MaskTransformer(TextTransformer):
    """Personal data replaced by typed placeholders ([ТЕЛЕФОН], [ФИО], ...) by appeals.masking.

    `ner=False` (the default inside models) uses the masking rules only: phones, e-mails, links,
    documents, private addresses and rule-found names, about 1,000 texts/s against about 200/s with
    natasha's NER. That is enough to keep a model from memorising personal data; texts that are
    stored or shown are masked with NER by the service.
    """

    def __init__(self, ner: bool = False) -> None:
        self.ner = ner

    def apply_many(self, texts: list[str]) -> list[str]:
        from appeals.masking import mask_many

        return list(mask_many(texts, ner=self.ner))


class LemmaTransformer(TextTransformer):
    """Lower-case lemmas joined by spaces (appeals.nlp.lemmatize_many, pymorphy3 with a cache)."""

    def apply_many(self, texts: list[str]) -> list[str]:
        from appeals.nlp import lemmatize_many

        return list(lemmatize_many(texts))


class PlaceTransformer(TextTransformer):
    """Places named in the text as tokens `municipality=…`, `district=…`, `street=…` (appeals.places).

    The output feeds a binary CountVectorizer, so the department model can learn which places belong
    to which body.
    """

    def apply_many(self, texts: list[str]) -> list[str]:
        from appeals.places import extract_places_many

        return [" ".join(p.features()) or "place=none" for p in extract_places_many(texts)]


class NavecTransformer(RawTextStep):
    """Mean of natasha's navec vectors over the lower-case words of the text, L2-normalised.

    The 250k x 300 table is loaded once per process by appeals.nlp.get_navec and never stored in the
    fitted model.
    """

    def __init__(self, dim: int = 300) -> None:
        self.dim = dim

    def fit(self, X: Any, y: Any = None) -> NavecTransformer:
        return self

    def transform(self, X: Any) -> np.ndarray:
        from appeals.nlp import navec_table

        texts = [list(_words(t)) for t in as_texts(X)]
        table = navec_table(w for words in texts for w in words)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, words in enumerate(texts):
            vectors = [table[w] for w in words if w in table]
            if vectors:
                mean = np.mean(vectors, axis=0)
                out[row] = mean / (np.linalg.norm(mean) or 1.0)
        return out


def _words(text: str) -> Iterable[str]:
    for token in text.lower().replace("ё", "е").split():
        word = token.strip(".,:;!?()«»\"'-—[]")
        if word:
            yield word


# Fitted source models for TransferTransformer, one per (config name, task) and process: they do not
# depend on the data being fitted, so the folds of a cross-validation share one.
_SOURCE_MODELS: dict[tuple[str, str], Any] = {}


def source_model(source: str, task: str, data_dir: Any = None) -> Any:
    """The `task` model of training/configs/`source`.toml (its lemma_svm family, calibrated on its
    validation part, no refit), fitted on that config's data the first time it is asked for."""
    key = (source, task)
    if key not in _SOURCE_MODELS:
        from appeals.config import data_dir as default_data_dir
        from appeals.config import project_root
        from appeals.datasets import LoadError
        from appeals.training import fit_tasks, load_train_config, single_model_config
        from appeals.training_data import load_frame, make_parts

        config = load_train_config(project_root() / "training" / "configs" / f"{source}.toml")
        config = single_model_config(config, task).model_copy(update={"confidence_map": False})
        folder = data_dir if data_dir is not None else default_data_dir()
        try:
            frame = load_frame(config.data, folder)
        except LoadError as error:
            raise LoadError(f"transfer source {source!r} (a family's transfer_source): {error}") from None
        parts = make_parts(frame, config.data.model_copy(update={"save_manifest": False}))
        _SOURCE_MODELS[key] = fit_tasks(config, parts)[task].pipeline
    return _SOURCE_MODELS[key]


class TransferTransformer(RawTextStep):
    """Another dataset's model as features: the probabilities of its classes (Perm's 26 topic groups,
    fitted on 12,700 appeals) for each text. A region with a few thousand labelled appeals borrows
    what a larger one learnt; the source model is fitted on its own data only, so nothing of the
    target's test part reaches it. Input: cleaned and masked texts (the source model's own cleaning
    and masking steps are skipped, as the pipeline has done them)."""

    def __init__(self, source: str = "perm", task: str = "topic_group") -> None:
        self.source = source
        self.task = task

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = True  # it holds the fitted source model
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def fit(self, X: Any, y: Any = None) -> TransferTransformer:
        self.model_ = source_model(self.source, self.task)
        return self

    def transform(self, X: Any) -> np.ndarray:
        after_preprocessing = self.model_[2:]  # features and classifier; clean and mask are done
        return np.asarray(after_preprocessing.predict_proba(as_texts(X)), dtype=np.float32)
