"""`make audit`: the exact pins of constraints.txt checked with pip-audit against the PyPI vulnerability
database. Fails on any known vulnerability whose id (or alias) is not in .pip-audit-allow.txt, where
every entry carries its reason.

An unreachable service must not look like a clean result (pip-audit reports a package it cannot look
up as skipped, not as vulnerable), so a canary pin with published vulnerabilities is audited first:
when its vulnerabilities do not come back, the audit prints "skipped: vulnerability service
unreachable" and passes, because nothing it could say would be true.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALLOW_LIST = ROOT / ".pip-audit-allow.txt"
CONSTRAINTS = ROOT / "constraints.txt"
CANARY = "django==1.11.29"  # dozens of published advisories (PYSEC / GHSA); not a dependency of ours
TIMEOUT_S = 20
# pip-audit's own failures that mean "the service could not be asked" (no network, proxy, DNS, timeout)
UNREACHABLE = ("ConnectionError", "ProxyError", "NewConnectionError", "NameResolutionError", "ConnectTimeout",
               "ReadTimeout", "Max retries exceeded", "Temporary failure in name resolution")


class ServiceUnreachable(RuntimeError):
    """pip-audit could not reach the vulnerability service at all."""


def read_allow_list(path: Path = ALLOW_LIST) -> dict[str, str]:
    """{vulnerability id: reason} from lines `ID  # reason`; an entry without a reason is an error."""
    allowed: dict[str, str] = {}
    if not path.exists():
        return allowed
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        entry, _, reason = line.partition("#")
        if not entry.strip():
            continue
        if not reason.strip():
            raise ValueError(f"{path}:{n}: '{entry.strip()}' has no reason; write `ID  # why it is accepted`")
        allowed[entry.strip()] = reason.strip()
    return allowed


def run_pip_audit(requirements: list[Path]) -> dict[str, Any]:
    """pip-audit's JSON report for exact pins (no resolution, no pip)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [str(Path(sys.executable).parent / "pip-audit"), "--no-deps", "--disable-pip",
                   "--progress-spinner", "off", "--timeout", str(TIMEOUT_S), "-f", "json", "-o", str(report)]
        for path in requirements:
            command += ["-r", str(path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if not report.exists():
            tail = done.stderr.strip()[-2000:]
            if any(sign in done.stderr for sign in UNREACHABLE):
                raise ServiceUnreachable(tail.splitlines()[-1] if tail else "no answer")
            raise RuntimeError(f"pip-audit failed (exit {done.returncode}): {tail}")
        return dict(json.loads(report.read_text(encoding="utf-8")))


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (package, vulnerability) in a pip-audit JSON report."""
    return [{"name": dep["name"], "version": dep.get("version", "?"), "id": v["id"],
             "aliases": list(v.get("aliases", [])), "fix_versions": list(v.get("fix_versions", []))}
            for dep in report.get("dependencies", []) for v in dep.get("vulns", [])]


def not_allowed(rows: list[dict[str, Any]], allowed: dict[str, str]) -> list[dict[str, Any]]:
    return [r for r in rows if r["id"] not in allowed and not set(r["aliases"]) & set(allowed)]


def service_answers(canary_report: dict[str, Any]) -> bool:
    """Whether the canary's published vulnerabilities came back (else the service is not really there)."""
    return bool(findings(canary_report))


def audit() -> int:
    try:
        return _audit()
    except ServiceUnreachable as exc:
        print(f"audit skipped: vulnerability service unreachable ({exc}); run `make audit` where pypi.org "
              "is reachable")
        return 0


def _audit() -> int:
    allowed = read_allow_list()
    with tempfile.TemporaryDirectory() as tmp:
        canary = Path(tmp) / "canary.txt"
        canary.write_text(CANARY + "\n", encoding="utf-8")
        if not service_answers(run_pip_audit([canary])):
            print(f"audit skipped: vulnerability service unreachable (the canary {CANARY} came back without "
                  f"its published vulnerabilities); run `make audit` where pypi.org is reachable")
            return 0
    report = run_pip_audit([CONSTRAINTS])
    rows = findings(report)
    skipped = [d["name"] for d in report.get("dependencies", []) if "skip_reason" in d]
    bad = not_allowed(rows, allowed)
    print(f"audit: {len(report.get('dependencies', []))} pinned packages, {len(rows)} known vulnerabilities, "
          f"{len(rows) - len(bad)} allowed by {ALLOW_LIST.name}, {len(skipped)} not found in the database"
          + (f" ({', '.join(skipped[:10])})" if skipped else ""))
    for row in bad:
        fix = ", ".join(row["fix_versions"]) or "no fixed version yet"
        print(f"  {row['name']}=={row['version']}: {row['id']} ({', '.join(row['aliases']) or 'no aliases'}); "
              f"fixed in {fix}. Upgrade the pin in constraints.txt, or add `{row['id']}  # reason` to "
              f"{ALLOW_LIST.name}")
    stale = set(allowed) - {r["id"] for r in rows} - {a for r in rows for a in r["aliases"]}
    for entry in sorted(stale):
        print(f"  note: {entry} in {ALLOW_LIST.name} matches nothing now; remove it")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(audit())
