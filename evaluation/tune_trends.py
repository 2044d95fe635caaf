"""Dev streams for choosing the trend settings, never the streams `make eval` reports.

Dev streams use another simulation seed (sim.seed + DEV_SEED_OFFSET) and other held-out topics:
the topics of the eval's size range that the quick topic model recognises with F1 >= DEV_MIN_F1
(measured on the pool part), minus the eval's own candidates. Settings are overridden on the
command line, one variant per --set group:

    python -m evaluation.tune_trends --streams 20 --set emerging.background_weight=0.3 \\
        --set emerging.texts_per_cluster=25 spikes.false_alarm_rate=0.04
"""

from __future__ import annotations

import argparse
import copy

import pandas as pd

from evaluation.eval_trends import PURITY_TARGET, evaluate_streams
from evaluation.simulate_stream import (
    Pool,
    SimulationConfig,
    held_out_candidates,
    load_pool,
    load_simulation_config,
)

DEV_SEED_OFFSET = 7919
DEV_MIN_F1 = 0.45


def dev_pool(pool: Pool, sim: SimulationConfig) -> Pool:
    sizes = pd.concat([pool.train["topic"], pool.pool["topic"]]).value_counts()
    relaxed = sim.model_copy(update={"held_out": sim.held_out.model_copy(
        update={"candidates": 100, "min_f1": DEV_MIN_F1})})
    topics = held_out_candidates(pool.train, pool.pool, sizes, relaxed)
    dev = copy.copy(pool)
    dev.held_out = [t for t in topics if t not in pool.held_out]
    return dev


def variant(base, overrides: list[str]):
    """The trends config with `section.key=value` overrides (values parsed as numbers)."""
    sections: dict[str, dict] = {}
    for item in overrides:
        key, value = item.split("=", 1)
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = float(value) if "." in value or "e" in value else int(value)
    return base.model_copy(update={s: getattr(base, s).model_copy(update=v) for s, v in sections.items()})


def main() -> None:
    from appeals.config import require_data_dir
    from appeals.trends import load_trends_config

    parser = argparse.ArgumentParser(description="Trend settings on dev streams (not the eval streams).")
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--set", nargs="*", action="append", default=[], help="section.key=value ...")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    sim = load_simulation_config()
    pool = load_pool(require_data_dir(args.data_dir), sim)
    dev, dev_sim = dev_pool(pool, sim), sim.model_copy(update={"seed": sim.seed + DEV_SEED_OFFSET})
    print(f"dev held-out topics: {dev.held_out}")
    for overrides in [[], *args.set]:
        res = evaluate_streams(dev, dev_sim, args.streams, variant(load_trends_config(), overrides))
        spikes, em = res["spikes"], res["emerging"]
        half = spikes[spikes["magnitude"] == 0.5]
        print(f"| {' '.join(overrides) or 'config as is'} | {half['found'].mean():.1%} "
              f"(first week {half['first_week'].mean():.1%}) of {len(half)} | "
              f"{spikes[spikes['magnitude'] >= 1]['first_week'].mean():.1%} | "
              f"{50 * res['false'] / res['clean']:.2f} | "
              f"{int((em['purity'] >= PURITY_TARGET).sum())}/{len(em)} |", flush=True)


if __name__ == "__main__":
    main()
