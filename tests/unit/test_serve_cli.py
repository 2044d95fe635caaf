"""`appeals serve` helpers: API keys created once, a curl example that can be pasted as is."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from appeals.auth import load_keyring
from appeals.cli.serve import EXAMPLE, curl_example, ensure_keys, portal_key


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("APPEALS_HOME", str(tmp_path))
    monkeypatch.delenv("APPEALS_API_KEYS", raising=False)
    monkeypatch.delenv("APPEALS_API_KEYS_FILE", raising=False)
    return tmp_path


def test_keys_are_created_once_and_work(home: Path) -> None:
    where = ensure_keys()
    key = portal_key(where)
    assert Path(where).name == "dev_api_keys.txt" and key != "YOUR_PORTAL_KEY"
    assert load_keyring().role_of(key) == "portal"
    assert key not in (home / "api_keys.txt").read_text()  # the key file holds digests only
    assert ensure_keys() == where and portal_key(ensure_keys()) == key  # not regenerated


def test_env_keys_are_left_alone(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPEALS_API_KEYS", "portal:abc")
    assert ensure_keys() == "$APPEALS_API_KEYS" and not (home / "api_keys.txt").exists()
    assert portal_key("$APPEALS_API_KEYS") == "YOUR_PORTAL_KEY"


def test_curl_example_is_one_valid_shell_command() -> None:
    line = curl_example("127.0.0.1", 3000, "k'ey")
    words = shlex.split(line)
    assert words[:3] == ["curl", "-s", "http://127.0.0.1:3000/classify"]
    assert "X-API-Key: k'ey" in words
    assert json.loads(words[words.index("-d") + 1]) == EXAMPLE


@pytest.mark.parametrize("preset", [None, "true"])
def test_the_cli_quiets_mlflows_download_bars_unless_asked(monkeypatch: pytest.MonkeyPatch,
                                                             preset: str | None) -> None:
    import os

    import appeals.cli as cli

    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", preset or "unset")  # restored afterwards
    if preset is None:
        monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    monkeypatch.setattr(cli, "build_app", lambda: (lambda: None))
    cli.main()
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == (preset or "false")
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
