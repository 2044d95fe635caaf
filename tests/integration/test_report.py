"""The trend report end to end: CLI on the demo data, escaping, table export, emerging problems,
and the HTML opened in headless Chromium (no console errors, charts and tables present)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appeals.report import build_report, export_tables, render_html, summary
from appeals.trends import load_trends_config, prepare_frame

CONTRACT_KEYS = {"topic", "district", "period_start", "period_end", "observed", "expected", "score"}
DEMO_PERIOD = (date(2026, 2, 2), date(2026, 4, 26))


@pytest.fixture(scope="module")
def cfg():
    return load_trends_config()


@pytest.fixture(scope="module")
def demo_prepared(demo_frame):
    return prepare_frame(demo_frame)[0]


@pytest.fixture(scope="module")
def demo_html(demo_prepared, cfg, tmp_path_factory) -> Path:
    data = build_report(demo_prepared, *DEMO_PERIOD, cfg, source="demo")
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(data, cfg), encoding="utf-8")
    return path


def test_trends_cli_writes_the_alerts_contract(tmp_path, fixtures_dir):
    from typer.testing import CliRunner

    from appeals.cli import build_app
    from appeals.demo import demo_path

    out = tmp_path / "alerts.json"
    result = CliRunner().invoke(build_app(), ["trends", "--input", str(demo_path()), "--output", str(out)])
    assert result.exit_code == 0, result.output
    alerts = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(alerts, list) and alerts
    assert all(set(a) == CONTRACT_KEYS for a in alerts)
    found = {(a["topic"], a["period_start"]) for a in alerts}
    assert ("Ямы на дороге", "2026-04-13") in found  # the demo's planted pothole spike (data/README.md)
    for a in alerts:
        start = date.fromisoformat(a["period_start"])
        # one week, or two for the two-week test
        assert start.weekday() == 0 and date.fromisoformat(a["period_end"]) - start in (
            timedelta(days=6), timedelta(days=13))


def test_trends_cli_errors_are_readable(tmp_path):
    from typer.testing import CliRunner

    from appeals.cli import build_app

    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n2025-01-01,x\n", encoding="utf-8")
    result = CliRunner().invoke(build_app(), ["trends", "--input", str(bad), "--output", str(tmp_path / "a.json")])
    assert result.exit_code == 2
    assert "created_at" in result.output and "bad.csv" in result.output


def test_report_escapes_texts_from_the_data(cfg):
    rows = [{"created_at": f"2025-0{1 + i // 40}-{1 + i % 28:02d}", "topic": "<script>alert(1)</script>",
             "district": "<b>Район</b>", "urgency": "normal"} for i in range(160)]
    frame = prepare_frame(pd.DataFrame(rows))[0]
    html = render_html(build_report(frame, date(2025, 4, 1), date(2025, 4, 20), cfg), cfg)
    assert "<script>" not in html and "<b>Район</b>" not in html
    assert "&lt;script&gt;" in html


def test_report_tables_export(demo_prepared, cfg, tmp_path):
    data = build_report(demo_prepared, *DEMO_PERIOD, cfg)
    paths = export_tables(data, tmp_path)
    names = {p.name for p in paths}
    assert {"Тема.csv", "Район.csv", "Всплески.csv", "tables.xlsx"} <= names
    topics = pd.read_csv(tmp_path / "Тема.csv", encoding="utf-8-sig")
    assert topics["Обращений"].sum() == data.headline["appeals"]
    sheets = pd.read_excel(tmp_path / "tables.xlsx", sheet_name=None)
    assert "Группа тем" in sheets and "Всплески" in sheets
    numbers = json.loads(json.dumps(summary(data)))  # plain JSON, no numpy values
    assert numbers["headline"]["appeals"] == data.headline["appeals"]
    assert sum(r["count"] for r in numbers["tables"]["topic"]) == data.headline["appeals"]
    assert [set(a) for a in numbers["alerts"]] == [CONTRACT_KEYS] * len(data.alerts)


def test_emerging_problem_is_found_and_masked(cfg):
    """A new kind of appeal (written by us) among old ones shows up as a growing, masked cluster."""
    rng = np.random.default_rng(3)
    old = ["Во дворе не убирают снег, машины застревают у подъезда", "Яма на дороге у школы, колеса бьем",
           "Не горит фонарь у остановки, темно вечером", "Мусорные баки переполнены, мусор не вывозят",
           "Нет горячей воды третий день в квартире"]
    new = ["Самокаты кикшеринга брошены на тротуаре, пройти с коляской нельзя, звоните 8 900 000-12-34",
           "Электросамокаты кикшеринга носятся по тротуару и бросают их у подъезда",
           "Самокаты кикшеринга лежат поперек тротуара у школы, дети спотыкаются"]
    rows = []
    start = date(2025, 1, 6)
    for week in range(16):
        for i in range(60):
            text = f"{old[i % len(old)]} (дом {rng.integers(1, 90)})"
            rows.append((start + timedelta(weeks=week, days=i % 7), text, "Благоустройство",
                         rng.uniform(0.05, 0.6), "old"))
        if week >= 12:  # the model puts the new kind under a known topic, without confidence
            rows += [(start + timedelta(weeks=week, days=i % 7), f"{new[i % 3]} (дом {i})", "Благоустройство",
                      0.1, "new") for i in range(25)]
    raw = pd.DataFrame(rows, columns=["created_at", "text", "topic", "topic_proba", "truth"])
    frame = prepare_frame(raw)[0]
    from appeals.emerging import find_emerging

    clusters = find_emerging(frame, cfg.emerging)
    top = clusters[0]
    assert "самокат" in top.top_terms or "кикшеринг" in top.top_terms
    assert (raw["truth"].to_numpy()[top.members] == "new").mean() >= 0.7
    assert len(top.examples) == 3 and not any("000-12-34" in e for e in top.examples)
    assert top.earlier_per_week < top.recent_per_week


def _devtools_url(proc: subprocess.Popen, deadline: float) -> str:
    import time

    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            return match.group(1)
        if not line and proc.poll() is not None:
            break
    raise AssertionError("chromium did not start its DevTools endpoint")


def _collect(ws, until: str, deadline: float, errors: list[str]) -> dict:
    """Read DevTools messages, recording console errors, until the event/answer `until` arrives."""
    import time

    while time.monotonic() < deadline:
        try:
            msg = ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
        except (TimeoutError, Exception) as exc:  # httpx-ws raises its own timeout type
            if "imeout" in type(exc).__name__ or isinstance(exc, TimeoutError):
                break
            raise
        params = msg.get("params", {})
        if msg.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif msg.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif msg.get("method") == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", "") + " " + params["entry"].get("url", ""))
        if msg.get("method") == until or str(msg.get("id")) == until:
            return msg
    raise AssertionError(f"no {until} from chromium in time")


PAGE_FACTS = """JSON.stringify({title: document.title, svg: document.querySelectorAll('svg').length,
  tables: document.querySelectorAll('table').length,
  sections: Array.from(document.querySelectorAll('h2[id]')).map(h => h.id),
  external: performance.getEntriesByType('resource').filter(r => !/^(file|data):/.test(r.name)).length})"""


def open_page(binary: str, html: Path, profile: Path) -> dict:
    """Open `html` in headless Chromium over the DevTools protocol: page facts and console errors."""
    import time

    import httpx
    from httpx_ws import connect_ws

    args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        browser = _devtools_url(proc, deadline)
        port = re.search(r":(\d+)/", browser).group(1)  # type: ignore[union-attr]
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        target = next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"]
        errors: list[str] = []
        with connect_ws(target, max_message_size_bytes=2**24) as ws:
            for i, method in enumerate(("Runtime.enable", "Log.enable", "Page.enable"), start=1):
                ws.send_json({"id": i, "method": method})
                _collect(ws, str(i), deadline, errors)
            ws.send_json({"id": 10, "method": "Page.navigate", "params": {"url": html.resolve().as_uri()}})
            _collect(ws, "Page.loadEventFired", deadline, errors)
            ws.send_json({"id": 11, "method": "Runtime.evaluate", "params": {"expression": PAGE_FACTS,
                                                                             "returnByValue": True}})
            answer = _collect(ws, "11", deadline, errors)
        facts = json.loads(answer["result"]["result"]["value"])
        return {**facts, "errors": errors}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.browser
@pytest.mark.slow
def test_report_in_headless_chromium(demo_html, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium not installed (CI installs it: apt-get install -y chromium)")
    page = open_page(binary, demo_html, tmp_path / "profile")
    assert page["errors"] == [], page["errors"]
    assert page["title"].startswith("Обращения граждан")
    assert page["svg"] >= 6  # weekly charts per group, alert charts, heat map, urgency
    assert page["tables"] >= 4
    assert set(page["sections"]) >= {"headline", "groups", "alerts", "heatmap", "emerging", "urgency", "tables"}
    assert page["external"] == 0  # nothing loaded from the network


@pytest.mark.browser
@pytest.mark.slow
def test_headless_check_catches_console_errors(tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium not installed (CI installs it: apt-get install -y chromium)")
    bad = tmp_path / "bad.html"
    bad.write_text('<html><head><title>x</title></head><body><script>console.error("boom");'
                   'missing();</script><img src="nothing.png"></body></html>', encoding="utf-8")
    errors = open_page(binary, bad, tmp_path / "profile")["errors"]
    assert any("boom" in e for e in errors) and any("missing" in e for e in errors)


def test_report_cli_writes_html(tmp_path):
    from typer.testing import CliRunner

    from appeals.cli import build_app
    from appeals.demo import demo_path

    out = tmp_path / "r.html"
    result = CliRunner().invoke(build_app(), ["report", "--input", str(demo_path()), "--from", "2026-03-02",
                                              "--to", "2026-04-26", "--output", str(out), "--json",
                                              str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert len(re.findall(r"<svg", html)) >= 4
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing to fetch from a network
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["period_start"] == "2026-03-02"


def test_report_refuses_a_reversed_period(demo_prepared, cfg):
    with pytest.raises(ValueError, match="before it starts"):
        build_report(demo_prepared, date(2026, 3, 1), date(2026, 2, 1), cfg)


def test_chromium_binary_runs():
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium not installed")
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    assert "Chromium" in out.stdout or "Chrome" in out.stdout


def test_trends_from_the_store(tmp_path, cfg):
    from datetime import UTC, datetime

    from appeals.store import AppealRow, CorrectionRow, make_engine, save_appeals, save_correction, upgrade
    from appeals.trends import trends_frame_from_store

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    when = datetime(2025, 3, 3, 10, tzinfo=UTC)
    rows = [AppealRow(id=f"a{i}", received_at=when, created_at=when + timedelta(days=i), text_masked="Яма у дома",
                      topic="Ямы", topic_proba=0.2 + i / 10, district="Северный", urgency="normal",
                      needs_review=i == 0) for i in range(4)]
    save_appeals(engine, rows)
    save_correction(engine, CorrectionRow(appeal_id="a1", operator_id="op", topic="Освещение"))
    frame, warnings = trends_frame_from_store(engine)
    assert warnings == [] and len(frame) == 4
    assert frame["topic"].astype(str).tolist().count("Освещение") == 1  # the operator's correction wins
    assert frame["corrected"].sum() == 1 and frame["needs_review"].sum() == 1
    assert frame["topic_proba"].notna().all()
    head = build_report(frame, date(2025, 3, 3), date(2025, 3, 9), cfg).headline
    assert head["appeals"] == 4 and head["corrected"] == pytest.approx(0.25)


def _grouped_frame() -> pd.DataFrame:
    """Twelve appeals in a week: one burst pipe told by five residents, the rest separate problems."""
    start = pd.Timestamp("2026-03-02 09:00")
    rows = [{"id": f"p{i}", "created_at": start + pd.Timedelta(hours=i), "topic": "Водоснабжение",
             "district": "Ленинский", "group_id": "p0"} for i in range(5)]
    rows += [{"id": f"s{i}", "created_at": start + pd.Timedelta(days=1, hours=i), "topic": "Ямы на дороге",
              "district": "Южный", "group_id": f"s{i}" if i % 2 else None} for i in range(7)]
    return prepare_frame(pd.DataFrame(rows))[0]


def test_report_counts_problems_beside_appeals(cfg):
    data = build_report(_grouped_frame(), date(2026, 3, 2), date(2026, 3, 8), cfg, with_emerging=False)
    assert data.headline["appeals"] == 12
    assert data.headline["problems"] == 8  # one group of five, seven single appeals (ungrouped count alone)
    top = data.mass_appeals.iloc[0]
    assert (top["appeals"], top["topic"], top["district"]) == (5, "Водоснабжение", "Ленинский")
    assert len(data.mass_appeals) == 1  # single appeals are not mass appeals
    html = render_html(data, cfg)
    assert "проблем (групп дублей)" in html and "Массовые обращения" in html
    assert summary(data)["mass_appeals"][0]["appeals"] == 5


def test_report_without_groups_says_problems_are_unknown(demo_prepared, cfg):
    data = build_report(demo_prepared, *DEMO_PERIOD, cfg, with_emerging=False)
    assert data.headline["problems"] is None and data.mass_appeals.empty
    assert "нет столбца group_id" in render_html(data, cfg)


def test_alert_table_shows_the_strongest_and_says_where_the_rest_are(demo_prepared, cfg):
    """The page lists at most table_rows alerts, strongest first, and says how many there are in all;
    with room for every alert it lists them all without that note."""
    data = build_report(demo_prepared, *DEMO_PERIOD, cfg, with_emerging=False)
    assert len(data.alerts) >= 3, "the demo period needs a few alerts for this check"
    short = cfg.model_copy(update={"report": cfg.report.model_copy(update={"table_rows": 2})})
    html = render_html(data, short)
    table = html.split('<table class="alerts">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr><td>") == 2
    assert all(a.topic in table for a in data.alerts[:2])  # build_report sorts them by score
    assert f"Показаны 2 из {len(data.alerts)} всплесков" in html
    full = render_html(data, cfg)
    assert full.split('<table class="alerts">', 1)[1].split("</table>", 1)[0].count("<tr><td>") == len(data.alerts)
    assert "Показаны" not in full
