"""Nothing in a rubric folder can take over: sandboxed templates, confined template paths and
bounded YAML (issue 13)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jinja2
import pytest
from typer.testing import CliRunner

from judgecal._yamlio import MAX_YAML_BYTES, load_yaml
from judgecal.cli import app
from judgecal.errors import ConfigError, RubricError
from judgecal.prompt import _split, render_messages
from judgecal.rubric import load_rubric
from judgecal.verdict import answer_format

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

BILLION_LAUGHS = "".join(
    [
        'a0: &a0 ["lol"]\n',
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)),
    ]
)


@pytest.fixture
def rubric_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "rubrics" / "support-billing"
    shutil.copytree(ROOT / "rubrics" / "support-billing", dest)
    return dest


def _validate(folder: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["rubrics", "validate", str(folder)], catch_exceptions=False)
    return result.exit_code, " ".join((result.stderr + result.output).split())


def _insert_into_template(folder: Path, line: str) -> int:
    """Add ``line`` right after the template's first line (``[system]``); return its number."""
    path = folder / "prompt.j2"
    lines = path.read_text().splitlines()
    assert lines[0] == "[system]"
    lines.insert(1, line)
    path.write_text("\n".join(lines) + "\n")
    return 2


def _set_template(folder: Path, value: str) -> int:
    """Point rubric.yaml's ``template`` at ``value``; return that line's number."""
    path = folder / "rubric.yaml"
    lines = path.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("template:"))
    lines[n] = f"template: {json.dumps(value)}"
    path.write_text("\n".join(lines) + "\n")
    return n + 1


# --- sandboxed templates ---------------------------------------------------------------------


def test_popen_through_cycler_is_refused_and_runs_nothing(rubric_copy, tmp_path):
    marker = tmp_path / "pwned"
    line = _insert_into_template(
        rubric_copy, "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
    )
    with pytest.raises(RubricError) as info:
        load_rubric(rubric_copy)
    assert f"{rubric_copy / 'prompt.j2'}:{line}" in str(info.value)
    code, text = _validate(rubric_copy)
    assert code == 2 and f"{rubric_copy / 'prompt.j2'}:{line}" in text and "refused" in text
    assert not marker.exists()


def test_python_internals_are_refused(rubric_copy):
    line = _insert_into_template(rubric_copy, "{{ ''.__class__.__mro__ }}")
    with pytest.raises(RubricError, match="__class__") as info:
        load_rubric(rubric_copy)
    assert f"{rubric_copy / 'prompt.j2'}:{line}" in str(info.value)


@pytest.mark.parametrize(
    "expr",
    [
        "{{ ''['__class__'] }}",
        "{{ ''|attr('__class__') }}",
        "{% if output == 'go' %}{{ ''.__class__ }}{% endif %}",  # a branch the check never takes
        "{{ rubric.directory.joinpath('rubric.yaml').read_text() }}",  # no file access via paths
        "{{ rubric.criteria.append(1) }}",  # immutable sandbox
    ],
)
def test_other_escapes_are_refused_at_load(rubric_copy, expr):
    line = _insert_into_template(rubric_copy, expr)
    with pytest.raises(RubricError) as info:
        load_rubric(rubric_copy)
    assert f"{rubric_copy / 'prompt.j2'}:{line}: template refused" in str(info.value)


def test_unsafe_access_at_render_time_is_a_rubric_error(rubric_copy):
    # the attribute name comes from the item, so only rendering can see it
    line = _insert_into_template(rubric_copy, "{{ output|attr(input) if input.startswith('_') else '' }}")
    r = load_rubric(rubric_copy)
    with pytest.raises(RubricError, match="sandbox") as info:
        render_messages(r, {"input": "__class__", "output": "x"})
    assert f"{rubric_copy / 'prompt.j2'}:{line}" in str(info.value)


# --- template paths stay in the rubric folder -------------------------------------------------


