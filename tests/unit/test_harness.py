"""The evaluation harness: every bench section's figures carry the host's speed beside them."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from evaluation import harness


def test_cpu_reference_times_a_real_workload() -> None:
    first, second = harness.cpu_reference(), harness.cpu_reference()
    assert first > 1.0 and second > 1.0  # milliseconds of actual work, not a constant
    assert 0.2 < first / second < 5.0


def test_bench_sections_print_the_cpu_reference_and_eval_sections_do_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = types.SimpleNamespace(run=lambda data_dir: "## Fake\n\n- 123 appeals/s")
    monkeypatch.setattr(harness.importlib, "import_module", lambda name: section)
    monkeypatch.setattr(harness, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(harness, "write_results", lambda: None)
    harness.run_sections("bench", ["fake"], None, None)
    harness.run_sections("eval", ["fake"], None, None)
    bench = (tmp_path / "bench_fake.md").read_text(encoding="utf-8")
    assert "- 123 appeals/s" in bench
    assert "CPU reference workload" in bench and " ms before, " in bench
    assert "CPU reference" not in (tmp_path / "eval_fake.md").read_text(encoding="utf-8")
