"""The service's health checks (appeals.health) and the model file checks (appeals.bento_models)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from appeals.bento_models import CHECKSUMS, MLFLOW_FOLDER, ModelFilesError, check_model_files, write_checksums
from appeals.health import ServiceHealth, describe, refusal_body, store_problem
from appeals.store import make_engine

CLOSED_PG = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2"


def test_store_problem_names_an_unreachable_database_without_its_password() -> None:
    problem = store_problem(make_engine(CLOSED_PG), 0)
    assert problem is not None and "unreachable" in problem and "127.0.0.1" in problem
    assert "secret" not in problem


def test_store_problem_sees_a_full_sqlite_folder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert store_problem(engine, 0) is None
    problem = store_problem(engine, 2**62)  # more free space than any disk has
    assert problem is not None and "disk is full" in problem and str(tmp_path) in problem


def test_describe_keeps_the_driver_line_and_drops_sql_and_values() -> None:
    exc = OperationalError("INSERT INTO appeals VALUES (?)", ("Иванов, тел. 89120000000",),
                           Exception("database or disk is full"))
    assert describe(exc) == "Exception: database or disk is full"


def test_a_failed_write_refuses_until_a_probe_passes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    health = ServiceHealth(make_engine(f"sqlite:///{tmp_path / 'a.db'}"), 0, {}, recheck_s=0.0)
    assert health.store_refusal() is None
    reason = health.trip(OperationalError("stmt", {}, Exception("disk I/O error")))
    assert "disk I/O error" in reason and health.store_down == reason
    assert health.store_refusal() is None  # the probe passes (the store works again): writes go ahead
    assert [r for r in caplog.messages if "store_unavailable" in r] and \
        [r for r in caplog.messages if "store_available" in r]


def test_readiness_follows_the_model_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "model"
    (model / MLFLOW_FOLDER).mkdir(parents=True)
    (model / MLFLOW_FOLDER / "model.pkl").write_bytes(b"x" * 10)
    health = ServiceHealth(make_engine(f"sqlite:///{tmp_path / 'a.db'}"), 0, {"appeals-topic:v1": model})
    assert health.ready()
    (model / MLFLOW_FOLDER / "model.pkl").write_bytes(b"y" * 11)
    assert not health.ready() and health.store_down is None  # a model problem does not stop writes
    assert any("not_ready" in m and "appeals-topic:v1" in m for m in caplog.messages)


def test_refusal_body_says_nothing_was_stored() -> None:
    assert b"not stored" in refusal_body("the appeal store failed")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "appeals-topic" / "v1"
    (folder / MLFLOW_FOLDER / "sub").mkdir(parents=True)
    (folder / MLFLOW_FOLDER / "MLmodel").write_text("flavors: {}\n")
    (folder / MLFLOW_FOLDER / "model.pkl").write_bytes(b"\x80\x05" + b"0" * 5000)
    (folder / MLFLOW_FOLDER / "sub" / "extra.txt").write_text("x")
    write_checksums(folder)
    return folder


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / MLFLOW_FOLDER / "model.pkl").write_bytes(b"\x80\x05"), "model.pkl is damaged"),
    (lambda f: (f / MLFLOW_FOLDER / "model.pkl").unlink(), "model.pkl is missing"),
    (lambda f: (f / MLFLOW_FOLDER / "sub" / "extra.txt").write_text("y"), "extra.txt is damaged"),
    (lambda f: (f / MLFLOW_FOLDER / "MLmodel").unlink(), "MLmodel is missing"),
])
def test_damaged_model_files_are_named(model_dir: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    check_model_files("appeals-topic:v1", model_dir)
    damage(model_dir)
    with pytest.raises(ModelFilesError, match=f"model appeals-topic:v1: .*{message}.*re-import"):
        check_model_files("appeals-topic:v1", model_dir)


def test_models_without_checksums_are_only_checked_for_mlmodel(model_dir: Path) -> None:
    (model_dir / CHECKSUMS).unlink()
    (model_dir / MLFLOW_FOLDER / "model.pkl").write_bytes(b"")
    check_model_files("appeals-topic:v1", model_dir)


def _silent_server() -> tuple[socket.socket, list[socket.socket]]:
    """A TCP server that accepts connections and never answers: a database that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    return server, held


