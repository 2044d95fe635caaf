"""The champions of a real training run travel MLflow -> BentoML model store -> the service's classifier
unchanged: same versions, same answers as the in-process classifier loaded straight from MLflow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.service]

TEXTS = ["Во дворе дома 5 на улице Ленина третий день не вывозят мусор",
         "Не горит фонарь у подъезда, вечером темно и страшно",
         "Прошу отремонтировать яму на дороге возле школы"]


def _promote_small_urgency_model() -> None:
    """The demo config trains topic, group and department; the service also needs an urgency champion."""
    import mlflow
    from mlflow import MlflowClient

    from appeals.datasets import load_any
    from appeals.registry import CHAMPION, log_model, model_name, use_experiment
    from appeals.urgency import UrgencyModel

    frame = load_any("demo").frame.iloc[::4]
    model = UrgencyModel(classifier_params={"min_df": 2, "max_features": 3000})
    model.fit(frame[["text", "created_at"]], frame["urgency"].tolist())
    use_experiment("service-test-urgency")
    with mlflow.start_run():
        mlflow.set_tags({"dataset": "demo", "task": "urgency"})
        version = log_model("urgency", model, frame["text"].tolist()[:5])
    MlflowClient().set_registered_model_alias(model_name("urgency"), CHAMPION, str(version))


@pytest.fixture
def registry_copy(trained_demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's demo registry (its artifacts stay where they are, read only), so the
    urgency champion this test adds is not seen by other tests."""
    import shutil

    home = tmp_path / "registry"
    home.mkdir()
    shutil.copy(trained_demo.home / "mlflow.db", home / "mlflow.db")
    monkeypatch.setenv("APPEALS_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    return home


@pytest.fixture
def bento_store(tmp_path: Path) -> Iterator[Path]:
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models import ModelStore

    (tmp_path / "bentoml" / "models").mkdir(parents=True)
    with BentoMLContainer.bentoml_home.patch(str(tmp_path / "bentoml")), \
            BentoMLContainer.model_store.patch(ModelStore(str(tmp_path / "bentoml" / "models"))):
        yield tmp_path / "bentoml"


def _read_without_mlflow_as_mlflow_reads(folder: Path) -> None:
    """The service reads the pickle itself (MLflow's import was 1.5 s of its start): same model, same
    probabilities; where MLflow would refuse to unpickle, MLflow is asked, and refuses."""
    import mlflow.sklearn
    import numpy as np

    from appeals.bento_models import load_sklearn_model

    ours, theirs = load_sklearn_model(folder), mlflow.sklearn.load_model(str(folder))
    assert type(ours) is type(theirs)
    np.testing.assert_array_equal(ours.predict_proba(TEXTS), theirs.predict_proba(TEXTS))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
        with pytest.raises(Exception, match="MLFLOW_ALLOW_PICKLE_DESERIALIZATION"):
            load_sklearn_model(folder)


def test_champions_travel_through_the_bentoml_store(registry_copy: Path, bento_store: Path) -> None:
    import bentoml
    from mlflow import MlflowClient

    from appeals.api_models import ClassifyRequest, ClassifyResponse
    from appeals.bento_models import import_champions, load_task_model, topic_groups_of
    from appeals.classifier import Classifier, text_steps
    from appeals.registry import champion_version

    _promote_small_urgency_model()
    stored = import_champions()
    _read_without_mlflow_as_mlflow_reads(Path(stored["topic"].path_of("mlflow_model")))
    for task, model in stored.items():
        assert model.info.labels["mlflow_version"] == champion_version(task)
    assert len(bentoml.models.list()) == 4
    import_champions()  # importing again adds nothing
    assert len(bentoml.models.list()) == 4
    _promote_small_urgency_model()  # a new urgency champion, then a rollback to the first one
    newer = import_champions()["urgency"]
    MlflowClient().set_registered_model_alias("appeals-urgency", "champion", stored["urgency"].info.labels[
        "mlflow_version"])
    rolled_back = import_champions()["urgency"]
    assert bentoml.models.get("appeals-urgency:latest").tag == rolled_back.tag != newer.tag

    served = Classifier({t: load_task_model(t, m) for t, m in stored.items()},
                        topic_groups=topic_groups_of(stored["topic"]))
    local = Classifier.from_registry()
    assert served.topic_groups, "the topic -> group map of the training data travelled with the model"
    metric = stored["topic"].info.metadata["metrics"].get("test_routing_threshold")
    if metric is not None:
        assert served.thresholds["topic"] == pytest.approx(metric)
    assert text_steps(served.models["topic"].pipeline) > 0  # clean + rule masking lead the pipelines
    prediction = served.predict(TEXTS, [None] * len(TEXTS))  # shared text steps run once
    for task in ("topic", "topic_group", "department"):
        whole = served.models[task].pipeline.predict_proba(TEXTS)
        assert prediction.probas[task] == pytest.approx(whole), task
    requests = [ClassifyRequest(text=t) for t in TEXTS]
    a, b = served.classify(requests), local.classify(requests)
    for answer in a:  # answers are built without pydantic's checks: validating them changes nothing
        assert ClassifyResponse.model_validate(answer.model_dump()) == answer
        assert ClassifyResponse.model_validate_json(answer.model_dump_json()) == answer
    for x, y in zip(a, b, strict=True):
        assert (x.topic, x.topic_group, x.department.label, x.urgency.level) == (
            y.topic, y.topic_group, y.department.label, y.urgency.level)
        assert x.model_versions == y.model_versions
