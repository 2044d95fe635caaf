"""The overload guard on a slow fake app: refuse past the limit with 503 + Retry-After + a JSON reason,
never limit health endpoints, recover when the load drops, add Retry-After to the app's own 503s."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError

from appeals.overload import OverloadGuard
from appeals.routing import RoutingConfig, ServiceSettings


class SlowApp:
    """Answers 200 once `release` is set; counts the requests it saw."""

    def __init__(self, status: int = 200) -> None:
        self.release = asyncio.Event()
        self.seen = 0
        self.status = status

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.seen += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _call(app: Any, path: str = "/classify") -> dict[str, Any]:
    messages: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        messages.append(message)

    await app({"type": "http", "method": "POST", "path": path, "headers": []}, receive, send)
    start = messages[0]
    return {"status": start["status"], "headers": {k.decode(): v.decode() for k, v in start["headers"]},
            "body": b"".join(m.get("body", b"") for m in messages[1:])}


async def _flood(limit: int, extra: int, path: str = "/classify") -> tuple[SlowApp, list[dict[str, Any]]]:
    """`limit + extra` concurrent requests while the app is held, then release it; every answer."""
    app = SlowApp()
    guard = OverloadGuard(app, ServiceSettings(max_in_flight=limit, retry_after_s=3))
    tasks = [asyncio.create_task(_call(guard, path)) for _ in range(limit + extra)]
    await asyncio.sleep(0.05)  # every request has reached the guard
    app.release.set()
    answers = await asyncio.gather(*tasks)
    assert guard.in_flight == 0
    after = await _call(guard, path)  # load dropped: served again
    return app, [*answers, after]


@pytest.mark.parametrize("limit, extra", [(1, 1), (4, 12), (32, 100)])
def test_past_the_limit_is_refused_at_once_with_retry_after(limit: int, extra: int) -> None:
    app, answers = asyncio.run(_flood(limit, extra))
    *flood, after = answers
    refused = [a for a in flood if a["status"] == 503]
    assert len(refused) == extra and app.seen == limit + 1
    for answer in refused:
        assert answer["headers"]["retry-after"] == "3"
        body = json.loads(answer["body"])
        assert body["reason"] == "overloaded" and body["retry_after_s"] == 3
        assert f"the limit of this worker is {limit}" in body["error"]
        assert int(answer["headers"]["content-length"]) == len(answer["body"])
    assert after["status"] == 200


@pytest.mark.parametrize("path", ["/readyz", "/livez", "/healthz", "/metrics"])
def test_health_endpoints_are_never_limited(path: str) -> None:
    app, answers = asyncio.run(_flood(2, 10, path))
    assert all(a["status"] == 200 for a in answers) and app.seen == 13


def test_no_limit_when_zero() -> None:
    app, answers = asyncio.run(_flood(0, 20))
    assert all(a["status"] == 200 for a in answers)


@pytest.mark.parametrize("status, added", [(503, True), (429, True), (200, False), (422, False)])
def test_the_apps_own_refusals_get_retry_after(status: int, added: bool) -> None:
    app = SlowApp(status)
    app.release.set()
    answer = asyncio.run(_call(OverloadGuard(app, ServiceSettings(retry_after_s=7))))
    assert answer["status"] == status and answer["headers"].get("retry-after") == ("7" if added else None)


def test_non_http_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    guard = OverloadGuard(app, ServiceSettings(max_in_flight=1))
    guard.in_flight = 1  # full, yet lifespan events must pass
    asyncio.run(guard({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


@pytest.mark.parametrize("field, value", [("max_in_flight", -1), ("retry_after_s", 0), ("retry_after_s", 7200)])
def test_bad_settings_are_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=field):
        RoutingConfig.model_validate({"service": {field: value}})


def test_shipped_config_sets_a_limit() -> None:
    from appeals.routing import load_routing_config

    settings = load_routing_config().service
    assert settings.max_in_flight > 0 and settings.retry_after_s >= 1
