"""Routing rules as data: department overrides per deployment, confidence thresholds for automatic
dispatch vs review, and the reasons an appeal goes to a person.

The rules live in a TOML file (training/configs/routing.toml by default, APPEALS_ROUTING_CONFIG to
point at another deployment's file) read into frozen, typed objects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from appeals.config import load_config, project_root
from appeals.text import cyrillic_share

ROUTING_CONFIG_ENV = "APPEALS_ROUTING_CONFIG"

LOW_CONFIDENCE = "low confidence"
CONFLICT = "conflicting predictions"
DUPLICATE = "possible duplicate"
NOT_RUSSIAN = "not Russian text"
NO_LETTERS = "no letters"
TASK_NAMES: tuple[str, ...] = ("topic", "topic_group", "department", "urgency")
DepartmentSource = Literal["model", "rule"]
REVIEW_REASONS: tuple[str, ...] = (LOW_CONFIDENCE, CONFLICT, DUPLICATE, NOT_RUSSIAN, NO_LETTERS)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limits(_Frozen):
    max_text_chars: int = Field(default=5000, gt=0)
    max_field_chars: int = Field(default=300, gt=0)
    max_address_chars: int = Field(default=500, gt=0)
    max_batch: int = Field(default=1000, gt=0)
    max_body_bytes: int = Field(default=8_000_000, gt=0)


class Thresholds(_Frozen):
    topic: float = Field(default=0.30, ge=0, le=1)
    topic_group: float = Field(default=0.45, ge=0, le=1)
    department: float = Field(default=0.50, ge=0, le=1)
    urgency: float = Field(default=0.40, ge=0, le=1)
    from_models: bool = True
    min_cyrillic_share: float = Field(default=0.5, ge=0, le=1)
    min_letters: int = Field(default=3, ge=0)


class ServiceSettings(_Frozen):
    cors_origins: tuple[str, ...] = ()
    max_in_flight: int = Field(default=32, ge=0)  # requests a worker holds at once; more get 503 (0: no limit)
    retry_after_s: int = Field(default=1, ge=1, le=3600)  # the Retry-After a refused client is given
    index_refresh_hours: float = Field(default=24, ge=0)  # rebuild the duplicate index this often (0: never)
    malloc_arenas: int = Field(default=2, ge=0, le=64)  # glibc malloc arenas of a worker (0: glibc's default)
    malloc_mmap_threshold_kb: int = Field(default=1024, ge=0, le=32768)  # fixed mmap threshold (0: glibc's)
    malloc_trim_s: float = Field(default=10.0, ge=0.0, le=3600.0)  # hand freed memory back this often (0: never)


class StoreSettings(_Frozen):
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = "NORMAL"
    min_free_mb: float = Field(default=16, ge=0)  # SQLite folder with less free space: /readyz says not ready
    connect_timeout_s: float = Field(default=5, gt=0, le=300)  # a connection (or SQLite lock) not had by then fails
    statement_timeout_s: float = Field(default=30, ge=0, le=3600)  # PostgreSQL cancels longer statements (0: never)


class DepartmentRule(_Frozen):
    """Send appeals matching every given key to `department`, whatever the model says."""

    department: str = Field(min_length=1)
    topic: str | None = None
    topic_group: str | None = None
    district: str | None = None
    municipality: str | None = None
    settlement: str | None = None

    def matches(self, facts: dict[str, str | None]) -> bool:
        keys = {k: v for k, v in self.model_dump(exclude={"department"}).items() if v is not None}
        return bool(keys) and all(_same(facts.get(k), v) for k, v in keys.items())


class RoutingConfig(_Frozen):
    limits: Limits = Limits()
    thresholds: Thresholds = Thresholds()
    service: ServiceSettings = ServiceSettings()
    store: StoreSettings = StoreSettings()
    departments: tuple[DepartmentRule, ...] = ()


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.strip().casefold().replace("ё", "е") == b.strip().casefold().replace("ё", "е")


def default_routing_path() -> Path:
    env = os.environ.get(ROUTING_CONFIG_ENV)
    return Path(env) if env else project_root() / "training" / "configs" / "routing.toml"


@lru_cache(maxsize=8)
def _load_cached(path: str) -> RoutingConfig:
    return load_config(path, RoutingConfig)


def load_routing_config(path: Path | str | None = None) -> RoutingConfig:
    """The routing rules from `path` (default: APPEALS_ROUTING_CONFIG or training/configs/routing.toml)."""
    return _load_cached(str(Path(path) if path else default_routing_path()))


def route_department(model_department: str, model_proba: float, facts: dict[str, str | None],
                     rules: tuple[DepartmentRule, ...]) -> tuple[str, float, DepartmentSource]:
    """(department, probability, source): the first matching rule wins with probability 1, else the model."""
    for rule in rules:
        if rule.matches(facts):
            return rule.department, 1.0, "rule"
    return model_department, model_proba, "model"


def language_reasons(text: str, thresholds: Thresholds) -> list[str]:
    """Reasons a text cannot be classified with confidence whatever the model says: no letters, not Russian."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < thresholds.min_letters:
        return [NO_LETTERS]
    if cyrillic_share(text) < thresholds.min_cyrillic_share:
        return [NOT_RUSSIAN]
    return []


def task_thresholds(thresholds: Thresholds, learnt: Mapping[str, float | None]) -> dict[str, float]:
    """Dispatch threshold per task: the one learnt in training (val precision target) when the config
    allows it and the model has one, else the config's."""
    out = {}
    for task in TASK_NAMES:
        value = learnt.get(task) if thresholds.from_models else None
        out[task] = float(value) if value is not None else float(getattr(thresholds, task))
    return out


def confidence_reasons(probas: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    """LOW_CONFIDENCE when any task's top probability is under its dispatch threshold."""
    low = any(probas.get(task, 1.0) < limit for task, limit in thresholds.items())
    return [LOW_CONFIDENCE] if low else []


def conflict_reasons(topic: str, topic_group: str, topic_groups: dict[str, str] | None) -> list[str]:
    """CONFLICT when the topic model and the topic-group model disagree about the group.

    `topic_groups` maps each topic to its group as learnt from the training labels; without it the
    check cannot be made and no conflict is reported.
    """
    if not topic_groups or topic not in topic_groups:
        return []
    return [] if topic_groups[topic] == topic_group else [CONFLICT]


def review_reasons(*reason_lists: list[str]) -> list[str]:
    """Merge reason lists keeping the canonical order and dropping repeats."""
    found = {r for reasons in reason_lists for r in reasons}
    return [r for r in REVIEW_REASONS if r in found]
