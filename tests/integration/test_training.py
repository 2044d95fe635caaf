"""The training workflow end to end on the demo data: MLflow runs, registry, promotion, batch scoring."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from appeals.registry import CHAMPION, MODEL_NAMES, Gates

pytestmark = pytest.mark.slow

TEXTS = [
    "Во дворе дома 12 по ул. Садовой третью неделю не вывозят мусор, контейнеры переполнены.",
    "Не могу записаться к терапевту в поликлинику, телефон регистратуры 8 912 345-67-89 не отвечает.",
    "На перекрёстке у рынка не работает светофор, машины едут как попало.",
]


def test_every_task_is_registered_and_promoted(demo_registry) -> None:
    from appeals.registry import champion_version

    for task in demo_registry.config.tasks:
        result, version = demo_registry.results[task]
        assert version is not None
        assert champion_version(task) == version
        assert result.test_metrics["accuracy"] > 0.5  # demo data is easy; a broken pipeline is not


@pytest.mark.parametrize("task", ["topic", "topic_group", "department"])
def test_champion_reloads_with_identical_probabilities(demo_registry, task: str) -> None:
    import mlflow.sklearn

    from appeals.registry import load_champion

    trained = demo_registry.results[task][0].pipeline
    loaded, _version = load_champion(task)
    by_alias = mlflow.sklearn.load_model(f"models:/{MODEL_NAMES[task]}@{CHAMPION}")
    expected = trained.predict_proba(TEXTS)
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), expected)
    np.testing.assert_array_equal(by_alias.predict_proba(TEXTS), expected)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-9)
    assert list(loaded.classes_) == list(trained.classes_)


def test_pipeline_takes_raw_text_and_a_text_table(demo_registry) -> None:
    from appeals.registry import load_champion

    model, _ = load_champion("topic")
    assert [name for name, _ in model.steps[:2]] == ["clean", "mask"]
    raw = ["<p>'Не вывозят&nbsp;мусор во дворе</p>"]
    np.testing.assert_allclose(model.predict_proba(raw),
                               model.predict_proba(["Не вывозят мусор во дворе"]))
    np.testing.assert_allclose(model.predict_proba(pd.DataFrame({"text": TEXTS})), model.predict_proba(TEXTS))


def test_promotion_refuses_a_model_below_a_gate(demo_registry) -> None:
    from appeals.registry import champion_version, promote

    before = champion_version("topic")
    decision = promote("topic", Gates(min_accuracy=1.01), version=before)
    assert not decision.promoted
    assert any("test_accuracy" in reason and "below the gate" in reason for reason in decision.reasons)
    assert "NOT promoted" in decision.describe()
    assert champion_version("topic") == before


def test_run_records_data_split_commit_and_reports(demo_registry) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(demo_registry.tracking_uri)
    version = demo_registry.results["department"][1]
    mv = client.get_model_version(MODEL_NAMES["department"], version)
    run = client.get_run(mv.run_id)
    assert run.data.tags["dataset"] == "demo" and len(run.data.tags["dataset_hash"]) == 64
    assert run.data.tags["git_commit"]
    assert {"test_accuracy", "test_macro_f1", "test_ece", "val_accuracy", "test_routing_share"} <= set(
        run.data.metrics)
    reports = {a.path for a in client.list_artifacts(mv.run_id, "reports")}
    assert reports == {"reports/department_confusion.png", "reports/department_per_class_report.csv"}
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"config.json", "split_manifest.json"} <= names
    candidates = client.search_runs([run.info.experiment_id], "tags.kind = 'candidate'")
    assert {r.data.tags["family"] for r in candidates} >= {"tfidf_svm", "lemma_svm"}


def test_predict_command_writes_the_contract(demo_registry, tmp_path) -> None:
    from typer.testing import CliRunner

    from appeals.cli import build_app

    source = tmp_path / "in.csv"
    pd.DataFrame({"id": ["a-1", "a-2", "a-3"], "text": TEXTS}).to_csv(source, index=False)
    target = tmp_path / "out.csv"
    result = CliRunner().invoke(build_app(), ["predict", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(target)
    assert list(scored["id"]) == ["a-1", "a-2", "a-3"]
    for task in ("topic", "topic_group", "department"):
        assert scored[task].notna().all()
        assert scored[f"{task}_proba"].between(0, 1).all()
    top3 = json.loads(scored.loc[0, "topic_top3"])
    assert len(top3) == 3 and top3[0][0] == scored.loc[0, "topic"]
    assert {"urgency", "urgency_proba", "deadline"} <= set(scored.columns)


def test_promote_command_explains_a_refusal(demo_registry, tmp_path) -> None:
    from typer.testing import CliRunner

    from appeals.cli import build_app

    strict = tmp_path / "strict.toml"
    lines = [f'name = "{demo_registry.config.name}"', 'tasks = ["topic"]', "[families.tfidf_svm]",
             "[gates.topic]", "min_macro_f1 = 1.5"]
    strict.write_text("\n".join(lines), encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["promote", "--config", str(strict)])
    assert result.exit_code == 1
    assert "NOT promoted" in result.output
    assert "test_macro_f1" in result.output and "below the gate" in result.output


def test_batch_scoring_in_processes_equals_each_pipeline(demo_registry) -> None:
    """predict_frame (shared cleaning and masking, worker processes) gives what each pipeline gives."""
    from appeals.config import project_root
    from appeals.predict import load_champions, predict_frame

    demo = pd.read_csv(project_root() / "data" / "demo_appeals.csv").head(450)
    models = load_champions()
    one = predict_frame(demo, models, batch_size=128, jobs=1)
    two = predict_frame(demo, models, batch_size=128, jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert list(one["id"]) == list(demo["id"])
    for task, (pipeline, _version) in models.items():
        proba = pipeline.predict_proba(list(demo["text"]))
        np.testing.assert_allclose(one[f"{task}_proba"], np.round(proba.max(axis=1), 4), atol=1e-9)
        assert list(one[task]) == list(pipeline.classes_[proba.argmax(axis=1)])


def test_a_champion_whose_files_are_gone_gets_a_readable_error(demo_registry, monkeypatch) -> None:
    """The registry still lists the version but its artifact folder was deleted (or not copied along)."""
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    from appeals.registry import RegistryError, load_champion

    def gone(uri: str) -> None:
        raise MlflowException("No such artifact: ''")

    monkeypatch.setattr(mlflow.sklearn, "load_model", gone)
    with pytest.raises(RegistryError, match=r"appeals-topic version \d+ is registered in .* its files could not be read"):
        load_champion("topic")


def test_candidates_fitted_in_worker_processes_equal_those_of_one_process(monkeypatch) -> None:
    """fit_candidates with two workers (forced on the small demo data): the same candidates, the same
    validation probabilities, in the same order."""
    from appeals import training
    from appeals.training_data import load_frame, make_parts
    from tests.integration.conftest import fast_demo_config

    config = fast_demo_config()
    parts = make_parts(load_frame(config.data, None), config.data)
    sets = training.fit_feature_sets(config, parts, lambda _m: None)
    one = training.fit_candidates(config, parts, sets, lambda _m: None, jobs=1)
    monkeypatch.setattr(training, "PARALLEL_MIN_ROWS", 0)
    said: list[str] = []
    two = training.fit_candidates(config, parts, sets, said.append, jobs=2)
    assert said[0].startswith("fitting ") and "in 2 worker processes" in said[0]
    assert {t: list(c) for t, c in one.items()} == {t: list(c) for t, c in two.items()}
    for task, cands in one.items():
        for name, cand in cands.items():
            other = two[task][name]
            assert list(cand.classes) == list(other.classes)
            np.testing.assert_array_equal(cand.val_proba, other.val_proba)
            assert cand.val_metrics == other.val_metrics


def test_feature_unions_carry_the_word_forms_of_the_training_part_only() -> None:
    """The word-form table stored with the models (appeals.nlp.MorphTable) is built from the training
    texts: a form only the test part holds is not in it, so no scoring of test texts is warmed by it."""
    from appeals import training
    from appeals.nlp import MorphTable, tokens
    from appeals.training_data import load_frame, make_parts
    from tests.integration.conftest import fast_demo_config

    config = fast_demo_config()
    parts = make_parts(load_frame(config.data, None), config.data)
    sets = training.fit_feature_sets(config, parts, lambda _m: None)
    tables = {id(s.union.morph_table_): s.union.morph_table_ for s in sets.values()}
    assert len(tables) == 1, "one table, shared by every union of the run"
    table = next(iter(tables.values()))
    assert isinstance(table, MorphTable) and table.lemmas and table.name_tags
    train_forms = {tok for text in training.masked_texts(parts.train) for tok in tokens(text)}
    test_only = {tok for text in training.masked_texts(parts.test) for tok in tokens(text)} - train_forms
    assert set(table.lemmas) <= train_forms
    assert test_only and not test_only & set(table.lemmas)
