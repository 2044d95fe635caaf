"""The appeal store on SQLite (a temporary file) and, when APPEALS_TEST_PG_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from appeals.store import (
    AppealRow,
    CorrectionRow,
    UnknownAppealError,
    count_appeals,
    get_appeal,
    make_engine,
    metadata,
    save_appeals,
    save_correction,
    upgrade,
)
from appeals.store_frames import appeals_frame, corrections_frame

PG_URL_ENV = "APPEALS_TEST_PG_URL"
T0 = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("corrections", "appeals", "alembic_version"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = os.environ.get(PG_URL_ENV)
        if not url:
            pytest.skip(f"{PG_URL_ENV} not set (see .ci/start_postgres.sh)")
        eng = make_engine(url)
        _reset_postgres(eng)
    upgrade(eng)
    yield eng
    eng.dispose()


def _row(appeal_id: str, **kw: object) -> AppealRow:
    base: dict = dict(id=appeal_id, received_at=T0, text_masked="Нет горячей воды, звонить [ТЕЛЕФОН]",
                      created_at=T0 - timedelta(hours=1), district="Ленинский", topic="ЖКХ: вода",
                      topic_proba=0.8, topic_top3=[("ЖКХ: вода", 0.8), ("Дороги", 0.1), ("Прочее", 0.05)],
                      topic_group="ЖКХ", department="Департамент ЖКХ", urgency="high",
                      model_versions={"topic": "3"}, review_reasons=[])
    base.update(kw)
    return AppealRow(**base)


def test_migrations_match_table_definitions(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []
    assert {"appeals", "corrections", "alembic_version"} <= set(inspect(engine).get_table_names())


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    assert count_appeals(engine) == 0


def test_round_trip_keeps_fields_and_utc(engine: Engine) -> None:
    assert save_appeals(engine, [_row("a1", deadline=T0 + timedelta(hours=24))]) == {"a1"}
    got = get_appeal(engine, "a1")
    assert got is not None
    assert got.text_masked.endswith("[ТЕЛЕФОН]")
    assert got.created_at == T0 - timedelta(hours=1) and got.created_at.tzinfo is not None
    assert got.deadline == T0 + timedelta(hours=24)
    assert got.topic_top3 is not None and got.topic_top3[0][0] == "ЖКХ: вода"
    assert got.model_versions == {"topic": "3"}


@pytest.mark.parametrize("batches, expected_new, expected_total", [
    ([["a", "b"], ["a", "b"]], [{"a", "b"}, set()], 2),
    ([["a", "a", "b"]], [{"a", "b"}], 2),
    ([["a"], ["b", "a", "c"]], [{"a"}, {"b", "c"}], 3),
])
def test_same_id_is_stored_once(engine: Engine, batches: list[list[str]], expected_new: list[set[str]],
                                expected_total: int) -> None:
    for ids, new in zip(batches, expected_new, strict=True):
        assert save_appeals(engine, [_row(i) for i in ids]) == new
    assert count_appeals(engine) == expected_total


def test_a_repost_does_not_overwrite_the_first_answer(engine: Engine) -> None:
    save_appeals(engine, [_row("x", topic="first")])
    save_appeals(engine, [_row("x", topic="second")])
    stored = get_appeal(engine, "x")
    assert stored is not None and stored.topic == "first"


def test_large_batch_over_parameter_limit(engine: Engine) -> None:
    ids = [f"id-{i}" for i in range(1200)]
    assert len(save_appeals(engine, [_row(i) for i in ids])) == 1200
    assert len(save_appeals(engine, [_row(i) for i in ids[::2]])) == 0
    assert count_appeals(engine) == 1200


def test_correction_of_unknown_appeal_is_refused(engine: Engine) -> None:
    with pytest.raises(UnknownAppealError, match="nope"):
        save_correction(engine, CorrectionRow(appeal_id="nope", operator_id="op1", topic="Дороги"))


def test_corrections_frame_takes_newest_value_per_field(engine: Engine) -> None:
    save_appeals(engine, [_row("c1"), _row("c2")])
    save_correction(engine, CorrectionRow(appeal_id="c1", operator_id="op1", topic="Дороги",
                                          corrected_at=T0))
    save_correction(engine, CorrectionRow(appeal_id="c1", operator_id="op2", urgency="critical",
                                          corrected_at=T0 + timedelta(minutes=5)))
    frame = corrections_frame(engine)
    assert list(frame["id"]) == ["c1"]
    row = frame.iloc[0]
    assert (row["topic"], row["urgency"], row["source"]) == ("Дороги", "critical", "feedback")
    assert row["department"] is None or row["department"] != row["department"]  # None or NaN: not corrected
    assert row["text"].endswith("[ТЕЛЕФОН]")


def test_corrections_frame_empty_store(engine: Engine) -> None:
    frame = corrections_frame(engine)
    assert frame.empty and {"id", "text", "topic", "urgency"} <= set(frame.columns)


def test_appeals_frame_window_and_corrections(engine: Engine) -> None:
    save_appeals(engine, [
        _row("old", created_at=T0 - timedelta(days=40)),
        _row("in1", created_at=T0, needs_review=True, review_reasons=["low confidence"]),
        _row("in2", created_at=None, received_at=T0 + timedelta(days=1)),
    ])
    save_correction(engine, CorrectionRow(appeal_id="in1", operator_id="op", department="Дорожный отдел"))
    frame = appeals_frame(engine, T0 - timedelta(days=1), T0 + timedelta(days=2))
    assert list(frame["id"]) == ["in1", "in2"]
    assert frame["created_at"].dt.tz is not None
    assert list(frame["corrected"]) == [True, False]
    assert list(frame["department"]) == ["Дорожный отдел", "Департамент ЖКХ"]
    assert list(frame["needs_review"]) == [True, False]
    expected = {"created_at", "topic", "topic_group", "department", "district", "urgency",
                "needs_review", "corrected", "text"}
    assert expected <= set(frame.columns)
    assert len(appeals_frame(engine)) == 3


def test_default_url_uses_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from appeals.store import database_url

    monkeypatch.delenv("APPEALS_DB_URL", raising=False)
    monkeypatch.setenv("APPEALS_HOME", str(tmp_path))
    assert database_url() == f"sqlite:///{tmp_path / 'appeals.db'}"
    monkeypatch.setenv("APPEALS_DB_URL", "postgresql+psycopg://u@127.0.0.1/db")
    assert database_url().startswith("postgresql+psycopg://")


@pytest.mark.postgres
def test_postgresql_cancels_a_statement_past_the_statement_timeout() -> None:
    """A statement stuck on the server (here pg_sleep) fails after statement_timeout_s instead of
    holding the request; one within it runs."""
    from sqlalchemy import text as sql
    from sqlalchemy.exc import OperationalError

    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(f"{PG_URL_ENV} not set (see .ci/start_postgres.sh)")
    eng = make_engine(url, statement_timeout_s=1)
    try:
        with eng.connect() as conn:
            assert conn.execute(sql("SELECT pg_sleep(0.1), 1")).all()[0][1] == 1
            assert conn.execute(sql("SHOW statement_timeout")).scalar() == "1s"
        with pytest.raises(OperationalError, match="statement timeout"), eng.connect() as conn:
            conn.execute(sql("SELECT pg_sleep(5)"))
    finally:
        eng.dispose()
