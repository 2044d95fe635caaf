"""`make bench`: speed and memory figures; each section lives in evaluation/bench_<name>.py."""

from __future__ import annotations

SECTIONS: list[str] = ["training", "service", "load", "dedupe", "language", "trends"]

if __name__ == "__main__":
    from evaluation.harness import parse_args

    parse_args("bench", SECTIONS)
