"""Can the service do its job right now: the appeal store (reachable, room to write) and the model
files (present, unchanged since the worker loaded them). Feeds `/readyz` and the 503 answers.

An appeal is answered only after it is committed, so a store that fails means a refusal: 503 with a
JSON reason and `Retry-After`, never a 500 and never an answer for an appeal that was not stored.
After one failed store call the service refuses writes at once (no classifying work that cannot be
kept) and probes the store again at most every `recheck_s`; the first probe that passes lets
requests through again, without a restart.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger("appeals.service")

# What a store that is down, full or locked raises (not programming errors such as IntegrityError).
STORE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError, DisconnectionError,
                                             PoolTimeoutError)
RETRY_AFTER_S = 5
WRITE_ROUTES = frozenset({"/classify", "/classify_batch", "/feedback", "/open311/v2/requests.json"})


def describe(exc: BaseException) -> str:
    """The driver's own first line (no SQL, no parameters): 'database or disk is full', 'Connection refused'."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return f"{type(cause).__name__}: {first[:300]}"


def store_name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def sqlite_folder(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).parent


def store_problem(engine: Engine, min_free_bytes: int) -> str | None:
    """Why the store cannot take appeals now (unreachable, or its SQLite folder short of space), else None."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except STORE_ERRORS as exc:
        return f"the appeal store {store_name(engine)} is unreachable ({describe(exc)}); start it or fix APPEALS_DB_URL"
    folder = sqlite_folder(engine)
    if folder is not None and folder.exists():
        free = shutil.disk_usage(folder).free
        if free < min_free_bytes:
            return (f"the appeal store's disk is full: {folder} has {free // 1024} KiB free, under the "
                    f"{min_free_bytes // 1024} KiB ([store] min_free_mb) needed to store appeals; free some space")
    return None


def fingerprint(folder: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime in ns)} of every file under `folder` ({} when it is missing)."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


class StoreHangs(Exception):
    """The store did not answer within the service's bound (`str(exc)` is the reason for the client)."""


