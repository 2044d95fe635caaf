"""The routing service called in process (Service.to_asgi() + Starlette's TestClient): every endpoint
and every kind of bad input, with the store checked behind the answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.service_env import OPERATOR_KEY, PORTAL_KEY, service_app, service_env

pytestmark = [pytest.mark.service, pytest.mark.slow]

PORTAL = {"X-API-Key": PORTAL_KEY}
OPERATOR = {"X-API-Key": OPERATOR_KEY}
PHONE = "89123456789"
GARBAGE = "Во дворе дома 5 на улице Ленина не вывозят мусор уже неделю, контейнеры переполнены"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    import warnings

    with service_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's TestClient warns that it prefers httpx2
        from starlette.testclient import TestClient


        with TestClient(service_app(), raise_server_exceptions=False) as test_client:
            yield test_client


@pytest.fixture(scope="module")
def engine(client: Any) -> Any:
    from appeals.store import make_engine

    return make_engine()


def test_classify_answers_everything_and_stores_masked_text(client: Any, engine: Any) -> None:
    from appeals.store import get_appeal

    body = {"id": "t-classify-1", "text": f"{GARBAGE}. Мой телефон {PHONE}",
            "created_at": "2026-01-10T09:00:00+05:00", "channel": "portal", "district": "Заречный"}
    r = client.post("/classify", json=body, headers=PORTAL)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == "t-classify-1"
    assert len(out["topic_top3"]) == 3 and out["topic_top3"][0]["label"] == out["topic"]["label"]
    assert 0 <= out["department"]["proba"] <= 1 and out["department"]["source"] == "model"
    assert out["urgency"]["level"] in {"critical", "high", "normal", "low"}
    if out["urgency"]["level"] != "low":
        assert out["urgency"]["deadline"] > "2026-01-10"
    assert PHONE not in out["text_masked"] and "[ТЕЛЕФОН]" in out["text_masked"]
    assert out["places"]["street"] is not None
    assert set(out["model_versions"]) == {"topic", "topic_group", "department", "urgency"}
    stored = get_appeal(engine, "t-classify-1")  # committed before the answer left
    assert stored is not None and PHONE not in stored.text_masked
    assert stored.topic == out["topic"]["label"] and stored.district == "Заречный"


def test_same_id_twice_is_stored_once(client: Any, engine: Any) -> None:
    from appeals.store import count_appeals

    body = {"id": "t-idem", "text": "Яма на дороге возле школы номер 3, машины бьют колёса"}
    first = client.post("/classify", json=body, headers=PORTAL).json()
    before = count_appeals(engine)
    second = client.post("/classify", json=body, headers=PORTAL).json()
    assert (first["already_stored"], second["already_stored"]) == (False, True)
    assert count_appeals(engine) == before


def test_repeated_text_is_flagged_as_possible_duplicate(client: Any) -> None:
    text = "Третий день не работает лифт в подъезде 2 дома 14 по улице Мира, пожилые не могут выйти"
    a = client.post("/classify", json={"id": "t-dup-a", "text": text}, headers=PORTAL).json()
    b = client.post("/classify", json={"id": "t-dup-b", "text": text + "!"}, headers=PORTAL).json()
    assert a["duplicate_of"] is None
    assert b["duplicate_of"] == "t-dup-a" and b["group_size"] == 2
    assert "possible duplicate" in b["review_reasons"] and b["needs_review"]


def test_duplicate_index_is_rebuilt_from_the_store(client: Any, engine: Any) -> None:
    from appeals.grouping import group_batch, restore_index

    text = "Возле остановки Школьная прорвало трубу, вода заливает тротуар и проезжую часть"
    a = client.post("/classify", json={"id": "t-restart-a", "text": text}, headers=PORTAL).json()
    index = restore_index(engine)  # what a restarted service starts from
    assert index.group_id_of("t-restart-a") == a["group_id"]
    [(_, duplicate_of, size, reasons)] = group_batch(index, ["t-restart-b"], [a["text_masked"]], [None],
                                                     [a["topic_group"]["label"]])
    assert duplicate_of == "t-restart-a" and size == 2 and reasons == ["possible duplicate"]


def test_a_restarted_index_keeps_the_stored_topics(tmp_path: Any) -> None:
    """The stored `topic_top3` goes back into the rebuilt index: another resident's words about the
    same problem at the same house still meet the stored appeal after a restart."""
    from datetime import UTC, datetime, timedelta

    from appeals.grouping import group_batch, restore_index
    from appeals.store import AppealRow, make_engine, save_appeals, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'topics.db'}")
    upgrade(engine)
    now = datetime.now(UTC)
    hot_water = [("Отсутствие горячей воды", 0.7), ("Жалобы на УК", 0.1), ("Ремонт", 0.05)]
    save_appeals(engine, [AppealRow(id="first", received_at=now - timedelta(days=1), created_at=now - timedelta(days=1),
                                    text_masked="В доме 8 по улице Лесной с понедельника нет горячей воды",
                                    group_id="first", topic_top3=hot_water)])
    retold = "Лесная, 8. Третий день из кранов течёт только холодная, помыть ребёнка нечем"
    for tops, joins in ((None, False), ([hot_water], True)):
        index = restore_index(engine)
        [(_, duplicate_of, _, _)] = group_batch(index, ["second"], [retold], [now], [None], tops)
        assert (duplicate_of == "first") is joins


def test_a_restart_rebuilds_only_the_recent_appeals(tmp_path: Any) -> None:
    """restore_days bounds what a restarted service loads: old appeals keep their stored group but
    are not in the index; appeals without a date count from when they were received."""
    from datetime import UTC, datetime, timedelta

    from appeals.dedupe_config import load_dedupe_config
    from appeals.grouping import restore_index
    from appeals.store import AppealRow, make_engine, save_appeals, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'restore.db'}")
    upgrade(engine)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    text = "Во дворе дома 3 по улице Лесной не вывозят мусор"
    save_appeals(engine, [
        AppealRow(id="old", received_at=now - timedelta(days=200), created_at=now - timedelta(days=200),
                  text_masked=text, group_id="old"),
        AppealRow(id="old-received", received_at=now - timedelta(days=90), text_masked=text, group_id="old"),
        AppealRow(id="recent", received_at=now - timedelta(days=3), created_at=now - timedelta(days=300),
                  text_masked=text, group_id="old"),  # dated long ago: its date decides
        AppealRow(id="new", received_at=now - timedelta(days=2), created_at=now - timedelta(days=2),
                  text_masked=text + " снова", group_id="new"),
    ])
    config = load_dedupe_config().model_copy(update={"restore_days": 56})
    assert set(restore_index(engine, config, now=now).row_of) == {"new"}
    everything = load_dedupe_config().model_copy(update={"restore_days": None})
    assert set(restore_index(engine, everything, now=now).row_of) == {"old", "old-received", "recent", "new"}


def test_a_running_service_refreshes_its_index_without_losing_new_appeals(tmp_path: Any) -> None:
    """refresh_index drops appeals older than restore_days, keeps those stored while it was building
    (with their groups) and gives up when an operator regrouped meanwhile."""
    import threading
    from datetime import UTC, datetime, timedelta

    from appeals.dedupe_config import load_dedupe_config
    from appeals.grouping import refresh_index
    from appeals.store import AppealRow, make_engine, save_appeals, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'refresh.db'}")
    upgrade(engine)
    now = datetime.now(UTC)
    text = "У дома 8 по улице Садовой третий день течёт вода из трубы"
    save_appeals(engine, [
        AppealRow(id="old", received_at=now - timedelta(days=90), created_at=now - timedelta(days=90),
                  text_masked=text, group_id="old"),
        AppealRow(id="recent", received_at=now - timedelta(days=1), text_masked=text, group_id="recent")])

    class LockThatLetsOneAppealIn:
        """The service's lock, taken just after an appeal answered during the build was committed."""

        def __init__(self) -> None:
            self.lock = threading.Lock()

        def __enter__(self) -> None:
            save_appeals(engine, [AppealRow(id="late", received_at=datetime.now(UTC), text_masked=text + "!",
                                            group_id="recent")])
            self.lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self.lock.release()

    config = load_dedupe_config().model_copy(update={"restore_days": 56})
    swapped: list[Any] = []
    size = refresh_index(engine, LockThatLetsOneAppealIn(), lambda: 0, swapped.append, config)
    assert size == 2 and set(swapped[0].row_of) == {"recent", "late"}
    assert swapped[0].group_id_of("late") == swapped[0].group_id_of("recent") == "recent"
    counts = iter([0, 1])  # a split or merge happened while it was building
    assert refresh_index(engine, threading.Lock(), lambda: next(counts), swapped.append, config) is None
    assert len(swapped) == 1


