"""The `appeals` command line: one Typer app, each group of commands in its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="appeals",
    help="Mining and routing of citizen appeals: data, training, prediction, masking, trends.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Each module defines `register(app)`; the list is the table of contents of the CLI.
COMMAND_MODULES: tuple[str, ...] = (
    "appeals.cli.data",
    "appeals.cli.mask",
    "appeals.cli.serve",
    "appeals.cli.dedupe",
    "appeals.cli.train",
    "appeals.cli.urgency",
    "appeals.cli.trends",
)


def build_app() -> typer.Typer:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    from appeals.config import quiet_environment

    quiet_environment()
    build_app()()
