"""Thin entry point: `python -m training.train --config training/configs/NAME.toml` (same as `appeals train`).

All logic lives in appeals.training; this file only forwards the command line.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from appeals.cli import main as cli_main

    sys.argv = ["appeals", "train", *(argv if argv is not None else sys.argv[1:])]
    cli_main()


if __name__ == "__main__":
    main()
