"""Urgency appeals written from the rubric alone, added to the classifier's training: not kept.

`urgency_written.csv` (next to this file) holds 638 appeals written in the project on 2026-11-28 by two
authors who read only RUBRIC.md (not dev.csv, not the code, not the datasets): one in portal and letter
style about Perm Krai, one in social-media comment style about several regions; each labelled by the
rubric, weighted towards the low/normal and high/normal boundaries. This script adds them, at a given
weight, to the weak-labelled training rows and runs the shipped 5-fold cross-validation on dev.csv:

    python -m evaluation.experiments.urgency_written 0 3 8     # weights; 0 = the shipped training

Measured 2026-11-28 (macro-F1, critical recall / precision): shipped 0.681 (1.00 / 0.71); author a's 320
at weight 1 0.660 (0.95 / 0.70), at 3 0.671 (0.95 / 0.72); both authors at 3 0.667 (0.95 / 0.70), at 8
0.670 (0.91 / 0.67). Low recall rose by 2-4 appeals, high and critical fell: written examples teach the
rubric's wording, not how the Perm annotators drew the low/normal line on real appeals.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from appeals.urgency_config import load_urgency_config
from appeals.urgency_data import load_dev
from appeals.urgency_train import (
    cross_validate,
    cv_metrics,
    model_from_config,
    prepare_rows,
    prepare_training,
)

WRITTEN = Path(__file__).with_name("urgency_written.csv")


def main(data_dir: Path, weights: list[float]) -> None:
    cfg = load_urgency_config()
    dev = load_dev(data_dir, cfg)
    weak = prepare_training(cfg, data_dir, dev)
    written = pd.read_csv(WRITTEN).assign(created_at=None)
    for weight in weights:
        rows = weak if weight == 0 else weak.plus(prepare_rows(model_from_config(cfg), written, weight))
        m = cv_metrics(cross_validate(cfg, data_dir, True, weak=rows))
        print(f"weight {weight}: macro-F1 {m['test_macro_f1']:.3f}, critical recall "
              f"{m['test_critical_recall']:.2f}, precision {m['test_critical_precision']:.2f}", flush=True)


if __name__ == "__main__":
    main(Path(os.environ["APPEALS_DATA_DIR"]), [float(w) for w in sys.argv[1:] or ["0", "3"]])
