"""Integration fixtures: the real training workflow on the demo data, into a temporary MLflow store.

`trained_demo` (session) runs `appeals.training.train` once with the demo config restricted to the
cheap families, registers the three models in a temporary sqlite store and promotes them. Tests that
read the registry request `demo_registry`, which points APPEALS_HOME and MLFLOW_TRACKING_URI at that
store for the test's duration.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appeals.config import project_root

DEMO_CONFIG = project_root() / "training" / "configs" / "demo.toml"
FAST_FAMILIES = ("tfidf_svm", "lemma_svm")


@dataclass
class TrainedDemo:
    home: Path
    tracking_uri: str
    config: Any
    results: dict[str, Any]

    def env(self) -> dict[str, str]:
        return {"APPEALS_HOME": str(self.home), "MLFLOW_TRACKING_URI": self.tracking_uri}


def fast_demo_config() -> Any:
    """The demo config with only the cheap families (the test must stay fast)."""
    from appeals.training import load_train_config

    config = load_train_config(DEMO_CONFIG)
    families = {k: v for k, v in config.families.items() if k in FAST_FAMILIES}
    return config.model_copy(update={"families": families})


def _with_env(values: dict[str, str]) -> dict[str, str | None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def trained_demo() -> Iterator[TrainedDemo]:
    """Train, register and promote the three demo models once; yield where they live."""
    from appeals.registry import promote
    from appeals.training import train

    with tempfile.TemporaryDirectory(prefix="appeals-mlflow-") as tmp:
        home = Path(tmp)
        uri = f"sqlite:///{home / 'mlflow.db'}"
        saved = _with_env({"APPEALS_HOME": str(home), "MLFLOW_TRACKING_URI": uri})
        try:
            config = fast_demo_config()
            results = train(config)
            for task in config.tasks:
                promote(task, config.gates_for(task))
        finally:
            _restore(saved)
        yield TrainedDemo(home, uri, config, results)


@pytest.fixture
def demo_registry(trained_demo: TrainedDemo, monkeypatch: pytest.MonkeyPatch) -> TrainedDemo:
    """The trained demo store, made the current one (APPEALS_HOME, MLFLOW_TRACKING_URI) for one test."""
    for key, value in trained_demo.env().items():
        monkeypatch.setenv(key, value)
    return trained_demo


@pytest.fixture(scope="session")
def served_with_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real `appeals serve` whose API keys are in a file of SHA-256 digests only (no plain keys
    anywhere in its environment), with its own SQLite store; for the security and leak tests."""
    from appeals.auth import hash_key
    from tests.integration.service_env import OPERATOR_KEY, PORTAL_KEY, served, service_env

    folder = tmp_path_factory.mktemp("served-key-file")
    keys = folder / "api_keys.txt"
    keys.write_text(f"portal:sha256:{hash_key(PORTAL_KEY)}\noperator:sha256:{hash_key(OPERATOR_KEY)}\n",
                    encoding="utf-8")
    with service_env() as home, served(home, folder, APPEALS_API_KEYS="", APPEALS_API_KEYS_FILE=str(keys)) as app:
        yield app
