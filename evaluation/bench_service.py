"""`make bench` section "service": the routing service on 127.0.0.1 against its targets.

Uses the champions of the configured MLflow store (the Perm models when the topic champion was
trained on perm_promobot_2023, else whatever was promoted, usually the demo) copied into a temporary
BentoML model store, a temporary appeal store and a bench API key, so nothing real is touched.
Appeal texts are the champion's own dataset; no text is printed or written.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-portal-key-0123456789"
TARGETS = {"p50_ms": 15.0, "p99_ms": 40.0, "batch_per_s": 400.0, "ratio": 2.0, "cold_s": 10.0, "rss_gb": 1.5}


def _texts(dataset: str, data_dir: Path | None, n: int = 2000) -> list[str]:
    from appeals.datasets import load_any

    frame = load_any(dataset, data_dir).frame
    texts = [t for t in frame["text"].astype(str) if t.strip()]
    return (texts * (n // max(len(texts), 1) + 1))[:n]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _in_process(stored: dict[str, Any], texts: list[str]) -> dict[str, float]:
    """The same classifier the service runs, called directly (no HTTP, no store)."""
    from appeals.api_models import ClassifyRequest
    from appeals.bento_models import load_task_model, topic_groups_of
    from appeals.classifier import Classifier

    clf = Classifier({t: load_task_model(t, m) for t, m in stored.items()},
                     topic_groups=topic_groups_of(stored["topic"]))
    requests = [ClassifyRequest(text=t[:5000]) for t in texts]
    clf.classify(requests[:20])
    single = []
    for r in requests[:300]:
        started = time.perf_counter()
        clf.classify([r])
        single.append(1000 * (time.perf_counter() - started))
    batch = []
    for part in (requests[:1000], requests[1000:2000]):  # two runs, the faster counts (less CPU contention)
        started = time.perf_counter()
        clf.classify(part)
        batch.append(time.perf_counter() - started)
    return {"p50_ms": statistics.median(single), "batch_s": min(batch)}


def _start(env: dict[str, str], port: int) -> tuple[subprocess.Popen, float]:
    from appeals.cli.serve import SERVICE, wait_ready

    command = [str(Path(sys.executable).parent / "bentoml"), "serve", SERVICE, "--host", "127.0.0.1",
               "--port", str(port), "--working-dir", str(ROOT)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(process, f"http://127.0.0.1:{port}/readyz", 120)
    return process, time.perf_counter() - started


def _latency(url: str, texts: list[str]) -> list[float]:
    import httpx

    out = []
    with httpx.Client(timeout=30, headers={"X-API-Key": KEY}) as client:
        for text in texts[:20]:
            client.post(f"{url}/classify", json={"text": text[:5000]})
        for text in texts[:300]:
            started = time.perf_counter()
            r = client.post(f"{url}/classify", json={"text": text[:5000]})
            out.append(1000 * (time.perf_counter() - started))
            r.raise_for_status()
    return out


def _throughput(url: str, texts: list[str], clients: int = 4, batch: int = 250) -> float:
    """Appeals per second with `clients` concurrent callers posting `batch` appeals each time."""
    import httpx

    chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    errors: list[str] = []

    def work(part: list[list[str]]) -> None:
        with httpx.Client(timeout=120, headers={"X-API-Key": KEY}) as client:
            for chunk in part:
                r = client.post(f"{url}/classify_batch", json={"appeals": [{"text": t[:5000]} for t in chunk]})
                if r.status_code != 200:
                    errors.append(str(r.status_code))

    threads = [threading.Thread(target=work, args=(chunks[k::clients],)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"batch calls failed: {errors[:5]}")
    return sum(len(c) for c in chunks) / (time.perf_counter() - started)


def _workers(process: subprocess.Popen) -> list[Any]:
    import psutil

    procs = psutil.Process(process.pid).children(recursive=True)
    return [p for p in procs if "_bentoml_impl.worker" in " ".join(p.cmdline())] or procs


def _timed(func: Any, *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - started


def _worker_rss_gb(process: subprocess.Popen) -> float:
    return max(p.memory_info().rss for p in _workers(process)) / 2**30


def _cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time (user + system) the worker processes have used so far."""
    return sum(t.user + t.system for t in (p.cpu_times() for p in _workers(process)))


def _environment(home: Path) -> dict[str, str]:
    return {"BENTOML_HOME": str(home / "bentoml"), "APPEALS_DB_URL": f"sqlite:///{home / 'appeals.db'}",
            "APPEALS_API_KEYS": f"portal:{KEY}", "APPEALS_API_KEYS_FILE": str(home / "none.txt"),
            "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true", "OPENBLAS_NUM_THREADS": "1"}


def _import_models(home: Path) -> tuple[dict[str, Any], str]:
    """The champions copied into a temporary BentoML store; (stored models, dataset of the topic model)."""
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models import ModelStore

    from appeals.bento_models import import_champions
    from appeals.registry import champion_version, version_facts

    (home / "bentoml" / "models").mkdir(parents=True)
    BentoMLContainer.bentoml_home.set(str(home / "bentoml"))
    BentoMLContainer.model_store.set(ModelStore(str(home / "bentoml" / "models")))
    stored = import_champions()
    _, tags = version_facts("topic", champion_version("topic") or "")
    return stored, tags.get("dataset", "demo")


