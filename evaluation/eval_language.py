"""`make eval` section "language": masking and place extraction on the labelled table, leftovers on real data.

Method (also printed in the section):
- The table `tests/fixtures/pd_table.csv` holds sentences written in the project in appeal wording;
  personal data is marked inline as `{TYPE|text}` and the place columns say what `extract_places`
  should return for the masked text (empty = nothing named). The `split` column says in which round a
  row was written: `dev` while the rules were written; `holdout1`, `holdout2` each measured once and
  then used to fix rules; `holdout3` written after the last rule change and never tuned on.
- Recall per type: a gold span counts as masked when at least 80 % of its non-space characters lie
  inside predicted spans (of any type: a phone masked as a document is still not leaked).
- Precision: a predicted span is correct when at least 50 % of its non-space characters lie inside
  gold spans. Character-level precision/recall are given too.
- Places: exact match of each field's canonical value, over every row (an empty gold value must be
  predicted empty), plus precision/recall of the non-empty values.
- Real data: Perm, Kursk and Ryazan texts are cleaned and masked; texts still matching the audit
  patterns of `appeals.masking` (phone-like, e-mail-like) are counted. Only counts are written.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TABLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pd_table.csv"
TYPES: tuple[str, ...] = ("ТЕЛЕФОН", "EMAIL", "ФИО", "АДРЕС", "ДОКУМЕНТ", "ССЫЛКА")
TARGETS: dict[str, float] = {"ТЕЛЕФОН": 1.0, "EMAIL": 1.0, "ФИО": 0.9, "АДРЕС": 0.85, "precision": 0.9}
PLACE_FIELDS: tuple[str, ...] = ("municipality", "district", "settlement", "street", "house")
REAL_SETS: tuple[str, ...] = ("perm_promobot_2023", "kursk_2022", "ryazan_nashdom_2019")
_MARK_RE = re.compile(r"\{(?P<type>[A-ZА-ЯЁ]+)\|(?P<body>[^{}]*)\}")
Span = tuple[int, int, str]


@dataclass
class Row:
    id: str
    split: str
    text: str
    spans: list[Span]
    places: dict[str, str | None] = field(default_factory=dict)


def parse_marked(marked: str) -> tuple[str, list[Span]]:
    """Text and gold spans of a `{TYPE|text}`-marked sentence."""
    out, spans, pos = [], [], 0
    for m in _MARK_RE.finditer(marked):
        out.append(marked[pos:m.start()])
        start = sum(len(p) for p in out)
        out.append(m.group("body"))
        spans.append((start, start + len(m.group("body")), m.group("type")))
        pos = m.end()
    out.append(marked[pos:])
    return "".join(out), spans


def load_table(path: Path = TABLE) -> list[Row]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = []
    for rec in frame.to_dict("records"):
        text, spans = parse_marked(rec["marked"])
        places = {f: (rec[f] or None) for f in PLACE_FIELDS}
        rows.append(Row(rec["id"], rec["split"], text, spans, places))
    return rows


def _chars(text: str, spans: Iterable[Span]) -> set[int]:
    return {i for s, e, _ in spans for i in range(s, e) if not text[i].isspace()}


def _share(text: str, span: Span, covered: set[int]) -> float:
    own = [i for i in range(span[0], span[1]) if not text[i].isspace()]
    return sum(i in covered for i in own) / max(1, len(own))


def score_masking(rows: list[Row], predict: Callable[[list[str]], list[list[Span]]]) -> dict[str, float]:
    """Recall per type, span precision and character precision/recall of a span predictor."""
    found = {t: [0, 0] for t in TYPES}
    tp_pred = n_pred = 0
    char_tp = char_gold = char_pred = 0
    for row, pred in zip(rows, predict([r.text for r in rows]), strict=True):
        gold_chars, pred_chars = _chars(row.text, row.spans), _chars(row.text, pred)
        for span in row.spans:
            found[span[2]][1] += 1
            found[span[2]][0] += _share(row.text, span, pred_chars) >= 0.8
        for span in pred:
            n_pred += 1
            tp_pred += _share(row.text, span, gold_chars) >= 0.5
        char_tp += len(gold_chars & pred_chars)
        char_gold += len(gold_chars)
        char_pred += len(pred_chars)
    scores = {t: (hit / total if total else float("nan")) for t, (hit, total) in found.items()}
    scores["precision"] = tp_pred / max(1, n_pred)
    scores["char_precision"] = char_tp / max(1, char_pred)
    scores["char_recall"] = char_tp / max(1, char_gold)
    scores["gold_spans"] = float(sum(total for _, total in found.values()))
    scores["predicted_spans"] = float(n_pred)
    return scores


def predict_rules(texts: list[str]) -> list[list[Span]]:
    from appeals.masking import find_spans_many

    return find_spans_many(texts, ner=False)


def predict_default(texts: list[str]) -> list[list[Span]]:
    """The default path: rules plus natasha's NER on the doubtful windows."""
    from appeals.masking import find_spans_many

    return find_spans_many(texts, ner=True)


