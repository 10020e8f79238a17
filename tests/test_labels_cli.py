"""``judgecal label`` and ``judgecal labels``: make a queue, serve it, links, status, export; bad
options exit 2 and write nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from judgecal.cli import app as cli_app

runner = CliRunner()


def _make(*extra: str) -> tuple[str, dict[str, str]]:
    r = runner.invoke(
        cli_app,
        [
            "label",
            "support-billing",
            "--gold",
            "support-billing",
            "-a",
            "ann",
            "-a",
            "bob",
            "--no-serve",
            *extra,
        ],
    )
    assert r.exit_code == 0, r.output
    links = dict(re.findall(r"^(\w+) \(\w+\): http://HOST:PORT/a/(\S+)$", r.stdout, flags=re.M))
    admin = re.search(r"^coordinator: http://HOST:PORT/admin/(\S+)$", r.stdout, flags=re.M)
    assert admin is not None
    links["admin"] = admin.group(1)
    return r.output, links


def test_label_makes_a_queue_and_prints_everyones_link() -> None:
    output, links = _make("--queue", "q1", "--overlap", "0.5")
    assert set(links) == {"ann", "bob", "admin"} and len(set(links.values())) == 3
    assert "queue q1:" in output and "judgecal labels export q1" in output
    r = runner.invoke(cli_app, ["labels", "list"])
    assert r.exit_code == 0 and "q1" in r.stdout
    r = runner.invoke(cli_app, ["labels", "status", "q1", "--json"])
    fig = json.loads(r.stdout)
    assert set(fig["progress"]) == {"ann", "bob"} and fig["pairs"][0]["n"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["label", "support-billing", "-a", "ann", "--no-serve"], "exactly one of --gold"),
        (
            ["label", "support-billing", "--gold", "support-billing", "--items", "x.jsonl", "-a", "a"],
            "exactly one",
        ),
        (["label", "support-billing", "--gold", "support-billing", "--no-serve"], "--annotator NAME"),
        (
            ["label", "support-billing", "--gold", "support-billing", "-a", "a", "-a", "a", "--no-serve"],
            "named twice",
        ),
        (
            ["label", "support-billing", "--gold", "support-billing", "-a", "admin", "--no-serve"],
            "coordinator",
        ),
        (["label", "support-billing", "--for", "abc", "-a", "a", "--no-serve"], "--pool"),
        (["labels", "export", "nope", "--out", "x.jsonl"], "labelling queue"),
    ],
)
def test_bad_options_exit_2_and_make_nothing(args: list[str], message: str) -> None:
    r = runner.invoke(cli_app, args)
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    listed = runner.invoke(cli_app, ["labels", "list"])
    assert listed.exit_code == 0 and "support-billing-" not in listed.stdout


def test_a_queue_name_is_unique() -> None:
    _make("--queue", "same")
    r = runner.invoke(
        cli_app,
        ["label", "support-billing", "--gold", "support-billing", "-a", "x", "--queue", "same", "--no-serve"],
    )
    assert r.exit_code == 2 and "exists already" in r.output


def test_export_writes_a_gold_set_and_refuses_to_overwrite(tmp_path: Path) -> None:
    _make("--queue", "q2")
    out = tmp_path / "labelled.jsonl"
    r = runner.invoke(cli_app, ["labels", "export", "q2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and out.is_file()
    before = out.read_bytes()
    r = runner.invoke(cli_app, ["labels", "export", "q2", "--out", str(out)])
    assert r.exit_code == 2 and "--force" in r.output and out.read_bytes() == before
    r = runner.invoke(cli_app, ["labels", "export", "q2", "--out", str(tmp_path / "no" / "such" / "x.jsonl")])
    assert r.exit_code == 2 and "does not exist" in r.output
    r = runner.invoke(cli_app, ["labels", "export", "q2", "--out", str(out), "--with-gold", "--force"])
    assert r.exit_code != 0 and "--for" in r.output


def test_a_new_link_replaces_the_old_one() -> None:
    from judgecal.errors import LabelError
    from judgecal.labels.store import LabelStore
    from judgecal.store import Store

    _, links = _make("--queue", "q3")
    r = runner.invoke(cli_app, ["labels", "link", "q3", "ann"])
    assert r.exit_code == 0, r.output
    new = r.stdout.strip().rsplit("/a/", 1)[1]
    store = Store()
    try:
        ls = LabelStore(store)
        q = ls.get_queue("q3")
        assert ls.access(q, new).name == "ann"
        with pytest.raises(LabelError, match="unknown token"):
            ls.access(q, links["ann"])
    finally:
        store.close()
    r = runner.invoke(cli_app, ["labels", "link", "q3", "zed"])
    assert r.exit_code == 2 and "no annotator 'zed'" in r.output


@pytest.mark.slow
def test_label_serves_on_loopback_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "JUDGECAL_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "judgecal", "label", "support-billing", "--gold", "support-billing"]
    proc = subprocess.Popen(
        [*cmd, "-a", "ann", "--queue", "served"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0"), url
        link = proc.stdout.readline().strip()
        assert link.startswith(f"ann (annotator): {url}/a/"), link
        page = httpx.get(link.split(": ", 1)[1])
        assert page.status_code == 200 and "support-billing" in page.text
        assert httpx.get(f"{url}/a/wrong").status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped" in stderr


DATA = Path(__file__).resolve().parent / "data"


def test_tasks_and_import_through_label_studio_and_argilla(tmp_path: Path) -> None:
    from judgecal.gold import load_gold
    from judgecal.rubric import find_rubric

    for tool, files in (
        ("label-studio", {"tasks.json", "labeling-config.xml"}),
        ("argilla", {"argilla-dataset.json"}),
    ):
        r = runner.invoke(
            cli_app,
            [
                "labels",
                "tasks",
                "support-billing",
                "--items",
                "support-billing",
                "--format",
                tool,
                "--out",
                str(tmp_path / tool),
            ],
        )
        assert r.exit_code == 0, r.output
        assert {p.name for p in (tmp_path / tool).iterdir()} == files
    tasks = json.loads((tmp_path / "label-studio" / "tasks.json").read_text(encoding="utf-8"))
    assert len(tasks) == 77 and all("labels" not in t["data"] for t in tasks)
    rubric = find_rubric("support-billing")
    for tool, export in (
        ("label-studio", "labelstudio/support-billing.json"),
        ("argilla", "argilla/support-billing-records.json"),
    ):
        out = tmp_path / f"{tool}.jsonl"
        r = runner.invoke(
            cli_app,
            ["labels", "import", "support-billing", str(DATA / export), "--format", tool, "--out", str(out)],
        )
        assert r.exit_code == 0, r.output
        assert load_gold(out, rubric).items
    # the wrong format for a file: exit 2, nothing written
    out = tmp_path / "wrong.jsonl"
    r = runner.invoke(
        cli_app,
        [
            "labels",
            "import",
            "support-billing",
            str(DATA / "argilla/support-billing-records.json"),
            "--format",
            "label-studio",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2 and "record 0" in r.output and not out.exists()
    r = runner.invoke(
        cli_app,
        [
            "labels",
            "tasks",
            "support-billing",
            "--items",
            "support-billing",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert r.exit_code == 2 and "label-studio or argilla" in r.output and not (tmp_path / "x").exists()
