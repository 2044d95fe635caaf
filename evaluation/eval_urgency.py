"""`make eval` section: urgency (issue 5), 5-fold cross-validation on dev.csv.

The classifier learns weak labels on the real unlabelled appeals (Perm, Kursk, Ryazan; dev texts
removed). In each fold the blend weight and critical threshold are tuned, and the gold rows added to
the classifier's training, on the other four folds only; the fold itself is scored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# Variants measured by `python -m evaluation.experiments.urgency_variants` (same folds, tuned inside them)
# on 2026-11-28. The nested tuning was kept; none of the others reaches the target.
TRIED = (
    "Kept (later on 2026-11-28, `gold_oof_proba` in appeals/urgency_train.py): blend and critical threshold tuned "
    "on out-of-fold predictions of models that learned from gold rows (an inner 4-fold CV inside the "
    "four training folds), the kind of model they are applied to, instead of on the weak-only "
    "classifier's view: macro-F1 0.657 -> 0.681, critical precision 0.68 -> 0.71 (22 of 31), critical "
    "recall 0.95 -> 1.00. The precision floor is met by one appeal: one more false critical would "
    "give 0.69. The variants below were measured with the earlier tuning. "
    "Tried without reaching the target (`python -m evaluation.experiments.urgency_variants`, same folds, "
    "tuned inside them; measured 2026-11-28 on the current code): shipped combination 0.657; per-level "
    "prior weights for low and high 0.651; dev rows weighted 15 instead of 5 0.663; both 0.655 (critical "
    "recall 0.95, precision 0.68 for all four); a logistic regression stacked on the classifier's and the "
    "rules' distributions, trained on the gold folds, 0.619; the same with text statistics (length, "
    "question words, ? and !) 0.609. An hour earlier, before lower-case names were masked (which changes "
    "a few training texts), the same variants gave 0.669 / 0.676 / 0.666 / 0.687 / 0.626 / 0.580: "
    "differences of 0.01-0.02 are noise on 200 appeals. The errors are mostly low <-> normal (questions "
    "and opinions against ordinary requests), where the weak labels are least accurate (dev accuracy of "
    "those functions 0.38-0.64)."
    " Later that day, by hand on the same folds (not kept): a Dawid-Skene label model fitted by EM on the unlabelled votes instead of the weighted vote (its latent classes became topics, housing and health, not levels: 0.338 on dev); a TF-IDF logistic regression on the gold folds alone (0.38), averaged with the shipped output at 0.2-0.5 (0.62-0.66); and the Perm topics of the dev appeals (gold, from the source) as a prior: low and normal spread over the same topics (for example 8 low and 11 normal in «Дети и многодетные семьи»), so no topic prior can separate them."
    " Later still (16:10, shipped pipeline, same folds): only the weak labels whose winning level holds at least 0.6 or 0.8 of the vote weight (14,533 and 12,125 of 16,175 rows) 0.667 and 0.668 (critical precision 0.73 and 0.75, recall 1.00 and 0.95); every weak row weighted by that share, or by its square, 0.660 and 0.650. Confident weak labels are the easy ones: leaving out the contested rows removes what the classifier had to learn beyond the rules."
    " Later (20:15-20:30, `python -m evaluation.experiments.urgency_written`, same folds, nested tuning as shipped): 638 appeals written in the project from the rubric alone by two authors who saw neither dev.csv nor the data (evaluation/experiments/urgency_written.csv, weighted towards the low/normal and high/normal lines) added to the weak-labelled training rows: one author's 320 at weight 1 / 3 0.660 / 0.671, both at 3 / 8 0.667 / 0.670, critical recall 0.91-0.95 (against 0.681 and 1.00). Low recall rose by two to four appeals and high and critical fell: written examples teach the rubric's wording, not where the annotators drew the low/normal line on real appeals. Not kept. After the 20:35 masking fix (region and district names after a role word are no longer masked as names, which changes some training texts) the shipped pipeline gives 0.670 (critical recall 0.955, precision 0.75) against 0.681 before: a change of the size noted above as noise; the figures at the top of this section are the current ones."
    " Later (23:50-00:00, shipped pipeline, same folds, by hand): the topic model's priors as classifier input: the best Perm topic group and topic (of models fitted on Perm without the dev.csv texts, so the dev appeals get out-of-sample topics) appended to each appeal's tokens, learnt from the weak rows and the gold rows of the training folds. Alone on dev those topics separate low from normal with ROC AUC 0.68-0.70 (a logistic regression within dev's folds), but in the pipeline: the best topic of each 0.681 (critical recall 1.00, precision 0.73), the two best 0.669 (precision 0.69, below the floor), against 0.670. Noise-sized; not kept."
    " Later (2026-11-30 02:50-03:15, shipped pipeline, same folds, `cross_validate` with the classifier's TF-IDF joined by a second feature block): natasha's navec vectors, the normalised mean over each appeal's classifier lemmas, at weight 0.3 / 1 / 3 / 10 against the TF-IDF part: macro-F1 0.676 / 0.673 / 0.687 / 0.685 against 0.672 in the same run, critical recall 0.955 throughout, critical precision 0.724 / 0.700 / 0.700 / 0.700 (the floor: one false critical more would miss it). The only word embedding in the stack moves the figure by three appeals at most; not kept."
)


SECOND_READER = Path(__file__).parent / "audit" / "urgency_dev_second_reader.csv"

ANNOTATED_TRIED = (
    "Measured on 2026-11-29, not kept: the annotated appeals added to the classifier's training "
    "(`data.annotations_in_training`; their level replaces the weak label; 5-fold CV on dev.csv as above, "
    "tuned inside the folds). The first 1,400 at weight 1 / 3 / 8: macro-F1 0.671 / 0.680 / 0.676 "
    "(critical precision 0.70 / 0.72 / 0.75); all 2,800 at weight 1 / 3 0.667 / 0.666 (critical precision "
    "0.70 / 0.68, below the floor), at 3 with the weak rows down-weighted to 0.2 0.651; against 0.670 "
    "without them. On the "
    "annotated sample (5-fold over it, the other folds in training, blend and threshold as shipped) they "
    "raise macro-F1 from 0.539 to 0.559. Also outside the pipeline: a logistic regression stacked on the "
    "rules' votes and the classifier (trained on the annotated appeals only, nothing from dev.csv) 0.54-0.60 "
    "on dev.csv (it over-calls critical: the annotators' threshold for critical is lower than dev.csv's). "
    "Differences of 0.01-0.02 are noise on 200 appeals; none reaches the target."
)

STAGE_KEPT = (
    "**Kept, 2026-11-29: the normal/low stage** (`[low_stage]` in urgency.toml, `UrgencyModel.fit_low_stage`). "
    "The errors on both sets are mostly low <-> normal: an appeal that only asks for information against one "
    "asking for the standard procedure. That shows in the form of the text («подскажите», «прошу», a question) "
    "more than in its words, and the weak labels of those two levels are the least accurate. The stage is a "
    "logistic regression over character n-grams trained on the normal and low appeals whose level a person "
    "gave (the annotated sample, dev.csv's training folds, operator corrections); it splits the blend's "
    "normal + low share between the two. Chosen outside the pipeline on the annotated sample: re-deciding the "
    "shipped normal/low predictions of batches 7-13 with a stage trained on batches 0-6 raised their macro-F1 "
    "from 0.520 to 0.585 (C = 2, threshold 0.5; word n-grams instead of characters 0.81 against 0.85 "
    "out-of-fold ROC AUC); n-grams of 2-4 characters, not 2-5, for the best out-of-fold ROC AUC on all 2,800 "
    "(0.853; dev.csv 0.771) at 0.5 ms a text instead of 0.9 ms. In the pipeline (above): dev.csv 0.660 -> "
    "0.672 macro-F1 (0.664 with 2-5 characters), the annotated sample's batches 7-13 0.520 -> 0.605 (each "
    "fold's stage trained on the other folds and dev.csv); critical figures unchanged. On dev.csv, labelled by the gold annotators, the stage changes "
    "little; on the sample, labelled by the same kind of reader it learned from, much more: part of that "
    "gain may be the readers' own line between normal and low, not the gold one."
)


def second_reader(dev: pd.DataFrame) -> str:
    """Agreement of a second reader (evaluation/audit/urgency_dev_second_reader.csv) with dev.csv."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    from appeals.labelmodel import LEVELS
    from appeals.urgency_report import confusion_table, markdown_table

    if "item" not in dev.columns or not SECOND_READER.exists():
        return "Second reader: not measured (dev.csv has no item column or the audit file is missing)."
    second = pd.read_csv(SECOND_READER)
    both = dev[["item", "urgency"]].merge(second, on="item", suffixes=("_gold", "_second"))
    blind = both[both["blind"] == 1]
    y, z = blind["urgency_gold"].to_numpy(), blind["urgency_second"].to_numpy()
    return (
        f"**How far a careful reader gets.** One of the project's annotators (an AI assistant reading only "
        f"RUBRIC.md and the texts, as for the annotated sample below) labelled the dev.csv texts without "
        f"their levels: on the {len(blind)} it read blind (the first 25 are left out: a fault in the batch "
        f"file showed their gold levels), accuracy {accuracy_score(y, z):.3f}, macro-F1 "
        f"{f1_score(y, z, labels=list(LEVELS), average='macro'):.3f}, Cohen's kappa "
        f"{cohen_kappa_score(y, z):.3f} against the gold levels (the gold annotators agreed at 92 %, kappa "
        f"0.88). Its labels: `evaluation/audit/urgency_dev_second_reader.csv` (ids and levels, no text).\n\n"
        + markdown_table(confusion_table(y, z))
    )


