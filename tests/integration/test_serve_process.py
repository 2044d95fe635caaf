"""The service as a real process: `appeals serve` starts `bentoml serve`, we call it over HTTP, then
kill the whole process group while batches are being written and check that every appeal that was
answered is in the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.service_env import PORTAL_KEY, environment, post_batches_until, service_env
from tests.integration.service_env import free_port as _free_port
from tests.integration.service_env import kill_family as _kill_all
from tests.integration.service_env import read_until_ready as _read_until_ready

pytestmark = [pytest.mark.service, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`appeals serve --no-import` in its own process group, with its own store."""
    with service_env() as home:
        port = _free_port()
        env = {**os.environ, **environment(home),
               "APPEALS_DB_URL": f"sqlite:///{tmp_path_factory.mktemp('served') / 'appeals.db'}"}
        out_path, err_path = home / f"serve-{port}.out", home / f"serve-{port}.err"
        log, err = out_path.open("w"), err_path.open("w")  # files, not pipes: nothing can block the server
        command = [str(Path(sys.executable).parent / "appeals"), "serve", "--no-import", "--port", str(port),
                   "--ready-timeout", "60"]
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=err, start_new_session=True)
        state = {"process": process, "url": f"http://127.0.0.1:{port}", "db": env["APPEALS_DB_URL"],
                 "printed": _read_until_ready(process, out_path), "stdout": out_path, "stderr": err_path}
        try:
            yield state
        finally:
            _kill_all(process)
            process.wait(timeout=10)
            log.close()
            err.close()


def test_served_over_http_and_curl_example_works(server: dict[str, Any]) -> None:
    import httpx

    printed = server["printed"]
    assert "ready in" in printed and "curl -s http://127.0.0.1:" in printed
    curl = [line for line in printed.splitlines() if line.startswith("curl ")][0]
    answer = subprocess.run(["bash", "-c", curl.replace("YOUR_PORTAL_KEY", PORTAL_KEY)], capture_output=True,
                            text=True, timeout=30)
    assert '"topic"' in answer.stdout, answer.stdout + answer.stderr
    meta = httpx.get(f"{server['url']}/metadata", timeout=10).json()
    assert set(meta["models"]) == {"topic", "topic_group", "department", "urgency"}
    bad = httpx.post(f"{server['url']}/classify", content=b"\xff\xfe", timeout=10,
                     headers={"X-API-Key": PORTAL_KEY, "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["detail"][0]["field"] == "body"
    logged = server["stdout"].read_text(encoding="utf-8") + server["stderr"].read_text(encoding="utf-8")
    decode = json.JSONDecoder().raw_decode
    events = [decode(line, line.index('{"event"'))[0] for line in logged.splitlines() if '{"event"' in line]
    assert {"ready", "classified", "rejected"} <= {e["event"] for e in events}
    ready = next(e for e in events if e["event"] == "ready")
    assert ready["memory"].startswith("malloc arenas: "), ready  # appeals/malloc.py tuned the worker's malloc
    assert "refused" not in ready["memory"]
    server_lines = [line for line in logged.splitlines() if not line.startswith("curl ")]
    assert not any("Во дворе" in line for line in server_lines)  # the example's text is never logged


def _post_batches(url: str, worker: int, answered: list[str], failed: list[int], stop: threading.Event) -> None:
    def body_of(n: int) -> dict[str, Any]:
        return {"appeals": [{"id": f"kill-{worker}-{n}-{k}", "text": f"Не вывозят мусор во дворе дома {k}, контейнеры полные"}
                            for k in range(40)]}

    post_batches_until(url, stop, body_of, answered, failed, timeout=30)


def test_killed_mid_batch_every_answered_appeal_is_stored(server: dict[str, Any]) -> None:
    from appeals.store import existing_ids, make_engine

    answered: list[str] = []
    failed: list[int] = []
    stop = threading.Event()
    workers = [threading.Thread(target=_post_batches, args=(server["url"], w, answered, failed, stop))
               for w in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while len(answered) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill_all(server["process"])  # the server and its workers, mid-write
    stop.set()
    for w in workers:
        w.join(timeout=40)
    assert len(answered) >= 200, "the server answered too few batches before the kill"
    assert failed, "no request was cut off: the kill did not land mid-batch"
    engine = make_engine(server["db"])
    missing = set(answered) - existing_ids(engine, answered)
    assert not missing, f"{len(missing)} answered appeals are not in the store"
