"""The request guard in front of the service's write endpoints (an ASGI middleware).

Every client mistake ends here as a 4xx JSON body that names the field and says why: a body over the
size limit (413), a missing or wrong API key (401/403), an unsupported media type (415), bytes that
are not UTF-8 or not JSON (400), unknown fields, wrong types, empty or over-long texts and batches
over the limit (422). Nothing a client sends reaches the service unchecked, so it cannot cause a
5xx, and no rejected text is ever echoed or logged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from appeals.api_models import ClassifyBatchRequest, ClassifyRequest, FeedbackRequest, Open311Request
from appeals.auth import KeyRing, load_keyring, presented_key
from appeals.routing import Limits, load_routing_config
from appeals.text import clean_text

log = logging.getLogger("appeals.service")

JSON_TYPES = ("application/json", "")
# Set by the guard on checked requests: the `appeals.auth.key_id` of the caller's key (never the key).
# A client sending this header itself has it removed, so the service can trust it.
KEY_ID_HEADER = b"x-appeals-key-id"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class GuardedRoute:
    model: type[BaseModel]
    role: str
    open311: bool = False


ROUTES: dict[str, GuardedRoute] = {
    "/classify": GuardedRoute(ClassifyRequest, "portal"),
    "/classify_batch": GuardedRoute(ClassifyBatchRequest, "portal"),
    "/feedback": GuardedRoute(FeedbackRequest, "operator"),
    "/open311/v2/requests.json": GuardedRoute(Open311Request, "portal", open311=True),
}
# Read endpoints that show what residents wrote (even masked) are for operators only.
READ_ROUTES: dict[str, str] = {"/trends": "operator"}


class ClientError(Exception):
    """A request refused with `status`; `details` name the fields."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.details = details or [{"field": "body", "msg": message}]


def error_body(err: ClientError, open311: bool = False) -> bytes:
    """Our error JSON, or GeoReport v2's list of {code, description} for Open311 callers."""
    if open311:
        body: Any = [{"code": err.status, "description": f"{d['field']}: {d['msg']}", "field": d["field"]}
                     for d in err.details]
    else:
        body = {"error": err.message, "detail": err.details}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "loc": list(e["loc"]),
             "msg": e["msg"], "type": e["type"]} for e in exc.errors(include_input=False, include_url=False)]


def _text_problems(text: str, field: str, limits: Limits) -> list[dict[str, Any]]:
    if len(text) > limits.max_text_chars:
        return [{"field": field, "type": "too_long", "msg": f"has {len(text)} characters, over the limit of "
                 f"{limits.max_text_chars}; shorten it or split the appeal"}]
    if not clean_text(text):
        return [{"field": field, "type": "empty", "msg": "is empty after removing markup and control "
                 "characters; send the appeal's words"}]
    return []


def check_limits(payload: BaseModel, limits: Limits) -> list[dict[str, Any]]:
    """The deployment's limits (tighter than the schema's ceilings) and texts that clean to nothing."""
    if isinstance(payload, ClassifyRequest):
        return _text_problems(payload.text, "text", limits)
    if isinstance(payload, Open311Request):
        return _text_problems(payload.description, "description", limits)
    if isinstance(payload, ClassifyBatchRequest):
        if len(payload.appeals) > limits.max_batch:
            return [{"field": "appeals", "type": "too_long", "msg": f"{len(payload.appeals)} appeals, over the "
                     f"limit of {limits.max_batch} per call; split the batch"}]
        return [p for i, a in enumerate(payload.appeals) for p in _text_problems(a.text, f"appeals.{i}.text", limits)]
    return []


