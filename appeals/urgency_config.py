"""The typed form of training/configs/urgency.toml (levels, season, deadlines, weights, model)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appeals.config import load_config, project_root
from appeals.deadlines import DeadlinePolicy
from appeals.registry import Gates
from appeals.schema import URGENCY_LEVELS

DEFAULT_CONFIG = Path("training/configs/urgency.toml")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SeasonConfig(_Frozen):
    heating_months: tuple[int, ...] = (1, 2, 3, 4, 5, 9, 10, 11, 12)

    @field_validator("heating_months")
    @classmethod
    def _months(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [m for m in value if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months must be 1..12, got {bad}")
        return value


class UrgencyDataConfig(_Frozen):
    datasets: tuple[str, ...] = ("perm_promobot_2023", "kursk_2022", "ryazan_nashdom_2019")
    dev_path: str = "urgency/dev.csv"
    dev_rows: int = Field(default=0, ge=0)
    max_train: int = Field(default=0, ge=0)
    seed: int = 42
    annotations: str = ""             # CSV of ids + levels labelled in the project; "" for none
    annotations_in_training: bool = False
    annotation_weight: float = Field(default=3.0, gt=0)


class ClassifierConfig(_Frozen):
    tone_words: tuple[str, ...] = ("срочно", "срочный")
    mask_ner: bool = False
    word_ngram_max: int = Field(default=2, ge=1, le=3)
    min_df: int = Field(default=2, ge=1)
    max_features: int = Field(default=200_000, ge=100)
    C: float = Field(default=2.0, gt=0)
    class_weight: str | None = "balanced"
    max_iter: int = Field(default=2000, ge=10)
    tol: float = Field(default=1e-3, gt=0)


class CombineConfig(_Frozen):
    blend: float = Field(default=0.5, ge=0, le=1)
    critical_threshold: float = Field(default=0.35, gt=0, le=1)
    blend_grid: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    threshold_grid: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5)
    critical_recall_floor: float = Field(default=0.9, ge=0, le=1)
    critical_precision_floor: float = Field(default=0.7, ge=0, le=1)
    cv_folds: int = Field(default=5, ge=2)
    off_season_heating_level: str = "normal"

    @field_validator("off_season_heating_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in URGENCY_LEVELS:
            raise ValueError(f"{value!r} is not one of {URGENCY_LEVELS}")
        return value


class LowStageConfig(_Frozen):
    """The normal/low stage: character n-grams + logistic regression on appeals a person labelled."""

    enabled: bool = False
    C: float = Field(default=2.0, gt=0)
    max_features: int = Field(default=200_000, ge=100)
    ngram_max: int = Field(default=4, ge=2, le=6)
    min_rows: int = Field(default=50, ge=2)


class MlflowSection(_Frozen):
    experiment: str = "appeals-urgency"


class UrgencyConfig(_Frozen):
    levels: tuple[str, ...] = URGENCY_LEVELS
    season: SeasonConfig = SeasonConfig()
    deadline: DeadlinePolicy = DeadlinePolicy()
    lf_weights: dict[str, float] = Field(default_factory=lambda: {
        "critical": 3.0, "high": 2.0, "normal": 1.0, "low": 1.0})
    data: UrgencyDataConfig = UrgencyDataConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    combine: CombineConfig = CombineConfig()
    low_stage: LowStageConfig = LowStageConfig()
    mlflow: MlflowSection = MlflowSection()
    gates: Gates = Gates()

    @model_validator(mode="after")
    def _levels_and_reactions(self) -> UrgencyConfig:
        if tuple(self.levels) != URGENCY_LEVELS:
            raise ValueError(f"levels must be {list(URGENCY_LEVELS)} (most urgent first), got {list(self.levels)}")
        missing = [lvl for lvl in self.levels if lvl not in self.deadline.reaction]
        if missing:
            raise ValueError(f"deadline.reaction: no reaction time for {missing}")
        return self


def load_urgency_config(path: Path | str | None = None) -> UrgencyConfig:
    """Read the urgency config (default: training/configs/urgency.toml of the project)."""
    if path is None:
        path = project_root() / DEFAULT_CONFIG
    return load_config(path, UrgencyConfig)
