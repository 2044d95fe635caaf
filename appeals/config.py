"""Configuration as data: TOML files read into frozen, typed objects.

Environment variables are read only for deployment settings (where the data, the tracking server and
the database live), and only when a function asks for them, never at import time.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

DATA_DIR_ENV = "APPEALS_DATA_DIR"
HOME_ENV = "APPEALS_HOME"

T = TypeVar("T", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that cannot be read or does not match its schema; the message names file and key."""


def read_toml(path: Path) -> dict:
    """Read a TOML file, raising ConfigError with the file name and line on a syntax error."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_config(path: Path | str, model: type[T]) -> T:
    """Read `path` into `model`, turning validation errors into one readable message per key."""
    path = Path(path)
    raw = read_toml(path)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def quiet_environment() -> None:
    """Defaults every process of the project runs with (an explicit setting still wins): no telemetry
    from BentoML or MLflow, and no MLflow download bar per model fetched from the registry (they fill
    logs, four a worker at the service's start, and say nothing our own progress does not)."""
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def default_jobs() -> int:
    """Worker processes for batch work (scoring, duplicate grouping): the cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def project_root() -> Path:
    """The repository root (the folder holding pyproject.toml), or the working directory."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def home_dir() -> Path:
    """Where local state lives (MLflow database, appeal store, models): APPEALS_HOME or ./models."""
    env = os.environ.get(HOME_ENV)
    return Path(env) if env else project_root() / "models"


def data_dir(option: Path | str | None = None) -> Path | None:
    """The folder of the real datasets: the CLI option, else APPEALS_DATA_DIR, else None."""
    if option:
        return Path(option)
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else None


def require_data_dir(option: Path | str | None = None) -> Path:
    """Like data_dir, but raise a readable error when no location is configured or it is missing."""
    path = data_dir(option)
    if path is None:
        raise ConfigError(
            f"no data folder configured: set {DATA_DIR_ENV}=/path/to/shared/data or pass --data-dir"
        )
    if not path.is_dir():
        raise ConfigError(f"{path}: data folder does not exist (from --data-dir or {DATA_DIR_ENV})")
    return path
