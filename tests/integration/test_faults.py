"""Faults injected into a real `appeals serve` process: the worker killed mid-batch, the store's disk
full, the database stopped, the model files damaged or removed. Each case either keeps serving or
refuses with a clear 503 and a readiness probe that says not ready; after recovery every appeal that
was answered is stored, and nothing is stored twice (ids are idempotent)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.service_env import (
    OPERATOR_KEY,
    PORTAL_KEY,
    ROOT,
    Served,
    environment,
    post_batches_until,
    served,
    service_env,
)

pytestmark = [pytest.mark.service, pytest.mark.slow]
PORTAL = {"X-API-Key": PORTAL_KEY}
TEXT = "Не вывозят мусор во дворе дома {k}, контейнеры переполнены, запах на весь двор"


def batch(prefix: str, n: int) -> dict[str, Any]:
    return {"appeals": [{"id": f"{prefix}-{i}", "text": TEXT.format(k=i)} for i in range(n)]}


def wait_for(url: str, status: int, timeout: float = 60) -> float:
    """Seconds until GET url answers `status` (connection errors count as not yet)."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == status:
                return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} within {timeout:.0f} s")


def stored_ids(db_url: str, prefix: str) -> list[str]:
    """Every stored id starting with `prefix`, duplicates kept (there must be none)."""
    from sqlalchemy import select

    from appeals.store import appeals_table, make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(select(appeals_table.c.id).where(appeals_table.c.id.startswith(prefix))))
    finally:
        engine.dispose()


