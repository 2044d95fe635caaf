"""Where the project's own demo data lives (written by data/make_demo.py, shipped in data/)."""

from __future__ import annotations

from pathlib import Path

from appeals.config import project_root


def demo_path() -> Path:
    path = project_root() / "data" / "demo_appeals.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: demo data missing; regenerate it with `python data/make_demo.py`")
    return path
