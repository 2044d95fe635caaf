"""Charts of the trend report: matplotlib figures rendered to inline SVG (no network needed to view)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

PALETTE = ("#1f5fa8", "#d9534f", "#f0ad4e", "#5cb85c", "#6f42c1", "#20c997", "#795548", "#9e9e9e")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "none",
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def to_svg(fig: Any) -> str:
    """The figure as an <svg> element (XML prolog and metadata dropped), and the figure closed."""
    plt = _pyplot()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.DOTALL)


def _short(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def weekly_chart(series: pd.Series, title: str, highlight: Sequence[date] = (),
                 expected: pd.Series | None = None, period: tuple[date, date] | None = None) -> str:
    """Weekly counts as bars; highlighted weeks in red, the expected level as a line, the period shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 2.1), layout="constrained")
    weeks = [pd.Timestamp(w).date() for w in series.index]
    colors = [PALETTE[1] if w in set(highlight) else PALETTE[0] for w in weeks]
    ax.bar(range(len(weeks)), series.to_numpy(), color=colors, width=0.8)
    if expected is not None:
        ax.plot(range(len(weeks)), expected.reindex(series.index).to_numpy(), color=PALETTE[2],
                linewidth=1.5, label="ожидалось")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
    if period is not None:
        inside = [i for i, w in enumerate(weeks) if period[0] <= w <= period[1]]
        if inside:
            ax.axvspan(min(inside) - 0.5, max(inside) + 0.5, color="#e8eef7", zorder=0)
    step = max(1, len(weeks) // 6)
    ax.set_xticks(range(0, len(weeks), step))
    ax.set_xticklabels([w.strftime("%d.%m.%y") for w in weeks[::step]], fontsize=7)
    ax.set_title(_short(title, 60), fontsize=9, loc="left")
    ax.set_ylabel("обращений за неделю", fontsize=7)
    return to_svg(fig)


def heatmap(matrix: pd.DataFrame, title: str) -> str:
    """District x topic counts as a coloured grid with the numbers written in."""
    plt = _pyplot()
    rows, cols = matrix.shape
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * cols + 3.0), max(2.5, 0.38 * rows + 1.8)),
                           layout="constrained")
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="YlOrRd", aspect="auto")
    ax.set_xticks(range(cols))
    ax.set_xticklabels([_short(str(c), 28) for c in matrix.columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(rows))
    ax.set_yticklabels([_short(str(r), 28) for r in matrix.index], fontsize=7)
    top = values.max() if values.size else 0
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=6,
                color="white" if top and value > 0.6 * top else "black")
    fig.colorbar(image, ax=ax, shrink=0.6, label="обращений")
    ax.set_title(title, fontsize=9, loc="left")
    return to_svg(fig)


def urgency_chart(weekly: pd.DataFrame, labels: dict[str, str]) -> str:
    """Weekly urgency mix as stacked shares."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 2.4), layout="constrained")
    order = [c for c in labels if c in weekly.columns] + [c for c in weekly.columns if c not in labels]
    shares = weekly[order].div(weekly.sum(axis=1).replace(0, np.nan), axis=0).fillna(0)
    bottom = np.zeros(len(shares))
    colors = {"critical": PALETTE[1], "high": PALETTE[2], "normal": PALETTE[0], "low": PALETTE[7]}
    for i, level in enumerate(shares.columns):
        ax.bar(range(len(shares)), shares[level].to_numpy(), bottom=bottom, width=0.85,
               color=colors.get(str(level), PALETTE[i % len(PALETTE)]), label=labels.get(str(level), str(level)))
        bottom += shares[level].to_numpy()
    weeks = [pd.Timestamp(w) for w in shares.index]
    step = max(1, len(weeks) // 8)
    ax.set_xticks(range(0, len(weeks), step))
    ax.set_xticklabels([w.strftime("%d.%m.%y") for w in weeks[::step]], fontsize=7)
    ax.set_ylabel("доля обращений", fontsize=7)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    ax.set_title("Срочность по неделям", fontsize=9, loc="left")
    return to_svg(fig)
