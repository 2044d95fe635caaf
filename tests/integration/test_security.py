"""Security over HTTP against a real `appeals serve`: API keys live only as digests, a digest is not a
key, portal keys cannot correct, and every operator's correction leaves an audit record naming the key
that sent it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.service_env import OPERATOR_KEY, PORTAL_KEY

pytestmark = [pytest.mark.service, pytest.mark.slow]
TEXT = "Во дворе дома 12 на улице Садовой не горят фонари, вечером темно и опасно"


def post(app: Any, path: str, body: dict, key: str, headers: dict[str, str] | None = None) -> Any:
    import httpx

    return httpx.post(f"{app.url}{path}", json=body, headers={"X-API-Key": key, **(headers or {})}, timeout=60)


def test_keys_are_kept_as_digests_and_a_digest_is_not_a_key(served_with_key_file: Any) -> None:
    import psutil

    from appeals.auth import hash_key

    app = served_with_key_file
    key_file = next(p for p in app.stdout.parent.iterdir() if p.name == "api_keys.txt").read_text()
    assert PORTAL_KEY not in key_file and OPERATOR_KEY not in key_file
    worker_env = [" ".join(f"{k}={v}" for k, v in p.environ().items())
                  for p in psutil.Process(app.process.pid).children(recursive=True)]
    assert worker_env and not any(PORTAL_KEY in e or OPERATOR_KEY in e for e in worker_env)
    assert post(app, "/classify", {"id": "sec-1", "text": TEXT}, PORTAL_KEY).status_code == 200
    assert post(app, "/classify", {"id": "sec-2", "text": TEXT}, hash_key(PORTAL_KEY)).status_code == 401
    assert post(app, "/classify", {"id": "sec-3", "text": TEXT}, PORTAL_KEY[:-1]).status_code == 401
    refused = post(app, "/feedback", {"appeal_id": "sec-1", "operator_id": "op-1", "topic": "Освещение"},
                   PORTAL_KEY)
    assert refused.status_code == 403  # a portal's key classifies; only operators correct
    assert PORTAL_KEY not in app.logs() and OPERATOR_KEY not in app.logs()


def _corrections(db_url: str, appeal_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from appeals.store import corrections_table, make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(corrections_table).where(corrections_table.c.appeal_id == appeal_id)
                                .order_by(corrections_table.c.id)).mappings().all()
        return [dict(r) for r in rows]
    finally:
        engine.dispose()


def test_every_correction_leaves_an_audit_record(served_with_key_file: Any) -> None:
    from appeals.auth import hash_key, key_id
    from appeals.store import get_appeal, make_engine

    app = served_with_key_file
    answer = post(app, "/classify", {"id": "audit-1", "text": TEXT}, PORTAL_KEY).json()
    started = datetime.now(UTC)
    changes = [{"operator_id": "op-anna", "topic": "Уличное освещение"},
               {"operator_id": "op-boris", "urgency": "high", "comment": "звонили ещё раз"},
               {"operator_id": "op-anna", "department": "Управление благоустройства"}]
    ids = []
    for n, change in enumerate(changes):
        # the second one also claims another key's id: the guard drops that header and sets the real one
        forged = {"X-Appeals-Key-Id": "sha256:0000000000000000"} if n == 1 else None
        r = post(app, "/feedback", {"appeal_id": "audit-1", **change}, OPERATOR_KEY, forged)
        assert r.status_code == 200, r.text
        ids.append(r.json()["correction_id"])
    assert post(app, "/feedback", {"appeal_id": "no-such-appeal", "operator_id": "op-anna", "topic": "x"},
                OPERATOR_KEY).status_code == 404
    rows = _corrections(app.db, "audit-1")
    assert [r["id"] for r in rows] == ids  # one record per correction, none overwritten
    for row, change in zip(rows, changes, strict=True):
        assert row["operator_id"] == change["operator_id"]  # who, as they call themselves
        assert row["key_id"] == key_id(hash_key(OPERATOR_KEY))  # who, by the key they used
        assert started <= row["corrected_at"] <= datetime.now(UTC)  # when
        changed = {f for f in ("topic", "topic_group", "department", "urgency") if row[f] is not None}
        assert changed == set(change) - {"operator_id", "comment"}  # what changed, nothing else
    # What it was before: the stored appeal keeps the model's answer; corrections never overwrite it.
    stored = get_appeal(make_engine(app.db), "audit-1")
    assert stored is not None and stored.topic == answer["topic"]["label"]
    assert stored.urgency == answer["urgency"]["level"]