# Batches of data/urgency_annotations.csv whose misses were read (2026-11-29) to mend two rules.
READ_BATCHES = range(7)


def _figures(y: np.ndarray, pred: np.ndarray) -> str:
    from appeals.urgency_train import level_metrics

    m = level_metrics(y, pred)
    return (f"macro-F1 {m['test_macro_f1']:.3f}, accuracy {m['test_accuracy']:.3f}, critical recall "
            f"{m['test_critical_recall']:.3f}, critical precision {m['test_critical_precision']:.3f}, critical "
            f"predicted low {int(m['test_critical_to_low'])}")


def annotated_sample(cfg: object, data_dir: Path, weak: object) -> str:
    """The shipped recipe on the project's annotated random sample of real appeals, by half."""
    from appeals.urgency_report import confusion_table, markdown_table
    from appeals.urgency_train import annotated_cv

    result, annotated = annotated_cv(cfg, data_dir, weak=weak)  # type: ignore[arg-type]
    read = annotated["batch"].astype(int).isin(READ_BATCHES).to_numpy()
    levels = pd.Series(result.y).value_counts()
    in_training = "trained on the other folds as well" if cfg.data.annotations_in_training else "not in training"  # type: ignore[attr-defined]
    return (
        f"**A random sample of real appeals.** `{cfg.data.annotations}` holds {len(result.y)} appeals "  # type: ignore[attr-defined]
        f"drawn at random from the three datasets (none of them a dev.csv text or a near copy of one), "
        f"labelled by the rubric in the project (data/README.md); levels: "
        + ", ".join(f"{k} {v}" for k, v in levels.items())
        + ". Unlike dev.csv this sample is not enriched in danger words. The shipped recipe "
        f"({in_training}; blend and threshold tuned on dev.csv):\n\n"
        f"- batches 0-6 ({read.sum()} appeals; their critical misses were read on 2026-11-29 and two rules "
        f"mended from them, so these figures are not held out): {_figures(result.y[read], result.pred[read])};\n"
        f"- **batches 7-13 ({(~read).sum()} appeals, never read): {_figures(result.y[~read], result.pred[~read])}**.\n\n"
        "The labels are one AI reader's per appeal (its agreement with dev.csv's gold is above), so part of "
        "the gap to the dev.csv figure is the readers'. Part is the model's: among the sample's critical appeals "
        "the rules miss many dangers written in words they do not know (colloquial icicles, open manholes "
        "«открыто», outages asked about as a question, patients in a serious condition). The rules were "
        "refined on dev.csv's errors and fit its wording better than a random stream's.\n\n"
        f"Confusion on all {len(result.y)} (rows: the reader's level):\n\n"
        + markdown_table(confusion_table(result.y, result.pred))
        + "\n\n" + ANNOTATED_TRIED + " " + RULES_TRIED + "\n\n" + STAGE_KEPT
    )


