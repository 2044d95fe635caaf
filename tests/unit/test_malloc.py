"""appeals.malloc: the worker's glibc malloc settings (arena cap, fixed mmap threshold)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import time

import pytest

from appeals.malloc import tune_malloc
from appeals.routing import load_routing_config

glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")


def test_zero_leaves_glibc_defaults() -> None:
    assert tune_malloc(0, 0) == "malloc arenas: glibc default, mmap threshold: glibc default"


def test_environment_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert tune_malloc(2, 1024) == ("malloc arenas: MALLOC_ARENA_MAX=4 from the environment, "
                                    "mmap threshold: MALLOC_MMAP_THRESHOLD_=65536 from the environment")


def test_routing_config_tunes_malloc_by_default() -> None:
    service = load_routing_config().service
    assert (service.malloc_arenas, service.malloc_mmap_threshold_kb) == (2, 1024)


_PROBE = textwrap.dedent("""
    import ctypes, os, sys, tempfile, threading
    from appeals.malloc import tune_malloc
    arenas, threshold_kb = int(sys.argv[1]), int(sys.argv[2])
    print(tune_malloc(arenas, threshold_kb), file=sys.stderr)
    barrier = threading.Barrier(8)
    def work():
        barrier.wait()
        for _ in range(2000):
            [bytearray(4000) for _ in range(50)]  # past pymalloc: glibc's malloc
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    # A freed 4 MB block raises glibc's default threshold to 4 MB; a fixed one stays, and the next
    # 2 MB block is mapped on its own (malloc_info counts it under <total type="mmap">).
    freed = bytearray(4 << 20); del freed
    kept = bytearray(2 << 20)
    libc = ctypes.CDLL("libc.so.6")
    libc.fdopen.restype, libc.fdopen.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_char_p]
    libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
    with tempfile.TemporaryFile() as f:
        stream = libc.fdopen(os.dup(f.fileno()), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        f.seek(0)
        info = f.read().decode()
    mapped = int(info.rsplit('<total type="mmap" count="', 1)[1].split('"', 1)[0])
    print(info.count("<heap nr="), mapped)
""")


@glibc_only
def test_settings_hold_for_threads_and_blocks_after_the_call() -> None:
    """In fresh interpreters: 8 threads allocating at once share the capped arenas, and a block
    freed does not lift the threshold, so the next large one is mapped on its own."""
    try:
        has_malloc_info = hasattr(ctypes.CDLL("libc.so.6"), "malloc_info")
    except OSError:
        has_malloc_info = False
    if not has_malloc_info:
        pytest.skip("not glibc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def probe(arenas: int, threshold_kb: int) -> tuple[int, int, str]:
        done = subprocess.run([sys.executable, "-c", _PROBE, str(arenas), str(threshold_kb)],
                              capture_output=True, text=True, env=env, timeout=60, check=True)
        heaps, mapped = map(int, done.stdout.split())
        return heaps, mapped, done.stderr

    heaps, mapped, said = probe(2, 1024)
    assert "malloc arenas: 2, mmap threshold: 1024 KB" in said
    assert heaps <= 2 and mapped >= 1
    default_heaps, default_mapped, _ = probe(0, 0)
    assert default_heaps > heaps  # the checks can tell: glibc's defaults made more arenas ...
    assert default_mapped < mapped  # ... and put the 2 MB block in the heap


def test_trimmer_trims_only_when_due() -> None:
    from appeals.malloc import Trimmer

    calls: list[int] = []
    trimmer = Trimmer(10.0)
    trimmer.trim = lambda: calls.append(1)  # count the calls; the real trim is tested below
    assert not trimmer.maybe() and not calls  # just started
    trimmer.last -= 11
    assert trimmer.maybe() and trimmer.maybe() is False and calls == [1] and trimmer.count == 1


def test_trimmer_off_at_zero_and_real_trim_runs() -> None:
    from appeals.malloc import Trimmer

    assert Trimmer(0).trim is None and not Trimmer(0).maybe()
    trimmer = Trimmer(0.001)
    if trimmer.trim is None:
        pytest.skip("no glibc malloc_trim here")
    blocks = [bytearray(4096) for _ in range(20_000)]  # 80 MB in small blocks, then freed
    del blocks
    time.sleep(0.002)
    assert trimmer.maybe() and trimmer.count == 1


def test_routing_config_trims_by_default() -> None:
    from appeals.routing import load_routing_config

    assert load_routing_config().service.malloc_trim_s > 0
