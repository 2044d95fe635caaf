"""Load shedding in front of the service (an ASGI middleware).

BentoML 1.4's own `traffic={"max_concurrency": N}` answers 429 `{"error": "Too many requests"}`
without a Retry-After header, and its adaptive batcher answers 503 without one either. This guard
counts the requests a worker holds (queued for the model thread or being answered); one more than
`[service].max_in_flight` of routing.toml gets 503 at once, with `Retry-After` and a JSON body that
says why, instead of waiting in a queue until the client times out. Health and metrics endpoints
are never limited, so probes keep answering under load. A 503/429 coming from inside (the batcher)
gets the same Retry-After header.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from appeals.routing import ServiceSettings, load_routing_config

log = logging.getLogger("appeals.service")

EXEMPT_PATHS = frozenset({"/readyz", "/livez", "/healthz", "/metrics"})
REFUSED_STATUS = 503
LOG_EVERY_S = 10.0  # one "overloaded" log line per interval, not one per refused request


def overload_body(in_flight: int, limit: int, retry_after_s: int) -> bytes:
    """The JSON a refused client reads: the reason, the numbers behind it and when to come back."""
    message = (f"the service is overloaded: {in_flight} requests are in progress, the limit of this worker "
               f"is {limit}; retry after {retry_after_s} s")
    body = {"error": message, "reason": "overloaded", "retry_after_s": retry_after_s,
            "detail": [{"field": "request", "msg": "overloaded"}]}
    return json.dumps(body).encode("utf-8")


class OverloadGuard:
    """ASGI middleware: at most `max_in_flight` requests at a time per worker (0: no limit)."""

    def __init__(self, app: Any, settings: ServiceSettings | None = None) -> None:
        self.app = app
        settings = settings or load_routing_config().service
        self.limit, self.retry_after = settings.max_in_flight, settings.retry_after_s
        self.in_flight = 0
        self.refused = 0  # since the last log line
        self._logged_at = 0.0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.limit or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        # One event loop per worker: nothing runs between this test and the increment.
        if self.in_flight >= self.limit:
            await self._refuse(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, self._with_retry_after(send))
        finally:
            self.in_flight -= 1

    async def _refuse(self, send: Any) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            log.warning(json.dumps({"event": "overloaded", "in_flight": self.in_flight, "limit": self.limit,
                                    "refused": self.refused}))
            self._logged_at, self.refused = now, 0
        body = overload_body(self.in_flight, self.limit, self.retry_after)
        await send({"type": "http.response.start", "status": REFUSED_STATUS,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"retry-after", str(self.retry_after).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _with_retry_after(self, send: Any) -> Any:
        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] in (429, 503):
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"retry-after" for k, _ in headers):
                    headers.append((b"retry-after", str(self.retry_after).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        return sending