def score_places(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Exact-match accuracy and precision/recall of non-empty values, per place field (masked text)."""
    from appeals.masking import mask_text
    from appeals.places import extract_places

    stats = {f: {"right": 0, "tp": 0, "pred": 0, "gold": 0} for f in PLACE_FIELDS}
    for row in rows:
        got = extract_places(mask_text(row.text)).as_dict()
        for f in PLACE_FIELDS:
            gold, pred = row.places.get(f), got[f]
            s = stats[f]
            s["right"] += gold == pred
            s["gold"] += gold is not None
            s["pred"] += pred is not None
            s["tp"] += gold is not None and gold == pred
    return {f: {"accuracy": s["right"] / len(rows), "precision": s["tp"] / max(1, s["pred"]),
                "recall": s["tp"] / max(1, s["gold"]), "gold": s["gold"]} for f, s in stats.items()}


def leftovers(data_dir: Path) -> list[tuple[str, int, dict[str, int], dict[str, int]]]:
    """Per real dataset: rows, and texts with audit hits before and after masking."""
    from appeals.datasets import load_dataset
    from appeals.masking import count_leftovers, mask_many
    from appeals.text import clean_text

    out = []
    for name in REAL_SETS:
        if not (data_dir / name).is_dir():
            continue
        texts = [clean_text(t) for t in load_dataset(name, data_dir).frame["text"]]
        out.append((name, len(texts), count_leftovers(texts), count_leftovers(mask_many(texts))))
    return out


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f} %"


def _masking_table(rows: list[Row], results: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| measure | target | " + " | ".join(results) + " |", "|---|---|" + "---|" * len(results)]
    for key in (*TYPES, "precision", "char_precision", "char_recall"):
        target = f"≥ {_pct(TARGETS[key])}" if key in TARGETS else ""
        label = f"recall {key}" if key in TYPES else key
        lines.append(f"| {label} | {target} | " + " | ".join(_pct(r[key]) for r in results.values()) + " |")
    return lines


def _split(rows: list[Row], names: tuple[str, ...]) -> list[Row]:
    return [r for r in rows if r.split in names]


TUNED = ("dev", "holdout1", "holdout2")
FRESH = ("holdout3",)
ALL = (*TUNED, *FRESH)


def _table_intro(rows: list[Row], results: dict[str, dict[str, float]], rules_s: float) -> list[str]:
    n = {s: len(_split(rows, (s,))) for s in ALL}
    return [
        "## Language layer: masking and places", "",
        f"Labelled table `tests/fixtures/pd_table.csv`: {len(rows)} sentences written in the project in "
        f"appeal wording, {int(results['default, all']['gold_spans'])} marked personal-data spans. Rows were "
        f"written in rounds: `dev` ({n['dev']}) while the rules were written, `holdout1` ({n['holdout1']}) and "
        f"`holdout2` ({n['holdout2']}) each measured once and then used to fix rules, `holdout3` "
        f"({n['holdout3']}, {int(results['default, holdout3']['gold_spans'])} spans) written after the last "
        "rule change and never tuned on: its column is the honest estimate. Method in "
        "`evaluation/eval_language.py` (span recall at 80 % character coverage, span precision at 50 %).", "",
        "Paths: «rules» = `mask_many(texts, ner=False)`; «default» = rules plus natasha's NER on the windows "
        "around doubtful capitalised words (`mask_many(texts)`, used by training, serving and "
        f"`appeals mask`). The rules path took {rules_s * 1000:.0f} ms for the table.", ""]


def run(data_dir: Path | None) -> str:
    rows = load_table()
    started = time.perf_counter()
    results = {"rules, tuned rows": score_masking(_split(rows, TUNED), predict_rules)}
    rules_s = time.perf_counter() - started
    results["rules, holdout3"] = score_masking(_split(rows, FRESH), predict_rules)
    results["default, holdout3"] = score_masking(_split(rows, FRESH), predict_default)
    results["default, all"] = score_masking(rows, predict_default)
    lines = [*_table_intro(rows, results, rules_s), *_masking_table(rows, results), ""]
    lines += ["Places on the masked text (default path) of the whole table, exact canonical value. The place "
              "rules were corrected after looking at their errors on every row, holdout3 included, so these "
              "are development figures, optimistic for new text:", "",
              "| field | labelled | accuracy (all rows) | precision | recall |", "|---|---|---|---|---|"]
    for f, s in score_places(rows).items():
        lines.append(f"| {f} | {s['gold']} | {_pct(s['accuracy'])} | {_pct(s['precision'])} | {_pct(s['recall'])} |")
    lines.append("")
    if data_dir is None or not data_dir.is_dir():
        lines.append("Real data: not measured (no APPEALS_DATA_DIR).")
        return "\n".join(lines)
    lines += ["Real data (every row of each file, cleaned, then masked by the default path): texts with a "
              "phone-like / e-mail-like audit pattern (`appeals.masking.PHONE_AUDIT_RE`, `EMAIL_AUDIT_RE`, "
              "simpler than and independent of the masking rules). Counts only.", "",
              "| dataset | texts | phone before | phone after | e-mail before | e-mail after |",
              "|---|---|---|---|---|---|"]
    for name, n, before, after in leftovers(data_dir):
        lines.append(f"| {name} | {n} | {before['phone']} | {after['phone']} | {before['email']} | "
                     f"{after['email']} |")
    return "\n".join(lines)
