"""The appeal routing service (BentoML 1.4).

Portals POST an appeal and get back topic, group, department, urgency with its deadline, places,
the masked text and whether a person should review it; the appeal is committed to the store before
the answer leaves. The four MLflow champions are declared at class level (imported into the BentoML
model store by `appeals serve`), so a Bento carries them. Logic lives in the `appeals` package:
classifier (answers), guard (limits, keys, bad input), store (SQLAlchemy), routing (rules as data).

Run: `appeals serve` (imports the champions, then `bentoml serve service.service:AppealsService`).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import bentoml
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from appeals.api_models import (
    ClassifyRequest,
    ClassifyResponse,
    FeedbackRequest,
    FeedbackResponse,
    Open311Created,
    Open311Request,
    Open311Service,
)
from appeals.guard import ConfiguredCORS, RequestGuard
from appeals.health import STORE_ERRORS, StoreGate, StoreHangs, refusal
from appeals.overload import OverloadGuard
from appeals.registry import MODEL_NAMES
from appeals.tracing import tracing_off_unless_exported

TRACING = tracing_off_unless_exported()  # before BentoML builds its tracer provider
log = logging.getLogger("appeals.service")
extra_routes = FastAPI(title="appeals: metadata and Open311 GeoReport v2")


def _log_events() -> None:
    """Let our INFO events through; BentoML's handler prints them, each message one JSON object built
    from masked data only."""
    logging.getLogger("appeals").setLevel(logging.INFO)


TRENDS_YEARS = (2000, 2100)  # dates outside are typing mistakes (and overflow the baseline arithmetic)
TRENDS_MAX_DAYS = 3 * 366


def _period_problem(start: date, end: date) -> tuple[str, str] | None:
    """(field, message) when a /trends period cannot be right, else None."""
    for field, day in (("from", start), ("to", end)):
        if not TRENDS_YEARS[0] <= day.year <= TRENDS_YEARS[1]:
            return field, f"{day} is outside {TRENDS_YEARS[0]}–{TRENDS_YEARS[1]}"
    if start > end:
        return "from", f"'from' ({start}) is after 'to' ({end})"
    if (end - start).days > TRENDS_MAX_DAYS:
        return "to", f"the period is longer than {TRENDS_MAX_DAYS} days; ask for a shorter one"
    return None


class StoreUnavailable(bentoml.exceptions.ServiceUnavailable):
    """The store failed: 503 (StoreGate writes the reason into BentoML's body for batches), never a 500."""


def _with_status(ctx: bentoml.Context, response: Any) -> Any:
    """`response` from an API that takes a Context: BentoML then sends ctx.response's status, so it is
    set from the response (its headers, Retry-After included, are kept)."""
    ctx.response.status_code = response.status_code
    return response


@bentoml.asgi_app(extra_routes, path="/")
# threads=2: BentoML runs sync APIs one at a time by default (threads=1), so a request stuck on a frozen
# database would hold every later one until its client gave up. With a second thread the next
# request reaches the store lock, is refused after its bound (ServiceHealth.holding: 503, "it hangs")
# and trips the store circuit, so the rest are refused at once. The heavy work stays under that lock.
@bentoml.service(name="appeals", workers=1, threads=2, traffic={"timeout": 120})
class AppealsService:
    topic_model = bentoml.models.BentoModel(f"{MODEL_NAMES['topic']}:latest")
    topic_group_model = bentoml.models.BentoModel(f"{MODEL_NAMES['topic_group']}:latest")
    department_model = bentoml.models.BentoModel(f"{MODEL_NAMES['department']}:latest")
    urgency_model = bentoml.models.BentoModel(f"{MODEL_NAMES['urgency']}:latest")

    def __init__(self) -> None:
        _log_events()
        from appeals.bento_models import load_task_model, topic_groups_of
        from appeals.classifier import Classifier
        from appeals.grouping import restore_index
        from appeals.health import ServiceHealth
        from appeals.malloc import Trimmer, tune_malloc
        from appeals.routing import load_routing_config
        from appeals.store import make_engine, upgrade
        from appeals.urgency_config import load_urgency_config

        routing = load_routing_config()
        malloc = tune_malloc(routing.service.malloc_arenas,  # before the request threads allocate
                             routing.service.malloc_mmap_threshold_kb)
        self.trimmer = Trimmer(routing.service.malloc_trim_s)
        self.engine = make_engine(sqlite_synchronous=routing.store.sqlite_synchronous,
                                  connect_timeout_s=routing.store.connect_timeout_s,
                                  statement_timeout_s=routing.store.statement_timeout_s or None)
        upgrade(self.engine)
        stored = {"topic": self.topic_model, "topic_group": self.topic_group_model,
                  "department": self.department_model, "urgency": self.urgency_model}
        self.classifier = Classifier({task: load_task_model(task, m) for task, m in stored.items()},
                                     routing, load_urgency_config().deadline,
                                     topic_groups_of(self.topic_model), restore_index(self.engine))
        self.health = ServiceHealth(self.engine, int(routing.store.min_free_mb * 2**20),
                                    {str(m.tag): Path(m.path) for m in stored.values()},
                                    probe_timeout_s=routing.store.connect_timeout_s + 1)
        self.classifier.warm_up()  # /readyz answers only when the first appeal will be fast
        self.lock = threading.Lock()  # the duplicate index and the store writes go one batch at a time
        # how long a request waits for that lock before it is refused as "store hangs" (503)
        self.lock_wait_s = routing.store.connect_timeout_s + (routing.store.statement_timeout_s or 30)
        self.refresh_every_s = routing.service.index_refresh_hours * 3600
        self.index_built = time.monotonic()
        self.refreshing = threading.Lock()  # held while a background rebuild of the index runs
        self.regroups = 0  # operators' splits and merges so far (a rebuild meanwhile is discarded)
        # Models, vocabularies and libraries live as long as the worker: frozen, they are left out of the
        # garbage collector's full passes, which otherwise walk them (about 150 ms) during some request.
        # No collection first: it found about 30 unreachable objects among 400,000 and took 0.4 s of
        # the cold start.
        gc.freeze()
        log.info(json.dumps({"event": "ready", "models": self.classifier.versions, "memory": malloc,
                             "tracing": TRACING}))

    def __is_ready__(self) -> bool:
        """/readyz: 503 while the store is unreachable or full or a model's files went missing (reason logged)."""
        return self.health.ready()

    def answer(self, requests: list[ClassifyRequest]) -> list[ClassifyResponse]:
        """Classify, commit every new appeal, then answer (the caller returns only after the commit)."""
        from appeals.classifier import appeal_row
        from appeals.store import existing_ids, save_appeals

        started = time.perf_counter()
        try:
            with self.health.holding(self.lock, self.lock_wait_s):
                known = frozenset(existing_ids(self.engine, [r.id for r in requests if r.id]))
                answers = self.classifier.classify(requests, datetime.now(UTC), known)
                save_appeals(self.engine, [appeal_row(r, a) for r, a in zip(requests, answers, strict=True)
                                           if not a.already_stored])
        except STORE_ERRORS as exc:
            raise StoreUnavailable(self.health.trip(exc)) from None
        except StoreHangs as exc:
            raise StoreUnavailable(str(exc)) from None
        self._maybe_refresh_index()
        self.trimmer.maybe()
        log.info(json.dumps({"event": "classified", "n": len(answers),
                             "needs_review": sum(a.needs_review for a in answers),
                             "ms": round(1000 * (time.perf_counter() - started), 1),
                             "ids": [a.id for a in answers[:5]]}))
        return answers

    @bentoml.api(route="/classify")
    def classify(self, appeal: ClassifyRequest, /) -> ClassifyResponse:
        """One appeal: where it goes, how urgent, how sure, whether a person should look."""
        try:
            return self.answer([appeal])[0]
        except StoreUnavailable as exc:
            return refusal(str(exc))  # type: ignore[no-any-return]

    # A batch call is for throughput: the queue may wait for a running batch rather than answer 503
    # (1000 ms gave 503s on 2 busy cores when 1,000-appeal batches took over a second).
    @bentoml.api(route="/classify_batch", batchable=True, batch_dim=0, max_batch_size=1000,
                 max_latency_ms=60_000)
    def classify_batch(self, appeals: list[ClassifyRequest]) -> list[ClassifyResponse]:
        """Up to 1,000 appeals per call; concurrent calls are merged by adaptive batching."""
        return self.answer(appeals)

    @bentoml.api(route="/feedback")
    def feedback(self, correction: FeedbackRequest, /, ctx: bentoml.Context) -> FeedbackResponse:
        """An operator's correction, stored for retraining (`appeals train` can include them)."""
        from appeals.guard import KEY_ID_HEADER
        from appeals.masking import mask_text
        from appeals.store import CorrectionRow, UnknownAppealError

        # the audit record names the key that sent it (set by the guard, never by the client)
        row = CorrectionRow(**correction.model_dump(exclude={"comment"}),
                            comment=mask_text(correction.comment) if correction.comment else None,
                            key_id=ctx.request.headers.get(KEY_ID_HEADER.decode()))
        try:
            correction_id, group = self._store_correction(correction, row)
        except StoreHangs as exc:
            return _with_status(ctx, refusal(str(exc)))
        except UnknownAppealError as exc:
            return _with_status(ctx, JSONResponse(
                {"error": str(exc), "detail": [{"field": "appeal_id", "msg": "unknown id"}]}, status_code=404))
        except KeyError as exc:
            field = "merge_with" if exc.args[0] == correction.merge_with else "appeal_id"
            return _with_status(ctx, JSONResponse({"error": f"{field} {exc.args[0]!r}: not in the duplicate index",
                                                   "detail": [{"field": field, "msg": "unknown id"}]},
                                                  status_code=404))
        except STORE_ERRORS as exc:
            return _with_status(ctx, refusal(self.health.trip(exc)))
        log.info(json.dumps({"event": "feedback", "appeal_id": row.appeal_id, "operator": row.operator_id,
                             "group_action": row.group_action}))
        return FeedbackResponse(correction_id=correction_id, appeal_id=row.appeal_id, corrected_at=row.corrected_at,
                                group_id=group[0] if group else None, group_size=group[1] if group else None)

    def _store_correction(self, correction: FeedbackRequest, row: Any) -> tuple[int, tuple[str, int] | None]:
        """Regroup (when asked) and store the correction, under the store lock: the duplicate index
        and the store change together. Regrouping goes first: it checks both ids before it changes anything."""
        from appeals.store import save_correction

        with self.health.holding(self.lock, self.lock_wait_s):
            group = self._regroup(correction) if correction.group_action else None
            return save_correction(self.engine, row), group

    def _maybe_refresh_index(self) -> None:
        """Start a background rebuild of the duplicate index when one is due (see routing.toml)."""
        due = self.refresh_every_s and time.monotonic() - self.index_built > self.refresh_every_s
        if due and self.refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh_index, name="dedupe-refresh", daemon=True).start()

    def _refresh_index(self) -> None:
        from appeals.grouping import refresh_index

        def swap(fresh: Any) -> None:
            before, self.classifier.dedupe = len(self.classifier.dedupe), fresh
            log.info(json.dumps({"event": "dedupe_index_refreshed", "appeals_before": before,
                                 "appeals_after": len(fresh)}))

        retry_in = 600.0  # after a failure, or a split/merge during the build, try again in 10 minutes
        try:
            if refresh_index(self.engine, self.lock, lambda: self.regroups, swap) is not None:
                retry_in = self.refresh_every_s
        except Exception as exc:  # the live index keeps serving
            log.warning(json.dumps({"event": "dedupe_index_refresh_failed", "error": type(exc).__name__}))
        finally:
            self.index_built = time.monotonic() - self.refresh_every_s + min(retry_in, self.refresh_every_s)
            self.refreshing.release()

    def _regroup(self, correction: FeedbackRequest) -> tuple[str, int]:
        """Split or merge in the duplicate index, store the new groups; the appeal's group and size."""
        from appeals.grouping import regroup
        from appeals.store import set_groups

        index = self.classifier.dedupe
        if index is None or correction.group_action is None:
            raise KeyError(correction.appeal_id)
        changed = regroup(index, correction.appeal_id, correction.group_action, correction.merge_with)
        self.regroups += 1
        set_groups(self.engine, changed)
        group = index.group_id_of(correction.appeal_id)
        return group, index.group_size(group)

    @extra_routes.get("/metadata")
    def metadata(self) -> dict[str, Any]:
        return self.classifier.metadata()

    @extra_routes.get("/trends")
    def trends(self, start: date | None = Query(None, alias="from", description="first day (ISO date)"),
               end: date | None = Query(None, alias="to", description="last day (ISO date)")) -> Any:
        """The numbers of `appeals report` for a period of stored appeals, as JSON for dashboards."""
        from appeals.report import trends_summary
        from appeals.trends import trends_frame_from_store

        end = end or datetime.now(UTC).date()
        if start is None:  # twelve weeks back, unless 'to' is already out of range (refused below)
            start = end - timedelta(weeks=12) if end.year > TRENDS_YEARS[0] else end
        problem = _period_problem(start, end)
        if problem:
            return JSONResponse({"error": problem[1], "detail": [{"field": problem[0], "msg": problem[1]}]},
                                status_code=422)
        try:  # the baseline of spike detection needs the weeks before the period too
            frame, _ = trends_frame_from_store(self.engine, start - timedelta(weeks=30), end)
        except ValueError as exc:
            if isinstance(exc.__cause__, STORE_ERRORS):  # the store is down, not empty: 503, not 404
                return refusal(self.health.trip(exc.__cause__))
            return JSONResponse({"error": str(exc), "period": [str(start), str(end)]}, status_code=404)
        return trends_summary(frame, start, end)

    @extra_routes.get("/open311/v2/services.json", response_model=list[Open311Service])
    def open311_services(self) -> list[Open311Service]:
        groups = self.classifier.topic_groups
        return [Open311Service(service_code=topic, service_name=topic, description=topic,
                               group=groups.get(topic, ""))
                for topic in self.classifier.models["topic"].classes]

    @extra_routes.post("/open311/v2/requests.json", response_model=list[Open311Created])
    async def open311_request(self, request: Request) -> list[Open311Created]:
        """GeoReport v2 'POST Service Request' (the guard has checked it and turned forms into JSON)."""
        from starlette.concurrency import run_in_threadpool

        payload = Open311Request.model_validate(await request.json())
        try:
            answer = (await run_in_threadpool(self.answer, [payload.to_classify(uuid.uuid4().hex)]))[0]
        except StoreUnavailable as exc:
            return refusal(str(exc))  # type: ignore[no-any-return]
        notice = "needs review: " + ", ".join(answer.review_reasons) if answer.needs_review else "dispatched"
        return [Open311Created(service_request_id=answer.id, service_code=answer.topic.label,
                               service_name=answer.topic.label, agency_responsible=answer.department.label,
                               expected_datetime=answer.urgency.deadline, service_notice=notice)]


AppealsService.add_asgi_middleware(ConfiguredCORS)  # type: ignore[attr-defined]
# Inside CORS (refusals carry its headers), before the guard (a refusal costs no body parsing).
AppealsService.add_asgi_middleware(OverloadGuard)  # type: ignore[attr-defined]
AppealsService.add_asgi_middleware(RequestGuard)  # type: ignore[attr-defined]
AppealsService.add_asgi_middleware(StoreGate)  # type: ignore[attr-defined]  # innermost: after the key check
