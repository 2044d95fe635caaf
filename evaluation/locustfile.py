"""Locust users for the load and overload runs of the service (driven by evaluation/load.py).

Each user sends, at a constant rate, a mix of `/classify` (one appeal), `/classify_batch` (2–8
appeals) and `/feedback` (an operator's correction of an appeal it stored before). Texts and fields
come from the project's own demo data (data/demo_appeals.csv, fictional); ids are fresh, so every
appeal is new. Every request is recorded (start time, endpoint, milliseconds, status, Retry-After,
error) and written as JSON when Locust quits, for load.py to summarise per minute.

Settings come from the environment (load.py sets them):
  APPEALS_LOAD_STAGES   "seconds:users:requests_per_s_per_user,..." run one after the other
  APPEALS_LOAD_RECORDS  where the JSON of records goes
  APPEALS_LOAD_DATA     the CSV of appeals to draw from (default: the demo data)
  APPEALS_LOAD_PORTAL_KEY, APPEALS_LOAD_OPERATOR_KEY   the API keys the service expects
  APPEALS_LOAD_ID_POOL  0 (default): every appeal new; N: ids drawn from N, so after the first
                        round every appeal is a re-post (answered `already_stored`, nothing added)
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("text", "created_at", "channel", "address", "district", "municipality")


def _stages() -> list[tuple[float, int, float]]:
    spec = os.environ.get("APPEALS_LOAD_STAGES", "60:25:2")
    return [(float(s), int(u), float(r)) for s, u, r in (part.split(":") for part in spec.split(","))]


def _rows() -> list[dict[str, str]]:
    path = Path(os.environ.get("APPEALS_LOAD_DATA") or ROOT / "data" / "demo_appeals.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


STAGES = _stages()
ID_POOL = int(os.environ.get("APPEALS_LOAD_ID_POOL", "0"))
ROWS = _rows()
TOPICS = sorted({row["topic"] for row in ROWS if row.get("topic")})
RECORDS: list[list[Any]] = []
STARTED: list[float] = []


def _appeal() -> dict[str, str]:
    row = random.choice(ROWS)
    appeal = {field: row[field] for field in FIELDS if row.get(field)}
    appeal["id"] = f"load-pool-{random.randrange(ID_POOL)}" if ID_POOL else f"load-{uuid.uuid4().hex[:20]}"
    return appeal


class StageShape(LoadTestShape):
    """Users per stage; each user keeps its own rate (wait_time below), so users x rate = load."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        elapsed, until = self.get_run_time(), 0.0
        for seconds, users, _ in STAGES:
            until += seconds
            if elapsed < until:
                return users, 100_000.0  # a stage's users start (or stop) at once
        return None


def _user_rate() -> float:
    """Requests a second for a user started now (the rate of the current stage)."""
    elapsed, until = time.time() - (STARTED[0] if STARTED else time.time()), 0.0
    for seconds, _, rate in STAGES:
        until += seconds
        if elapsed < until:
            return rate
    return STAGES[-1][2]


class Portal(FastHttpUser):
    network_timeout = 30.0
    connection_timeout = 10.0

    def wait_time(self) -> float:
        return max(0.0, 1 / _user_rate() - (time.time() - self._last))

    def on_start(self) -> None:
        self._last = time.time()
        self.stored: deque[str] = deque(maxlen=50)
        self.portal = {"X-API-Key": os.environ.get("APPEALS_LOAD_PORTAL_KEY", "")}
        self.operator = {"X-API-Key": os.environ.get("APPEALS_LOAD_OPERATOR_KEY", "")}

    def _post(self, path: str, body: Any, headers: dict[str, str]) -> Any:
        self._last = time.time()
        with self.client.request("POST", path, json=body, headers=headers, catch_response=True) as response:
            if response.status_code:  # load.py judges statuses from the records; 0 keeps the network error
                response.success()
            return response.json() if response.status_code == 200 else None

    @task(6)
    def classify(self) -> None:
        answer = self._post("/classify", _appeal(), self.portal)
        if answer:
            self.stored.append(answer["id"])

    @task(2)
    def classify_batch(self) -> None:
        answers = self._post("/classify_batch", {"appeals": [_appeal() for _ in range(random.randint(2, 8))]},
                             self.portal)
        if answers:
            self.stored.extend(a["id"] for a in answers)

    @task(2)
    def feedback(self) -> None:
        if not self.stored:
            return self.classify()
        correction = {"appeal_id": random.choice(self.stored), "operator_id": "load-operator",
                      "topic": random.choice(TOPICS), "comment": "Тема исправлена оператором при проверке"}
        self._post("/feedback", correction, self.operator)


@events.test_start.add_listener
def _started(**_: Any) -> None:
    STARTED.append(time.time())


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response_length: int, response: Any = None,
            exception: Any = None, start_time: float | None = None, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    headers = getattr(response, "headers", None) or {}
    error = None if status else f"{type(exception).__name__}: {exception}"[:200]
    RECORDS.append([start_time or time.time(), name, round(response_time, 2), status,
                    headers.get("retry-after"), error])


@events.quitting.add_listener
def _write(**_: Any) -> None:
    target = os.environ.get("APPEALS_LOAD_RECORDS")
    if target:
        Path(target).write_text(json.dumps({"started": STARTED[0] if STARTED else None, "stages": STAGES,
                                            "records": RECORDS}), encoding="utf-8")