def assert_refused_clearly(response: Any, *words: str) -> None:
    """A 503 with our JSON reason and Retry-After, not BentoML's generic 'unexpected error'."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["reason"] == "store_unavailable" and "not stored" in body["error"], body
    assert all(w in body["error"].lower() for w in words), body["error"]
    assert int(response.headers["retry-after"]) > 0


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    with service_env() as path:
        yield path


@pytest.fixture
def own_models(home: Path, tmp_path: Path) -> Path:
    """A copy of the test BentoML home, so a test may damage its model files."""
    copy = tmp_path / "bentoml"
    shutil.copytree(home / "bentoml", copy)
    return copy


def _post_until_stopped(url: str, worker: int, sent: dict[str, list[str]], answered: list[str],
                        cut: list[str], stop: threading.Event) -> None:
    """Batches named wk-<worker>-<n>, each recorded in `sent` before it goes; cut-off ones by name."""

    def body_of(n: int) -> dict[str, Any]:
        body = batch(f"wk-{worker}-{n}", 25)
        sent[f"wk-{worker}-{n}"] = [a["id"] for a in body["appeals"]]
        return body

    numbers: list[int] = []
    post_batches_until(url, stop, body_of, answered, numbers)
    cut.extend(f"wk-{worker}-{n}" for n in numbers)


def test_killed_worker_is_restarted_and_nothing_answered_is_lost_or_doubled(home: Path, tmp_path: Path) -> None:
    import httpx
    import psutil

    with served(home, tmp_path) as server:
        arbiter = psutil.Process(server.process.pid).children()[0]
        worker = _worker_of(server)
        sent: dict[str, list[str]] = {}
        answered: list[str] = []
        cut: list[str] = []
        stop = threading.Event()
        clients = [threading.Thread(target=_post_until_stopped, args=(server.url, w, sent, answered, cut, stop))
                   for w in range(3)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + 60
        while len(answered) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.kill()  # the worker only: BentoML's arbiter (the server) stays up and starts a new one
        stop.set()
        for c in clients:
            c.join(timeout=70)
        recovery = wait_for(f"{server.url}/readyz", 200, timeout=90)
        assert arbiter.is_running() and _worker_of(server).pid != worker.pid
        assert len(answered) >= 150 and cut, "the kill did not land while batches were in flight"
        stored = stored_ids(server.db, "wk-")
        assert len(stored) == len(set(stored))
        assert not set(answered) - set(stored), "answered appeals are missing after the worker was killed"
        for ids in sent.values():  # a batch is one transaction: all of it stored, or none
            assert len(set(ids) & set(stored)) in (0, len(ids))
        # Every batch again, the cut-off ones included: stored once, the answered ones flagged as known.
        with httpx.Client(timeout=60) as client:
            for name, ids in sent.items():
                r = client.post(f"{server.url}/classify_batch", json=batch(name, len(ids)), headers=PORTAL)
                assert r.status_code == 200, r.text
                assert [a["already_stored"] for a in r.json()] == [i in stored for i in ids]
        again = stored_ids(server.db, "wk-")
        assert sorted(again) == sorted({i for ids in sent.values() for i in ids})
        print(f"\nworker kill: {len(answered)} answered before the kill, {len(cut)} requests cut off, "
              f"ready again after {recovery:.1f} s; {len(again)} appeals stored once each after the resend")


def _worker_of(server: Served) -> Any:
    import psutil

    for proc in psutil.Process(server.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "_bentoml_impl.worker.service" in " ".join(proc.cmdline()):
                return proc
    raise AssertionError("no BentoML worker process found")


@contextlib.contextmanager
def small_disk(size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` (root and mount rights needed; skipped with the reason otherwise)."""
    folder = Path(tempfile.mkdtemp(prefix="appeals-full-disk-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip() or 'mount failed'}): needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def fill(folder: Path) -> Path:
    """Write a file until the disk is full, to the last 512 bytes; return it (delete it to free the space)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 512):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def test_full_disk_refuses_clearly_and_serves_again_once_freed(home: Path, tmp_path: Path) -> None:
    import httpx

    with small_disk(48) as disk, served(home, tmp_path, APPEALS_DB_URL=f"sqlite:///{disk / 'appeals.db'}") as server:
        first = httpx.post(f"{server.url}/classify_batch", json=batch("df-before", 20), headers=PORTAL, timeout=60)
        assert first.status_code == 200
        filler = fill(disk)
        answered, refused = [a["id"] for a in first.json()], []
        for n in range(40):  # the WAL may still hold room for a few writes; sooner or later one must fail
            r = httpx.post(f"{server.url}/classify_batch", json=batch(f"df-full-{n}", 50), headers=PORTAL,
                           timeout=60)
            if r.status_code == 200:
                answered += [a["id"] for a in r.json()]
                continue
            assert_refused_clearly(r, "full")
            refused.append(f"df-full-{n}")
            print(f"\nrefused: {r.json()['error']}")
            break
        assert refused, "the store never refused a write on a full disk"
        single = httpx.post(f"{server.url}/classify", json={"id": "df-one", "text": TEXT.format(k=1)},
                            headers=PORTAL, timeout=60)
        assert_refused_clearly(single, "full")
        wait_for(f"{server.url}/readyz", 503, timeout=15)
        assert '"event": "not_ready"' in server.logs() and "KiB free" in server.logs()
        filler.unlink()
        recovery = wait_for(f"{server.url}/readyz", 200, timeout=30)
        for name in refused:
            r = httpx.post(f"{server.url}/classify_batch", json=batch(name, 50), headers=PORTAL, timeout=60)
            assert r.status_code == 200 and not any(a["already_stored"] for a in r.json())
        stored = stored_ids(server.db, "df-")
        assert len(stored) == len(set(stored)) and not set(answered) - set(stored)
        assert set(stored) == set(answered) | {f"{name}-{i}" for name in refused for i in range(50)}
        print(f"\nfull disk: {len(answered)} answered and stored, refused with 503 at batch "
              f"{refused[0]}, ready again {recovery:.1f} s after the space was freed")


@contextlib.contextmanager
def own_postgres() -> Iterator[tuple[str, dict[str, str]]]:
    """A throw-away PostgreSQL cluster started with .ci/start_postgres.sh (skipped when not installed)."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs them)")
    from tests.integration.service_env import free_port

    env = {**os.environ, "PGPORT": str(free_port()),
           "APPEALS_PG_DIR": f"{tempfile.gettempdir()}/appeals-pg-faults-{os.getpid()}"}
    script = str(ROOT / ".ci" / "start_postgres.sh")
    url = subprocess.run(["bash", script], env=env, capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield url, env
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True, check=False)
        shutil.rmtree(env["APPEALS_PG_DIR"], ignore_errors=True)


def test_database_down_means_not_ready_and_503_then_serves_again(home: Path, tmp_path: Path) -> None:
    import httpx

    script = str(ROOT / ".ci" / "start_postgres.sh")
    with own_postgres() as (url, pg_env), served(home, tmp_path, APPEALS_DB_URL=url) as server:
        ok = httpx.post(f"{server.url}/classify", json={"id": "pg-1", "text": TEXT.format(k=1)},
                        headers=PORTAL, timeout=60)
        assert ok.status_code == 200
        subprocess.run(["bash", script, "stop"], env=pg_env, capture_output=True, check=True)
        # The first write finds the database gone (the store call fails), the next ones are refused at once.
        single = httpx.post(f"{server.url}/classify", json={"id": "pg-2", "text": TEXT.format(k=2)},
                            headers=PORTAL, timeout=60)
        assert_refused_clearly(single, "postgresql", "connect")
        assert_refused_clearly(httpx.post(f"{server.url}/classify_batch", json=batch("pg-b", 3), headers=PORTAL,
                                          timeout=60))
        went_down = wait_for(f"{server.url}/readyz", 503, timeout=20)
        feedback = httpx.post(f"{server.url}/feedback", json={"appeal_id": "pg-1", "operator_id": "op-7",
                                                               "topic": "Мусор"},
                              headers={"X-API-Key": OPERATOR_KEY}, timeout=60)
        assert_refused_clearly(feedback)
        trends = httpx.get(f"{server.url}/trends", headers={"X-API-Key": OPERATOR_KEY}, timeout=60)
        assert trends.status_code == 503 and trends.json()["reason"] == "store_unavailable"
        logs = server.logs()
        assert '"event": "not_ready"' in logs and "unreachable" in logs and "Traceback" not in logs
        subprocess.run(["bash", script], env=pg_env, capture_output=True, check=True)
        back = wait_for(f"{server.url}/readyz", 200, timeout=30)
        again = httpx.post(f"{server.url}/classify", json={"id": "pg-2", "text": TEXT.format(k=2)},
                           headers=PORTAL, timeout=60)
        assert again.status_code == 200 and again.json()["already_stored"] is False
        repeat = httpx.post(f"{server.url}/classify", json={"id": "pg-1", "text": TEXT.format(k=1)},
                            headers=PORTAL, timeout=60)
        assert repeat.status_code == 200 and repeat.json()["already_stored"] is True
        assert sorted(stored_ids(url, "pg-")) == ["pg-1", "pg-2"]
        print(f"\ndatabase down: not ready after {went_down:.1f} s, ready again {back:.1f} s after restart")


def _cluster_processes(pg_env: dict[str, str]) -> list[Any]:
    import psutil

    postmaster = int((Path(pg_env["APPEALS_PG_DIR"]) / "postmaster.pid").read_text().split()[0])
    root = psutil.Process(postmaster)
    return [root, *root.children(recursive=True)]


def test_frozen_database_means_503_and_not_ready_within_bounds(home: Path, tmp_path: Path) -> None:
    """The database server stops answering without closing anything (every process of the cluster
    SIGSTOPped: the kernel still acknowledges packets, so no driver timeout fires). The request that
    was talking to it waits; the ones behind it are refused with 503 after the store lock's bound,
    /readyz says not ready within the probe timeout, and after the server resumes everything that was
    answered 200 is stored once and the refused appeals can be sent again."""
    import signal

    import httpx

    routing = tmp_path / "routing.toml"
    text = (ROOT / "training" / "configs" / "routing.toml").read_text(encoding="utf-8")
    routing.write_text(text.replace("connect_timeout_s = 5", "connect_timeout_s = 2")
                       .replace("statement_timeout_s = 30", "statement_timeout_s = 2"), encoding="utf-8")
    with own_postgres() as (url, pg_env), served(home, tmp_path, APPEALS_DB_URL=url,
                                                 APPEALS_ROUTING_CONFIG=str(routing)) as server:
        post = lambda appeal_id, k, timeout=60.0: httpx.post(  # noqa: E731
            f"{server.url}/classify", json={"id": appeal_id, "text": TEXT.format(k=k)}, headers=PORTAL,
            timeout=timeout)
        assert post("fz-1", 1).status_code == 200
        frozen = _cluster_processes(pg_env)
        stuck: list[Any] = []
        try:
            for proc in frozen:
                proc.send_signal(signal.SIGSTOP)
            waiting = threading.Thread(target=lambda: stuck.append(post("fz-2", 2, timeout=300)), daemon=True)
            waiting.start()
            time.sleep(1.0)  # fz-2 now holds the store lock, waiting for the frozen server
            started = time.monotonic()
            behind = post("fz-3", 3)
            refused_after = time.monotonic() - started
            assert_refused_clearly(behind, "has not answered", "hangs")
            started = time.monotonic()
            ready = httpx.get(f"{server.url}/readyz", timeout=60)
            probe_s = time.monotonic() - started
            assert ready.status_code == 503
            at_once = time.monotonic()
            assert_refused_clearly(post("fz-4", 4))  # refused at once while the store hangs
            at_once = time.monotonic() - at_once
            assert not stuck  # the first request still waits for the server
        finally:
            for proc in frozen:
                proc.send_signal(signal.SIGCONT)
        waiting.join(timeout=120)
        assert stuck and stuck[0].status_code == 200  # answered once the server resumed, and stored
        back = wait_for(f"{server.url}/readyz", 200, timeout=60)
        assert post("fz-3", 3).json()["already_stored"] is False
        assert post("fz-1", 1).json()["already_stored"] is True
        assert sorted(stored_ids(url, "fz-")) == ["fz-1", "fz-2", "fz-3"]
        assert "Traceback" not in server.logs()
        print(f"\nfrozen database: the request behind refused after {refused_after:.1f} s, /readyz 503 after "
              f"{probe_s:.1f} s, next write refused in {at_once:.2f} s, ready again {back:.1f} s after resuming")


def _model_dir(models: Path, task: str) -> Path:
    from appeals.registry import model_name

    versions = [p for p in (models / "models" / model_name(task)).iterdir() if p.is_dir()]
    assert len(versions) == 1
    return versions[0]


def _serve_fails(home: Path, tmp_path: Path, models: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment(home), "BENTOML_HOME": str(models),
           "APPEALS_DB_URL": f"sqlite:///{tmp_path / 'appeals.db'}"}
    from tests.integration.service_env import free_port

    command = [str(ROOT / ".venv" / "bin" / "appeals"), "serve", "--no-import", "--port", str(free_port())]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bentoml serve" not in done.stderr  # refused before starting the server
    return done


@pytest.mark.parametrize("damage", ["truncated", "removed_file", "removed_model"])
def test_serve_refuses_to_start_on_damaged_models(home: Path, tmp_path: Path, own_models: Path,
                                                  damage: str) -> None:
    from appeals.registry import model_name

    folder = _model_dir(own_models, "department")
    pickle = next((folder / "mlflow_model").glob("model.pkl"))
    if damage == "truncated":
        pickle.write_bytes(pickle.read_bytes()[:1000])
    elif damage == "removed_file":
        pickle.unlink()
    else:
        shutil.rmtree(folder.parent)
    said = " ".join(_serve_fails(home, tmp_path, own_models).stderr.split())
    assert model_name("department") in said
    assert {"truncated": "damaged", "removed_file": "missing", "removed_model": "not in the BentoML model store"
            }[damage] in said


def test_model_files_removed_while_serving_mean_not_ready(home: Path, tmp_path: Path, own_models: Path) -> None:
    import httpx

    with served(home, tmp_path, BENTOML_HOME=str(own_models)) as server:
        folder = _model_dir(own_models, "topic")
        aside = folder.with_name(folder.name + ".aside")
        folder.rename(aside)
        try:
            wait_for(f"{server.url}/readyz", 503, timeout=15)
            # The loaded models still answer; the probe warns that a restarted worker could not start.
            r = httpx.post(f"{server.url}/classify", json={"id": "m-1", "text": TEXT.format(k=1)},
                           headers=PORTAL, timeout=60)
            assert r.status_code == 200
            assert "are missing since this worker loaded them" in server.logs()
        finally:
            aside.rename(folder)
        wait_for(f"{server.url}/readyz", 200, timeout=15)
