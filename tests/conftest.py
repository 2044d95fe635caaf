"""Fixtures shared by all test tiers. Heavy ones are session-scoped."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

FIXTURES = Path(__file__).parent / "fixtures"

# Property tests (tests/property): "ci" keeps the tier near a minute on 2 busy cores and reproducible
# (derandomized); HYPOTHESIS_PROFILE=thorough searches 20x longer with fresh random inputs.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=1200, deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
