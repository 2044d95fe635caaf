"""Training data for the urgency model: weak labels on real appeals, the dev set, operator corrections.

- `load_dev`: ../shared/data/urgency/dev.csv (200 gold appeals) for tuning and evaluation only;
- `load_unlabelled`: the real appeals of the configured datasets, deduplicated by normalised text, with
  every dev text removed (no leakage from the weak-label training set into evaluation);
- `weak_labels`: the labelling functions' combined vote (rows where every function abstains drop out);
- `load_annotations`: real appeals labelled by the rubric in the project (data/urgency_annotations.csv:
  dataset ids and levels, no text), joined with their texts from the datasets (they train the
  normal/low stage and, with `data.annotations_in_training`, replace the weak label of the same text);
- `merge_corrections`: operator corrections (feedback) replace the weak label of the same appeal and
  are added when new, with a larger sample weight: a person's judgement outranks a rule's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from appeals.labelmodel import LEVELS, all_labelling_functions, combine_votes, vote_matrix
from appeals.text import clean_text, normalize_for_dedup
from appeals.urgency_config import UrgencyConfig

WEAK_WEIGHT = 1.0
CORRECTION_WEIGHT = 5.0


def load_dev(data_dir: Path | None, cfg: UrgencyConfig) -> pd.DataFrame:
    """The gold set as text, urgency (+ other columns); a readable error when absent.

    `data.dev_path` is a file under the data folder (default urgency/dev.csv) or a dataset spec such
    as "demo" (the project's demo data), whose rows with an urgency label are taken; `data.dev_rows`
    > 0 keeps a random sample of that many."""
    from appeals.datasets import ADAPTERS, LoadError, load_any, read_table

    spec = cfg.data.dev_path
    if spec == "demo" or spec in ADAPTERS:
        frame = load_any(spec, data_dir).frame
        path: Path | str = spec
    else:
        if data_dir is None:
            raise LoadError(f"the urgency gold set {spec} lies under the data folder: set APPEALS_DATA_DIR "
                            "or pass --data-dir")
        path = data_dir / spec
        frame = read_table(path)
    missing = {"text", "urgency"} - set(frame.columns)
    if missing:
        raise LoadError(f"{path}: missing columns {sorted(missing)}")
    frame = frame[frame["urgency"].notna() & (frame["urgency"].astype(str).str.strip() != "")]
    bad = sorted(set(frame["urgency"]) - set(LEVELS))
    if bad:
        raise LoadError(f"{path}: field urgency: unknown levels {bad}; expected {list(LEVELS)}")
    if cfg.data.dev_rows and len(frame) > cfg.data.dev_rows:
        frame = frame.sample(n=cfg.data.dev_rows, random_state=cfg.data.seed)
    return frame.reset_index(drop=True)


def load_unlabelled(data_dir: Path | None, cfg: UrgencyConfig, exclude: list[str] | None = None) -> pd.DataFrame:
    """Appeals of the configured datasets (text, created_at, source), deduplicated, without any text
    in `exclude`; their own labels, if any, are not read."""
    from appeals.datasets import load_any

    frames = [load_any(name, data_dir).frame for name in cfg.data.datasets]
    frame = pd.concat(frames, ignore_index=True)[["text", "created_at", "source"]]
    frame = frame[frame["text"].fillna("").str.strip() != ""].copy()
    frame["key"] = frame["text"].map(normalize_for_dedup)
    banned = {normalize_for_dedup(t) for t in exclude or []}
    frame = frame[(frame["key"] != "") & ~frame["key"].isin(banned)].drop_duplicates("key")
    if cfg.data.max_train and len(frame) > cfg.data.max_train:
        frame = frame.sample(n=cfg.data.max_train, random_state=cfg.data.seed)
    return frame.drop(columns="key").reset_index(drop=True)


def annotated_rows(table: pd.DataFrame, texts: pd.DataFrame, source: str | Path = "annotations",
                   exclude: list[str] | None = None) -> pd.DataFrame:
    """Rows (text, created_at, urgency) of an annotation table (columns id, urgency) whose ids are
    looked up in `texts` (columns id, text); rows whose text is in `exclude` (dev.csv) are dropped.

    Every problem is reported with the file, the row (1 = the first line after the header) and the
    field: a missing column, an unknown level, a repeated id, an id in none of the datasets."""
    from appeals.datasets import LoadError

    missing = {"id", "urgency"} - set(table.columns)
    if missing:
        raise LoadError(f"{source}: missing columns {sorted(missing)}; expected id, urgency")
    problems = []
    ids = table["id"].astype(str).str.strip()
    levels = table["urgency"].astype(str).str.strip()
    known = dict(zip(texts["id"].astype(str), texts["text"], strict=True))
    for row, (item, level, repeated) in enumerate(zip(ids, levels, ids.duplicated(), strict=True), start=1):
        if level not in LEVELS:
            problems.append(f"row {row}, field urgency: {level!r} is not one of {list(LEVELS)}")
        if repeated:
            problems.append(f"row {row}, field id: {item!r} is labelled twice")
        elif item not in known:
            problems.append(f"row {row}, field id: {item!r} is in none of the datasets read")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise LoadError(f"{source}: " + "; ".join(problems[:5]) + more)
    out = pd.DataFrame({"text": [str(known[i]) for i in ids], "created_at": None,
                        "urgency": levels.to_numpy()})
    for column in table.columns.difference(["id", "urgency", "text", "created_at"]):
        out[column] = table[column].to_numpy()  # e.g. the annotation batch
    banned = {normalize_for_dedup(t) for t in exclude or []}
    return out[~out["text"].map(normalize_for_dedup).isin(banned)].reset_index(drop=True)


def annotations_path(cfg: UrgencyConfig) -> Path | None:
    """The annotation file the config names (`data.annotations`, relative to the project's root), or None."""
    from appeals.config import project_root

    if not cfg.data.annotations:
        return None
    path = Path(cfg.data.annotations)
    return path if path.is_absolute() else project_root() / path


def load_annotations(data_dir: Path | None, cfg: UrgencyConfig, exclude: list[str] | None = None) -> pd.DataFrame:
    """`data.annotations` (a CSV of the project, path relative to its root) joined with the texts of
    the configured datasets; an empty frame when the config names no annotation file.

    `created_at` stays empty: the annotators judged undated texts as written in the heating season,
    as dev.csv was labelled."""
    from appeals.datasets import LoadError, load_any

    path = annotations_path(cfg)
    if path is None:
        return pd.DataFrame(columns=["text", "created_at", "urgency"])
    if not path.exists():
        raise LoadError(f"{path}: the urgency annotation file named in the config (data.annotations) is missing")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    texts = pd.concat([load_any(name, data_dir).frame[["id", "text"]] for name in cfg.data.datasets])
    return annotated_rows(table, texts, path, exclude)


def weak_votes(frame: pd.DataFrame, model: object) -> tuple[list, np.ndarray, list[str | None]]:
    """Contexts, the vote matrix and the combined weak label (None: all abstain) of every row."""
    contexts, _ = model.prepare(frame)  # type: ignore[attr-defined]
    lfs = all_labelling_functions()
    votes = vote_matrix(contexts, lfs)
    return contexts, votes, combine_votes(votes, lfs, model._weights())  # type: ignore[attr-defined]


def weak_labels(frame: pd.DataFrame, model: object) -> pd.DataFrame:
    """Rows of `frame` on which the labelling functions vote, with `urgency` = the combined vote."""
    _, _, labels = weak_votes(frame, model)
    out = frame.assign(urgency=labels, weight=WEAK_WEIGHT, origin="weak")
    return out[out["urgency"].notna()].reset_index(drop=True)


def merge_corrections(training: pd.DataFrame, corrections: pd.DataFrame,
                      weight: float = CORRECTION_WEIGHT) -> pd.DataFrame:
    """Training rows with operator corrections applied (columns text, urgency[, created_at]).

    A correction replaces every training row of the same normalised text; the last correction of an
    appeal wins. Corrected rows carry `origin = "correction"` and `weight`.
    """
    missing = {"text", "urgency"} - set(corrections.columns)
    if missing:
        raise ValueError(f"corrections need columns text and urgency; missing {sorted(missing)}")
    bad = sorted(set(corrections["urgency"].dropna()) - set(LEVELS))
    if bad:
        raise ValueError(f"corrections: unknown urgency levels {bad}; expected {list(LEVELS)}")
    fixes = corrections.dropna(subset=["urgency"]).copy()
    fixes["text"] = fixes["text"].map(lambda t: clean_text(str(t)))
    fixes["key"] = fixes["text"].map(normalize_for_dedup)
    fixes = fixes.drop_duplicates("key", keep="last")
    if "created_at" not in fixes.columns:
        fixes["created_at"] = None
    fixes = fixes.assign(weight=weight, origin="correction")
    keys = training["text"].map(normalize_for_dedup)
    kept = training[~keys.isin(set(fixes["key"]))]
    columns = [c for c in ("text", "created_at", "urgency", "weight", "origin") if c in fixes.columns]
    return pd.concat([kept, fixes[columns]], ignore_index=True)
