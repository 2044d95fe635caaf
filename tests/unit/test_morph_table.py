"""The word-form table stored with fitted models: pymorphy3's answers, consulted before pymorphy3."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
from sklearn.pipeline import FeatureUnion, Pipeline

from appeals import gazetteer, names, nlp, places
from appeals.features import CleanTransformer, LemmaTransformer
from appeals.masking import mask_many, shadow
from appeals.names import find_names
from appeals.nlp import MorphTable, adopt_morph_tables, lemmatize

TRAIN = [
    "Иванов Пётр Сергеевич просит убрать снег во дворе дома на улице Ленина",
    "пишет петрова татьяна юрьевна: в подъезде не горит свет уже неделю",
    "Врач Кузнецова не принимает пациентов, запись закрыта",
    "Когда отремонтируют дороги в Лысьве? Ямы повсюду",
]


def _clear_caches() -> None:
    for func in (nlp.lemma_of, nlp.lemmatize, names.name_tags, gazetteer.geo_lemma, places._places_default):
        func.cache_clear()


@pytest.fixture
def fresh_tables() -> Iterator[None]:
    """Each test starts and ends with no adopted table and empty caches."""
    known = (nlp.KNOWN_LEMMAS, nlp.KNOWN_NAME_TAGS, nlp.KNOWN_GEO_LEMMAS)
    saved = [dict(table) for table in known], list(nlp._ADOPTED_TABLES)
    for table in known:
        table.clear()
    nlp._ADOPTED_TABLES.clear()
    _clear_caches()
    yield
    for table, before in zip(known, saved[0], strict=True):
        table.clear()
        table.update(before)
    nlp._ADOPTED_TABLES[:] = saved[1]
    _clear_caches()


def _no_pymorphy(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("pymorphy3 was asked about a word the table holds")

    monkeypatch.setattr(nlp, "get_morph", refuse)
    monkeypatch.setattr(names, "get_morph", refuse)
    monkeypatch.setattr(gazetteer, "get_morph", refuse)


def _table() -> tuple[MorphTable, list[str], list[str]]:
    cleaned = CleanTransformer().transform(TRAIN)
    masked = mask_many(cleaned, ner=False)
    return MorphTable.build(cleaned, masked), cleaned, masked


def test_an_adopted_table_answers_as_pymorphy3_without_asking_it(fresh_tables, monkeypatch) -> None:
    table, cleaned, masked = _table()
    lemmas = [lemmatize(t) for t in masked]
    spans = [find_names(shadow(t)) for t in cleaned]
    found = [places.extract_places(t) for t in masked]
    assert found[3].municipality == "лысьва"
    assert spans[0] and spans[1], "the name rules found the names (the table must serve them)"
    assert table.lemmas["подъезде"] == "подъезд" and table.lemmas["отремонтируют"] == "отремонтировать"
    assert "Петр" not in table.lemmas, "lemmas are of the masked texts: no masked name"
    assert {"Кузнецова", "петрова", "татьяна", "юрьевна"} <= set(table.name_tags)
    table = pickle.loads(pickle.dumps(table))  # as stored with a model
    _clear_caches()
    table.adopt()
    _no_pymorphy(monkeypatch)
    assert [lemmatize(t) for t in masked] == lemmas
    assert [find_names(shadow(t)) for t in cleaned] == spans
    assert table.geo_lemmas["Лысьве"] == "лысьва"
    assert [places.extract_places(t) for t in masked] == found


def test_forms_outside_the_table_still_go_to_pymorphy3(fresh_tables, monkeypatch) -> None:
    table, _cleaned, _masked = _table()
    _clear_caches()
    table.adopt()
    assert lemmatize("Сломались качели") == "сломаться качели"
    _no_pymorphy(monkeypatch)
    with pytest.raises(AssertionError, match="pymorphy3 was asked"):
        lemmatize("Протекает крыша")


def test_the_most_frequent_forms_are_kept() -> None:
    table = MorphTable.build(["Яма яма яма дорога", "Дорога"], ["яма яма яма дорога", "Дорога"], max_forms=2)
    assert set(table.lemmas) == {"яма", "дорога"}
    assert set(table.name_tags) == {"Дорога", "Яма"}


def test_tables_are_found_in_pipelines_unions_and_blends(fresh_tables) -> None:
    from appeals.ensemble import Blend

    table, _cleaned, _masked = _table()
    union = FeatureUnion([("word", Pipeline([("lemma", LemmaTransformer())]))])
    union.morph_table_ = table
    pipeline = Pipeline([("clean", CleanTransformer()), ("features", union), ("classifier", "passthrough")])
    blend = Pipeline([("clean", CleanTransformer()), ("classifier", Blend([pipeline], [1.0], [None], ["a"]))])
    assert adopt_morph_tables(pipeline) == 1
    assert adopt_morph_tables(blend) == 1
    assert adopt_morph_tables(Pipeline([("clean", CleanTransformer())])) == 0
    assert nlp.KNOWN_LEMMAS["подъезде"] == "подъезд"
    assert len(nlp._ADOPTED_TABLES) == 1 and nlp._ADOPTED_TABLES[0] is table, "a table is adopted once"
    copy = pickle.loads(pickle.dumps(pipeline))  # another model file of the same training run
    assert copy.named_steps["features"].morph_table_ is not table
    assert adopt_morph_tables(copy) == 1
    assert copy.named_steps["features"].morph_table_ is table, "an equal table is shared, not kept twice"
    assert len(nlp._ADOPTED_TABLES) == 1 and nlp._ADOPTED_TABLES[0] is table
