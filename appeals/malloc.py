"""Tune glibc's malloc in the serving worker, so that its memory follows what it keeps.

Two glibc defaults make a long-running worker grow faster than its data:
- a thread that allocates gets an arena of its own, up to 8 per core. BentoML answers sync APIs
  from a pool of threads, so short-lived allocations (texts, feature rows, pydantic models) are
  spread over many arenas whose freed holes the other threads never reuse;
- blocks from 128 KB up are mapped and unmapped one by one, but each time such a block is freed
  the limit rises to its size (up to 32 MB). The duplicate index replaces its growing numpy arrays
  by larger copies; once the limit has risen, the copies come from the heap and the old ones leave
  holes there that a later, larger copy does not fit.
Measured on the service path (evaluation/RELIABILITY.md, "Load"): per stored appeal, 2.8 KB of
resident memory with 16 request threads and glibc's defaults, 1.3 KB with 2 arenas; the index
alone, 1.1 KB with the rising limit and 0.79 KB with it fixed at 1 MB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
M_ARENA_MAX = -8
_SETTINGS = (("arenas", M_ARENA_MAX, "MALLOC_ARENA_MAX"),
             ("mmap threshold", M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"))


def _glibc(function: str, argtypes: list[Any]) -> ctypes._CFuncPtr | str:  # type: ignore[name-defined]
    """glibc's `function` (returning int), or why it is not there (the reason, for the log)."""
    if not sys.platform.startswith("linux"):
        return f"left alone on {sys.platform}"
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        found = getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return f"{name} has no {function} (not glibc), left alone"
    found.argtypes, found.restype = argtypes, ctypes.c_int
    return found


def _mallopt() -> ctypes._CFuncPtr | str:  # type: ignore[name-defined]
    return _glibc("mallopt", [ctypes.c_int, ctypes.c_int])


def tune_malloc(arenas: int, mmap_threshold_kb: int) -> str:
    """Cap the malloc arenas at `arenas` and fix the mmap threshold at `mmap_threshold_kb`; 0 leaves a
    setting at glibc's default, and so does the matching environment variable (MALLOC_ARENA_MAX,
    MALLOC_MMAP_THRESHOLD_), which glibc read at start. Returns what was done, for the log.

    Arenas made before the call stay; the cap applies to the ones later threads would make, so call
    it before the request threads start.
    """
    wanted = {"arenas": arenas, "mmap threshold": mmap_threshold_kb * 1024}
    done: list[str] = []
    mallopt = None
    for name, option, env_name in _SETTINGS:
        value = wanted[name]
        if value <= 0:
            done.append(f"{name}: glibc default")
        elif os.environ.get(env_name):
            done.append(f"{name}: {env_name}={os.environ[env_name]} from the environment")
        else:
            mallopt = mallopt or _mallopt()
            if isinstance(mallopt, str):
                return f"malloc: {mallopt}"
            shown = f"{value // 1024} KB" if name == "mmap threshold" else str(value)
            done.append(f"{name}: {shown}" if mallopt(option, value) == 1 else f"{name}: mallopt refused {shown}")
    return "malloc " + ", ".join(done)


def _malloc_trim() -> Callable[[], object] | None:
    trim = _glibc("malloc_trim", [ctypes.c_size_t])
    return None if isinstance(trim, str) else lambda: trim(0)


class Trimmer:
    """Hands freed memory back to the system at most once every `every_s` seconds (glibc's
    `malloc_trim(0)`, which also releases free pages inside the arenas, not only at their tops).

    Freed blocks between live ones stay resident otherwise: under a steady stream of requests the
    worker's resident size creeps up by what the churn of texts, feature rows and answers leaves
    scattered. A trim took about 1 ms on the service path. `maybe()` is cheap when not due and
    never blocks a request on another thread's trim.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.trim = _malloc_trim() if every_s > 0 else None
        self.last = time.monotonic()
        self.lock = threading.Lock()
        self.count = 0

    def maybe(self) -> bool:
        """Trim when due; True when this call trimmed."""
        if self.trim is None or time.monotonic() - self.last < self.every_s:
            return False
        if not self.lock.acquire(blocking=False):
            return False
        try:
            self.trim()
            self.last, self.count = time.monotonic(), self.count + 1
            return True
        finally:
            self.lock.release()