def decode_body(body: bytes, content_type: str, open311: bool) -> Any:
    """JSON (any endpoint) or form fields (Open311) from raw bytes, with readable 400/415 errors."""
    if content_type not in JSON_TYPES and not (open311 and content_type == FORM_TYPE):
        allowed = "application/json" + (f" or {FORM_TYPE}" if open311 else "")
        raise ClientError(415, f"Content-Type {content_type!r} is not accepted here; send {allowed}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClientError(400, f"the body is not valid UTF-8 (byte {exc.start}); send UTF-8 text") from exc
    if content_type == FORM_TYPE:
        return form_fields(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClientError(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column "
                               f"{exc.colno}") from exc
    except RecursionError as exc:
        raise ClientError(400, "the body is nested too deeply to be an appeal") from exc
    if "\\u" in text:
        _check_escapes(data, text)
    return data


def _check_escapes(data: Any, text: str) -> None:
    """Escapes JSON allows but a database refuses: NUL characters and unpaired surrogates."""
    if "\\u0000" in text:
        raise ClientError(400, "the body contains a NUL character (\\u0000); remove it")
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ClientError(400, "the body contains an unpaired surrogate escape (such as \\ud800); "
                               "send valid Unicode") from exc


def form_fields(text: str) -> dict[str, Any]:
    """Open311 form fields; `attribute[code]` entries are gathered into `attribute`."""
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=False):
        if key.startswith("attribute[") and key.endswith("]"):
            attributes[key[10:-1].removesuffix("][")] = value
        else:
            fields[key] = value
    if attributes:
        fields["attribute"] = attributes
    return fields


class RequestGuard:
    """ASGI middleware: checks POSTs to ROUTES, then replays the (possibly re-encoded) body to the app."""

    def __init__(self, app: Any, limits: Limits | None = None, keyring: KeyRing | None = None) -> None:
        self.app = app
        self.limits = limits or load_routing_config().limits
        self.keyring = keyring if keyring is not None else load_keyring()
        if not self.keyring.entries:
            log.warning(json.dumps({"event": "no_api_keys", "msg": "no API keys configured: every write "
                                    "call will get 401; set APPEALS_API_KEYS or run `appeals serve`"}))

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = _without_key_id(scope)
        route = ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        read_role = READ_ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if read_role is not None and scope["method"] == "GET":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                self._authorize(presented_key(headers), read_role)
            except ClientError as err:
                await _send_json(send, err.status, error_body(err, False))
                return
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body, data, key = await self._check(route, headers, receive, scope)
        except ClientError as err:
            log.info(json.dumps({"event": "rejected", "path": scope["path"], "status": err.status,
                                 "fields": [d["field"] for d in err.details]}))
            await _send_json(send, err.status, error_body(err, route.open311))
            return
        await self.app(_json_scope(scope, len(body), self.keyring.id_of(key)), _replay(body, receive), send)

    async def _check(self, route: GuardedRoute, headers: dict[str, str], receive: Any,
                     scope: dict) -> tuple[bytes, Any, str | None]:
        """The body to pass on, its decoded data and the key that was accepted."""
        body = await self._read(receive, headers)
        key = presented_key(headers)
        if not route.open311:
            self._authorize(key, route.role)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        data = decode_body(body, content_type, route.open311)
        if route.open311:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            fallback = data.get("api_key") if isinstance(data, dict) else None
            key = presented_key(headers, fallback or query.get("api_key"))
            self._authorize(key, route.role)
        try:
            payload = route.model.model_validate(data)
        except ValidationError as exc:
            raise ClientError(422, "the request does not match the schema", field_errors(exc)) from None
        problems = check_limits(payload, self.limits)
        if problems:
            raise ClientError(422, "the request breaks a limit", problems)
        if content_type == FORM_TYPE:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return body, data, key

    def _authorize(self, key: str | None, role: str) -> None:
        if not key:
            raise ClientError(401, "an API key is required: send it in the X-API-Key header",
                              [{"field": "X-API-Key", "msg": "missing"}])
        if not self.keyring.allows(key, role):
            known = self.keyring.role_of(key) is not None
            raise ClientError(403 if known else 401, f"this key may not call an endpoint for role '{role}'"
                              if known else "unknown API key", [{"field": "X-API-Key", "msg": "not accepted"}])

    async def _read(self, receive: Any, headers: dict[str, str]) -> bytes:
        limit = self.limits.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ClientError(413, f"the body has {declared} bytes, over the limit of {limit}; split it")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientError(400, "the client closed the connection before the body was complete")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ClientError(413, f"the body is over the limit of {limit} bytes; split it")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _json_scope(scope: dict, length: int, key_id: str | None = None) -> dict:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]
    if key_id is not None:
        headers.append((KEY_ID_HEADER, key_id.encode("latin-1")))
    return {**scope, "headers": headers}


def _without_key_id(scope: dict) -> dict:
    """The scope without a client-sent KEY_ID_HEADER (only the guard may set it)."""
    if not any(k.lower() == KEY_ID_HEADER for k, _ in scope["headers"]):
        return scope
    return {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != KEY_ID_HEADER]}


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_json(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class ConfiguredCORS:
    """CORS only when the deployment lists origins in routing.toml [service].cors_origins (off by default)."""

    def __init__(self, app: Any) -> None:
        from starlette.middleware.cors import CORSMiddleware

        origins = list(load_routing_config().service.cors_origins)
        self.app = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST"],
                                  allow_headers=["X-API-Key", "Authorization", "Content-Type"]) if origins else app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
