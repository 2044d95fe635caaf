"""API keys and the request guard's pieces: key parsing, roles, body decoding, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from appeals.api_models import ClassifyBatchRequest, ClassifyRequest, Open311Request
from appeals.auth import KeyRing, create_keys_file, hash_key, load_keyring, presented_key
from appeals.config import ConfigError
from appeals.guard import ClientError, check_limits, decode_body, error_body, form_fields
from appeals.routing import Limits


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> KeyRing:
    path = tmp_path / "keys.txt"
    path.write_text(f"# keys\nportal:sha256:{hash_key('from-file')}\noperator:op-plain  # comment\n",
                    encoding="utf-8")
    monkeypatch.setenv("APPEALS_API_KEYS", "portal:p1, operator:o1")
    return load_keyring(path)


@pytest.mark.parametrize("key, role", [("p1", "portal"), ("o1", "operator"), ("from-file", "portal"),
                                       ("op-plain", "operator"), ("nope", None), ("", None), (None, None)])
def test_role_of_key(ring: KeyRing, key: str | None, role: str | None) -> None:
    assert ring.role_of(key) == role


@pytest.mark.parametrize("key, needed, allowed", [("p1", "portal", True), ("p1", "operator", False),
                                                  ("o1", "portal", True), ("o1", "operator", True),
                                                  ("x", "portal", False)])
def test_roles_grant(ring: KeyRing, key: str, needed: str, allowed: bool) -> None:
    assert ring.allows(key, needed) is allowed


def test_only_digests_are_kept(ring: KeyRing) -> None:
    assert all(len(digest) == 64 for _, digest in ring.entries)
    assert "p1" not in repr(ring) and "op-plain" not in repr(ring)


@pytest.mark.parametrize("entry", ["admin:x", "portal", "portal:", "portal:sha256:abc"])
def test_bad_key_entries_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, entry: str) -> None:
    monkeypatch.setenv("APPEALS_API_KEYS", entry)
    with pytest.raises(ConfigError, match="APPEALS_API_KEYS entry 1"):
        load_keyring(tmp_path / "missing.txt")


def test_created_key_file_round_trip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("APPEALS_API_KEYS", raising=False)
    path = tmp_path / "keys.txt"
    keys = create_keys_file(path)
    assert keys["portal"] not in path.read_text() and oct(path.stat().st_mode)[-3:] == "600"
    assert load_keyring(path).role_of(keys["operator"]) == "operator"


@pytest.mark.parametrize("headers, fallback, expected", [
    ({"x-api-key": " k1 "}, None, "k1"), ({"authorization": "Bearer k2"}, None, "k2"),
    ({"authorization": "Basic zzz"}, "k3", "k3"), ({}, None, None)])
def test_presented_key(headers: dict, fallback: str | None, expected: str | None) -> None:
    assert presented_key(headers, fallback) == expected


@pytest.mark.parametrize("body, content_type, open311, status", [
    (b'{"text": 1', "application/json", False, 400),
    ("{}".encode("utf-16"), "application/json", False, 400),
    (b"text=1", "text/plain", False, 415),
    (b"description=x", "application/x-www-form-urlencoded", False, 415),
])
def test_decode_body_errors(body: bytes, content_type: str, open311: bool, status: int) -> None:
    with pytest.raises(ClientError) as err:
        decode_body(body, content_type, open311)
    assert err.value.status == status


def test_decode_form_for_open311() -> None:
    data = decode_body("description=Яма&lat=58.1&attribute[WHERE]=двор".encode(),
                       "application/x-www-form-urlencoded", True)
    assert data == {"description": "Яма", "lat": "58.1", "attribute": {"WHERE": "двор"}}
    assert form_fields("") == {}


@pytest.mark.parametrize("payload, fields", [
    (ClassifyRequest(text="Яма"), []),
    (ClassifyRequest(text="я" * 101), ["text"]),
    (ClassifyRequest(text="<br>&nbsp;"), ["text"]),
    (Open311Request(description="я" * 101), ["description"]),
    (ClassifyBatchRequest(appeals=[ClassifyRequest(text="Яма")] * 6), ["appeals"]),
    (ClassifyBatchRequest(appeals=[ClassifyRequest(text="Яма"), ClassifyRequest(text="я" * 101)]),
     ["appeals.1.text"]),
])
def test_deployment_limits(payload: object, fields: list[str]) -> None:
    limits = Limits(max_text_chars=100, max_batch=5)
    assert [p["field"] for p in check_limits(payload, limits)] == fields  # type: ignore[arg-type]


def test_error_bodies() -> None:
    err = ClientError(422, "bad", [{"field": "text", "msg": "empty"}])
    assert b'"detail"' in error_body(err)
    assert error_body(err, open311=True).startswith(b'[{"code": 422, "description": "text: empty"')


@pytest.mark.parametrize("key", ["p1", "op-plain", "unknown-key"])
def test_keys_are_compared_in_constant_time_with_every_digest(ring: KeyRing, key: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Whichever entry matches (the first, the last, none), every stored digest is compared with
    # hmac.compare_digest and nothing else, so the answer's timing does not tell which entry matched.
    import hmac

    from appeals import auth

    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    ring.role_of(key)
    assert [b.decode() for _, b in calls] == [digest for _, digest in ring.entries]
    assert all(a == hash_key(key).encode() for a, _ in calls)  # the presented key is hashed first


def test_the_key_id_header_is_set_by_the_guard_only() -> None:
    """The service trusts X-Appeals-Key-Id for audit records: the guard sets it from the accepted key
    and drops any value a client sent, on guarded and unguarded routes alike."""
    import asyncio

    from appeals.auth import KeyRing, hash_key, key_id
    from appeals.guard import KEY_ID_HEADER, RequestGuard

    seen: list[dict] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        seen.append(dict(scope["headers"]))

    guard = RequestGuard(app, keyring=KeyRing((("operator", hash_key("op-secret")),)))
    body = b'{"appeal_id": "a-1", "operator_id": "op", "topic": "x"}'

    def call(path: str, method: str, headers: list[tuple[bytes, bytes]]) -> None:
        scope = {"type": "http", "path": path, "method": method, "headers": headers, "query_string": b""}
        sent = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive() -> dict:
            return next(sent)

        async def send(message: dict) -> None:
            pass

        asyncio.run(guard(scope, receive, send))

    forged = (KEY_ID_HEADER, b"sha256:forged")
    call("/feedback", "POST", [(b"x-api-key", b"op-secret"), (b"content-type", b"application/json"), forged])
    call("/metadata", "GET", [forged])
    assert seen[0][KEY_ID_HEADER] == key_id(hash_key("op-secret")).encode()
    assert KEY_ID_HEADER not in seen[1]
