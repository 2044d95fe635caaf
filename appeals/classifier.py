"""From appeals to full routing answers: the champions of the four tasks, masking, places, urgency
deadline, department rules, duplicates and the reasons for review.

Used by the BentoML service (models loaded from the BentoML model store) and in process
(`Classifier.from_registry()`, models straight from MLflow): both run the same `classify`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from appeals.api_models import (
    ClassifyRequest,
    ClassifyResponse,
    DepartmentOut,
    LabelProba,
    PlacesOut,
    UrgencyOut,
)
from appeals.deadlines import DeadlinePolicy, deadline
from appeals.grouping import Grouping
from appeals.routing import (
    RoutingConfig,
    confidence_reasons,
    conflict_reasons,
    language_reasons,
    load_routing_config,
    review_reasons,
    route_department,
    task_thresholds,
)
from appeals.shared_steps import SharedPipelines, prepared_steps
from appeals.shared_steps import text_steps as text_steps  # re-exported: callers import it from here

TASKS: tuple[str, ...] = ("topic", "topic_group", "department", "urgency")


@dataclass(frozen=True)
class TaskModel:
    """One task's fitted pipeline (raw texts in, predict_proba/classes_ out) and where it came from."""

    task: str
    pipeline: Any
    version: str
    metrics: dict[str, float] = field(default_factory=dict)

    @cached_property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Index of the predicted class: the model's own rule when it has one (urgency), else argmax."""
        own = getattr(self.pipeline, "decide", None)
        return np.asarray(own(proba)) if callable(own) else proba.argmax(axis=1)


@dataclass
class Prediction:
    """Probabilities of every task for a batch, as the models return them."""

    probas: dict[str, np.ndarray]
    picks: dict[str, np.ndarray]


def reaction_hours(level: str, policy: DeadlinePolicy) -> int | None:
    reaction = policy.reaction.get(level)
    if reaction is None or reaction.unit == "none":
        return None
    return reaction.amount * (24 if reaction.unit == "days" else 1)


def topic_group_map(frame: pd.DataFrame) -> dict[str, str]:
    """Each topic's most frequent group in labelled data (in the Perm data each topic has one group)."""
    pairs = frame.dropna(subset=["topic", "topic_group"])
    if pairs.empty:
        return {}
    counts = pairs.groupby(["topic", "topic_group"]).size().reset_index(name="n")
    best = counts.sort_values("n", ascending=False).drop_duplicates("topic")
    return dict(zip(best["topic"].astype(str), best["topic_group"].astype(str), strict=True))


def load_from_registry(tasks: Sequence[str] = TASKS) -> dict[str, TaskModel]:
    """The MLflow champions of `tasks`, with the test metrics of the runs that produced them."""
    from appeals.registry import load_champion, version_facts

    models = {}
    for task in tasks:
        pipeline, version = load_champion(task)
        metrics, _ = version_facts(task, version)
        models[task] = TaskModel(task, pipeline, version, {k: float(v) for k, v in metrics.items()})
    return models


