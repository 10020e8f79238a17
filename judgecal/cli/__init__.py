"""The ``judgecal`` command line: thin commands over the Python API.

Exit codes (``docs/cli.md``): 0 done / gate passed, 1 gate failed, 2 usage error or invalid input
file, 3 judgecal or provider error. Errors become one message here, at the boundary;
``--debug`` (or ``JUDGECAL_DEBUG=1``) prints the traceback instead, with the same exit code.
Heavy modules (litellm, sqlalchemy) are imported inside the commands, so ``judgecal --help``
starts fast.
"""

from __future__ import annotations

import os

import typer

from judgecal.cli._common import state
from judgecal.cli.approvals import approvals_app
from judgecal.cli.calibrate import calibrate_command
from judgecal.cli.compare import compare_command
from judgecal.cli.grade import grade_command
from judgecal.cli.init import init_command
from judgecal.cli.labels import label_command, labels_app
from judgecal.cli.models import models_app
from judgecal.cli.probe import probe_command
from judgecal.cli.report import report_command
from judgecal.cli.rubrics import rubrics_app
from judgecal.cli.runs import runs_app
from judgecal.cli.serve import serve_command
from judgecal.cli.simulate import simulate_app
from judgecal.cli.validate import validate_command

app = typer.Typer(
    name="judgecal",
    help="Measure whether an LLM judge can be trusted: grade, calibrate, probe, approve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main(
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="JUDGECAL_DEBUG",
        help="Show tracebacks instead of one-line errors (the exit code stays the same).",
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=lambda v: _version_callback(v), help="Print the version."
    ),
) -> None:
    state.debug = debug


def _version_callback(value: bool) -> None:
    if value:
        from judgecal import __version__

        typer.echo(f"judgecal {__version__}")
        raise typer.Exit()


app.command("init")(init_command)
app.command("validate")(validate_command)
app.command("grade")(grade_command)
app.command("calibrate")(calibrate_command)
app.command("probe")(probe_command)
app.command("compare")(compare_command)
app.command("report")(report_command)
app.command("serve")(serve_command)
app.command("label")(label_command)
app.add_typer(approvals_app, name="approvals")
app.add_typer(labels_app, name="labels")
app.add_typer(models_app, name="models")
app.add_typer(runs_app, name="runs")
app.add_typer(rubrics_app, name="rubrics")
app.add_typer(simulate_app, name="simulate")


@app.command("version")
def version() -> None:
    """Print judgecal's version."""
    _version_callback(True)


def main() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    app()
