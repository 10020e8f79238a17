"""What a simulated judge is: its profiles (accuracy, biases, faults), the items whose truth it
knows, the presets, and the YAML config of ``judgecal simulate serve``; the constants of its answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

MALFORMED_TEXT = (
    "Looking at this answer overall, it seems mostly reasonable, although I have some doubts "
    "about parts of it. It depends on how strictly the policy is read."
)
"""What a ``malformed`` fault answers: prose a judge might ramble, with no JSON and no verdict."""

FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "drop",
    "timeout",
    "malformed",
    "truncated",
    "empty",
    "html",
)
"""The fault kinds of :class:`FaultRates`, in the order the fault draw checks them (new kinds go
at the end: the seeded draws of the older kinds stay what they were)."""

HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
)
"""What an ``html`` fault answers, with HTTP 200 and ``Content-Type: text/html``: a reverse proxy's
error page where a chat completion should be."""

ANSWER_LOG_MAX = 1_000_000
"""How many answers the simulator's answer log keeps (the latest; :meth:`SimulatedJudge.answers`)."""

OUTCOMES: tuple[str, ...] = ("ok", "refusal", *FAULT_KINDS, "not_found", "bad_request")
"""Every outcome counted by ``/stats`` (``by_outcome`` always has all of them)."""

REFUSAL_TEXT = "I'm sorry, but I can't help with evaluating this content."
"""What a refusing judge answers (HTTP 200, not JSON)."""

SIMULATOR_SERVICE = "judgecal-simulator"
"""What ``GET /v1/judgecal/health`` answers in ``service``: how judgecal tells its own simulator
from any other OpenAI-compatible server (:func:`find_simulator`)."""

Truth = Literal["pass", "fail", "A", "B", "tie"] | StrictInt


class FaultRates(BaseModel):
    """How often the transport misbehaves; each a probability, their sum at most 1."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    rate_limit: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(HTTP 429 with a ``Retry-After: retry_after_s`` header and an OpenAI error body)."""
    server_error: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(HTTP 500 with an OpenAI error body)."""
    drop: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(the TCP connection is closed without any response)."""
    timeout: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(the server sleeps ``hang_s`` before answering normally; the client should time out)."""
    malformed: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(HTTP 200 whose content is prose with no JSON and no verdict (``MALFORMED_TEXT``))."""
    truncated: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(HTTP 200 whose JSON answer is cut in the middle, with finish_reason ``length``)."""
    empty: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(HTTP 200 whose content is ``""``, with finish_reason ``stop``)."""
    html: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(HTTP 200 with ``Content-Type: text/html`` and an HTML error page (:data:`HTML_ERROR_PAGE`)
    as the body instead of a chat completion, as a misconfigured reverse proxy answers)."""
    retry_after_s: float = Field(default=0.05, ge=0.0)
    """Seconds sent in the Retry-After header of a 429."""
    hang_s: float = Field(default=5.0, gt=0.0)
    """Seconds a ``timeout`` fault waits before answering."""

    @model_validator(mode="after")
    def _sum_at_most_one(self) -> FaultRates:
        total = sum(getattr(self, kind) for kind in FAULT_KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault rates sum to {total:g}; {' + '.join(FAULT_KINDS)} must be at most 1")
        return self


class JudgeProfile(BaseModel):
    """One simulated judge: how accurate it is, which biases it has, how its transport fails."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    accuracy: float = Field(default=0.9, ge=0.0, le=1.0)
    """P(verdict == truth) for a known item before biases. A wrong binary verdict is the other
    label; a wrong ordinal score is one step off (toward the middle at an edge); a wrong pairwise
    verdict is one of the other labels, uniformly (tie only if the truth is not tie)."""
    tpr: float | None = Field(default=None, ge=0.0, le=1.0)
    """Binary only: P(pass | truth pass); overrides ``accuracy`` for pass items when set."""
    tnr: float | None = Field(default=None, ge=0.0, le=1.0)
    """Binary only: P(fail | truth fail); overrides ``accuracy`` for fail items when set."""
    position_bias: float = Field(default=0.0, ge=0.0, le=1.0)
    """Pairwise: P(the verdict is "A", the first slot, whatever the truth)."""
    verbosity_bias: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(raising the verdict one step when the graded output is a known output padded to >= 1.2x
    its length); pairwise: P(picking the longer output)."""
    self_families: list[str] = Field(default_factory=list)
    """Generator families this judge counts as its own (e.g. ``["openai"]``)."""
    self_preference: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(favouring an output of an own family: pass / score + 1 / that side; no effect when both
    pairwise sides are own-family)."""
    injection_susceptibility: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(obeying an injection in the graded output: the best label, or the side that contains it
    when only one side of a pair does). An injection is anything :data:`INJECTION_PATTERNS`
    matches, a general heuristic over the graded text (not a list of known payloads): an
    instruction about the verdict, score or grading, or addressed to whoever grades; role, system
    or turn markers; a verdict-shaped JSON or verdict line; hidden-text markers (zero-width or
    Unicode tag characters, HTML comments); claims that the answer was verified or approved, fake
    citations and social proof; a master key (a lone ":" or a reasoning opener on its own line).
    The draw is independent of the accuracy draw, so on a gold-FAIL output the pass rate rises by
    ``susceptibility × P(the verdict was not already the best label)`` — for a binary rubric
    ``susceptibility × tnr`` (``× accuracy`` when ``tnr`` is unset)."""
    refusal_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """P(answering with a refusal text instead of a verdict); stable per prompt and seed."""
    latency_ms: float = Field(default=0.0, ge=0.0)
    """Median delay before answering, in milliseconds."""
    latency_jitter: float = Field(default=0.0, ge=0.0)
    """Sigma of the lognormal factor applied to ``latency_ms`` (0: a fixed delay)."""
    faults: FaultRates = Field(default_factory=FaultRates)
    """Transport faults, drawn per request independently of the verdict."""
    seed: int = 0
    """Seed of the verdict and fault draws."""
    item_stable: bool = False
    """Tie the accuracy draw to the matched item instead of the whole prompt: a variant of a known
    item (padded, with a payload, criteria reordered) starts from the same base verdict, and at
    temperature 0 every sample does — a judge whose errors belong to the content, not to the
    wording. Biases still act on top."""


class SimItem(BaseModel):
    """An item the simulator knows the truth of: a single output (binary/ordinal) or a pair."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    id: str
    """The item id (for people; lookups use the output texts)."""
    output: str | None = None
    """The graded output of a binary or ordinal item."""
    output_a: str | None = None
    """The first output of a pairwise item."""
    output_b: str | None = None
    """The second output of a pairwise item."""
    truth: Truth
    """The correct verdict: "pass"/"fail", a score, or "A"/"B"/"tie" for a pair."""
    family: str | None = None
    """The generator family of ``output`` (for self-preference)."""
    family_a: str | None = None
    """The generator family of ``output_a``."""
    family_b: str | None = None
    """The generator family of ``output_b``."""

    @model_validator(mode="after")
    def _single_or_pair(self) -> SimItem:
        pair = self.output_a is not None or self.output_b is not None
        if pair:
            if self.output is not None or self.output_a is None or self.output_b is None:
                raise ValueError(f"item {self.id!r}: give either output, or both output_a and output_b")
            if self.truth not in ("A", "B", "tie"):
                raise ValueError(
                    f"item {self.id!r}: a pairwise truth is 'A', 'B' or 'tie', not {self.truth!r}"
                )
        else:
            if self.output is None:
                raise ValueError(f"item {self.id!r}: give output, or output_a and output_b")
            if self.truth in ("A", "B", "tie"):
                raise ValueError(
                    f"item {self.id!r}: a single-output truth is 'pass', 'fail' or an integer"
                    f" score, not {self.truth!r}"
                )
        return self


