"""`appeals serve`: import the champions into the BentoML model store, start `bentoml serve` on
127.0.0.1:3000, wait until it is ready and print a curl example that can be pasted as is."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from appeals.cli.common import console, out, user_errors

SERVICE = "service.service:AppealsService"
EXAMPLE = {"id": "demo-1", "text": "Во дворе дома 5 на улице Ленина третий день не вывозят мусор",
           "created_at": "2026-01-15T09:30:00+05:00", "channel": "portal"}


def ensure_keys() -> str:
    """Where the portal key can be found; creates a key file with fresh keys when none is configured."""
    from appeals.auth import KEYS_ENV, create_keys_file, default_keys_file

    if os.environ.get(KEYS_ENV):
        return f"${KEYS_ENV}"
    path = default_keys_file()
    dev = path.with_name("dev_api_keys.txt")
    if not path.exists():
        keys = create_keys_file(path)
        dev.write_text("".join(f"{role}:{key}\n" for role, key in keys.items()), encoding="utf-8")
        dev.chmod(0o600)
        console.print(f"created API keys: digests in {path}, plain keys (local use only) in {dev}")
    return str(dev) if dev.exists() else str(path)


def portal_key(where: str) -> str:
    """The plain portal key for the example, or a placeholder that says where keys live."""
    path = Path(where)
    if path.name == "dev_api_keys.txt" and path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("portal:"):
                return line.removeprefix("portal:")
    return "YOUR_PORTAL_KEY"


def curl_example(host: str, port: int, key: str) -> str:
    body = json.dumps(EXAMPLE, ensure_ascii=False)
    return (f"curl -s http://{host}:{port}/classify -H 'Content-Type: application/json' "
            f"-H {shlex.quote('X-API-Key: ' + key)} -d {shlex.quote(body)}")


def wait_ready(process: subprocess.Popen, url: str, timeout: float) -> float:
    """Seconds until GET url answers 200; raises if the server dies or the time runs out."""
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"bentoml serve exited with code {process.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def preflight() -> list[str]:
    """Why the service could not start, one line each: a champion missing from the BentoML model store
    or its files damaged, the appeal store unreachable. Checked before `bentoml serve` starts, so the
    cause is named here rather than lost in a worker that fails to load."""
    from appeals.bento_models import champion_problems
    from appeals.health import store_problem
    from appeals.store import make_engine

    problems = champion_problems()
    engine = make_engine()
    try:  # free space is left to /readyz: a full disk can be freed while the service runs
        store = store_problem(engine, min_free_bytes=0)
    finally:
        engine.dispose()
    return problems + ([store] if store else [])


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
    import_models: Annotated[bool, typer.Option("--import/--no-import",
                                                help="Import the MLflow champions first.")] = True,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for /readyz.")] = 60.0,
) -> None:
    """Serve the routing service (BentoML) until Ctrl-C."""
    from appeals.config import project_root

    if import_models:
        from appeals.bento_models import import_champions

        with user_errors():
            stored = import_champions()
        console.print("models: " + ", ".join(str(m.tag) for m in stored.values()))
    problems = preflight()
    for problem in problems:
        console.print(f"[bold red]error:[/] {problem}", highlight=False)
    if problems:
        raise typer.Exit(code=1)
    where = ensure_keys()
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads only fight over the cores here
    command = [str(Path(sys.executable).parent / "bentoml"), "serve", SERVICE, "--host", host,
               "--port", str(port), "--working-dir", str(project_root())]
    process = subprocess.Popen(command, env=env)
    # A plain SIGTERM would end this process at once and orphan the server; exit through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        took = wait_ready(process, f"http://{host}:{port}/readyz", ready_timeout)
        out.print(f"ready in {took:.1f} s on http://{host}:{port} (docs: http://{host}:{port}/docs); "
                  f"API keys: {where}\n\n{curl_example(host, port, portal_key(where))}\n", soft_wrap=True)
        process.wait()
    except RuntimeError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