class Classifier:
    """Turn ClassifyRequests into ClassifyResponses; holds the models and the deployment's rules."""

    def __init__(self, models: dict[str, TaskModel], routing: RoutingConfig | None = None,
                 deadline_policy: DeadlinePolicy | None = None, topic_groups: dict[str, str] | None = None,
                 dedupe: Any = None) -> None:
        missing = [t for t in TASKS if t not in models]
        if missing:
            raise ValueError(f"no model for tasks {missing}; train and promote them first")
        self.models = models
        self.routing = routing or load_routing_config()
        self.deadline_policy = deadline_policy or DeadlinePolicy()
        self.topic_groups = topic_groups or {}
        self.dedupe = dedupe
        self.thresholds = task_thresholds(self.routing.thresholds, {
            task: m.metrics.get("test_routing_threshold") for task, m in models.items()})
        self.shared = SharedPipelines({task: m.pipeline for task, m in models.items()
                                       if task != "urgency" and text_steps(m.pipeline)})

    @classmethod
    def from_registry(cls, routing: RoutingConfig | None = None, dedupe: Any = None) -> Classifier:
        """In process: the champions from MLflow, the deadline policy from urgency.toml."""
        from appeals.urgency_config import load_urgency_config

        return cls(load_from_registry(), routing, load_urgency_config().deadline, dedupe=dedupe)

    @property
    def versions(self) -> dict[str, str]:
        return {task: model.version for task, model in self.models.items()}

    def predict(self, texts: Sequence[str], created_at: Sequence[datetime | None],
                prepared: dict[str, list[str]] | None = None) -> Prediction:
        """Probabilities of all tasks for raw texts.

        Steps that several pipelines share (clean + rule masking, and the fitted features when the
        models carry equal copies) run once and feed the rest of each pipeline (appeals.shared_steps):
        the same computation as calling each whole pipeline, without repeating it. `prepared` may
        hold the texts already `cleaned` and `rule_masked` (clean_text, then mask_many(ner=False)).
        """
        import sklearn

        texts = list(texts)
        # Inputs are our own TF-IDF matrices and parameters were checked at fit time: skipping sklearn's
        # per-call checks saves about 0.5 ms an appeal and changes no number.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            probas = self.shared.predict_proba(texts, prepared_steps(prepared))
            for task, model in self.models.items():
                if task not in probas:
                    probas[task] = self._whole(model, texts, created_at, prepared)
        probas = {task: np.asarray(probas[task], dtype=float) for task in self.models}
        picks = {task: model.decide(probas[task]) for task, model in self.models.items()}
        return Prediction(probas, picks)

    @staticmethod
    def _whole(model: TaskModel, texts: list[str], created_at: Sequence[datetime | None],
               prepared: dict[str, list[str]] | None) -> Any:
        """A model outside the shared pipelines; urgency reads the dates (and reuses the masked texts)."""
        if model.task != "urgency":
            return model.pipeline.predict_proba(texts)
        from appeals.urgency import urgency_proba

        return urgency_proba(model.pipeline, texts, list(created_at), prepared["rule_masked"] if prepared else None)

    def classify(self, requests: Sequence[ClassifyRequest], received_at: datetime | None = None,
                 known_ids: frozenset[str] = frozenset()) -> list[ClassifyResponse]:
        """Full answers for a batch; `known_ids` are ids already stored (answered, not stored twice)."""
        from appeals.masking import mask_rules_and_ner
        from appeals.text import clean_text

        if not requests:
            return []
        received_at = received_at or datetime.now(UTC)
        ids = [r.id or uuid.uuid4().hex for r in requests]
        cleaned = [clean_text(r.text) for r in requests]
        rule_masked, masked = mask_rules_and_ner(cleaned)
        prediction = self.predict([r.text for r in requests], [r.created_at or received_at for r in requests],
                                  {"cleaned": cleaned, "rule_masked": rule_masked})
        top3 = self._top3(prediction)
        groups = self._groups(ids, masked, requests, prediction, top3)
        return [self._answer(i, ids[i], r, cleaned[i], masked[i], prediction, top3[i], groups[i], received_at,
                             ids[i] in known_ids) for i, r in enumerate(requests)]

    def _groups(self, ids: list[str], masked: list[str], requests: Sequence[ClassifyRequest],
                prediction: Prediction, top3: list[list[LabelProba]]) -> list[Grouping]:
        if self.dedupe is None:
            return [(None, None, 1, [])] * len(ids)
        from appeals.grouping import group_batch

        model = self.models["topic_group"]
        topic_groups = [model.classes[int(k)] for k in prediction.picks["topic_group"]]
        # the answers' top-3 topics, as stored: a restarted service's index sees the same values
        return group_batch(self.dedupe, ids, masked, [r.created_at for r in requests], topic_groups, top3)

    def _label(self, task: str, prediction: Prediction, i: int) -> LabelProba:
        model = self.models[task]
        k = int(prediction.picks[task][i])
        # model_construct: values come from our own models, so pydantic's checks are skipped for speed
        return LabelProba.model_construct(label=model.classes[k], proba=round(float(prediction.probas[task][i, k]), 4))

    def _top3(self, prediction: Prediction) -> list[list[LabelProba]]:
        """Each appeal's three best topics (`topic_top3` of the answer, the store and grouping)."""
        from appeals.predict import top_k_pairs

        pairs = top_k_pairs(prediction.probas["topic"], np.asarray(self.models["topic"].classes, dtype=object))
        return [[LabelProba.model_construct(label=label, proba=proba) for label, proba in row] for row in pairs]

    def _answer(self, i: int, appeal_id: str, request: ClassifyRequest, text: str, masked: str,
                prediction: Prediction, top3: list[LabelProba], grouping: Grouping, received_at: datetime,
                already_stored: bool) -> ClassifyResponse:
        from appeals.places import extract_places

        labels = {task: self._label(task, prediction, i) for task in TASKS}
        # Places come from the masked text: a surname must never become the appeal's town.
        places = extract_places(" ".join(p for p in (masked, request.address) if p))
        facts = {"topic": labels["topic"].label, "topic_group": labels["topic_group"].label,
                 "district": request.district or places.district,
                 "municipality": request.municipality or places.municipality, "settlement": places.settlement}
        dept, dept_p, source = route_department(labels["department"].label, labels["department"].proba,
                                                facts, self.routing.departments)
        group_id, duplicate_of, group_size, group_reason = grouping
        reasons = review_reasons(
            confidence_reasons({t: labels[t].proba for t in TASKS} | {"department": dept_p}, self.thresholds),
            conflict_reasons(labels["topic"].label, labels["topic_group"].label, self.topic_groups),
            language_reasons(text, self.routing.thresholds), group_reason)
        # model_construct: every value is typed by our own code (the labels' are), so pydantic's
        # checks, about a tenth of a batch's time, are skipped; tests compare with validated answers.
        return ClassifyResponse.model_construct(
            id=appeal_id, received_at=received_at, topic=labels["topic"], topic_top3=top3,
            topic_group=labels["topic_group"],
            department=DepartmentOut.model_construct(label=dept, proba=float(dept_p), source=source),
            urgency=self._urgency(labels["urgency"], request.created_at or received_at),
            places=PlacesOut.model_construct(None, **places.as_dict()), text_masked=masked, needs_review=bool(reasons),
            review_reasons=reasons, group_id=group_id, duplicate_of=duplicate_of, group_size=group_size,
            already_stored=already_stored, model_versions=self.versions)

    def _urgency(self, label: LabelProba, start: datetime) -> UrgencyOut:
        return UrgencyOut.model_construct(level=label.label, proba=label.proba,
                          reaction_hours=reaction_hours(label.label, self.deadline_policy),
                          deadline=deadline(start, label.label, self.deadline_policy))

    def warm_up(self) -> None:
        """Load everything loaded lazily (NER, gazetteer, lemmatiser) before the first real appeal."""
        from appeals.masking import mask_many
        from appeals.places import extract_places
        from appeals.schema import Appeal

        text = "Прошу помочь: Иванов Пётр Сергеевич, тел. 89120000000, ул. Ленина 5, не вывозят мусор."
        mask_many([text])
        extract_places(text)
        self.predict([text], [datetime.now(UTC)])
        if self.dedupe is not None:
            self.dedupe.query(Appeal(id="warm-up", text=text))

    def metadata(self) -> dict[str, Any]:
        """Model names, versions, test metrics and label sets (GET /metadata)."""
        from appeals.registry import MODEL_NAMES

        return {
            "models": {task: {"name": MODEL_NAMES.get(task, task), "version": m.version, "metrics": m.metrics,
                              "labels": m.classes} for task, m in self.models.items()},
            "conflict_check": "on" if self.topic_groups else "off (no topic-group map)",
            "duplicate_check": "on" if self.dedupe is not None else "off",
            "thresholds": self.thresholds,
            "limits": self.routing.limits.model_dump(),
        }


def appeal_row(request: ClassifyRequest, answer: ClassifyResponse) -> Any:
    """What the store keeps of an answered appeal: masked text, predictions, versions; no raw text."""
    from appeals.store import AppealRow

    return AppealRow(
        id=answer.id, received_at=answer.received_at, text_masked=answer.text_masked,
        created_at=request.created_at, channel=request.channel,
        municipality=request.municipality or answer.places.municipality,
        district=request.district or answer.places.district, places=answer.places.model_dump(),
        topic=answer.topic.label, topic_proba=answer.topic.proba,
        topic_top3=[(p.label, p.proba) for p in answer.topic_top3],
        topic_group=answer.topic_group.label, topic_group_proba=answer.topic_group.proba,
        department=answer.department.label, department_proba=answer.department.proba,
        department_source=answer.department.source, urgency=answer.urgency.level,
        urgency_proba=answer.urgency.proba, deadline=answer.urgency.deadline,
        needs_review=answer.needs_review, review_reasons=answer.review_reasons, group_id=answer.group_id,
        duplicate_of=answer.duplicate_of, model_versions=answer.model_versions)