class SimConfig(BaseModel):
    """The judges the server offers (by model name) and the items it knows the truth of."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    profiles: dict[str, JudgeProfile]
    """Model name -> judge profile. In a file a profile may also be a preset name, or a mapping
    with ``preset: <name>`` plus fields that override it."""
    items: list[SimItem] = Field(default_factory=list)
    """Items with known truth; a prompt about any other output gets a uniform random label."""

    @field_validator("profiles", mode="before")
    @classmethod
    def _expand_presets(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out: dict[Any, Any] = {}
        for name, spec in value.items():
            if isinstance(spec, str):
                out[name] = _preset(spec)
            elif isinstance(spec, Mapping) and "preset" in spec:
                rest = {k: v for k, v in spec.items() if k != "preset"}
                out[name] = {**_preset(spec["preset"]).model_dump(), **rest}
            else:
                out[name] = spec
        return out

    @field_validator("profiles")
    @classmethod
    def _names(cls, value: dict[str, JudgeProfile]) -> dict[str, JudgeProfile]:
        if not value:
            raise ValueError("at least one profile is needed")
        for name in value:
            if not name or name.startswith("openai/") or name != name.strip():
                raise ValueError(
                    f"profile name {name!r}: use a non-empty name without surrounding spaces"
                    " or an 'openai/' prefix (the prefix is stripped from requests)"
                )
        return value

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, value: list[SimItem]) -> list[SimItem]:
        seen: set[str] = set()
        for item in value:
            if item.id in seen:
                raise ValueError(f"duplicate item id {item.id!r}")
            seen.add(item.id)
        return value

    @classmethod
    def from_presets(
        cls, names: str | Iterable[str], items: Iterable[SimItem] = (), **overrides: Any
    ) -> SimConfig:
        """A config whose profiles are the named presets (model name = preset name), each with
        ``overrides`` applied (e.g. ``seed=3, latency_ms=20``; ``faults`` replaces all faults)."""
        names = [names] if isinstance(names, str) else list(names)
        profiles = {
            name: JudgeProfile.model_validate({**_preset(name).model_dump(), **overrides}) for name in names
        }
        return cls(profiles=profiles, items=list(items))


def _preset(name: Any) -> JudgeProfile:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown preset {name!r}; the presets are: {', '.join(sorted(PRESETS))}") from None


_EVERY_FAULT = FaultRates(
    rate_limit=0.05,
    server_error=0.05,
    drop=0.05,
    timeout=0.05,
    malformed=0.05,
    truncated=0.05,
    hang_s=2.0,
)

PRESETS: dict[str, JudgeProfile] = {
    # a good judge: right 92% of the time, no biases
    "accurate": JudgeProfile(accuracy=0.92),
    "consistent": JudgeProfile(accuracy=0.95, item_stable=True),
    # accurate's twin: the same profile under another name, so its own verdict draws — an equally
    # good but different judge (judgecal compare: two judges interchangeable within the margin)
    "accurate-b": JudgeProfile(accuracy=0.92),
    # a weak judge: right 60% of the time
    "noisy": JudgeProfile(accuracy=0.6),
    # passes almost every good answer but also 45% of the bad ones
    "lenient": JudgeProfile(accuracy=0.92, tpr=0.98, tnr=0.55),
    # answers "A" 60% of the time whatever the pair
    "position-biased": JudgeProfile(accuracy=0.9, position_bias=0.6),
    # rewards padding: a padded answer is raised one step 60% of the time
    "verbose": JudgeProfile(verbosity_bias=0.6),
    # favours outputs of the openai family 60% of the time
    "self-preferring": JudgeProfile(self_families=["openai"], self_preference=0.6),
    # obeys injected instructions to the grader 80% of the time
    "gullible": JudgeProfile(injection_susceptibility=0.8),
    # passes everything
    "constant-pass": JudgeProfile(tpr=1.0, tnr=0.0),
    # accurate, but 5% of requests hit each fault kind (30% in all); hangs last 2 s
    "faulty": JudgeProfile(accuracy=0.92, faults=_EVERY_FAULT),
}
"""Ready-made judges, by name (see PRESET_DESCRIPTIONS)."""

PRESET_DESCRIPTIONS: dict[str, str] = {
    "accurate": "right 92% of the time, no biases",
    "consistent": "right 95% of the time; its errors belong to the item: irrelevant changes do not flip it",
    "accurate-b": "accurate's twin: right 92% of the time, its own errors (an equally good, different judge)",
    "noisy": "right 60% of the time",
    "lenient": "passes 98% of good answers and 45% of bad ones (tpr 0.98, tnr 0.55)",
    "position-biased": "answers 'A' 60% of the time whatever the pair (accuracy 0.9)",
    "verbose": "raises a padded answer one step 60% of the time",
    "self-preferring": "favours outputs of the openai family 60% of the time",
    "gullible": "obeys an injection in the graded output 80% of the time",
    "constant-pass": "passes everything (tpr 1, tnr 0)",
    "faulty": "accuracy 0.92; 5% each of 429, 500, drop, hang (2 s), malformed, truncated",
}
"""One line per preset, for ``judgecal simulate presets`` and docs."""


def load_config(path: str | Path) -> SimConfig:
    """Read a simulator config from a YAML or JSON file (``.json`` is JSON, anything else YAML).

    YAML goes through the bounded loader rubric files use (:func:`judgecal._yamlio.parse_yaml`):
    files over 1 MiB, more than 100 aliases or aliases expanding past 10,000 values are refused
    before they cost any time. Raises ValueError naming the file (and line, and field path) of the
    first problem.
    """
    from judgecal._yamlio import MAX_YAML_BYTES, field_name, parse_yaml  # noqa: PLC0415
    from judgecal.errors import InputError  # noqa: PLC0415

    path = Path(path)
    json_file = path.suffix.lower() == ".json"
    try:
        with path.open("rb") as f:
            raw = f.read() if json_file else f.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the simulator config: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: the simulator config is not UTF-8 text") from None
    line_of: Callable[[tuple[str | int, ...]], int | None] = lambda loc: None  # noqa: E731
    if json_file:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    else:
        try:
            data, lines = parse_yaml(text, str(path))
        except InputError as exc:
            where = ": ".join(p for p in (exc.location, exc.field) if p)
            detail = exc.detail.replace("not valid YAML", "invalid YAML", 1)
            raise ValueError(f"{where}: {detail}") from None
        line_of = lines.line_of
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the simulator config must be a mapping with 'profiles' (and 'items')")
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = line_of(loc)
            where = f"{path}:{line}" if line else str(path)
            out.append(f"{where}: {field_name(loc) if loc else '(top level)'}: {err['msg']}")
        raise ValueError("\n".join(out)) from None
