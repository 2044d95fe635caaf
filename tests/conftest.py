"""Fixtures shared by all test tiers. Heavy ones are session-scoped."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real datasets folder; tests that use it are skipped when it is absent."""
    env = os.environ.get("APPEALS_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for path in candidates:
        if (path / "perm_promobot_2023").is_dir():
            return path
    pytest.skip("real datasets not found (set APPEALS_DATA_DIR)")


@pytest.fixture(scope="session")
def demo_frame() -> pd.DataFrame:
    from appeals.datasets import load_any

    return load_any("demo").frame
