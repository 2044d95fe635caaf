"""CharNgramTfidf: scikit-learn's char_wb TF-IDF, counted with numpy, must give the same matrix."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from appeals.char_ngrams import CharNgramTfidf, WordTfidf

TRAIN = [
    "Во дворе дома 5 на улице Ленина третий день не вывозят мусор",
    "Прошу отремонтировать скамейку у подъезда №2, дом 18/2",
    "Подскажите, пожалуйста, когда включат горячую воду?",
    "Нет отопления в квартире, батареи холодные уже неделю!!!",
    "Спасибо дорожникам за быстрый ремонт ямы на ул. Мира",
    "ЁЛКА на площади Ленина упала, ёлку не убирают",
    "сосули висят над тротуаром у дома 7 по Кирова, опасно",
    "Автобус 41 не ходит с утра. Остановка «Рынок»",
]
TEST = [
    "",
    "   \t\n ",
    "я",
    "Ёлка  ёлка\tЁЛКА\nёлка",
    "в подъезде темно 😀😀 и грязно 😀",
    "İstanbul İ ß straße",  # lower() changes the length of «İ»
    "№ 5, д.10/2, кв 7",
    "нбсп\u00a0между\u2003словами",
    "совсем новые слова: кукуруза, жираф",
    *TRAIN,
]


def _same(a: object, b: object) -> bool:
    a, b = a.tocsr(), b.tocsr()  # type: ignore[attr-defined]
    a.sort_indices()
    b.sort_indices()
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))


@pytest.mark.parametrize("params", [
    {"ngram_range": (2, 5), "min_df": 1, "sublinear_tf": True, "dtype": np.float32},
    {"ngram_range": (2, 4), "min_df": 2, "sublinear_tf": True},
    {"ngram_range": (1, 3), "min_df": 1, "max_features": 60},
    {"ngram_range": (3, 3), "min_df": 1},
])
def test_the_matrix_is_scikit_learns_to_the_bit(params: dict) -> None:
    ours = CharNgramTfidf(**params).fit(TRAIN)
    theirs = TfidfVectorizer(analyzer="char_wb", **params).fit(TRAIN)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert ours.transform(TEST).nnz > 0
    assert _same(ours.transform(TEST), theirs.transform(TEST))
    assert _same(ours.transform(TRAIN), theirs.transform(TRAIN))
    # fitting is scikit-learn's own
    assert _same(clone(ours).fit_transform(TRAIN), clone(theirs).fit_transform(TRAIN))


def test_a_pickled_model_drops_its_lookup_table_and_scores_alike() -> None:
    model = CharNgramTfidf(ngram_range=(2, 4)).fit(TRAIN)
    before = model.transform(TEST)
    assert getattr(model, "_packed_", None) is not None
    again = pickle.loads(pickle.dumps(model))
    assert getattr(again, "_packed_", None) is None
    assert _same(again.transform(TEST), before)


def test_it_behaves_as_an_estimator() -> None:
    model = CharNgramTfidf(ngram_range=(2, 3), min_df=2)
    assert clone(model).get_params()["ngram_range"] == (2, 3) and clone(model).analyzer == "char_wb"
    with pytest.raises(NotFittedError):
        model.transform(TEST)
    with pytest.raises(ValueError, match="string object received"):
        model.fit(TRAIN).transform("одна строка")


def test_n_grams_too_long_to_pack_fall_back_to_scikit_learn() -> None:
    params = {"ngram_range": (2, 12), "min_df": 1}
    ours = CharNgramTfidf(**params).fit(TRAIN)
    assert ours._packed() is None  # 12 characters of a 60-letter alphabet do not fit 63 bits
    assert _same(ours.transform(TEST), TfidfVectorizer(analyzer="char_wb", **params).fit(TRAIN).transform(TEST))


@pytest.mark.parametrize("params", [
    {"sublinear_tf": True, "dtype": np.float32},
    {"ngram_range": (1, 2), "min_df": 1},
    {"norm": None, "use_idf": False},
    {"norm": "l1", "binary": True},  # l1 is left to scikit-learn
    {"token_pattern": r"\S+", "lowercase": False, "smooth_idf": False},
])
def test_word_tfidf_is_scikit_learns_to_the_bit(params: dict) -> None:
    ours = WordTfidf(**params).fit(TRAIN)
    theirs = TfidfVectorizer(**params).fit(TRAIN)
    assert ours.vocabulary_ == theirs.vocabulary_
    for docs in (TEST, TRAIN, TEST[:1]):
        a, b = ours.transform(docs), theirs.transform(docs)
        assert type(a) is type(b) and _same(a, b)
    with pytest.raises(NotFittedError):
        WordTfidf().transform(TEST)
    for model in (ours, theirs):  # no documents: scikit-learn's own error either way
        with pytest.raises(ValueError, match="0 sample"):
            model.transform([])


def test_linear_scores_are_decision_functions_to_the_bit() -> None:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from appeals.models import linear_scores, prune_weights

    X = TfidfVectorizer().fit_transform(TRAIN * 3).tocsr()
    many, two = np.arange(len(TRAIN * 3)) % 3, np.arange(len(TRAIN * 3)) % 2
    models = [LinearSVC().fit(X, many), LinearSVC().fit(X, two), LogisticRegression().fit(X, many),
              prune_weights(LinearSVC().fit(X, many), 20)]
    assert sparse.issparse(models[-1].coef_)
    for model in models:
        for rows in (X, X[:1], X.astype(np.float32), X.astype(np.float32)[:1], X.toarray()):
            try:
                expected = model.decision_function(rows)
            except ValueError as exc:  # float64 rows against float32 pruned weights: the same refusal
                with pytest.raises(ValueError, match=str(exc)[:30]):
                    linear_scores(model, rows)
                continue
            np.testing.assert_array_equal(linear_scores(model, rows), expected)
    with pytest.raises(ValueError, match="features"):  # a matrix of another width still meets scikit-learn's check
        linear_scores(models[0], X[:, :5])


def test_pruned_weights_multiplied_dense_or_sparse_give_the_same_scores(monkeypatch) -> None:
    from sklearn.svm import LinearSVC

    from appeals import models as m

    X = TfidfVectorizer(dtype=np.float32).fit_transform(TRAIN * 3).tocsr()
    labels = np.arange(len(TRAIN * 3)) % 3
    model = m.prune_weights(LinearSVC().fit(X, labels), 20)
    dense = m.linear_scores(model, X)
    assert model in m._DENSE_COEF, "small pruned weights are kept dense"
    monkeypatch.setattr(m, "DENSE_COEF_BYTES", 0)
    np.testing.assert_array_equal(m.linear_scores(model, X), dense)
    monkeypatch.undo()
    m.prune_weights(model.fit(X, labels[::-1].copy()), 20)  # refitted: the dense copy is made again
    np.testing.assert_array_equal(m.linear_scores(model, X), model.decision_function(X))


@pytest.mark.parametrize("extra", ["", "дом 😀 горит 😀"])
def test_both_alphabet_lookups_give_scikit_learns_matrix(extra: str) -> None:
    # Below U+10000 the characters are looked up in a table; an emoji in the vocabulary needs the
    # binary search over the alphabet instead.
    train = [*TRAIN, extra] if extra else TRAIN
    ours = CharNgramTfidf(ngram_range=(2, 4)).fit(train)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(train)
    packed = ours._packed()
    assert packed is not None and (packed.table is None) == bool(extra)
    assert _same(ours.transform(TEST), theirs.transform(TEST))


def test_a_batch_large_enough_for_the_hash_lookup_gives_scikit_learns_matrix() -> None:
    from appeals import char_ngrams

    docs = [f"{text} {i}" for i in range(60) for text in TEST]
    ours = CharNgramTfidf(ngram_range=(2, 5)).fit(TRAIN)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).fit(TRAIN)
    assert sum(len(d) for d in docs) > 2 * char_ngrams._HASH_FROM  # the hash index serves this batch
    assert _same(ours.transform(docs), theirs.transform(docs))
    assert _same(ours.transform(docs[:1]), theirs.transform(docs[:1]))  # the binary search one appeal
