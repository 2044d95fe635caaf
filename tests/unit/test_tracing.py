"""appeals.tracing: the OpenTelemetry SDK is off in the worker unless something exports its spans."""

from __future__ import annotations

import pytest

from appeals import tracing


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv(tracing.OTEL_SDK_DISABLED, "")  # recorded, so whatever the code sets is undone
    monkeypatch.delenv(tracing.OTEL_SDK_DISABLED)
    return monkeypatch


def test_off_when_no_exporter_is_configured(clean_env: pytest.MonkeyPatch) -> None:
    import os

    assert not tracing.exporter_configured()  # BentoML's default configuration exports nothing
    assert tracing.tracing_off_unless_exported() == "tracing: off (no exporter configured)"
    assert os.environ[tracing.OTEL_SDK_DISABLED] == "true"


def test_left_on_when_an_exporter_is_configured(clean_env: pytest.MonkeyPatch) -> None:
    import os

    clean_env.setattr(tracing, "exporter_configured", lambda: True)
    assert tracing.tracing_off_unless_exported() == "tracing: on (an exporter is configured)"
    assert tracing.OTEL_SDK_DISABLED not in os.environ


def test_the_environment_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(tracing.OTEL_SDK_DISABLED, "false")
    assert "from the environment" in tracing.tracing_off_unless_exported()


def test_disabled_sdk_gives_no_op_tracers(clean_env: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import NoOpTracer

    assert not isinstance(TracerProvider().get_tracer("appeals"), NoOpTracer)
    tracing.tracing_off_unless_exported()
    assert isinstance(TracerProvider().get_tracer("appeals"), NoOpTracer)
