"""Settings of the demand trends (training/configs/trends.toml): aggregation, spikes, emerging, report."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from appeals.config import load_config, project_root


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AggregationConfig(_Frozen):
    baseline_periods: int
    critical_level: str


class SpikeConfig(_Frozen):
    baseline_weeks: int
    dispersion_weeks: int
    min_baseline_weeks: int
    masked_weeks: int
    false_alarm_rate: float
    district_alpha_share: float
    pair_alpha_share: float = Field(ge=0.0, lt=1.0)
    min_observed: int
    min_excess: float
    min_district_mean: float
    expected_floor: float
    min_overdispersion: float
    max_overdispersion: float
    max_score: float


class EmergingConfig(_Frozen):
    max_confidence: float
    relative_confidence: float
    burst_weight: float
    burst_smoothing: float
    burst_alpha: float
    burst_min_ratio: float
    background_weight: float
    # Each text's weighted terms also give the mean of their navec vectors, appended at this weight
    # (0 = terms only): texts about one problem in other words move closer.
    semantic_weight: float = Field(ge=0.0)
    assign_similarity: float
    core_similarity: float
    max_texts: int
    texts_per_cluster: int
    # Clusters holding more than this many distinct recent texts are split in two (k-means) until
    # none does; 0 = never.
    split_above: int = Field(ge=0)
    # Clusters whose centres are at least this alike (cosine) are shown as one; 1 = never merged.
    merge_similarity: float = Field(gt=0.0, le=1.0)
    min_clusters: int
    max_clusters: int
    min_cluster_size: int
    # ... holding at least this many distinct texts: one text sent again and again is a mass appeal
    # (shown as such), not a new kind of problem.
    min_cluster_texts: int = Field(ge=1)
    # Of the recent texts holding an unusual word, only those whose `novelty_neighbours` nearest
    # analysed texts are at least `novelty_min_share` recent ones are clustered (0 neighbours = all).
    novelty_neighbours: int = Field(ge=0)
    novelty_min_share: float = Field(ge=0.0, le=1.0)
    recent_weeks: int
    top_terms: int
    examples: int
    show: int
    seed: int


class ReportConfig(_Frozen):
    top_groups: int
    heatmap_topics: int
    heatmap_districts: int
    max_alerts: int
    table_rows: int
    quality_weeks: int


class TrendsConfig(_Frozen):
    aggregation: AggregationConfig
    spikes: SpikeConfig
    emerging: EmergingConfig
    report: ReportConfig


def default_config_path() -> Path:
    return project_root() / "training" / "configs" / "trends.toml"


def load_trends_config(path: Path | str | None = None) -> TrendsConfig:
    """Read the trends settings (default training/configs/trends.toml)."""
    return load_config(Path(path) if path else default_config_path(), TrendsConfig)
