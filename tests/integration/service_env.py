"""A self-contained service environment for the service tests: demo-trained models saved as MLflow
models and imported into a temporary BentoML model store, a temporary appeal store and test keys.

Trained once per test process (both service test modules share it). The models are small on purpose
(word TF-IDF + logistic regression, and the project's urgency model): the tests check the
service's behaviour, not model quality.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PORTAL_KEY = "test-portal-key-0123456789"
OPERATOR_KEY = "test-operator-key-0123456789"


def _text_pipeline() -> object:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from appeals.features import CleanTransformer

    return make_pipeline(CleanTransformer(), TfidfVectorizer(min_df=2, max_features=4000, sublinear_tf=True),
                         LogisticRegression(max_iter=300, C=10.0))


def _train_and_import(home: Path) -> None:
    """Fit the four models on the demo data, save them as MLflow models, import them into BentoML."""
    import mlflow.sklearn
    from threadpoolctl import threadpool_limits

    from appeals.bento_models import import_mlflow_model
    from appeals.classifier import topic_group_map
    from appeals.datasets import load_any
    from appeals.registry import pip_requirements
    from appeals.urgency import UrgencyModel

    frame = load_any("demo").frame
    limit_threads = threadpool_limits(1)  # OpenBLAS threads fighting over 2 shared cores: 8x slower fits
    for task in ("topic", "topic_group", "department", "urgency"):
        model: Any
        if task == "urgency":
            model = UrgencyModel(classifier_params={"min_df": 2, "max_features": 4000})
            sample = frame.iloc[::3]  # the rules are slow to fit on; a third of the demo is plenty here
            model.fit(sample[["text", "created_at"]], sample[task].tolist())
        else:
            model = _text_pipeline()
            model.fit(frame["text"].tolist(), frame[task].tolist())
        path = home / "mlflow-models" / task
        mlflow.sklearn.save_model(model, str(path), pip_requirements=pip_requirements(),
                                  serialization_format="cloudpickle")
        import_mlflow_model(task, str(path), "1", {"test_accuracy": 0.5},
                            topic_group_map(frame) if task == "topic" else None)
    limit_threads.restore_original_limits()


def environment(home: Path) -> dict[str, str]:
    """The variables a test service runs with (also handed to a `bentoml serve` subprocess).

    TMPDIR: BentoML's worker makes a temporary folder that only a clean shutdown removes; tests that
    kill the server would otherwise leave one in /tmp each time. Here it goes with `home`."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return {
        "TMPDIR": str(home / "tmp"),
        "APPEALS_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "BENTOML_HOME": str(home / "bentoml"),
        "APPEALS_DB_URL": f"sqlite:///{home / 'appeals.db'}",
        "APPEALS_API_KEYS": f"portal:{PORTAL_KEY},operator:{OPERATOR_KEY}",
        "APPEALS_API_KEYS_FILE": str(home / "no-key-file.txt"),
        "BENTOML_DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


@lru_cache(maxsize=1)
def _trained_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="appeals-service-test-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    with _bentoml_home(home):
        _train_and_import(home)
    return home


@contextmanager
def _bentoml_home(home: Path) -> Iterator[None]:
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models import ModelStore

    (home / "bentoml" / "models").mkdir(parents=True, exist_ok=True)
    with BentoMLContainer.bentoml_home.patch(str(home / "bentoml")), \
            BentoMLContainer.model_store.patch(ModelStore(str(home / "bentoml" / "models"))):
        yield


@contextmanager
def service_env() -> Iterator[Path]:
    """Inside: the environment of a test service with demo-trained models (trained once per process)."""
    home = _trained_home()
    saved = {k: os.environ.get(k) for k in environment(home)}
    os.environ.update(environment(home))
    try:
        with _bentoml_home(home):
            yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_batches_until(url: str, stop: threading.Event, body_of: Callable[[int], dict], answered: list[str],
                       cut: list[int], timeout: float = 60) -> None:
    """POST /classify_batch bodies `body_of(0)`, `body_of(1)`, ... until `stop` is set: the ids of every
    answered batch go to `answered`; the number of a batch a connection error cut off goes to `cut`,
    and the loop ends there (the server is being killed)."""
    import httpx

    n = 0
    with httpx.Client(timeout=timeout) as client:
        while not stop.is_set():
            try:
                r = client.post(f"{url}/classify_batch", json=body_of(n), headers={"X-API-Key": PORTAL_KEY})
            except httpx.HTTPError:
                cut.append(n)
                return
            if r.status_code == 200:
                answered.extend(a["id"] for a in r.json())
            n += 1


def kill_family(process: subprocess.Popen) -> None:
    """SIGKILL `appeals serve` and every process below it (BentoML's workers start their own sessions)."""
    import psutil

    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(family, timeout=10)


def read_until_ready(process: subprocess.Popen, out_path: Path, timeout: float = 90) -> str:
    """What `appeals serve` printed once it is ready (its curl example is the last thing it prints)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        printed = out_path.read_text(encoding="utf-8", errors="replace")
        if "\ncurl " in printed or printed.startswith("curl "):
            return printed
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"appeals serve was not ready: {out_path.read_text(errors='replace')[-2000:]}")


@dataclass
class Served:
    """A running `appeals serve --no-import`: its process, URL, store URL and log files."""

    process: subprocess.Popen
    url: str
    db: str
    stdout: Path
    stderr: Path
    printed: str

    def logs(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace") + \
            self.stderr.read_text(encoding="utf-8", errors="replace")


@contextmanager
def served(home: Path, folder: Path, **env_overrides: str) -> Iterator[Served]:
    """`appeals serve --no-import` in its own process group with the test environment of `home`, its
    store in `folder` (unless APPEALS_DB_URL is overridden), logs in files (pipes could block it)."""
    port = free_port()
    env = {**os.environ, **environment(home), "APPEALS_DB_URL": f"sqlite:///{folder / 'appeals.db'}",
           **env_overrides}
    out_path, err_path = folder / f"serve-{port}.out", folder / f"serve-{port}.err"
    command = [str(Path(sys.executable).parent / "appeals"), "serve", "--no-import", "--port", str(port),
               "--ready-timeout", "90"]
    with out_path.open("w") as log, err_path.open("w") as err:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=err, start_new_session=True)
    try:
        printed = read_until_ready(process, out_path, timeout=120)
        yield Served(process, f"http://127.0.0.1:{port}", env["APPEALS_DB_URL"], out_path, err_path, printed)
    finally:
        kill_family(process)
        process.wait(timeout=10)


_APPS: list[Any] = []


def service_app() -> Any:
    """The service's ASGI app, built once per test process: a second `to_asgi()` in one process
    registers BentoML's Prometheus metrics twice and fails."""
    if not _APPS:
        from service.service import AppealsService

        _APPS.append(AppealsService.to_asgi())
    return _APPS[0]
