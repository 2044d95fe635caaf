"""The data side of training: which rows train, tune and test a model, grouped by normalised text.

Three schemes, named in the training config:
- `holdout`: `appeals.splits.make_split` (duplicates collapsed, grouped, stratified train/val/test);
- `official`: the dataset's own train/test (`source_split`); train texts whose normalised form is
  also in test are dropped (and counted), and validation is carved out of train by group;
- grouped k-fold CV (`cv_folds`), used by the evaluation: each fold tests on unseen groups.

Operator corrections (`add_corrections`) join the training part only, so test figures stay comparable
with the champion's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from appeals.config import home_dir
from appeals.splits import add_group_keys, collapse_duplicates, content_hash, make_split


class DataSpec(BaseModel):
    """Where the training data comes from and how it is split."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dataset: str = "demo"
    mapping: dict[str, str] = {}
    scheme: Literal["holdout", "official"] = "holdout"
    stratify: str = "topic"
    seed: int = 42
    val_size: float = 0.15
    test_size: float = 0.15
    cv_folds: int = 0
    save_manifest: bool = True


@dataclass
class Parts:
    """Train, validation and test frames (one row per duplicate group) and the split's manifest."""

    dataset: str
    dataset_hash: str
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    manifest: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def load_frame(spec: DataSpec, data_dir: Path | None) -> pd.DataFrame:
    """The dataset named in the config, through the project's loaders."""
    from appeals.datasets import load_any

    return load_any(spec.dataset, data_dir, spec.mapping or None).frame


def manifest_path(spec: DataSpec, digest: str) -> Path:
    name = Path(spec.dataset).stem if "/" in spec.dataset else spec.dataset
    return home_dir() / "splits" / f"{name}-{spec.scheme}-seed{spec.seed}-{digest[:12]}.json"


def holdout_parts(frame: pd.DataFrame, spec: DataSpec) -> Parts:
    """Grouped, stratified train/val/test by `appeals.splits.make_split` (manifest reused if saved)."""
    digest = content_hash(frame)
    path = manifest_path(spec, digest) if spec.save_manifest else None
    split, collapsed = make_split(frame, spec.dataset, target=spec.stratify, seed=spec.seed,
                                  val_size=spec.val_size, test_size=spec.test_size, manifest=path)
    train, val, test = (split.frame_part(collapsed, p) for p in ("train", "val", "test"))
    return Parts(spec.dataset, digest, train, val, test, split.to_manifest())


