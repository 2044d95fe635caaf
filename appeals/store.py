"""The appeal store: every accepted appeal (masked text only), its predictions, model versions,
timestamps and the operators' later corrections, behind SQLAlchemy.

SQLite file under APPEALS_HOME by default; PostgreSQL (or anything SQLAlchemy speaks) when
APPEALS_DB_URL says so. The schema is owned by the Alembic migrations in appeals/migrations;
`upgrade` brings a database to the newest revision. Writes are idempotent on the appeal id.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

DB_URL_ENV = "APPEALS_DB_URL"
_ID_CHUNK = 500  # SQLite allows a limited number of bound parameters per statement


class UnknownAppealError(LookupError):
    """A correction names an appeal id the store has never accepted."""


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and read back timezone-aware on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

appeals_table = Table(
    "appeals", metadata,
    Column("id", String(200), primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=True, index=True),
    Column("channel", String(100)),
    Column("municipality", String(200)),
    Column("district", String(200), index=True),
    Column("places", JSON),
    Column("text_masked", Text, nullable=False),
    Column("topic", String(300)),
    Column("topic_proba", Float),
    Column("topic_top3", JSON),
    Column("topic_group", String(300)),
    Column("topic_group_proba", Float),
    Column("department", String(300)),
    Column("department_proba", Float),
    Column("department_source", String(50)),
    Column("urgency", String(20)),
    Column("urgency_proba", Float),
    Column("deadline", UTCDateTime()),
    Column("needs_review", Boolean, nullable=False, default=False),
    Column("review_reasons", JSON),
    Column("group_id", String(200), index=True),
    Column("duplicate_of", String(200)),
    Column("model_versions", JSON),
)

corrections_table = Table(
    "corrections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("appeal_id", String(200), ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("topic", String(300)),
    Column("topic_group", String(300)),
    Column("department", String(300)),
    Column("urgency", String(20)),
    Column("operator_id", String(200), nullable=False),
    Column("comment", Text),
    Column("corrected_at", UTCDateTime(), nullable=False),
    Column("group_action", String(20)),  # "split" or "merge" (migration 0002)
    Column("merge_with", String(200)),
    Column("key_id", String(40)),  # the API key that sent it (migration 0003); see appeals.auth.key_id
)


class AppealRow(BaseModel):
    """What is stored for one accepted appeal: masked text and predictions, never the raw text."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    received_at: datetime
    text_masked: str
    created_at: datetime | None = None
    channel: str | None = None
    municipality: str | None = None
    district: str | None = None
    places: dict[str, str | None] | None = None
    topic: str | None = None
    topic_proba: float | None = None
    topic_top3: list[tuple[str, float]] | None = None
    topic_group: str | None = None
    topic_group_proba: float | None = None
    department: str | None = None
    department_proba: float | None = None
    department_source: str | None = None
    urgency: str | None = None
    urgency_proba: float | None = None
    deadline: datetime | None = None
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    group_id: str | None = None
    duplicate_of: str | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)


class CorrectionRow(BaseModel):
    """An operator's correction of one appeal; fields left None were not corrected."""

    model_config = ConfigDict(extra="forbid")

    appeal_id: str = Field(min_length=1, max_length=200)
    operator_id: str = Field(min_length=1, max_length=200)
    topic: str | None = None
    topic_group: str | None = None
    department: str | None = None
    urgency: str | None = None
    comment: str | None = None
    corrected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    key_id: str | None = Field(default=None, max_length=40)  # set by the service from the caller's key
    group_action: str | None = None
    merge_with: str | None = None


def database_url() -> str:
    """APPEALS_DB_URL, else a SQLite file appeals.db under APPEALS_HOME (./models by default)."""
    from appeals.config import home_dir

    env = os.environ.get(DB_URL_ENV)
    return env if env else f"sqlite:///{home_dir() / 'appeals.db'}"