def test_a_hanging_postgresql_is_reported_unreachable_instead_of_waiting_forever() -> None:
    """Without a connect timeout libpq waits for the silent server as long as the OS lets it."""
    server, held = _silent_server()
    port = server.getsockname()[1]
    found: list[str | None] = []
    try:
        engine = make_engine(f"postgresql+psycopg://nobody:secret@127.0.0.1:{port}/none", connect_timeout_s=2)
        probe = threading.Thread(target=lambda: found.append(store_problem(engine, 0)), daemon=True)
        probe.start()
        probe.join(timeout=30)
        assert found, "store_problem still waiting for a database that never answers"
        assert found[0] is not None and "unreachable" in found[0] and "secret" not in found[0]
        assert held, "the probe never reached the silent server"
    finally:
        server.close()
        for conn in held:
            conn.close()


def _driver_params(engine: Engine) -> dict:
    """The keyword arguments SQLAlchemy hands the driver's connect() (caught before it connects)."""
    seen: dict = {}

    def capture(dialect: object, record: object, cargs: object, cparams: dict) -> None:
        seen.update(cparams)
        raise RuntimeError("captured")

    event.listen(engine, "do_connect", capture)
    with pytest.raises(RuntimeError, match="captured"):
        engine.connect()
    return seen


def test_postgresql_timeouts_reach_the_driver_and_the_url_wins() -> None:
    params = _driver_params(make_engine("postgresql+psycopg://u:p@127.0.0.1:1/db", connect_timeout_s=3,
                                        statement_timeout_s=20))
    assert params["connect_timeout"] == 3 and params["options"] == "-c statement_timeout=20000"
    assert params["tcp_user_timeout"] == 20000
    assert "options" not in _driver_params(make_engine("postgresql+psycopg://u:p@127.0.0.1:1/db"))
    from_url = _driver_params(make_engine("postgresql+psycopg://u:p@127.0.0.1:1/db?connect_timeout=7",
                                          connect_timeout_s=3))
    assert str(from_url["connect_timeout"]) == "7"


def test_sqlite_write_waits_for_a_lock_at_most_the_connect_timeout(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import text as sql

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}", connect_timeout_s=0.3)
    with engine.begin() as conn:
        conn.execute(sql("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(tmp_path / "a.db")
    holder.execute("BEGIN EXCLUSIVE")
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(sql("INSERT INTO t VALUES (1)"))
        except OperationalError as exc:
            failed.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(timeout=20)
    holder.rollback()
    holder.close()
    assert failed and "locked" in str(failed[0])


def test_readiness_answers_within_the_probe_timeout_when_the_store_hangs() -> None:
    """A database that never answers (libpq's own connect timeout set far away): /readyz's check
    returns 'not ready, it hangs' after probe_timeout_s, and while that probe is still waiting the
    next check answers at once without starting another."""
    server, held = _silent_server()
    port = server.getsockname()[1]
    try:
        engine = make_engine(f"postgresql+psycopg://nobody:secret@127.0.0.1:{port}/none", connect_timeout_s=60)
        health = ServiceHealth(engine, 0, {}, probe_timeout_s=0.5)
        answers: list[bool] = []
        checks = threading.Thread(target=lambda: answers.extend([health.ready(), health.ready()]), daemon=True)
        checks.start()
        checks.join(timeout=20)
        assert answers == [False, False], "the readiness check waited for a database that never answers"
        assert health.store_down is not None and "has not answered" in health.store_down
        assert "it hangs" in health.store_down and "secret" not in health.store_down
        assert threading.active_count() < 50
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_a_store_lock_held_too_long_refuses_and_opens_again(tmp_path: Path) -> None:
    """A store call stuck under the worker's lock: the next request waits at most wait_s, is refused
    as 'store hangs', and writes are refused at once until a probe passes again."""
    from appeals.health import StoreHangs

    health = ServiceHealth(make_engine(f"sqlite:///{tmp_path / 'a.db'}"), 0, {}, recheck_s=0.0)
    lock = threading.Lock()
    lock.acquire()  # the stuck call
    with pytest.raises(StoreHangs, match="has not answered for 0.2 s"), health.holding(lock, 0.2):
        pass
    assert health.store_down is not None and "it hangs" in health.store_down
    lock.release()
    assert health.store_refusal() is None  # the probe passes: writes go ahead again
    with health.holding(lock, 0.2):
        assert lock.locked()
    assert not lock.locked()