def carve_validation(train: pd.DataFrame, spec: DataSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a one-row-per-group frame into train and validation, stratified where classes allow."""
    strat = train[spec.stratify] if spec.stratify in train.columns else None
    if strat is not None:
        counts = strat.map(strat.value_counts())
        strat = strat.where(counts >= 2, "__rare__").fillna("__none__")
        if (strat.value_counts() < 2).any():
            strat = None
    fit_ids, val_ids = train_test_split(train["id"], test_size=spec.val_size, random_state=spec.seed,
                                        stratify=strat)
    keep = set(fit_ids)
    return (train[train["id"].isin(keep)].reset_index(drop=True),
            train[train["id"].isin(set(val_ids))].reset_index(drop=True))


def official_parts(frame: pd.DataFrame, spec: DataSpec) -> Parts:
    """The dataset's own train → test, minus train texts that also occur in test."""
    if "source_split" not in frame.columns or not (frame["source_split"] == "test").any():
        raise ValueError(f"{spec.dataset}: scheme 'official' needs rows with source_split == 'test'; "
                         "use scheme = 'holdout' for this dataset")
    keyed = add_group_keys(frame)
    test_rows = keyed[keyed["source_split"] == "test"]
    train_rows = keyed[keyed["source_split"] != "test"]
    leaked = train_rows["group_key"].isin(set(test_rows["group_key"]))
    train, report = collapse_duplicates(train_rows[~leaked])
    test, _ = collapse_duplicates(test_rows)
    fit, val = carve_validation(train, spec)
    manifest = {"dataset": spec.dataset, "scheme": "official", "seed": spec.seed,
                "dropped_train_rows_also_in_test": int(leaked.sum()), "dedup_train": report.as_dict(),
                "counts": {"train": len(fit), "val": len(val), "test": len(test)},
                "parts": {"train": sorted(fit["id"]), "val": sorted(val["id"]), "test": sorted(test["id"])}}
    return Parts(spec.dataset, content_hash(frame), fit, val, test, manifest)


def make_parts(frame: pd.DataFrame, spec: DataSpec) -> Parts:
    """The parts of `frame` by the config's scheme."""
    if spec.scheme == "official":
        return official_parts(frame, spec)
    return holdout_parts(frame, spec)


def cv_parts(frame: pd.DataFrame, spec: DataSpec, target: str) -> Iterator[Parts]:
    """Grouped, stratified k-fold: each fold's test groups are unseen; validation carved from the rest."""
    collapsed, _ = collapse_duplicates(frame)
    labelled = collapsed[collapsed[target].notna()].reset_index(drop=True)
    folds = StratifiedGroupKFold(n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed)
    digest = content_hash(frame)
    for number, (rest, test) in enumerate(folds.split(labelled, labelled[target], labelled["group_key"])):
        fit, val = carve_validation(labelled.iloc[rest].reset_index(drop=True), spec)
        manifest = {"dataset": spec.dataset, "scheme": f"cv{spec.cv_folds}", "fold": number,
                    "counts": {"train": len(fit), "val": len(val), "test": len(test)}}
        yield Parts(spec.dataset, digest, fit, val, labelled.iloc[test].reset_index(drop=True), manifest)


CORRECTED_TASKS = ("topic", "topic_group", "department")


def add_corrections(parts: Parts, corrections: pd.DataFrame) -> tuple[Parts, dict[str, int]]:
    """Parts whose training rows include operator corrections (columns text + any of the task labels).

    A correction of an appeal already in training replaces the labels it names (the operator wins); a
    new appeal joins training with only its corrected labels (the others stay empty, so no model learns
    its own guess). A corrected topic without a group gets the group the training data gives that topic.
    Corrections whose normalised text is in validation or test are left out and counted, so the held-out
    figures stay honest. Returns the new parts and counts for the run's manifest.
    """
    tasks = [t for t in CORRECTED_TASKS if t in corrections.columns]
    if "text" not in corrections.columns or not tasks:
        raise ValueError("corrections need a column text and at least one of "
                         f"{list(CORRECTED_TASKS)}; got {list(corrections.columns)}")
    fixes = add_group_keys(corrections.dropna(subset=["text"]))
    fixes = fixes[fixes[tasks].notna().any(axis=1)]
    fixes = fixes.drop_duplicates("group_key", keep="last")  # the newest correction of a text wins
    held_out = set(parts.val["group_key"]) | set(parts.test["group_key"])
    overlap = fixes["group_key"].isin(held_out)
    fixes = fixes[~overlap].copy()
    train = parts.train.copy()
    if "topic" in tasks and "topic_group" in train.columns:
        if "topic_group" not in fixes.columns:
            fixes["topic_group"] = None
        groups = train.dropna(subset=["topic", "topic_group"]).groupby("topic")["topic_group"].agg(
            lambda g: g.mode().iloc[0])
        missing = fixes["topic_group"].isna() & fixes["topic"].notna()
        fixes.loc[missing, "topic_group"] = fixes.loc[missing, "topic"].map(groups)
        tasks = list(dict.fromkeys([*tasks, "topic_group"]))
    position = pd.Series(train.index, index=train["group_key"])
    known = fixes["group_key"].isin(position.index)
    relabelled = 0
    for _, fix in fixes[known].iterrows():
        row = position[fix["group_key"]]
        for task in tasks:
            if task in train.columns and pd.notna(fix[task]) and train.at[row, task] != fix[task]:
                train.at[row, task] = fix[task]
                relabelled += 1
    new = fixes[~known].copy()
    new["source"] = "feedback"
    if "id" not in new.columns:
        new["id"] = [f"feedback-{k}" for k in new["group_key"]]
    new["members"] = [[i] for i in new["id"]]
    for task in CORRECTED_TASKS:
        if task in train.columns and task not in new.columns:
            new[task] = None
    if len(new):
        keep = [c for c in dict.fromkeys([*train.columns, "source"]) if c in new.columns]
        train = pd.concat([train, new[keep]], ignore_index=True)
    report = {"corrections": int(len(corrections)), "corrections_added": int(len(new)),
              "corrections_relabelled_train_rows": int(known.sum()), "corrected_labels": relabelled,
              "corrections_skipped_in_val_or_test": int(overlap.sum())}
    manifest = {**parts.manifest, "corrections": report}
    return Parts(parts.dataset, parts.dataset_hash, train, parts.val, parts.test, manifest), report