@pytest.mark.parametrize("text, reason", [
    ("The streetlight near my house has been broken for a week, please fix it", "not Russian text"),
    ("12345 !!! 678 ???", "no letters"),
])
def test_foreign_or_letterless_text_goes_to_review(client: Any, text: str, reason: str) -> None:
    r = client.post("/classify", json={"text": text}, headers=PORTAL)
    assert r.status_code == 200
    assert r.json()["needs_review"] and reason in r.json()["review_reasons"]


def test_classify_batch_keeps_order_and_stores_all(client: Any, engine: Any) -> None:
    from appeals.store import existing_ids

    appeals = [{"id": f"t-batch-{i}", "text": t} for i, t in enumerate(
        [GARBAGE, "Не горит фонарь у подъезда дома 7", "Нет горячей воды уже третий день"])]
    r = client.post("/classify_batch", json={"appeals": appeals}, headers=PORTAL)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()] == ["t-batch-0", "t-batch-1", "t-batch-2"]
    assert existing_ids(engine, ["t-batch-0", "t-batch-1", "t-batch-2"]) == {"t-batch-0", "t-batch-1", "t-batch-2"}


def test_feedback_is_stored_for_retraining(client: Any, engine: Any) -> None:
    from appeals.store_frames import corrections_frame

    client.post("/classify", json={"id": "t-fb", "text": GARBAGE}, headers=PORTAL)
    body = {"appeal_id": "t-fb", "operator_id": "op-7", "department": "Управление ЖКХ", "urgency": "critical",
            "comment": f"перезвонил по {PHONE}"}
    r = client.post("/feedback", json=body, headers=OPERATOR)
    assert r.status_code == 200, r.text
    assert r.json()["appeal_id"] == "t-fb" and r.json()["correction_id"] >= 1
    row = corrections_frame(engine).set_index("id").loc["t-fb"]
    assert (row["department"], row["urgency"]) == ("Управление ЖКХ", "critical")


