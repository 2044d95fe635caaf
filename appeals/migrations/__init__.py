"""Alembic migrations of the appeal store (appeals/store.py owns the table definitions).

Run from code with `appeals.store.upgrade(engine)`, or from a shell with
`alembic -c appeals/migrations/alembic.ini upgrade head` (database from APPEALS_DB_URL).
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config() -> Config:
    """An Alembic config pointing at this folder, independent of the working directory."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
