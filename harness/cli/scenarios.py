"""``rth validate`` and ``rth schema``: scenario files without running them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli._app import EXIT_USAGE, app, console, errors, exit_codes


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders.")],
) -> None:
    """Check scenario and suite files without running anything.

    Includes are followed; every problem is printed as file:line:column: field: problem; fix.
    """
    from harness.scenario import check

    with exit_codes():
        checked = check(paths)
    for line in checked.problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    if checked.problems:
        errors.print(f"{len(checked.problems)} problem(s) in {len(checked.files)} file(s)", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    console.print(
        f"{len(checked.files)} file(s), {len(checked.scenarios)} scenario(s), "
        f"{sum(len(s.turns) for s in checked.scenarios)} turn(s): valid",
        highlight=False,
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario and suite files (for editors).

    Save it (rth schema > docs/scenario.schema.json) and start a scenario file with
    `# yaml-language-server: $schema=PATH`.
    """
    from harness.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")
