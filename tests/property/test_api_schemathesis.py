"""Schemathesis against the service's own OpenAPI document, in process: no 5xx, no answer that breaks
the documented schema, whatever a client sends to the write endpoints (with and without keys)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.service_env import OPERATOR_KEY, PORTAL_KEY, service_app, service_env

pytestmark = [pytest.mark.service, pytest.mark.slow]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import os
    import warnings

    # `bentoml serve` gives /metrics a Prometheus multiprocess folder; in process we give it one too.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(tmp_path_factory.mktemp("prometheus")))
    with service_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = service_app()
        from starlette.testclient import TestClient

        with TestClient(app, raise_server_exceptions=False):  # runs the lifespan: models load once
            yield schemathesis.openapi.from_asgi("/docs.json", app)


KEYS = {"/feedback": OPERATOR_KEY, "/trends": OPERATOR_KEY}


CALLS: list[str] = []


def _check(case: Any) -> None:
    CALLS.append(case.path)
    key = KEYS.get(case.path, PORTAL_KEY)
    response = case.call(headers={"X-API-Key": key})
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    if response.status_code < 300:
        case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])


def test_no_server_errors_and_answers_match_the_schema(api_schema: Any) -> None:
    # Schemathesis' pytest plugin does not run under pytest 9 here, so each operation gets its own
    # Hypothesis run over the strategy Schemathesis derives from the OpenAPI document.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert {"/classify", "/classify_batch", "/feedback"} <= paths
    for operation in operations:
        settings(max_examples=25, deadline=None, derandomize=True, database=None,
                 suppress_health_check=list(HealthCheck))(given(case=operation.as_strategy())(_check))()
    assert {"/classify", "/classify_batch", "/feedback", "/trends"} <= set(CALLS)
    for path in ("/classify", "/classify_batch", "/feedback", "/trends"):  # operations with inputs to vary
        assert CALLS.count(path) >= 10, f"only {CALLS.count(path)} requests to {path}"
