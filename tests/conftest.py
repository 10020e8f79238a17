"""Shared fixtures. Tests are hermetic: a temporary home and database, provider keys removed,
and judges reached only through the bundled simulated judge on loopback."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parent.parent

_PROVIDER_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "AZURE_API_KEY",
    "COHERE_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "DATABASE_URL",
    "JUDGECAL_DATABASE_URL",
    "JUDGECAL_CONFIG",
    "JUDGECAL_JUDGE",
    "JUDGECAL_RUBRICS",
    "JUDGECAL_GOLD",
    "JUDGECAL_API_BASE",
)


POSTGRES_SKIP = (
    "needs PostgreSQL: set JUDGECAL_TEST_POSTGRES_URL=postgresql+psycopg://user@host:port/db "
    "(a database the tests may write to; .ci/postgres.sh starts a throwaway one)"
)


def _installed_models() -> Path:
    """Where ``judgecal models install`` put models for whoever runs pytest: the same rule as
    :func:`judgecal.local.models_dir` (``$JUDGECAL_MODELS_DIR``, else ``$JUDGECAL_HOME/models``,
    else ``./.judgecal/models``), read before each test's temporary home replaces it, so the
    local-model tests find the model the quick start installed without any variable set."""
    if os.environ.get("JUDGECAL_MODELS_DIR"):
        return Path(os.environ["JUDGECAL_MODELS_DIR"]).expanduser()
    home = os.environ.get("JUDGECAL_HOME")
    return (Path(home) if home else Path.cwd() / ".judgecal") / "models"


INSTALLED_MODELS = _installed_models()


# --------------------------------------------------------------------------------------------
# CI's extra tiers: .ci/run runs the README's test command with JUDGECAL_SKIPPED_LOG set, then
# installs what the skipped tests need and runs exactly those again (see .ci/run)


def _log_skip(nodeid: str, longrepr: object) -> None:
    path = os.environ.get("JUDGECAL_SKIPPED_LOG")
    if not path:
        return
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{nodeid}\t{' '.join(str(reason).split())}\n")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _log_skip(report.nodeid, report.longrepr)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _log_skip(report.nodeid, report.longrepr)


@pytest_asyncio.fixture
async def _close_provider_clients() -> Any:
    """After an async test, close the provider clients litellm opened on the test's event loop
    (the library's synchronous entry points do this themselves, judgecal._aio.run): otherwise
    litellm evicts them minutes later and the garbage collector reports their sockets unclosed
    in whichever test it happens to run."""
    yield
    from judgecal._aio import close_loop_clients

    await close_loop_clients()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.fixturenames.append("_close_provider_clients")


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in _PROVIDER_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("JUDGECAL_HOME", str(home))
    monkeypatch.setenv("JUDGECAL_MODELS_DIR", str(INSTALLED_MODELS))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from judgecal.store import Store

    s = Store(f"sqlite:///{tmp_path / 'test.db'}")
    yield s
    s.close()


@pytest.fixture
def support():  # type: ignore[no-untyped-def]
    """The bundled support-billing rubric and its gold set."""
    from judgecal.gold import find_gold
    from judgecal.rubric import find_rubric

    rubric = find_rubric("support-billing")
    return rubric, find_gold("support-billing", rubric)


@pytest.fixture(scope="module")
def billing():  # type: ignore[no-untyped-def]
    """The bundled support-billing rubric (binary)."""
    from judgecal.rubric import find_rubric

    return find_rubric("support-billing")


@pytest.fixture(scope="module")
def pairwise():  # type: ignore[no-untyped-def]
    """The bundled pairwise-preference rubric."""
    from judgecal.rubric import find_rubric

    return find_rubric("pairwise-preference")


@pytest.fixture
def sim_server() -> Iterator[Callable[..., object]]:
    """Start simulated judges: ``sim_server(profiles={"name": JudgeProfile(...)}, items=[...])``."""
    from judgecal.simulate import SimConfig, SimulatedJudge

    started: list[SimulatedJudge] = []

    def start(**config: object) -> SimulatedJudge:
        sim = SimulatedJudge(SimConfig(**config)).start()  # type: ignore[arg-type]
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def real_data() -> Path | None:
    value = os.environ.get("JUDGECAL_REAL_DATA")
    return Path(value) if value else None


# --------------------------------------------------------------------------------------------
# generated gold sets large enough for the approval policy's data requirements (judgecal.synthetic)


def write_synthetic_gold(
    path: Path, *, kind: str = "binary", n: int = 200, seed: int = 7, noise: float = 0.05
) -> Path:
    """A gold set of ``n`` distinct items, each labelled by three simulated annotators who each
    flip the true label with probability ``noise``. ``kind``: ``binary`` (support-billing's
    inputs) or ``pairwise`` (pairwise-preference's: one clearly better output, on a random side).
    The generator is :func:`judgecal.synthetic.write_gold`; the bundled ``support-synthetic`` and
    ``pairwise-synthetic`` gold sets are its output with larger ``n``. Here binary answers carry
    no greeting or polite closing sentence: the simulated judge does not recognise an answer
    shortened by the verbosity probe's concision variant, so those variants would get random
    verdicts."""
    from judgecal.synthetic import write_gold

    if kind not in ("binary", "pairwise"):
        raise ValueError(f"kind must be 'binary' or 'pairwise', not {kind!r}")
    if kind == "binary":
        return write_gold(path, kind="binary", n=n, seed=seed, noise=noise, pleasantries=False)
    return write_gold(path, kind="pairwise", n=n, seed=seed, noise=noise)


def validate_in_own_home(folder: Path, gold: Path, db: Path, **options: Any) -> Any:
    """``validate("support-billing", "sim/consistent", ...)`` once, into ``db``, with a home of
    its own under ``folder`` and no provider key in the environment (for session fixtures, which
    cannot use the function-scoped ``hermetic``)."""
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("JUDGECAL_HOME", str(folder / "home"))
        mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        for var in _PROVIDER_VARS:
            mp.delenv(var, raising=False)
        from judgecal.approval import validate
        from judgecal.store import Store

        s = Store(f"sqlite:///{db}")
        try:
            return validate("support-billing", "sim/consistent", gold=str(gold), store=s, **options)
        finally:
            s.close()
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def _approved_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Once per session: validate ``sim/consistent`` on a 200-item synthetic support-billing gold set
    (approved), in a database of its own; tests get a copy (see ``approved_support``)."""
    folder = tmp_path_factory.mktemp("approved")
    gold = write_synthetic_gold(folder / "support-synthetic.jsonl")
    db = folder / "judgecal.db"
    result = validate_in_own_home(folder, gold, db)
    assert result.decision.tier == "approved", result.decision.reasons
    return db, gold


@pytest.fixture
def approved_support(_approved_template: tuple[Path, Path], hermetic: Path):  # type: ignore[no-untyped-def]
    """The test's own database (in its hermetic home) holding an *approved* certificate for
    support-billing with ``sim/consistent``; yields the certificate. ``load_grader("support-billing")``
    and ``judgecal serve`` find it through the default ``Store()``."""
    import shutil

    from judgecal.store import Store

    db, _gold = _approved_template
    hermetic.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, hermetic / "judgecal.db")
    s = Store()
    cert = s.list_certificates(rubric="support-billing")[0]
    s.close()
    return cert


SERVICE_TOKEN = "test-token-" + "0123456789abcdef"
"""The bearer token of the service the tests start (``make_client``)."""


@pytest.fixture
def make_client() -> Iterator[Callable[..., Any]]:
    """``make_client(**create_app_options)``: a TestClient of the service with its lifespan
    running (token :data:`SERVICE_TOKEN` unless given), closed after the test."""
    import warnings

    with warnings.catch_warnings():
        # starlette 1.x asks for the httpx2 package; TestClient works the same with httpx
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from judgecal.service import create_app

    opened: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("token", SERVICE_TOKEN)
        client = TestClient(create_app(**options), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