def measure(data_dir: Path | None, home: Path) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    stored, dataset = _import_models(home)
    texts = _texts(dataset.split("+")[0], data_dir)
    local = _in_process(stored, texts)
    env = {**os.environ, **_environment(home)}
    port = _free_port()
    process, cold = _start(env, port)
    try:
        cold_cpu = _cpu_seconds(process)
        url = f"http://127.0.0.1:{port}"
        cpu = _cpu_seconds(process)
        latency = _latency(url, texts)
        cpu_single = (_cpu_seconds(process) - cpu) / 320 * 1000  # 20 warm-up + 300 timed calls
        one_batch = min(_timed(_throughput, url, part, clients=1, batch=1000)
                        for part in (texts[:1000], texts[1000:2000]))
        cpu = _cpu_seconds(process)
        per_s = _throughput(url, texts, clients=4, batch=250)
        cpu_per_appeal = (_cpu_seconds(process) - cpu) / len(texts)
        rss = _worker_rss_gb(process)
    finally:
        process.terminate()
        process.wait(timeout=30)
    from appeals.registry import tracking_uri

    versions = {task: m.info.metadata.get("mlflow_version") for task, m in stored.items()}
    return {"dataset": dataset, "store": tracking_uri(), "versions": versions, "cold_s": cold, "p50_ms": statistics.median(latency),
            "p99_ms": _percentile(latency, 99), "batch_per_s": per_s, "one_batch_s": one_batch,
            "local_p50_ms": local["p50_ms"], "local_batch_s": local["batch_s"],
            "ratio": one_batch / local["batch_s"], "rss_gb": rss,
            "load": (load_before, os.getloadavg()[0]), "cores": os.cpu_count(),
            "cpu_single_ms": cpu_single, "cold_cpu_s": cold_cpu, "cpu_batch_per_s": 1 / cpu_per_appeal if cpu_per_appeal else 0.0}


def report(m: dict[str, Any]) -> str:
    def row(name: str, value: str, target: str, ok: bool) -> str:
        return f"| {name} | {value} | {target} | {'met' if ok else '**missed**'} |"

    lines = [
        "## Service (BentoML on 127.0.0.1)", "",
        f"Models: the MLflow champions in `{m['store']}`, topic model trained on **{m['dataset']}** "
        f"(versions {m['versions']}), one worker, "
        "SQLite store (every appeal committed before its answer). Texts: appeals of the same dataset.", "",
        "| figure | measured | target | |", "|---|---|---|---|",
        row("/classify p50, one client", f"{m['p50_ms']:.1f} ms", "≤ 15 ms", m["p50_ms"] <= TARGETS["p50_ms"]),
        row("/classify p99, one client", f"{m['p99_ms']:.1f} ms", "≤ 40 ms", m["p99_ms"] <= TARGETS["p99_ms"]),
        row("/classify_batch, 4 clients × 250", f"{m['batch_per_s']:.0f} appeals/s", "≥ 400/s",
            m["batch_per_s"] >= TARGETS["batch_per_s"]),
        row("service ÷ in process, 1,000 appeals (faster of 2)", f"{m['ratio']:.2f}× ({m['one_batch_s']:.2f} s vs "
            f"{m['local_batch_s']:.2f} s)", "≤ 2×", m["ratio"] <= TARGETS["ratio"]),
        row("cold start to /readyz", f"{m['cold_s']:.1f} s", "≤ 10 s", m["cold_s"] <= TARGETS["cold_s"]),
        row("worker memory (RSS)", f"{m['rss_gb']:.2f} GB", "≤ 1.5 GB", m["rss_gb"] <= TARGETS["rss_gb"]),
        "", f"In process, one appeal at a time: p50 {m['local_p50_ms']:.1f} ms (the service adds HTTP, "
        "validation, duplicate grouping and the store commit). The in-process figures skip grouping and the "
        "store; the service's include them.",
        "", f"Machine load (1-minute load average) {m['load'][0]:.1f} before and {m['load'][1]:.1f} after, on "
        f"{m['cores']} cores: above the core count the figures include waiting for a CPU. CPU time the worker "
        f"spent (user + system, not waiting): {m['cpu_single_ms']:.1f} ms per /classify call, and "
        f"{m['cpu_batch_per_s']:.0f} appeals per CPU-second in batches, {m['cold_cpu_s']:.1f} CPU-seconds "
        "from start to ready; these bound what one free core would give and are not the targets' "
        "wall-clock figures.",
    ]
    return "\n".join(lines)


def run(data_dir: Path | None) -> str:
    from appeals.registry import RegistryError

    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="appeals-bench-") as tmp:
            os.environ.update(_environment(Path(tmp)))
            return report(measure(data_dir, Path(tmp)))
    except RegistryError as exc:
        return f"## Service (BentoML on 127.0.0.1)\n\nNot measured: {exc}\n"
    finally:
        os.environ.clear()
        os.environ.update(saved)
