"""Settings of duplicate and mass-appeal grouping, read from the [dedupe] table of a TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appeals.config import ConfigError, load_config, project_root

DEFAULT_CONFIG = Path("training") / "configs" / "dedupe.toml"


class DedupeConfig(BaseModel):
    """Thresholds, time window and signature sizes; see training/configs/dedupe.toml for meanings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shingle_size: int = Field(ge=2, le=12)
    num_perm: int = Field(ge=8, le=512)
    bands: int = Field(ge=1)
    seed: int = 1
    terms: Literal["stem", "lemma"] = "stem"
    stem_chars: int = Field(ge=3, le=20)
    max_terms: int = Field(ge=4, le=256)
    # Appeals with fewer content terms than this are compared by no text similarity (0: all are).
    min_content_terms: int = Field(default=0, ge=0)
    overlap_smoothing: float = Field(ge=0)
    min_shared_terms: int = Field(ge=1)
    weak_terms: Literal["overlap", "jaccard"] = "jaccard"
    window_days: float = Field(gt=0)
    # The service rebuilds its index at start from the appeals of the last restore_days only (None: all),
    # so start-up time and memory stay bounded as the store grows over the years.
    restore_days: float | None = Field(default=None, gt=0)
    sure_threshold: float = Field(gt=0, le=1)
    possible_threshold: float = Field(gt=0, le=1)
    place_sure_threshold: float = Field(gt=0, le=1)
    place_possible_threshold: float = Field(gt=0, le=1)
    # Whether an uncertain match between two appeals that name no place at all is a possible duplicate.
    placeless_possible: bool = True
    # At the same place, topic distributions at least this alike make a possible duplicate (None: off).
    place_topic_threshold: float | None = Field(default=None, gt=0, le=1)
    # At the same place, topic distributions less alike than this (both known) undo a match that only the
    # place lets through (text below sure_threshold): another problem at the same house shares its address
    # words (None: off).
    place_topic_conflict: float | None = Field(default=None, gt=0, le=1)
    # ... only where the topic model is this sure of both appeals' best topic (an unsure model says little).
    place_topic_conflict_confidence: float = Field(default=0.0, ge=0, le=1)
    max_place_candidates: int = Field(ge=1)
    max_term_candidates: int = Field(ge=0)
    term_lookups: int = Field(ge=1)
    max_candidates: int = Field(ge=1)
    join_possible: bool = True

    @model_validator(mode="after")
    def _check(self) -> DedupeConfig:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        if self.possible_threshold > self.sure_threshold:
            raise ValueError("possible_threshold must not exceed sure_threshold")
        if self.place_possible_threshold > self.place_sure_threshold:
            raise ValueError("place_possible_threshold must not exceed place_sure_threshold")
        return self

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.bands


class _DedupeFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    dedupe: DedupeConfig


def load_dedupe_config(path: Path | str | None = None) -> DedupeConfig:
    """Read the [dedupe] table of `path` (default: training/configs/dedupe.toml in the project)."""
    target = Path(path) if path else project_root() / DEFAULT_CONFIG
    if not target.exists():
        raise ConfigError(f"{target}: dedupe config not found; pass --config or restore {DEFAULT_CONFIG}")
    return load_config(target, _DedupeFile).dedupe
