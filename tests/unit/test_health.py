"""The service's health checks (appeals.health) and the model file checks (appeals.bento_models)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
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
