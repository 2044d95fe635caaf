"""Duplicate grouping, conflict resolution and leak-free train/validation/test splits.

Rule for conflicting labels inside a duplicate group (documented in README): each label takes the
value most of the group's rows carry; a tie goes to the value that is more frequent in the whole
dataset, then to the alphabetically first. Every group whose rows disagree is counted per label.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from appeals.schema import LABEL_FIELDS
from appeals.text import normalize_for_dedup

PARTS: tuple[str, ...] = ("train", "val", "test")


@dataclass
class DedupReport:
    rows: int
    groups: int
    duplicate_rows: int
    duplicate_groups: int
    conflicts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "groups": self.groups, "duplicate_rows": self.duplicate_rows,
                "duplicate_groups": self.duplicate_groups, "conflicts": self.conflicts}


def add_group_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with `group_key`: a short hash of the normalised text (exact and near-exact dups)."""
    out = frame.copy()
    out["group_key"] = [
        hashlib.sha1(normalize_for_dedup(t).encode("utf-8")).hexdigest()[:16] for t in out["text"]
    ]
    return out


def _resolve(values: pd.Series, overall: pd.Series) -> tuple[object, bool]:
    present = values.dropna()
    if present.empty:
        return None, False
    counts = present.value_counts()
    top = counts[counts == counts.max()].index.tolist()
    if len(top) > 1:
        top.sort(key=lambda v: (-int(overall.get(v, 0)), str(v)))
    return top[0], present.nunique() > 1


def collapse_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, DedupReport]:
    """One row per duplicate group (the first row's id and text), labels resolved by the rule above.

    The returned frame has `group_key` and `members` (ids of all rows in the group).
    """
    keyed = add_group_keys(frame) if "group_key" not in frame.columns else frame.copy()
    sizes = keyed.groupby("group_key", sort=False)["id"].transform("size")
    report = DedupReport(rows=len(keyed), groups=int(keyed["group_key"].nunique()),
                         duplicate_rows=int((sizes > 1).sum()),
                         duplicate_groups=int(keyed.loc[sizes > 1, "group_key"].nunique()))
    labels = [c for c in LABEL_FIELDS if c in keyed.columns]
    overall = {c: keyed[c].value_counts() for c in labels}
    firsts = keyed.drop_duplicates("group_key", keep="first").set_index("group_key")
    members = keyed.groupby("group_key", sort=False)["id"].agg(list)
    firsts["members"] = members
    conflicts = dict.fromkeys(labels, 0)
    dup_keys = members[members.map(len) > 1].index
    for key in dup_keys:
        group = keyed[keyed["group_key"] == key]
        for col in labels:
            value, conflicted = _resolve(group[col], overall[col])
            firsts.at[key, col] = value
            conflicts[col] += int(conflicted)
    report.conflicts = conflicts
    return firsts.reset_index(), report


def content_hash(frame: pd.DataFrame) -> str:
    """Hash of ids, normalised texts and labels: changes when the data behind a split changes."""
    digest = hashlib.sha256()
    cols = ["id", "text", *[c for c in LABEL_FIELDS if c in frame.columns]]
    for row in frame.sort_values("id")[cols].itertuples(index=False):
        digest.update("\x1f".join("" if v is None or v != v else str(v) for v in row).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def _strata(labels: pd.Series, min_count: int) -> np.ndarray:
    counts = labels.value_counts()
    rare = labels.map(counts) < min_count
    return np.where(labels.isna() | rare, "__rare__", labels.astype(str))


def split_groups(
    collapsed: pd.DataFrame, target: str | None, seed: int, val_size: float, test_size: float
) -> dict[str, list[str]]:
    """Split one-row-per-group data into parts, stratified by `target` where each class allows it."""
    ids = collapsed["id"].to_numpy()
    strat = None
    if target and target in collapsed.columns:
        strat = _strata(collapsed[target], min_count=3)
        if (pd.Series(strat).value_counts() < 3).any():
            strat = None  # even the pooled rare stratum is too small to stratify on
    rest, test = train_test_split(ids, test_size=test_size, random_state=seed, stratify=strat)
    rest_mask = np.isin(ids, rest)
    strat_rest = strat[rest_mask] if strat is not None else None
    if strat_rest is not None:
        strat_rest = _strata(pd.Series(strat_rest), min_count=2)
    rel_val = val_size / (1.0 - test_size)
    train, val = train_test_split(ids[rest_mask], test_size=rel_val, random_state=seed, stratify=strat_rest)
    return {"train": sorted(train.tolist()), "val": sorted(val.tolist()), "test": sorted(test.tolist())}


@dataclass
class Split:
    """The parts of a dataset plus everything needed to reproduce or check them."""

    dataset: str
    target: str | None
    seed: int
    content_hash: str
    parts: dict[str, list[str]]
    members: dict[str, list[str]]
    dedup: dict

    def frame_part(self, collapsed: pd.DataFrame, part: str) -> pd.DataFrame:
        wanted = set(self.parts[part])
        return collapsed[collapsed["id"].isin(wanted)].reset_index(drop=True)

    def to_manifest(self) -> dict:
        return {"dataset": self.dataset, "target": self.target, "seed": self.seed,
                "content_hash": self.content_hash, "dedup": self.dedup,
                "counts": {p: len(v) for p, v in self.parts.items()},
                "parts": self.parts, "members": self.members}

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_manifest(), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Split:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(dataset=data["dataset"], target=data["target"], seed=data["seed"],
                   content_hash=data["content_hash"], parts=data["parts"], members=data["members"],
                   dedup=data["dedup"])


def make_split(
    frame: pd.DataFrame,
    dataset: str,
    target: str | None = None,
    seed: int = 42,
    val_size: float = 0.15,
    test_size: float = 0.15,
    manifest: Path | None = None,
) -> tuple[Split, pd.DataFrame]:
    """Collapse duplicates and split; reuse `manifest` when it exists and matches the data's hash."""
    collapsed, report = collapse_duplicates(frame)
    digest = content_hash(frame)
    if manifest is not None and Path(manifest).exists():
        split = Split.load(Path(manifest))
        if split.content_hash != digest:
            raise ValueError(
                f"{manifest}: the split manifest was made for other data (hash {split.content_hash[:12]}, "
                f"data now {digest[:12]}); delete it to make a new split")
        return split, collapsed
    parts = split_groups(collapsed, target, seed, val_size, test_size)
    members = {row.id: row.members for row in collapsed.itertuples() if len(row.members) > 1}
    split = Split(dataset=dataset, target=target, seed=seed, content_hash=digest, parts=parts,
                  members=members, dedup=report.as_dict())
    if manifest is not None:
        split.save(Path(manifest))
    return split, collapsed