class ServiceHealth:
    """The worker's view of its store and model files: a store circuit plus the readiness probe.

    With `probe_timeout_s`, a store probe that has not answered by then counts as a failure ("it
    hangs"), so `/readyz` answers instead of waiting for a frozen database; the probe left waiting
    is not repeated until it returns.
    """

    def __init__(self, engine: Engine, min_free_bytes: int, model_folders: dict[str, Path],
                 recheck_s: float = 1.0, probe_timeout_s: float | None = None) -> None:
        self.engine, self.min_free_bytes, self.recheck_s = engine, min_free_bytes, recheck_s
        self.probe_timeout_s = probe_timeout_s
        self.models = {name: (folder, fingerprint(folder)) for name, folder in model_folders.items()}
        self.store_down: str | None = None  # why the last store call failed; None while it works
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._reported: str | None = None  # the last readiness answer logged
        self._stuck: threading.Thread | None = None  # a probe still waiting for the store
        self._stuck_since = 0.0

    def _hang_reason(self, seconds: float) -> str:
        return (f"the appeal store {store_name(self.engine)} has not answered for {seconds:.1f} s (it hangs); "
                "check the database server and the network to it")

    def probe(self) -> str | None:
        """`store_problem`, bounded by `probe_timeout_s` when set."""
        if self.probe_timeout_s is None:
            return store_problem(self.engine, self.min_free_bytes)
        if self._stuck is not None and self._stuck.is_alive():
            return self._hang_reason(time.monotonic() - self._stuck_since)
        found: list[str | None] = []
        worker = threading.Thread(target=lambda: found.append(store_problem(self.engine, self.min_free_bytes)),
                                  name="store-probe", daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(self.probe_timeout_s)
        if found:
            return found[0]
        self._stuck, self._stuck_since = worker, started
        return self._hang_reason(self.probe_timeout_s)

    @contextmanager
    def holding(self, lock: threading.Lock, wait_s: float) -> Iterator[None]:
        """Hold `lock` (the worker's store lock); raise StoreHangs, and refuse writes from then on until
        a probe passes, when it is not free within `wait_s`: a store call stuck under it (a frozen
        database) must not leave every later request waiting for its client to give up."""
        if not lock.acquire(timeout=wait_s):
            raise StoreHangs(self._refuse_writes(self._hang_reason(wait_s)))
        try:
            yield
        finally:
            lock.release()

    def trip(self, exc: BaseException) -> str:
        """A store call failed: refuse writes until a probe passes. Returns the reason for the client."""
        return self._refuse_writes(f"the appeal store {store_name(self.engine)} failed ({describe(exc)})")

    def _refuse_writes(self, reason: str) -> str:
        """Open the store circuit with `reason` (logged when it opens); returns the reason."""
        with self._lock:
            if self.store_down is None:
                log.error(json.dumps({"event": "store_unavailable", "reason": reason}))
            self.store_down, self._checked_at = reason, time.monotonic()
        return reason

    def store_refusal(self) -> str | None:
        """None when writes may go ahead; else why not (re-probing at most every `recheck_s`)."""
        if self.store_down is None:
            return None
        with self._lock:
            if time.monotonic() - self._checked_at >= self.recheck_s:
                self._checked_at = time.monotonic()
                problem = self.probe()
                if problem is None:
                    log.info(json.dumps({"event": "store_available", "after": self.store_down}))
                self.store_down = problem
            return self.store_down

    def model_problem(self) -> str | None:
        for name, (folder, seen) in self.models.items():
            now = fingerprint(folder)
            if now != seen:
                what = "are missing" if not now else "changed"
                return (f"the files of model {name} at {folder} {what} since this worker loaded them: it still "
                        f"answers from memory, but a restarted worker would fail; restore or re-import the model")
        return None

    def ready(self) -> bool:
        """The readiness answer: store reachable with room to write, model files as loaded. Logs changes.

        A store problem found here also refuses writes at once, as a failed write would."""
        store = self.probe()
        problem = store or self.model_problem()
        with self._lock:
            self.store_down, self._checked_at = store, time.monotonic()
            if problem != self._reported:
                event = {"event": "not_ready", "reason": problem} if problem else {"event": "ready_again"}
                (log.error if problem else log.info)(json.dumps(event))
                self._reported = problem
        return problem is None


def refusal_body(reason: str) -> bytes:
    message = f"{reason}; the request was not stored, retry after {RETRY_AFTER_S} s"
    body = {"error": message, "reason": "store_unavailable", "retry_after_s": RETRY_AFTER_S,
            "detail": [{"field": "store", "msg": "unavailable"}]}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def refusal(reason: str) -> Any:
    """The 503 a client gets when its appeal could not be stored."""
    from starlette.responses import Response

    return Response(refusal_body(reason), status_code=503, media_type="application/json",
                    headers={"Retry-After": str(RETRY_AFTER_S)})


class StoreGate:
    """ASGI middleware (inside the request guard): while the store is down, writes get the 503 at
    once; a 503 the app produced meanwhile (BentoML's generic body for a failed batch) gets the reason."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        health = _current_health()
        if scope["type"] != "http" or scope.get("path") not in WRITE_ROUTES or health is None:
            await self.app(scope, receive, send)
            return
        reason = None
        if health.store_down is not None:  # only then can the answer need a probe of the store (I/O)
            from starlette.concurrency import run_in_threadpool

            reason = await run_in_threadpool(health.store_refusal)
        if reason is not None:
            await refusal(reason)(scope, receive, send)
            return
        await self.app(scope, receive, _explaining_503(send, health))


def _explaining_503(send: Any, health: ServiceHealth) -> Any:
    state: dict[str, Any] = {"start": None, "replaced": False}

    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start" and message["status"] == 503 and health.store_down:
            state["start"] = message
            return
        if state["start"] is not None and message["type"] == "http.response.body":
            if not state["replaced"]:  # the app's own body (one or more chunks) is dropped
                state["replaced"] = True
                body = refusal_body(health.store_down or "the appeal store failed")
                await send({**state["start"], "headers": [(b"content-type", b"application/json"),
                                                          (b"content-length", str(len(body)).encode()),
                                                          (b"retry-after", str(RETRY_AFTER_S).encode())]})
                await send({"type": "http.response.body", "body": body})
            return
        await send(message)

    return sending


def _current_health() -> ServiceHealth | None:
    """The running service's ServiceHealth (None before the worker has built its service)."""
    import bentoml

    try:
        service = bentoml.get_current_service()
    except bentoml.exceptions.BentoMLException:
        return None
    return getattr(service, "health", None)
