"""OpenTelemetry in the serving worker: off unless BentoML is configured to export traces.

BentoML 1.4 records a span for every request even when no exporter is configured (its sampler
answers RECORD_ONLY below the sample rate, and the default rate is 0). Nothing reads those spans,
yet each request's span, its attribute and event lists and its context tokens churn through the
worker, and under load they held tens of megabytes: served on the demo models at 50 requests/s,
the worker grew 54.6 MB in 3 minutes with them and 31.0 MB with the SDK off
(evaluation/RELIABILITY.md, "Load"). So the SDK is switched off (`OTEL_SDK_DISABLED=true`, which
makes its tracers no-ops) unless `tracing.exporter_type` is set in BentoML's configuration or the
variable is already set.
"""

from __future__ import annotations

import os

OTEL_SDK_DISABLED = "OTEL_SDK_DISABLED"


def exporter_configured() -> bool:
    """Whether BentoML's configuration names a trace exporter (zipkin, jaeger, otlp, ...)."""
    try:
        from bentoml._internal.configuration.containers import BentoMLContainer

        return bool(BentoMLContainer.tracing.exporter_type.get())
    except Exception:  # an internal of BentoML: when it moves, keep tracing as BentoML set it up
        return True


def tracing_off_unless_exported() -> str:
    """Switch the OpenTelemetry SDK off when nothing exports its spans; returns what was done, for the log.
    Call before BentoML builds its tracer provider (at the service module's import)."""
    if os.environ.get(OTEL_SDK_DISABLED):
        return f"tracing: {OTEL_SDK_DISABLED}={os.environ[OTEL_SDK_DISABLED]} from the environment"
    if exporter_configured():
        return "tracing: on (an exporter is configured)"
    os.environ[OTEL_SDK_DISABLED] = "true"
    return "tracing: off (no exporter configured)"
