"""`make eval`: quality figures on real data; each section lives in evaluation/eval_<name>.py."""

from __future__ import annotations

SECTIONS: list[str] = ["training", "dedupe", "language", "urgency", "trends"]

if __name__ == "__main__":
    from evaluation.harness import parse_args

    parse_args("eval", SECTIONS)