RULES_TRIED = (
    "Rules mended from the critical misses of batches 0-6 (2026-11-29), then checked on batches 7-13 (the "
    "rules' weighted vote alone, before / after) and on dev.csv: **kept** `cr_manhole` with «открыто», "
    "«треснул» and «чуть не провалились», and `cr_icicles` with colloquial «сосули», «ледяной навес» and "
    "snow from a roof up to 8 words before «упасть» (was 3): on batches 7-13 they fire on 1 more appeal, a "
    "critical one (critical recall of the vote 0.543 -> 0.553, precision 0.520 -> 0.525); dev.csv unchanged "
    "(rules alone 0.627). **Not kept**: «когда дадут воду / появится электричество» and «нарушение "
    "электроснабжения» as an outage now (no change on batches 7-13), stray dogs with an attack word within 12 "
    "words instead of 5 (no change), a building «разваливается» as a collapse (one more false critical on "
    "dev.csv), and a new function for a patient in a serious or worsening condition (4 fires on batches "
    "7-13, 1 of them critical). In the pipeline the two kept rules moved dev.csv's macro-F1 from 0.670 to "
    "0.660 (the weak labels changed: 12 more critical; critical precision 0.750 -> 0.724, one appeal), "
    "noise-sized, before the normal/low stage below."
)