def _sqlite_pragmas(synchronous: str, busy_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")  # how long a write waits for another writer
        cursor.close()

    return on_connect


def make_engine(url: str | None = None, sqlite_synchronous: str = "NORMAL", connect_timeout_s: float = 10.0,
                statement_timeout_s: float | None = None) -> Engine:
    """An engine for `url` (default `database_url()`); creates the SQLite file's folder if needed.

    SQLite runs in WAL mode. `sqlite_synchronous` NORMAL: a committed appeal survives a killed
    process (no fsync per commit); FULL: it also survives a power cut, at one fsync per commit.

    A database that hangs rather than refusing must not hold a caller forever. PostgreSQL: a
    connection not made within `connect_timeout_s` fails (libpq connect_timeout, whole seconds, at
    least 2), a statement running longer than `statement_timeout_s` is cancelled by the server, and a
    link that stops answering mid-statement is dropped after the larger of the two (tcp_user_timeout,
    set only with a statement timeout).
    SQLite: a write waits at most `connect_timeout_s` for another writer's lock. A `connect_timeout`
    or `options` given in the URL wins.
    """
    if sqlite_synchronous not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"sqlite_synchronous must be NORMAL, FULL or EXTRA, not {sqlite_synchronous!r}")
    url = url or database_url()
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args["connect_timeout"] = max(2, math.ceil(connect_timeout_s))
        if statement_timeout_s:
            connect_args["options"] = f"-c statement_timeout={int(1000 * statement_timeout_s)}"
            connect_args["tcp_user_timeout"] = int(1000 * max(connect_timeout_s, statement_timeout_s))
        for key in make_url(url).query:  # what the URL sets wins
            connect_args.pop(key, None)
    # hide_parameters: a database error (logged by the service) never carries the appeal's values
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), hide_parameters=True,
                           connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous, int(1000 * connect_timeout_s)))
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to `revision` on the engine's database."""
    from alembic import command

    from appeals.migrations import alembic_config

    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _chunks(items: Sequence[str], size: int = _ID_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _insert_ignoring_duplicates(engine: Engine, table: Table) -> Any:
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(engine.dialect.name)
    if dialect is None:
        raise RuntimeError(f"{engine.url.render_as_string()}: only SQLite and PostgreSQL are supported")
    return dialect.insert(table).on_conflict_do_nothing(index_elements=["id"])


def _existing(conn: Connection, ids: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for chunk in _chunks(ids):
        known.update(conn.scalars(select(appeals_table.c.id).where(appeals_table.c.id.in_(chunk))))
    return known


def existing_ids(engine: Engine, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are stored already."""
    with engine.connect() as conn:
        return _existing(conn, list(ids))


def save_appeals(engine: Engine, rows: Sequence[AppealRow]) -> set[str]:
    """Store `rows` in one transaction, committed on return; ids already stored are left untouched.

    Returns the ids that were new. Re-posting an appeal with the same id never stores it twice.
    """
    if not rows:
        return set()
    unique = [row.model_dump() for row in {row.id: row for row in reversed(rows)}.values()]
    # The insert skips stored ids and returns those it stored: one statement, no separate existence
    # check, and exact when another process stores the same id at the same moment.
    insert = _insert_ignoring_duplicates(engine, appeals_table).returning(appeals_table.c.id)
    with engine.begin() as conn:
        return set(conn.scalars(insert, unique))


def get_appeal(engine: Engine, appeal_id: str) -> AppealRow | None:
    """The stored appeal with this id, or None."""
    with engine.connect() as conn:
        found = conn.execute(select(appeals_table).where(appeals_table.c.id == appeal_id)).mappings().first()
    return AppealRow.model_validate(dict(found)) if found else None


def index_rows(engine: Engine, since: datetime | None = None,
               received_since: datetime | None = None) -> pd.DataFrame:
    """What the duplicate index is rebuilt from: id, text (masked), created_at, channel, district,
    topic_group, topic_top3, group_id, oldest first; with `since`, only appeals dated (else received) from then
    on; with `received_since`, only those received from then on."""
    c = appeals_table.c
    query = select(c.id, c.text_masked.label("text"), c.created_at, c.channel, c.district, c.topic_group,
                   c.topic_top3, c.group_id).order_by(c.received_at, c.id)
    if since is not None:
        moment = func.coalesce(c.created_at, c.received_at)
        query = query.where(moment >= UTCDateTime().process_bind_param(since, engine.dialect))
    if received_since is not None:
        query = query.where(c.received_at >= UTCDateTime().process_bind_param(received_since, engine.dialect))
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def count_appeals(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(appeals_table)) or 0)


def save_correction(engine: Engine, correction: CorrectionRow) -> int:
    """Store an operator's correction (kept as an audit trail: every correction is a new row)."""
    with engine.begin() as conn:
        exists = conn.scalar(select(appeals_table.c.id).where(appeals_table.c.id == correction.appeal_id))
        if exists is None:
            raise UnknownAppealError(
                f"appeal_id {correction.appeal_id!r}: no stored appeal has this id; classify it first"
            )
        result = conn.execute(corrections_table.insert().values(**correction.model_dump()))
        key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for the stored correction")
    return int(key[0])


def set_groups(engine: Engine, groups: dict[str, tuple[str, str | None]]) -> None:
    """Store new duplicate groups after an operator's split or merge: {appeal id: (group, duplicate_of)}."""
    with engine.begin() as conn:
        for appeal_id, (group_id, first) in groups.items():
            conn.execute(appeals_table.update().where(appeals_table.c.id == appeal_id).values(
                group_id=group_id, duplicate_of=first))
