"""`make audit` (evaluation/run_audit.py): what fails, what is allowed, and an unreachable service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluation import run_audit

VULN = {"id": "PYSEC-2099-1", "aliases": ["GHSA-aaaa-bbbb-cccc", "CVE-2099-1"], "fix_versions": ["2.0"]}


def report(*vulns: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": [{"name": "somepkg", "version": "1.0", "vulns": list(vulns)},
                             {"name": "clean", "version": "3.1", "vulns": []}]}


@pytest.mark.parametrize("allowed, failing", [({}, 1), ({"PYSEC-2099-1": "r"}, 0), ({"CVE-2099-1": "r"}, 0),
                                              ({"PYSEC-2000-9": "r"}, 1)])
def test_only_allowed_vulnerabilities_pass(allowed: dict[str, str], failing: int) -> None:
    assert len(run_audit.not_allowed(run_audit.findings(report(VULN)), allowed)) == failing


def test_allow_list_entries_need_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "allow.txt"
    path.write_text("# header\nPYSEC-2099-1  # not reachable: we never call it\n\n", encoding="utf-8")
    assert run_audit.read_allow_list(path) == {"PYSEC-2099-1": "not reachable: we never call it"}
    path.write_text("PYSEC-2099-1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="allow.txt:1.*no reason"):
        run_audit.read_allow_list(path)


def _fake_audit(monkeypatch: pytest.MonkeyPatch, canary: dict[str, Any], pins: dict[str, Any]) -> None:
    monkeypatch.setattr(run_audit, "read_allow_list", lambda: {})
    monkeypatch.setattr(run_audit, "run_pip_audit",
                        lambda paths: canary if paths[0].name == "canary.txt" else pins)


def test_a_vulnerability_not_allowed_fails_the_audit(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    _fake_audit(monkeypatch, report(VULN), report(VULN))
    assert run_audit.audit() == 1
    assert "somepkg==1.0: PYSEC-2099-1" in capsys.readouterr().out


def test_unreachable_service_is_a_skip_not_a_clean_result(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    # What pip-audit reports when pypi.org cannot be asked: every package skipped, no vulnerabilities.
    nothing = {"dependencies": [{"name": "django", "skip_reason": "Dependency not found on PyPI"}]}
    _fake_audit(monkeypatch, nothing, report(VULN))
    assert run_audit.audit() == 0
    assert "skipped: vulnerability service unreachable" in capsys.readouterr().out


def test_no_network_at_all_is_a_skip(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """CI may have no network when the tests run: pip-audit then dies with a connection error and
    writes no report; that is 'could not ask', not a failed audit and not a clean one."""
    def unreachable(paths: list[Path]) -> dict[str, Any]:
        raise run_audit.ServiceUnreachable("ConnectionError: Max retries exceeded")

    monkeypatch.setattr(run_audit, "read_allow_list", lambda: {})
    monkeypatch.setattr(run_audit, "run_pip_audit", unreachable)
    assert run_audit.audit() == 0
    assert "audit skipped: vulnerability service unreachable" in capsys.readouterr().out


def test_another_pip_audit_failure_still_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(paths: list[Path]) -> dict[str, Any]:
        raise RuntimeError("pip-audit failed (exit 2): invalid requirement")

    monkeypatch.setattr(run_audit, "read_allow_list", lambda: {})
    monkeypatch.setattr(run_audit, "run_pip_audit", broken)
    with pytest.raises(RuntimeError, match="invalid requirement"):
        run_audit.audit()