@pytest.mark.parametrize("headers, status", [({}, 401), (PORTAL, 403), ({"X-API-Key": "wrong"}, 401)])
def test_feedback_needs_an_operator_key(client: Any, headers: dict, status: int) -> None:
    body = {"appeal_id": "t-fb", "operator_id": "op", "topic": "Вывоз мусора"}
    r = client.post("/feedback", json=body, headers=headers)
    assert r.status_code == status and r.json()["detail"][0]["field"] == "X-API-Key"


def test_feedback_for_unknown_appeal_is_404(client: Any) -> None:
    r = client.post("/feedback", json={"appeal_id": "never-seen", "operator_id": "op", "topic": "x"},
                    headers=OPERATOR)
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "appeal_id"


@pytest.mark.parametrize("path", ["/classify", "/classify_batch", "/open311/v2/requests.json"])
def test_write_endpoints_refuse_without_key(client: Any, path: str) -> None:
    r = client.post(path, json={"text": "x"})
    assert r.status_code == 401


def test_bearer_token_is_accepted(client: Any) -> None:
    r = client.post("/classify", json={"text": GARBAGE}, headers={"Authorization": f"Bearer {PORTAL_KEY}"})
    assert r.status_code == 200


def test_open311_services_list_our_topics(client: Any) -> None:
    services = client.get("/open311/v2/services.json").json()
    topics = client.get("/metadata").json()["models"]["topic"]["labels"]
    assert [s["service_code"] for s in services] == topics
    assert all(s["group"] for s in services)  # the topic -> group map travelled with the model