def run(data_dir: Path | None) -> str:
    if data_dir is None or not (data_dir / "urgency" / "dev.csv").exists():
        return "## Urgency\n\nNot measured: dev.csv not found (set APPEALS_DATA_DIR).\n"
    from sklearn.metrics import classification_report, f1_score

    from appeals.labelmodel import LEVELS, all_labelling_functions, combine_votes, coverage_total, lf_summary
    from appeals.urgency_config import load_urgency_config
    from appeals.urgency_data import load_dev
    from appeals.urgency_report import confusion_table, markdown_table, votes_of
    from appeals.urgency_train import cross_validate, cv_metrics, prepare_training

    cfg = load_urgency_config()
    dev = load_dev(data_dir, cfg)
    weak = prepare_training(cfg, data_dir, dev)
    result = cross_validate(cfg, data_dir, gold_in_training=True, weak=weak)
    metrics = cv_metrics(result)
    report = classification_report(result.y, result.pred, labels=list(LEVELS), output_dict=True, zero_division=0)
    per_class = pd.DataFrame([{"level": lvl, "precision": report[lvl]["precision"],
                               "recall": report[lvl]["recall"], "f1": report[lvl]["f1-score"],
                               "support": int(report[lvl]["support"])} for lvl in LEVELS])
    lfs = all_labelling_functions()
    assert weak.votes is not None
    on_unlabelled = lf_summary(weak.votes, lfs)
    dev_votes = votes_of(cfg, dev)
    on_dev = lf_summary(dev_votes, lfs, dev["urgency"].tolist())
    lf_table = on_unlabelled[["function", "level", "fires", "coverage", "overlap", "conflict"]].copy()
    lf_table["dev_fires"] = on_dev["fires"]
    lf_table["dev_accuracy"] = on_dev["accuracy"]
    weak_shares = pd.Series(weak.weak_labels()).value_counts()
    # Baseline with nothing tuned: the rules' weighted vote alone, «normal» where every rule abstains.
    rules_only = [lbl or "normal" for lbl in combine_votes(dev_votes, lfs, cfg.lf_weights)]
    rules_f1 = f1_score(dev["urgency"], rules_only, labels=list(LEVELS), average="macro", zero_division=0)
    targets = [
        ("macro-F1 ≥ 0.75", metrics["test_macro_f1"] >= 0.75),
        ("critical recall ≥ 0.90", metrics["test_critical_recall"] >= 0.90),
        ("critical precision ≥ 0.70", metrics["test_critical_precision"] >= 0.70),
        ("no critical predicted low", metrics["test_critical_to_low"] == 0),
    ]
    folds = ", ".join(f"fold {f['fold']}: blend {f['blend']}, threshold {f['critical_threshold']}"
                      for f in result.folds)
    parts = [
        "## Urgency",
        f"Data: {len(dev)} gold appeals of dev.csv ({', '.join(f'{k} {v}' for k, v in dev['urgency'].value_counts().items())}), "
        f"{cfg.combine.cv_folds}-fold stratified CV (seed {cfg.data.seed}). Classifier trained on "
        f"{weak.weak_count()} weak-labelled appeals of {', '.join(cfg.data.datasets)} (dev texts removed; "
        f"{coverage_total(weak.votes):.1%} of {weak.votes.shape[0]} deduplicated appeals got a weak label: "
        + ", ".join(f"{lvl} {weak_shares.get(lvl, 0)}" for lvl in LEVELS) + ").",
        "Caveat: the labelling functions were written from the rubric and refined after reading dev.csv "
        "errors, so the rule part is not fully independent of dev.csv; blend and threshold are tuned inside "
        "the folds.",
        f"**macro-F1 {metrics['test_macro_f1']:.3f}**, accuracy {metrics['test_accuracy']:.3f}, critical recall "
        f"{metrics['test_critical_recall']:.3f}, critical precision {metrics['test_critical_precision']:.3f}, "
        f"critical predicted low: {int(metrics['test_critical_to_low'])}.",
        f"For comparison, the rules' weighted vote alone (no classifier, nothing tuned; «normal» where all "
        f"abstain) reaches macro-F1 {rules_f1:.3f} on all of dev.csv.",
        "Targets: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in targets) + ".",
        f"Chosen per fold: {folds}.",
        TRIED,
        "### Per level (out-of-fold)", markdown_table(per_class),
        "### Confusion matrix (rows gold, columns predicted)", markdown_table(confusion_table(result.y, result.pred)),
        "### Second reader and a random sample of real appeals",
        second_reader(dev),
        annotated_sample(cfg, data_dir, weak) if cfg.data.annotations else "No annotated sample configured.",
        "### Labelling functions",
        "coverage/overlap/conflict on the unlabelled appeals (share of all appeals); dev_accuracy: share of "
        "dev appeals where the function fires whose gold level is the function's level. Rules alone "
        f"(weighted vote) cover {coverage_total(dev_votes):.1%} of dev.csv.",
        markdown_table(lf_table),
    ]
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    import os

    print(run(Path(os.environ["APPEALS_DATA_DIR"]) if "APPEALS_DATA_DIR" in os.environ else None))
