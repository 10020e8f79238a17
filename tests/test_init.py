"""``judgecal init``: the scaffold validates and loads at once, and never overwrites by surprise."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgecal.cli import app

runner = CliRunner()

FILES = [
    "rubrics/{name}/rubric.yaml",
    "rubrics/{name}/prompt.j2",
    "gold/{name}.jsonl",
    "gold/{name}.md",
    "judgecal.toml",
]


def _files(root: Path, name: str) -> list[Path]:
    return [root / f.format(name=name) for f in FILES]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("scale", ["binary", "ordinal", "pairwise"])
def test_scaffold_validates_and_its_gold_template_loads_with_two_annotators(tmp_path, scale):
    from judgecal.gold import find_gold
    from judgecal.rubric import find_rubric
    from judgecal.settings import load_config

    result = runner.invoke(app, ["init", "my-task", "--scale", scale])
    assert result.exit_code == 0, result.output
    assert all(p.is_file() for p in _files(tmp_path, "my-task"))

    check = runner.invoke(app, ["rubrics", "validate", "my-task", "--gold", "gold/my-task.jsonl"])
    assert check.exit_code == 0, check.output
    assert "ok rubric my-task" in check.output and "annotators a1, a2" in check.output

    rubric = find_rubric("my-task")  # found by name from the working folder's rubrics/
    assert rubric.directory.resolve() == (tmp_path / "rubrics" / "my-task").resolve()
    assert rubric.scale.kind == scale
    gold = find_gold("my-task", rubric)  # and the gold set by name from gold/
    assert len(gold.items) == 3 and gold.annotators == ["a1", "a2"]
    assert all(item.majority() is not None for item in gold.items)
    assert load_config().grade.judge is None  # no default judge: sim/ would answer at random

    # the next three commands, ready to paste
    assert "edit gold/my-task.jsonl" in result.output
    assert "judgecal rubrics validate my-task --gold gold/my-task.jsonl" in result.output
    assert "judgecal validate my-task --judge <model>" in result.output


def test_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / "gold").mkdir()
    mine = tmp_path / "gold" / "my-task.jsonl"
    mine.write_text('{"id": "mine"}\n')
    before = _tree(tmp_path)

    result = runner.invoke(app, ["init", "my-task"])
    assert result.exit_code == 2
    assert "refusing to overwrite existing file" in result.stderr
    assert "my-task.jsonl" in result.stderr and "--force" in result.stderr
    assert _tree(tmp_path) == before  # not even the files that did not exist
    assert not (tmp_path / "rubrics").exists() and not (tmp_path / "judgecal.toml").exists()


def test_names_every_existing_file():
    assert runner.invoke(app, ["init", "my-task"]).exit_code == 0
    again = runner.invoke(app, ["init", "my-task", "--scale", "pairwise"])
    assert again.exit_code == 2
    message = again.stderr.replace("\n", "")
    for name in ("rubric.yaml", "prompt.j2", "my-task.jsonl", "my-task.md"):
        assert name in message


def test_force_overwrites(tmp_path):
    assert runner.invoke(app, ["init", "my-task"]).exit_code == 0
    rubric_yaml = tmp_path / "rubrics" / "my-task" / "rubric.yaml"
    rubric_yaml.write_text("name: broken\n")
    (tmp_path / "judgecal.toml").write_text("[grade]\nconcurrency = 2\n")

    result = runner.invoke(app, ["init", "my-task", "--scale", "ordinal", "--force"])
    assert result.exit_code == 0, result.output
    assert "overwrote rubrics/my-task/rubric.yaml" in result.output
    assert "kind: ordinal" in rubric_yaml.read_text()
    assert "concurrency = 8" in (tmp_path / "judgecal.toml").read_text()
    assert runner.invoke(app, ["rubrics", "validate", "my-task", "--gold", "my-task"]).exit_code == 0


def test_a_second_rubric_keeps_the_folders_config(tmp_path):
    assert runner.invoke(app, ["init", "first"]).exit_code == 0
    config = tmp_path / "judgecal.toml"
    config.write_text('[grade]\njudge = "openai/gpt-4o-mini"\n')

    second = runner.invoke(app, ["init", "second", "--scale", "pairwise"])
    assert second.exit_code == 0, second.output
    assert "kept judgecal.toml" in second.output
    assert config.read_text() == '[grade]\njudge = "openai/gpt-4o-mini"\n'
    assert runner.invoke(app, ["rubrics", "validate", "first", "second"]).exit_code == 0


@pytest.mark.parametrize("name", ["Bad Name", "../escape", "a/b", "-dash", "trailing.", "x" * 101, "Upper"])
def test_invalid_name_is_a_usage_error_and_writes_nothing(tmp_path, name):
    result = runner.invoke(app, ["init", "--", name])  # "--": "-dash" is a name, not -d ash
    assert result.exit_code == 2
    assert "not a valid rubric name" in result.stderr and "my-rubric" in result.stderr
    assert _tree(tmp_path) == {}


def test_a_folder_where_a_file_goes_is_refused_even_with_force(tmp_path):
    (tmp_path / "gold" / "my-task.jsonl").mkdir(parents=True)
    result = runner.invoke(app, ["init", "my-task", "--force"])
    assert result.exit_code == 2 and "is a folder, not a file" in result.stderr
    assert not (tmp_path / "rubrics").exists()

    (tmp_path / "other").write_text("a file")
    result = runner.invoke(app, ["init", "x", "--dir", "other"])
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr


def test_dir_scaffolds_elsewhere_and_says_where_to_run_the_next_commands(tmp_path):
    result = runner.invoke(app, ["init", "--dir", "project/evals"])
    assert result.exit_code == 0, result.output
    root = tmp_path / "project" / "evals"
    assert all(p.is_file() for p in _files(root, "my-rubric"))  # the default name
    assert "Next, in project/evals:" in result.output
    assert not (tmp_path / "rubrics").exists()
    check = runner.invoke(
        app,
        [
            "rubrics",
            "validate",
            str(root / "rubrics" / "my-rubric"),
            "--gold",
            str(root / "gold" / "my-rubric.jsonl"),
        ],
    )
    assert check.exit_code == 0, check.output


def test_a_failed_write_removes_what_it_created(tmp_path, monkeypatch):
    import judgecal.cli.init as init

    real = init._write
    calls = []

    def flaky(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(init, "_write", flaky)
    result = runner.invoke(app, ["init", "my-task"])
    assert result.exit_code == 3
    assert "No space left on device" in result.stderr and "were removed" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no file, no empty folder left behind


def test_the_templates_ship_inside_the_package():
    """The wheel packs the whole ``judgecal`` folder (pyproject: packages = ["judgecal"]); the
    templates are read through importlib.resources, not from the source tree."""
    from importlib import resources

    base = resources.files("judgecal").joinpath("templates", "init")
    for scale in ("binary", "ordinal", "pairwise"):
        for name in ("rubric.yaml", "prompt.j2", "gold.jsonl"):
            assert base.joinpath(scale, name).is_file()
    assert base.joinpath("gold.md").is_file() and base.joinpath("judgecal.toml").is_file()


def test_says_when_a_search_path_folder_would_shadow_the_new_rubric(tmp_path, monkeypatch):
    assert runner.invoke(app, ["init", "my-task", "--dir", "elsewhere"]).exit_code == 0
    monkeypatch.setenv(
        "JUDGECAL_RUBRICS", str(tmp_path / "elsewhere" / "rubrics")
    )  # searched before ./rubrics
    result = runner.invoke(app, ["init", "my-task"])
    assert result.exit_code == 0, result.output
    assert "finds the rubric" in result.stderr and "pass the folder path instead" in result.stderr
    assert "gold set" not in result.stderr  # ./gold comes first for gold sets: no note