@pytest.mark.parametrize("form", [True, False])
def test_open311_request_is_answered_like_georeport(client: Any, engine: Any, form: bool) -> None:
    from appeals.store import get_appeal

    fields = {"description": "Не горит уличный фонарь у остановки Рынок", "lat": "58.01", "long": "56.25",
              "address_string": "ул. Ленина, 5", "first_name": "Иван", "email": "ivan@example.com",
              "api_key": PORTAL_KEY}
    r = client.post("/open311/v2/requests.json", **({"data": fields} if form else {"json": fields}))
    assert r.status_code == 200, r.text
    [created] = r.json()
    assert {"service_request_id", "service_code", "agency_responsible", "expected_datetime"} <= set(created)
    stored = get_appeal(engine, created["service_request_id"])
    assert stored is not None and stored.channel == "open311"
    assert "ivan@example.com" not in stored.model_dump_json()


def test_open311_errors_use_georeport_format(client: Any) -> None:
    r = client.post("/open311/v2/requests.json", json={"lat": 58.0, "api_key": PORTAL_KEY})
    assert r.status_code == 422
    assert r.json()[0]["code"] == 422 and r.json()[0]["field"] == "description"


def test_health_ready_and_metadata(client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    meta = client.get("/metadata").json()
    assert set(meta["models"]) == {"topic", "topic_group", "department", "urgency"}
    assert meta["models"]["urgency"]["labels"] == ["critical", "high", "normal", "low"]
    assert meta["models"]["topic"]["version"] == "1" and meta["conflict_check"] == "on"


def test_cors_is_off_by_default(client: Any) -> None:
    r = client.options("/classify", headers={"Origin": "https://evil.example",
                                             "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers


LONG = "а" * 5001
BAD_INPUT = [
    # (id, path, body as bytes or JSON, headers, expected status, field named)
    ("empty text", "/classify", {"text": ""}, {}, 422, "text"),
    ("whitespace text", "/classify", {"text": "  \n\t "}, {}, 422, "text"),
    ("markup only", "/classify", {"text": "<br><p></p>"}, {}, 422, "text"),
    ("text over limit", "/classify", {"text": LONG}, {}, 422, "text"),
    ("text wrong type", "/classify", {"text": 123}, {}, 422, "text"),
    ("text missing", "/classify", {"id": "x"}, {}, 422, "text"),
    ("unknown field", "/classify", {"text": "Яма", "colour": "red"}, {}, 422, "colour"),
    ("bad date", "/classify", {"text": "Яма", "created_at": "вчера"}, {}, 422, "created_at"),
    ("date out of range", "/classify", {"text": "Яма", "created_at": "0001-01-01T00:00:00"}, {}, 422,
     "created_at"),
    ("date in the future", "/classify", {"text": "Яма", "created_at": "9999-12-31T23:59:59"}, {}, 422,
     "created_at"),
    ("id wrong type", "/classify", {"text": "Яма", "id": 5}, {}, 422, "id"),
    ("body is a list", "/classify", [{"text": "Яма"}], {}, 422, "body"),
    ("invalid JSON", "/classify", b'{"text": "\xd0\xaf\xd0\xbc\xd0\xb0",', {}, 400, "body"),
    ("non-UTF-8", "/classify", '{"text": "Яма"}'.encode("cp1251"), {}, 400, "body"),
    ("lone surrogate", "/classify", b'{"text": "\\ud800 \xd0\xaf\xd0\xbc\xd0\xb0"}', {}, 400, "body"),
    ("NUL character", "/classify", b'{"text": "\xd0\xaf\xd0\xbc\xd0\xb0", "channel": "a\\u0000"}', {}, 400,
     "body"),
    ("nested too deep", "/classify", b"[" * 50_000, {}, 400, "body"),
    ("wrong media type", "/classify", b"text=hello", {"Content-Type": "text/plain"}, 415, "body"),
    ("body too large", "/classify", b"{}", {"Content-Length": "999999999"}, 413, "body"),
    ("batch over limit", "/classify_batch", {"appeals": [{"text": "Яма"}] * 1001}, {}, 422, "appeals"),
    ("batch empty", "/classify_batch", {"appeals": []}, {}, 422, "appeals"),
    ("batch item empty", "/classify_batch", {"appeals": [{"text": "Яма"}, {"text": " "}]}, {}, 422,
     "appeals.1.text"),
    ("batch not a list", "/classify_batch", {"appeals": "Яма"}, {}, 422, "appeals"),
    ("batch item wrong type", "/classify_batch", {"appeals": [{"text": ["Яма"]}]}, {}, 422, "appeals.0.text"),
    ("feedback nothing corrected", "/feedback", {"appeal_id": "t-fb", "operator_id": "op"}, OPERATOR, 422,
     "body"),
    ("feedback bad urgency", "/feedback", {"appeal_id": "t-fb", "operator_id": "op", "urgency": "asap"},
     OPERATOR, 422, "urgency"),
    ("feedback unknown field", "/feedback", {"appeal_id": "t-fb", "operator_id": "op", "topic": "x", "y": 1},
     OPERATOR, 422, "y"),
]


@pytest.mark.parametrize("path, body, headers, status, field", [c[1:] for c in BAD_INPUT],
                         ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_a_4xx_naming_the_field(client: Any, path: str, body: Any, headers: dict, status: int,
                                             field: str) -> None:
    sent = {**PORTAL, **headers}
    if isinstance(body, bytes):
        sent.setdefault("Content-Type", "application/json")
        r = client.post(path, content=body, headers=sent)
    else:
        r = client.post(path, json=body, headers=sent)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(r.json()["error"], str) and any(d["field"] == field for d in detail), detail


def test_logs_never_hold_raw_text(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    secret = "Пишет Иванова Мария Петровна, тел. 8 912 345-67-89, e-mail maria.ivanova@example.com"
    with caplog.at_level(logging.DEBUG):
        client.post("/classify", json={"text": f"{GARBAGE}. {secret}"}, headers=PORTAL)
        client.post("/classify", json={"text": secret * 300}, headers=PORTAL)  # rejected: over the limit
        client.post("/classify", json={"text": secret, "oops": 1}, headers=PORTAL)
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert "classified" in logged and "rejected" in logged
    for piece in ("345-67-89", "maria.ivanova", "Иванова"):
        assert piece not in logged
    assert all(json.loads(r.getMessage()) for r in caplog.records if r.name == "appeals.service")


def test_no_5xx_for_random_requests(client: Any) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
    fields = st.fixed_dictionaries({}, optional={
        "text": st.one_of(st.text(max_size=300), scalar), "id": scalar, "created_at": st.one_of(
            scalar, st.datetimes().map(lambda d: d.isoformat())), "channel": scalar, "district": scalar,
        "address": scalar, "extra": scalar})

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=st.one_of(fields, st.lists(fields, max_size=3), scalar),
           path=st.sampled_from(["/classify", "/classify_batch", "/feedback", "/open311/v2/requests.json"]))
    def check(body: Any, path: str) -> None:
        if path == "/classify_batch" and isinstance(body, dict):
            body = {"appeals": [body]}
        r = client.post(path, json=body, headers=OPERATOR)
        assert r.status_code < 500, (path, r.text)

    check()


def test_trends_returns_report_numbers_for_stored_appeals(client: Any) -> None:
    texts = ["Не вывозят мусор во дворе дома 7 по улице Садовой", "Яма на дороге у остановки Школьная",
             "Не горит фонарь у подъезда дома 3 по улице Мира"]
    for i, text in enumerate(texts):
        body = {"id": f"t-trends-{i}", "text": text, "created_at": f"2026-02-0{i + 2}T10:00:00"}
        assert client.post("/classify", json=body, headers=PORTAL).status_code == 200
    assert client.get("/trends").status_code == 401
    assert client.get("/trends", headers=PORTAL).status_code == 403  # reports are for operators
    r = client.get("/trends", params={"from": "2026-02-01", "to": "2026-02-28"}, headers=OPERATOR)
    assert r.status_code == 200, r.text
    body = json.dumps(r.json(), ensure_ascii=False)
    assert "2026-02-01" in body and PHONE not in body


@pytest.mark.parametrize(("params", "status"), [({"from": "2026-03-01", "to": "2026-02-01"}, 422),
                                                ({"from": "not-a-date"}, 422),
                                                ({"from": "0001-01-01"}, 422), ({"to": "9999-12-31"}, 422),
                                                ({"from": "2001-01-01", "to": "2001-01-31"}, 404)])
def test_trends_bad_period(client: Any, params: dict, status: int) -> None:
    r = client.get("/trends", params=params, headers=OPERATOR)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")


PIPE = "Прорвало трубу в подвале дома 14 по улице Гоголя, вода заливает подвал, срочно перекройте"


def test_operator_splits_and_merges_duplicate_groups(client: Any, engine: Any) -> None:
    from appeals.store import get_appeal

    ids = ["t-grp-a", "t-grp-b", "t-grp-c"]
    answers = [client.post("/classify", json={"id": i, "text": PIPE + "!" * k}, headers=PORTAL).json()
               for k, i in enumerate(ids)]
    assert len({a["group_id"] for a in answers}) == 1 and answers[-1]["group_size"] == 3
    group = answers[0]["group_id"]

    split = client.post("/feedback", json={"appeal_id": "t-grp-c", "operator_id": "op-7", "group_action": "split"},
                        headers=OPERATOR)
    assert split.status_code == 200, split.text
    assert split.json()["group_size"] == 1 and split.json()["group_id"] != group
    stored = get_appeal(engine, "t-grp-c")
    assert stored is not None and stored.group_id == split.json()["group_id"] and stored.duplicate_of is None

    merge = client.post("/feedback", json={"appeal_id": "t-grp-c", "operator_id": "op-7", "group_action": "merge",
                                           "merge_with": "t-grp-a"}, headers=OPERATOR)
    assert merge.status_code == 200, merge.text
    assert (merge.json()["group_id"], merge.json()["group_size"]) == (group, 3)
    stored = get_appeal(engine, "t-grp-c")
    assert stored is not None and stored.group_id == group and stored.duplicate_of == "t-grp-a"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"group_action": "merge"}, 422, "merge_with"),
    ({"group_action": "split", "merge_with": "t-grp-a"}, 422, "merge_with"),
    ({"group_action": "merge", "merge_with": "no-such-appeal"}, 404, "merge_with"),
    ({"group_action": "regroup"}, 422, "group_action"),
])
def test_group_feedback_errors(client: Any, body: dict, status: int, field: str) -> None:
    client.post("/classify", json={"id": "t-grp-e", "text": PIPE}, headers=PORTAL)
    r = client.post("/feedback", json={"appeal_id": "t-grp-e", "operator_id": "op-7", **body}, headers=OPERATOR)
    assert r.status_code == status, r.text
    assert field in r.text