def test_template_outside_the_folder_is_refused(rubric_copy):
    outside = rubric_copy.parent / "outside.j2"
    shutil.copy(rubric_copy / "prompt.j2", outside)
    for value in ("../outside.j2", str(outside), "sub/../../outside.j2"):
        line = _set_template(rubric_copy, value)
        with pytest.raises(RubricError) as info:
            load_rubric(rubric_copy)
        assert info.value.field == "template"
        assert info.value.location == f"{rubric_copy / 'rubric.yaml'}:{line}"
        code, text = _validate(rubric_copy)
        assert code == 2 and f"{rubric_copy / 'rubric.yaml'}:{line}: template:" in text


def test_symlink_pointing_outside_is_refused(rubric_copy):
    outside = rubric_copy.parent / "outside.j2"
    shutil.copy(rubric_copy / "prompt.j2", outside)
    (rubric_copy / "prompt.j2").unlink()
    (rubric_copy / "prompt.j2").symlink_to(outside)
    line = _set_template(rubric_copy, "prompt.j2")
    code, text = _validate(rubric_copy)
    assert code == 2 and f"{rubric_copy / 'rubric.yaml'}:{line}: template:" in text
    assert "outside the rubric folder" in text


def test_template_in_a_subfolder_or_symlinked_inside_still_loads(rubric_copy):
    (rubric_copy / "templates").mkdir()
    shutil.move(rubric_copy / "prompt.j2", rubric_copy / "templates" / "real.j2")
    _set_template(rubric_copy, "templates/real.j2")
    assert load_rubric(rubric_copy).template == "templates/real.j2"
    (rubric_copy / "prompt.j2").symlink_to(Path("templates") / "real.j2")
    _set_template(rubric_copy, "prompt.j2")
    assert load_rubric(rubric_copy).template_source.strip()


# --- bounded YAML -----------------------------------------------------------------------------


def test_billion_laughs_is_refused_quickly(rubric_copy):
    path = rubric_copy / "rubric.yaml"
    path.write_text(path.read_text() + BILLION_LAUGHS)
    start = time.perf_counter()
    with pytest.raises(RubricError, match="alias") as info:
        load_rubric(rubric_copy)
    assert time.perf_counter() - start < 2
    assert str(info.value).startswith(f"{path}:")
    code, text = _validate(rubric_copy)
    assert code == 2 and "alias" in text


def test_too_many_aliases_are_refused_with_a_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("x: &x 1\nys:\n" + "".join("  - *x\n" for _ in range(101)))
    with pytest.raises(ConfigError, match="aliases") as info:
        load_yaml(path, ConfigError)
    assert info.value.location == f"{path}:103"  # the 101st alias
    path.write_text("x: &x 1\nys:\n" + "".join("  - *x\n" for _ in range(5)))
    assert load_yaml(path, ConfigError)[0] == {"x": 1, "ys": [1] * 5}


def test_oversized_file_is_refused_before_parsing(rubric_copy):
    path = rubric_copy / "rubric.yaml"
    path.write_text(path.read_text() + "#" * MAX_YAML_BYTES + "\n")
    with pytest.raises(RubricError, match="larger than") as info:
        load_rubric(rubric_copy)
    assert info.value.location == str(path)


# --- bundled rubrics are unchanged ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "rubrics").iterdir()))
def test_bundled_rubrics_render_as_with_a_plain_environment(name):
    r = load_rubric(ROOT / "rubrics" / name)
    item = json.loads((ROOT / "gold" / f"{name}.jsonl").read_text().splitlines()[0])
    inputs = {k: item["inputs"][k] for k in r.inputs}
    plain = jinja2.Environment(  # how templates were rendered before the sandbox
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,  # noqa: S701 - prompts are plain text
    )
    context = {**inputs, "rubric": r, "examples": r.examples, "answer_format": answer_format(r)}
    expected = _split(plain.from_string(r.template_source).render(context))
    assert render_messages(r, inputs) == expected
