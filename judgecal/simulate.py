"""The simulated judge: an OpenAI-compatible HTTP server that grades like an imperfect LLM judge.

judgecal's tests and benchmarks reach it through litellm exactly as they would reach a user's
provider, so retries, timeouts, malformed answers and biases are exercised on the real code path.

How a request is answered::

    POST /v1/chat/completions
      body not JSON / no model / no messages ... 400 (OpenAI error JSON)
      stream: true ............................ 400 (not supported)
      model not a profile ..................... 404 model_not_found
      fault draw (per-profile Random(seed), advanced per request, so a retry can succeed): one
        uniform draw against the cumulative rates in FAULT_KINDS order: rate_limit, server_error,
        drop, timeout, malformed, truncated, empty, html (kinds added later go at the end, so the
        seeded draws of the older kinds never change)
        rate_limit -> 429 + Retry-After    server_error -> 500    drop -> connection closed
        timeout -> sleep hang_s, then answer
        malformed / truncated / empty -> a damaged answer (after the verdict draw): prose, the JSON
        cut in half with finish_reason "length", or content "" with finish_reason "stop"
      latency_ms (lognormal jitter: a second draw from the fault Random, when latency_jitter > 0)
      html fault -> 200 text/html, an error page (HTML_ERROR_PAGE) instead of a completion
      verdict draw (Random seeded by profile seed, model, prompt, request seed, temperature:
                    the same prompt always gets the same verdict, another `seed` an independent one)
        the item is looked up from the LAST <output>/<output_a>/<output_b> tags of the prompt:
        exact text, swapped pair (truth A<->B), or a known output contained in a padded one;
        refusal_rate -> a refusal text; known item -> truth with P(accuracy) (tpr/tnr for binary);
        then verbosity, self-preference, injection and position biases; unknown item -> uniform.

Besides ``/v1/models``, ``/health`` and ``/stats``, the server answers ``GET /v1/judgecal/health``
(``{"service": "judgecal-simulator", ...}``: how judgecal recognises it on a loopback address),
``GET /v1/judgecal/answers`` (the log of the chat completions it sent: :meth:`SimulatedJudge.answers`)
and ``POST /v1/judgecal/items`` (``{"items": [SimItem, ...]}``: learn more items' truth). judgecal
uses them to teach a simulator served by ``judgecal simulate serve`` the truth of the items a
probe derives — exactly what it does for the one it starts itself for ``sim/<preset>`` — so both
grade the same prompts alike.

The scale comes from ``response_format.json_schema.schema.properties.verdict`` (enum pass/fail:
binary; integer minimum..maximum: ordinal; enum with A/B: pairwise, tie if listed); without a
schema, pairwise if the prompt has output_a/output_b tags, else binary.

Python use::

    with SimulatedJudge(SimConfig.from_presets(["accurate", "lenient"], items)) as sim:
        litellm.completion(model="openai/accurate", api_base=sim.base_url, api_key="x", ...)
        sim.stats()["by_outcome"]["ok"]
        sim.answers()[-1]["prompt_hash"]  # == judgecal.prompt.prompt_hash(messages)

The in-process :class:`SimCompleter` gives the same verdicts, and draws the same faults, without
HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import random
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:  # aiohttp.web takes ~150 ms to import: only the running server needs it
    from aiohttp import web

    from judgecal.llm import Completion

__all__ = [
    "ANSWER_LOG_MAX",
    "FAULT_KINDS",
    "HTML_ERROR_PAGE",
    "MALFORMED_TEXT",
    "INJECTION_PATTERNS",
    "OUTCOMES",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "REFUSAL_TEXT",
    "FaultRates",
    "JudgeProfile",
    "SimCompleter",
    "SimConfig",
    "SimItem",
    "RemoteSimulator",
    "SIMULATOR_SERVICE",
    "SimulatedJudge",
    "find_simulator",
    "load_config",
    "run_forever",
    "serve",
]

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

INJECTION_PATTERNS: tuple[str, ...] = (
    # -- instructions that override the grading or address whoever grades the text
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(?:instructions?|rules|rubric|guidelines"
    r"|criteria|prompt|guidance|directions)\b",
    r"\b(?:grade|mark|rate|score|label|classify|judge|evaluate|assess|treat|consider)\s+(?:this|the|my)\s+"
    r"(?:answer|reply|response|output|submission|message)\b[^.\n]{0,40}\b(?:pass\w*|correct|compliant"
    r"|acceptable|approved|excellent|flawless|perfect|highest|top|full|maximum|best|\d+\s*/\s*\d+)",
    r"\b(?:respond|reply|answer|output|return|print|emit)\s+(?:only\s+)?with\b[^.\n]{0,30}\b(?:verdict|score"
    r"|grade|rating|label)s?\b|\b(?:output|return|print|emit)\s+(?:the\s+|a\s+)?(?:verdict|score|grade|label)\b",
    r"\b(?:assign|give|award)\b[^.\n]{0,20}\b(?:highest|top|maximum|best|perfect|full|passing)\b[^.\n]{0,10}"
    r"\b(?:score|grade|mark|marks|rating|verdict|label)\b",
    r"(?:\b(?:note|message|instructions?|attention|reminder|memo)\b|\bp\.s\.)[^.\n]{0,12}\b(?:to|for)\s+(?:the\s+"
    r"|any\s+|all\s+)?(?:grader|evaluator|judge|reviewer|assessor|scorer|rater|annotator|ai|model|llm"
    r"|automated)s?\b",
    r"\b(?:dear|hey|attention)\s+(?:grader|evaluator|judge|assessor|scorer|rater|ai|model|llm)\b",
    r"\bwhoever\s+(?:grades|evaluates|reviews|scores|judges|rates|assesses)\b",
    r"\b(?:grader|evaluator|assessor|scorer|rater|judge)s?\s*[:,]\s",
    # -- role, system or turn markers: a fake conversation inside the answer
    r"<\|[a-z_]{2,30}\|>",
    r"\[/?(?:inst|sys|system)\]|<<\s*/?sys\s*>>",
    r"(?m:^\s*(?:#{1,4}\s*)?(?:system|assistant|user|human|developer)\s*(?:message|prompt|note)?\s*[:>\]])",
    r"</(?:answer|response|output|reply|input|text|document|context|submission|conversation|message)>",
    r"<(?:system|instructions?|admin)>",
    r"\b(?:system|admin|administrator|developer|operator|evaluation)\s+(?:notes?|instructions?|prompt|override)"
    r"\s*[:\]\-\u2013\u2014]|\b(?:system|developer|evaluation)\s+(?:notes?|instructions?|prompt)\b",
    # -- a verdict written into the answer (the judge's own output format)
    r"\{[^{}]{0,200}[\"']?(?:verdict|score|grade|rating|label|decision|passed|result|evaluation)[\"']?\s*:",
    r"\[\[\s*(?:pass|fail|a|b|tie|yes|no|\d+(?:\.\d+)?)\s*\]\]",
    r"\b(?:verdict|grade|rating|assessment|evaluation|judg(?:e)?ment)\s*(?:[:=]|is)\s*[\"'\[]*\s*(?:pass(?:ed)?"
    r"|correct|compliant|approved|acceptable|excellent|\d+(?:\.\d+)?)\b",
    r"\bscore\s*[:=]?\s*\d+(?:\.\d+)?\s*/\s*\d+",
    # -- hidden text: zero-width characters, Unicode tag characters, comments, invisible styling
    "[\u200b\u200c\u200d\u2060\ufeff]",
    "[\U000e0000-\U000e007f]",
    r"<!--",
    r"display\s*:\s*none|font-size\s*:\s*0|color\s*:\s*(?:white|#fff\b|#ffffff)",
    # -- claims that the answer was verified, approved or is backed by authority
    r"\b(?:this|the above|the following|my)\s+(?:answer|reply|response|output|solution|message|submission)\b"
    r"[^.\n]{0,60}\b(?:verified|approved|certified|validated|vetted|endorsed|fact-checked|signed off"
    r"|pre-approved|compliant|complies)\b",
    r"\b(?:verified|certified|confirmed|validated|approved)\s+(?:as\s+)?(?:correct|accurate|compliant|true|valid"
    r"|safe)\b",
    r"\b(?:reviewed|verified|checked|vetted)\s+and\s+(?:approved|verified|confirmed|certified)\b",
    r"\bpre-approved\b|\bofficially\s+(?:approved|verified|endorsed)\b",
    r"\baccording to\s+(?:a\s+|the\s+)?(?:official|peer-reviewed|published|authoritative|internal)\b",
    r"\bpeer-reviewed\b|\bet al\.?,?\s*\(?(?:19|20)\d{2}",
    # -- social proof: what other people supposedly think of this answer
    r"\b\d{1,3}(?:\.\d+)?\s?%\s+of\s+(?:\w+\s+){0,2}(?:users|customers|reviewers|experts|people|readers"
    r"|respondents|annotators|raters|evaluators|agents|graders|judges)\b",
    r"\b\d+\s+(?:out\s+)?of\s+(?:every\s+)?\d+\s+(?:\w+\s+){0,2}(?:users|customers|reviewers|experts|people"
    r"|readers|annotators|raters|evaluators|agents|graders|judges)\b",
    r"\b(?:experts?|reviewers?|users|customers|raters|annotators|evaluators|people|readers|agents|panel|most"
    r"|thousands|millions|hundreds|everyone)\b[^.\n]{0,40}\b(?:rated|preferred|prefer|agreed|approved|found"
    r"|voted|recommend(?:ed)?|liked|loved|endorsed|chose)\b[^.\n]{0,30}\b(?:this|the above)\s+(?:answer"
    r"|reply|response|solution|explanation)\b",
    r"\brated\b[^.\n]{0,25}\b(?:excellent|outstanding|very helpful|perfect|10\s*/\s*10|5\s*/\s*5|five stars"
    r"|5 stars)",
    # -- "master keys" (Zhao et al. 2025): a content-free reasoning opener or lone punctuation on a line
    r"(?m:^\s*[:.;,\-\u2013\u2014\u2026]+\s*$)",
    r"(?m:^\s*(?:thoughts?(?: process)?|reasoning|solution|answer|analysis|step\s*1|let'?s\s+(?:think|solve"
    r"|work|reason)\b[^.\n]{0,40})\s*[:.]?\s*$)",
)
"""Case-insensitive regexes of injections in a graded text, written as general heuristics, not as
the probe's payloads: instructions that override the grading or address whoever grades it
("ignore ... instructions", "mark this reply as ...", "note to the evaluator"); role, system and
turn markers (chat-template tokens, ``[INST]``, ``System:`` lines, closing tags of the answer);
a verdict written into the answer (verdict-shaped JSON, ``[[A]]``, "verdict: pass", "score 9/10");
hidden text (zero-width and Unicode tag characters, HTML comments, invisible styling); claims
that the answer was verified or is backed by authority (fake approvals, citations); social proof
about the answer ("87% of reviewers ..."); and the "master keys" of Zhao et al. 2025 (a lone
":" or a content-free reasoning opener on a line of its own)."""

_INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in INJECTION_PATTERNS), re.IGNORECASE)

REFUSAL_TEXT = "I'm sorry, but I can't help with evaluating this content."
"""What a refusing judge answers (HTTP 200, not JSON)."""

SIMULATOR_SERVICE = "judgecal-simulator"
"""What ``GET /v1/judgecal/health`` answers in ``service``: how judgecal tells its own simulator
from any other OpenAI-compatible server (:func:`find_simulator`)."""

Truth = Literal["pass", "fail", "A", "B", "tie"] | StrictInt

_GRADED_TAGS = ("output", "output_a", "output_b")  # input and reference do not decide a verdict
_PREFIX = 40  # known outputs are indexed by their first 40 characters for the containment search
_PADDED_RATIO = 1.2  # a perturbed match at least this much longer than the original is "padded"
_SHUTDOWN_S = 1.0  # how long stopping waits for in-flight requests before cancelling them


# --------------------------------------------------------------------------------------------
# Configuration


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


# --------------------------------------------------------------------------------------------
# Reading a prompt and finding the item


@dataclass(frozen=True, slots=True)
class _Scale:
    kind: Literal["binary", "ordinal", "pairwise"]
    labels: tuple[Any, ...]  # worst -> best for binary and ordinal; A, B[, tie] for pairwise
    failure_modes: tuple[str, ...]


_BINARY = ("fail", "pass")


def _scale_of(response_format: Any, pairwise_tags: bool) -> _Scale:
    props: Any = None
    if isinstance(response_format, dict):
        js = response_format.get("json_schema")
        if isinstance(js, dict) and isinstance(js.get("schema"), dict):
            props = js["schema"].get("properties")
    if not isinstance(props, dict):
        props = {}
    modes: tuple[str, ...] = ()
    fm = props.get("failure_modes")
    if isinstance(fm, dict) and isinstance(fm.get("items"), dict):
        enum = fm["items"].get("enum")
        if isinstance(enum, list):
            modes = tuple(m for m in enum if isinstance(m, str))
    verdict = props.get("verdict")
    if isinstance(verdict, dict):
        enum = verdict.get("enum")
        if isinstance(enum, list) and enum:
            if "A" in enum and "B" in enum:
                return _Scale("pairwise", ("A", "B", "tie") if "tie" in enum else ("A", "B"), ())
            if "pass" in enum and "fail" in enum:
                return _Scale("binary", _BINARY, modes)
            if all(isinstance(v, int) and not isinstance(v, bool) for v in enum):
                return _Scale("ordinal", tuple(range(min(enum), max(enum) + 1)), modes)
        lo, hi = verdict.get("minimum"), verdict.get("maximum")
        if verdict.get("type") == "integer" and isinstance(lo, int) and isinstance(hi, int) and hi > lo:
            return _Scale("ordinal", tuple(range(lo, hi + 1)), modes)
    if pairwise_tags:
        return _Scale("pairwise", ("A", "B", "tie"), ())
    return _Scale("binary", _BINARY, modes)


def _prompt_text(messages: list[Any]) -> str:
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            raise ValueError("each message must be an object with 'role' and 'content'")
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    parts.append(part["text"])
        elif content is not None:
            raise ValueError("a message's content must be a string or a list of parts")
    return "\n".join(parts)


def _last_tag(text: str, tag: str) -> str | None:
    """The stripped text inside the last ``<tag>…</tag>`` of ``text``, or None."""
    opening = f"<{tag}>"
    start = text.rfind(opening)
    if start < 0:
        return None
    start += len(opening)
    end = text.find(f"</{tag}>", start)
    if end < 0:
        return None
    return text[start:end].strip()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class _Found:
    """A known item matched to a prompt, already oriented the way the prompt shows it."""

    item_id: str
    truth: Any
    family: str | None
    family_a: str | None
    family_b: str | None
    kind: Literal["exact", "perturbed"]
    ratio: float  # graded length / original length (the larger side for a pair)

    @property
    def padded(self) -> bool:
        return self.kind == "perturbed" and self.ratio >= _PADDED_RATIO


_SWAP = {"A": "B", "B": "A", "tie": "tie"}


class _ContainIndex:
    """Known texts by their first 40 characters, to find those contained in a longer text."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[tuple[str, Any]]] = {}
        self._lengths: set[int] = set()

    def add(self, text: str, ref: Any) -> None:
        key = text[:_PREFIX]
        if key:
            self._by_key.setdefault(key, []).append((text, ref))
            self._lengths.add(len(key))

    def find(self, graded: str) -> dict[Any, int]:
        """ref -> length of its text, for every known text contained in ``graded``."""
        by_key, found = self._by_key, {}
        for n in self._lengths:
            for i in range(len(graded) - n + 1):
                entries = by_key.get(graded[i : i + n])
                if entries:
                    for text, ref in entries:
                        if ref not in found and graded.startswith(text, i):
                            found[ref] = len(text)
        return found


class _Index:
    """Immutable lookup structures over a list of items (rebuilt when items change)."""

    def __init__(self, items: Iterable[SimItem]) -> None:
        self.items: list[SimItem] = list(items)
        self._single: dict[bytes, SimItem] = {}
        self._pair: dict[bytes, tuple[SimItem, bool]] = {}
        self._single_contain = _ContainIndex()
        self._side_contain = _ContainIndex()
        for n, item in enumerate(self.items):
            if item.output is not None:
                text = item.output.strip()
                self._single.setdefault(_digest(text), item)
                self._single_contain.add(text, n)
            else:
                assert item.output_a is not None and item.output_b is not None  # validated
                a, b = item.output_a.strip(), item.output_b.strip()
                da, db = _digest(a), _digest(b)
                self._pair.setdefault(da + db, (item, False))
                self._pair.setdefault(db + da, (item, True))
                self._side_contain.add(a, (n, "a"))
                self._side_contain.add(b, (n, "b"))

    def single(self, output: str) -> _Found | None:
        item = self._single.get(_digest(output))
        if item is not None:
            return _Found(item.id, item.truth, item.family, None, None, "exact", 1.0)
        hits = self._single_contain.find(output)
        if not hits:
            return None
        n, length = max(hits.items(), key=lambda hit: (hit[1], -hit[0]))
        item = self.items[n]
        ratio = len(output) / max(length, 1)
        return _Found(item.id, item.truth, item.family, None, None, "perturbed", ratio)

    def pair(self, output_a: str, output_b: str) -> _Found | None:
        hit = self._pair.get(_digest(output_a) + _digest(output_b))
        if hit is not None:
            return _oriented(hit[0], hit[1], "exact", 1.0)
        hits_a = self._side_contain.find(output_a)
        if not hits_a:
            return None
        hits_b = self._side_contain.find(output_b)
        best: tuple[int, int, bool, float] | None = None  # (total length, -n, swapped, ratio)
        for (n, side), len_a in hits_a.items():
            len_b = hits_b.get((n, "b" if side == "a" else "a"))
            if len_b is None:
                continue
            ratio = max(len(output_a) / max(len_a, 1), len(output_b) / max(len_b, 1))
            candidate = (len_a + len_b, -n, side == "b", ratio)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        if best is None:
            return None
        return _oriented(self.items[-best[1]], best[2], "perturbed", best[3])


def _oriented(item: SimItem, swapped: bool, kind: Literal["exact", "perturbed"], ratio: float) -> _Found:
    if swapped:
        return _Found(item.id, _SWAP[str(item.truth)], None, item.family_b, item.family_a, kind, ratio)
    return _Found(item.id, item.truth, None, item.family_a, item.family_b, kind, ratio)


# --------------------------------------------------------------------------------------------
# Deciding the verdict


def _has_injection(text: str | None) -> bool:
    return text is not None and _INJECTION_RE.search(text) is not None


def _raise_one(scale: _Scale, verdict: Any) -> Any:
    labels = scale.labels
    return labels[min(labels.index(verdict) + 1, len(labels) - 1)]


def _wrong(scale: _Scale, truth: Any, u: float) -> Any:
    labels = scale.labels
    if scale.kind == "ordinal":
        i = labels.index(truth)
        if i == 0:
            return labels[min(1, len(labels) - 1)]
        if i == len(labels) - 1:
            return labels[i - 1]
        return labels[i - 1] if u < 0.5 else labels[i + 1]
    others = [label for label in labels if label != truth]
    return others[int(u * len(others))]


_REFUSED = object()


def _decide(
    profile: JudgeProfile,
    scale: _Scale,
    found: _Found | None,
    graded: dict[str, str | None],
    rng: random.Random,
    base_rng: random.Random | None = None,
) -> tuple[Any, list[str]]:
    """The verdict (or _REFUSED) and failure modes. Always draws the same number of randoms;
    ``base_rng`` (an item-stable judge) supplies the accuracy draws instead."""
    u_refuse, u_base, u_err, u_verbose, u_self, u_inject, u_position, u_mode = (
        rng.random() for _ in range(8)
    )
    if base_rng is not None:
        u_base, u_err = base_rng.random(), base_rng.random()
    if u_refuse < profile.refusal_rate:
        return _REFUSED, []
    labels = scale.labels
    pairwise = scale.kind == "pairwise"
    truth = found.truth if found is not None and found.truth in labels else None

    if truth is None:
        verdict = labels[int(u_base * len(labels))]
    else:
        p_right = profile.accuracy
        if scale.kind == "binary":
            if truth == "pass" and profile.tpr is not None:
                p_right = profile.tpr
            elif truth == "fail" and profile.tnr is not None:
                p_right = profile.tnr
        verdict = truth if u_base < p_right else _wrong(scale, truth, u_err)

    if found is not None and u_verbose < profile.verbosity_bias:
        if pairwise:
            len_a, len_b = len(graded["output_a"] or ""), len(graded["output_b"] or "")
            if len_a != len_b:
                verdict = "A" if len_a > len_b else "B"
        elif found.padded:
            verdict = _raise_one(scale, verdict)

    if found is not None and u_self < profile.self_preference:
        own = profile.self_families
        if pairwise:
            own_a, own_b = found.family_a in own, found.family_b in own
            if own_a != own_b:
                verdict = "A" if own_a else "B"
        elif found.family in own:
            verdict = _raise_one(scale, verdict)

    if u_inject < profile.injection_susceptibility:
        if pairwise:
            inj_a, inj_b = _has_injection(graded["output_a"]), _has_injection(graded["output_b"])
            if inj_a != inj_b:
                verdict = "A" if inj_a else "B"
        elif _has_injection(graded["output"]):
            verdict = labels[-1]

    if pairwise and u_position < profile.position_bias:
        verdict = "A"

    modes: list[str] = []
    if not pairwise and scale.failure_modes and labels.index(verdict) < len(labels) / 2:
        modes = [scale.failure_modes[int(u_mode * len(scale.failure_modes))]]
    return verdict, modes


def _reasoning(scale: _Scale, verdict: Any) -> str:
    if scale.kind == "pairwise":
        if verdict == "tie":
            return "Both outputs satisfy the criteria equally well."
        return f"Output {verdict} satisfies the criteria better than the other output."
    if scale.kind == "binary":
        if verdict == "pass":
            return "The output meets every criterion of the rubric."
        return "The output violates at least one criterion of the rubric."
    return f"Weighing the criteria against the level anchors, the output deserves a {verdict}."


def _verdict_rng(seed: int, model: str, text: str, req_seed: Any, temperature: Any) -> random.Random:
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        temperature = float(temperature)  # 0 and 0.0 are the same temperature
    head = f"{seed}\x00{model}\x00{req_seed!r}\x00{temperature!r}\x00".encode()
    digest = hashlib.sha256(head + text.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --------------------------------------------------------------------------------------------
# The server


def _error(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> web.Response:
    from aiohttp import web

    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _empty_stats() -> dict[str, Any]:
    return {
        "requests": 0,
        "by_model": {},
        "by_outcome": dict.fromkeys(OUTCOMES, 0),
        "by_match": {"exact": 0, "perturbed": 0, "unknown": 0},
    }


class _Core:
    """The state behind one server: profiles, item index, fault RNGs, counters."""

    def __init__(self, config: SimConfig) -> None:
        self.profiles: dict[str, JudgeProfile] = dict(config.profiles)
        self._index = _Index(config.items)
        self._lock = threading.Lock()
        self._stats = _empty_stats()
        self._counter = 0
        self._answers: deque[tuple[float, str, str, Any]] = deque(maxlen=ANSWER_LOG_MAX)
        self._fault_rng = {name: random.Random(f"{p.seed}\x00{name}") for name, p in self.profiles.items()}
        self._fault_edges: dict[str, list[tuple[float, str]]] = {}
        for name, profile in self.profiles.items():
            total, edges = 0.0, []
            for kind in FAULT_KINDS:
                rate = getattr(profile.faults, kind)
                if rate > 0:
                    total += rate
                    edges.append((total, kind))
            self._fault_edges[name] = edges

    # -- items and stats (called from any thread)

    def set_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> None:
        index = _Index(SimItem.model_validate(i) for i in items)
        with self._lock:
            self._index = index

    def add_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> int:
        """Add items; one equal to a known item (same id, outputs, truth, families) is skipped, so
        teaching the same items twice changes nothing. Returns how many were new."""
        new = [SimItem.model_validate(i) for i in items]
        with self._lock:
            known = set(self._index.items)
            fresh = [item for item in dict.fromkeys(new) if item not in known]
            if fresh:
                self._index = _Index([*self._index.items, *fresh])
            return len(fresh)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            s = self._stats
            return {
                "requests": s["requests"],
                "by_model": dict(s["by_model"]),
                "by_outcome": dict(s["by_outcome"]),
                "by_match": dict(s["by_match"]),
                "items": len(self._index.items),
            }

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = _empty_stats()

    def answers(self) -> list[dict[str, Any]]:
        with self._lock:
            log = list(self._answers)
        return [{"t": t, "prompt_hash": h, "model": m, "seed": seed} for t, h, m, seed in log]

    def _log_answer(self, messages: list[Any], model: str, seed: Any) -> tuple[float, str, str, Any]:
        """Log an answer about to be handed to the transport (before, so that a client never has
        an answer the log lacks); the entry, for :meth:`_unlog_answer` if the write fails."""
        from judgecal.prompt import prompt_hash  # noqa: PLC0415 - jinja2; imported by app() already

        digest = prompt_hash(messages)
        entry = (time.time(), digest, model, seed)
        with self._lock:
            self._answers.append(entry)
        return entry

    def _unlog_answer(self, entry: tuple[float, str, str, Any]) -> None:
        with self._lock, contextlib.suppress(ValueError):  # ValueError: already evicted
            self._answers.remove(entry)

    # -- the fault draw (shared by the HTTP handler and SimCompleter: the same sequence)

    def draw_fault(self, name: str) -> str | None:
        """The fault of the next request to profile ``name`` (one of FAULT_KINDS), or None."""
        u = self._fault_rng[name].random()
        for edge, kind in self._fault_edges[name]:
            if u < edge:
                return kind
        return None

    def draw_delay(self, name: str, profile: JudgeProfile) -> float:
        """Seconds to wait before answering (``latency_ms`` with its lognormal jitter); called
        after the fault draw of every request that gets that far, so the draws stay in step."""
        if profile.latency_ms <= 0:
            return 0.0
        delay = profile.latency_ms / 1000.0
        if profile.latency_jitter > 0:
            delay *= math.exp(self._fault_rng[name].gauss(0.0, profile.latency_jitter))
        return delay

    def _record(self, model: str | None, outcome: str, match: str | None = None) -> None:
        with self._lock:
            s = self._stats
            s["requests"] += 1
            if model is not None:
                s["by_model"][model] = s["by_model"].get(model, 0) + 1
            s["by_outcome"][outcome] += 1
            if match is not None:
                s["by_match"][match] += 1

    # -- the verdict (shared by the HTTP handler and SimCompleter)

    def answer(
        self,
        name: str,
        profile: JudgeProfile,
        text: str,
        response_format: Any,
        seed: Any,
        temperature: Any,
    ) -> tuple[str, str, str]:
        """The answer to a prompt (its text, all messages joined), before any transport fault:
        ``(content, outcome, match)``; outcome ``ok`` or ``refusal``, match ``exact``,
        ``perturbed`` or ``unknown``. Deterministic in (profile seed, name, text, seed, temperature)."""
        graded = {tag: _last_tag(text, tag) for tag in _GRADED_TAGS}
        pair_tags = graded["output_a"] is not None and graded["output_b"] is not None
        scale = _scale_of(response_format, pair_tags)
        index = self._index
        found: _Found | None = None
        if scale.kind == "pairwise":
            if pair_tags:
                found = index.pair(graded["output_a"], graded["output_b"])  # type: ignore[arg-type]
        elif graded["output"] is not None:
            found = index.single(graded["output"])
        rng = _verdict_rng(profile.seed, name, text, seed, temperature)
        base_rng = None
        if profile.item_stable and found is not None:
            greedy = not temperature  # 0, 0.0 or absent: deterministic decoding
            key = f"item\x00{found.item_id}"
            base_rng = _verdict_rng(profile.seed, name, key, None if greedy else seed, temperature)
        verdict, modes = _decide(profile, scale, found, graded, rng, base_rng)
        if verdict is _REFUSED:
            content, outcome = REFUSAL_TEXT, "refusal"
        else:
            answer: dict[str, Any] = {"reasoning": _reasoning(scale, verdict), "verdict": verdict}
            if scale.kind != "pairwise":
                answer["failure_modes"] = modes
            content, outcome = json.dumps(answer), "ok"
        return content, outcome, found.kind if found is not None else "unknown"

    # -- HTTP handlers (run on the server's event loop)

    def app(self) -> web.Application:
        from aiohttp import web

        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/health", self.health)
        app.router.add_get("/stats", self.stats_endpoint)
        for root in ("/v1/judgecal", "/judgecal"):  # api_base with or without /v1
            app.router.add_get(f"{root}/health", self.identify)
            app.router.add_get(f"{root}/answers", self.answers_endpoint)
            app.router.add_post(f"{root}/items", self.items_endpoint)
        import judgecal.prompt  # noqa: F401, PLC0415 - the answer log's prompt_hash, before any request

        return app

    async def identify(self, request: web.Request) -> web.Response:
        """``GET /v1/judgecal/health``: says that this is judgecal's simulator (judgecal then
        teaches it the truth of derived items, as it does the in-process one)."""
        from aiohttp import web

        return web.json_response(
            {
                "service": SIMULATOR_SERVICE,
                "status": "ok",
                "models": sorted(self.profiles),
                "items": len(self._index.items),
            }
        )

    async def answers_endpoint(self, request: web.Request) -> web.Response:
        """``GET /v1/judgecal/answers``: ``{"answers": [{"t", "prompt_hash", "model", "seed"}, ...]}``,
        the chat completions sent, oldest first (:meth:`SimulatedJudge.answers`)."""
        from aiohttp import web

        return web.json_response({"answers": self.answers()})

    async def items_endpoint(self, request: web.Request) -> web.Response:
        """``POST /v1/judgecal/items`` with ``{"items": [SimItem, ...]}``: learn these items' truth
        (items equal to known ones are skipped). 400 with the first problem when invalid."""
        from aiohttp import web

        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "The request body is not valid JSON.", "invalid_request_error", None)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return _error(400, "'items' must be an array of items.", "invalid_request_error", None)
        try:
            added = self.add_items(items)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "item"
            return _error(400, f"invalid item: {where}: {first['msg']}", "invalid_request_error", None)
        return web.json_response({"added": added, "items": len(self._index.items)})

    async def models(self, request: web.Request) -> web.Response:
        from aiohttp import web

        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "judgecal-simulator"}
            for name in self.profiles
        ]
        return web.json_response({"object": "list", "data": data})

    async def health(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(
            {"status": "ok", "models": len(self.profiles), "items": len(self._index.items)}
        )

    async def stats_endpoint(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self.stats())

    def _bad_request(self, model: str | None, message: str) -> web.Response:
        self._record(model, "bad_request")
        return _error(400, message, "invalid_request_error", None)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        try:
            req = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return self._bad_request(None, "The request body is not valid JSON.")
        if not isinstance(req, dict):
            return self._bad_request(None, "The request body must be a JSON object.")
        model = req.get("model")
        if not isinstance(model, str) or not model:
            return self._bad_request(None, "'model' is required and must be a string.")
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._bad_request(model, "'messages' must be a non-empty array.")
        if req.get("stream"):
            return self._bad_request(model, "stream=true is not supported by the simulated judge.")
        name = model.removeprefix("openai/")
        profile = self.profiles.get(name)
        if profile is None:
            self._record(model, "not_found")
            return _error(
                404,
                f"The model {model!r} does not exist. Available models: {', '.join(sorted(self.profiles))}.",
                "invalid_request_error",
                "model_not_found",
            )
        try:
            text = _prompt_text(messages)
        except ValueError as exc:
            return self._bad_request(model, str(exc))

        fault = self.draw_fault(name)
        faults = profile.faults
        if fault == "rate_limit":
            self._record(name, "rate_limit")
            return _error(
                429,
                "Rate limit reached for requests (simulated).",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers={"Retry-After": f"{faults.retry_after_s:g}"},
            )
        if fault == "server_error":
            self._record(name, "server_error")
            return _error(
                500,
                "The server had an error processing your request (simulated).",
                "server_error",
                None,
            )
        if fault == "drop":
            self._record(name, "drop")
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # nothing can be written any more
        if fault == "timeout":
            self._record(name, "timeout")  # counted now: the client usually leaves first
            await asyncio.sleep(faults.hang_s)
        delay = self.draw_delay(name, profile)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault == "html":
            self._record(name, "html")
            return web.Response(text=HTML_ERROR_PAGE, content_type="text/html")

        content, outcome, match = self.answer(
            name, profile, text, req.get("response_format"), req.get("seed"), req.get("temperature")
        )
        content, finish, outcome = _damaged(fault, content, outcome)
        if fault != "timeout":
            self._record(name, outcome, match)

        with self._lock:
            self._counter += 1
            number = self._counter
        prompt_tokens = max(1, len(text) // 4)
        completion_tokens = _completion_tokens(content)
        body = {
            "id": f"chatcmpl-sim{number:010d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_judgecal_sim",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        response = web.Response(
            text=json.dumps(body),
            content_type="application/json",
            headers={"X-Judgecal-Sim-Match": match},
        )
        entry = self._log_answer(messages, name, req.get("seed"))
        try:
            await response.prepare(request)
            await response.write_eof()  # handed to the transport
        except ConnectionError:  # the client left: nothing was delivered (aiohttp ignores it too)
            self._unlog_answer(entry)
            return response
        except asyncio.CancelledError:  # the client left while it was being written
            self._unlog_answer(entry)
            raise
        return response


def _damaged(fault: str | None, content: str, outcome: str) -> tuple[str, str, str]:
    """``(content, finish_reason, outcome)`` of an answer after an answer-damaging ``fault``."""
    if fault == "malformed":
        return MALFORMED_TEXT, "stop", "malformed"
    if fault == "truncated":
        return content[: len(content) // 2], "length", "truncated"
    if fault == "empty":
        return "", "stop", "empty"
    return content, "stop", outcome


def _completion_tokens(content: str) -> int:
    return max(1, len(content) // 4) if content else 0


async def _start(core: _Core, host: str, port: int) -> tuple[web.AppRunner, int]:
    from aiohttp import web

    runner = web.AppRunner(
        core.app(), access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_S
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, bound


async def serve(
    config: SimConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_ready: Callable[[int], None] | None = None,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Serve ``config`` on the running event loop until ``stop_event`` is set or the task is
    cancelled; ``on_ready(port)`` is called once bound (port 0 picks a free port)."""
    runner, bound = await _start(_Core(config), host, port)
    try:
        if on_ready is not None:
            on_ready(bound)
        await (stop_event or asyncio.Event()).wait()
    finally:
        await runner.cleanup()


def run_forever(config: SimConfig, host: str, port: int, on_ready: Callable[[int], None]) -> None:
    """Serve in the foreground until SIGINT or SIGTERM (for ``judgecal simulate serve``)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await serve(config, host, port, on_ready=on_ready, stop_event=stop)

    asyncio.run(main())


class SimulatedJudge:
    """The simulator on a background thread with its own event loop (for tests and benchmarks).

    >>> config = SimConfig(profiles={"judge": JudgeProfile(accuracy=1.0)})
    >>> with SimulatedJudge(config) as sim:
    ...     sim.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, config: SimConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._core = _Core(config)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> SimulatedJudge:
        """Bind and serve on a daemon thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("the simulated judge is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._runner, self._port = loop.run_until_complete(
                    _start(self._core, self._host, self._requested_port)
                )
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="judgecal-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving (in-flight requests get up to 1 s) and join the thread. Idempotent."""
        thread, loop, runner = self._thread, self._loop, self._runner
        if thread is None or loop is None:
            return
        if runner is not None:
            future = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=_SHUTDOWN_S + 10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = self._runner = None
        self._port = None

    def __enter__(self) -> SimulatedJudge:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._port is None:
            raise RuntimeError("the simulated judge is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``: the api_base / base_url to give a client."""
        host = "127.0.0.1" if self._host in ("0.0.0.0", "", "::") else self._host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        """Counters: ``requests``, ``by_model``, ``by_outcome`` (every OUTCOMES key),
        ``by_match`` (exact / perturbed / unknown item), ``items``. A snapshot copy."""
        return self._core.stats()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._core.reset_stats()

    def answers(self) -> list[dict[str, Any]]:
        """The log of the chat completions sent with HTTP 200 (outcomes ``ok``, ``refusal``,
        ``malformed``, ``truncated``, ``empty``, and the answer after a ``timeout`` hang when the
        client waited for it; not ``html``, which is no completion), oldest first, the latest
        :data:`ANSWER_LOG_MAX` kept: ``t`` (``time.time()`` as the response is handed to the
        transport: logged just before, so a client never holds an answer the log lacks, and
        withdrawn if the write fails), ``prompt_hash`` (:func:`judgecal.prompt.prompt_hash` of the request's
        messages, as judgecal computes it for the prompt it sent), ``model`` (the profile name: the
        request's model without ``openai/``) and ``seed`` (the request's, or None). A copy;
        ``reset_stats`` does not clear it."""
        return self._core.answers()

    def set_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> None:
        """Replace the known items (thread-safe; takes effect for the next request)."""
        self._core.set_items(items)

    def add_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> int:
        """Add known items to those already known (thread-safe); items equal to known ones are
        skipped. Returns how many were new."""
        return self._core.add_items(items)


_LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")


def _is_loopback(host: str | None) -> bool:
    import ipaddress  # noqa: PLC0415

    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteSimulator:
    """A judgecal simulator served by another process (``judgecal simulate serve``), reached over
    HTTP: the same ``add_items`` / ``stats`` as :class:`SimulatedJudge`, so judgecal teaches it
    the truth of derived items exactly as it teaches the one it starts itself."""

    def __init__(self, api_base: str, *, timeout: float = 10.0) -> None:
        self.api_base: str = api_base.rstrip("/")
        """The base URL requests go to (``http://127.0.0.1:PORT/v1``)."""
        self.timeout = timeout

    def _call(self, path: str, body: Any = None) -> Any:
        import urllib.request  # noqa: PLC0415

        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(f"{self.api_base}/judgecal/{path}", data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        """``GET /v1/judgecal/health``: ``service``, ``models``, ``items``."""
        out: dict[str, Any] = self._call("health")
        return out

    def add_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> int:
        """``POST /v1/judgecal/items``: teach the items' truth; returns how many were new."""
        payload = [SimItem.model_validate(i).model_dump(mode="json") for i in items]
        if not payload:
            return 0
        return int(self._call("items", {"items": payload})["added"])

    def answers(self) -> list[dict[str, Any]]:
        """``GET /v1/judgecal/answers``: the server's answer log (:meth:`SimulatedJudge.answers`)."""
        out: list[dict[str, Any]] = self._call("answers")["answers"]
        return out

    def stats(self) -> dict[str, Any]:
        """The server's ``/stats`` counters."""
        import urllib.request  # noqa: PLC0415

        root = self.api_base.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/stats", timeout=self.timeout) as response:  # noqa: S310
            out: dict[str, Any] = json.loads(response.read())
        return out


def find_simulator(api_base: str | None, *, timeout: float = 2.0) -> RemoteSimulator | None:
    """The judgecal simulator at ``api_base``, or None. Only a loopback address is asked (a remote
    provider is never sent a probe request), with one ``GET /v1/judgecal/health`` whose answer must
    name :data:`SIMULATOR_SERVICE`; any error (404 from vLLM or llama.cpp, refused, timeout) is None.

    >>> find_simulator("https://api.openai.com/v1") is None  # not loopback: nothing is sent
    True
    """
    from urllib.parse import urlsplit  # noqa: PLC0415

    if not api_base:
        return None
    try:
        host = urlsplit(api_base).hostname
    except ValueError:
        return None
    if not _is_loopback(host):
        return None
    remote = RemoteSimulator(api_base, timeout=timeout)
    try:
        answer = remote.health()
    except (OSError, ValueError):  # URLError and HTTPError are OSErrors; bad JSON a ValueError
        return None
    if not isinstance(answer, dict) or answer.get("service") != SIMULATOR_SERVICE:
        return None
    remote.timeout = 30.0
    return remote


class SimCompleter:
    """The simulated judge in-process: a judgecal ``Completer`` (see :mod:`judgecal.llm`) that
    answers with exactly the server's verdict logic (:meth:`_Core.answer`: same prompt, seed and
    temperature, same verdict as over HTTP), without HTTP or latency — for statistical tests over
    many seeds.

    The profile's faults (none by default) are drawn as the server draws them (the same sequence
    for the same profile seed and name) and end as the server's do through
    :class:`judgecal.llm.LiteLLMCompleter`: ``malformed``, ``truncated`` and ``empty`` give the
    same damaged :class:`~judgecal.llm.Completion`; ``rate_limit``, ``server_error``, ``drop`` and
    ``html`` raise a :class:`~judgecal.llm.CallFailed` of the same kind, status and
    ``retry_after`` (``rate_limit`` 429, ``server`` 500, ``connection`` with litellm's 500,
    ``bad_body`` 200 with the same message); ``timeout`` raises a ``timeout`` (litellm's 408) when
    ``hang_s`` plus the latency is at least the call's ``timeout``, else answers at once. Nothing
    is waited for, and no answer log is kept (:meth:`SimulatedJudge.answers` is the server's).

    ``profile`` is a :class:`JudgeProfile` or a preset name; ``name`` is the profile's model name
    (it seeds the verdict draw, as the server's model name does: a server profile of the same
    name answers identically); ``model`` is the judge's model string reported to judgecal
    (``sim/<name>`` by default). ``stats()`` counts requests as the server does.

    >>> import asyncio
    >>> sim = SimCompleter(JudgeProfile(accuracy=1.0), [SimItem(id="q", output="Hello", truth="fail")])
    >>> messages = [{"role": "user", "content": "<output>Hello</output>"}]
    >>> done = asyncio.run(sim.complete(messages, schema=None, temperature=0.0, max_tokens=64,
    ...                                 seed=None, timeout=5.0))
    >>> json.loads(done.text)["verdict"], sim.stats()["by_match"]["exact"]
    ('fail', 1)
    """

    def __init__(
        self,
        profile: JudgeProfile | str = "accurate",
        items: Iterable[SimItem | Mapping[str, Any]] = (),
        *,
        name: str | None = None,
        model: str | None = None,
    ) -> None:
        if isinstance(profile, str):
            name = name or profile
            profile = _preset(profile)
        self.name: str = name or "judge"
        """The profile's model name (part of the verdict draw's seed)."""
        self.profile: JudgeProfile = profile
        self.model: str = model or f"sim/{self.name}"
        """The judge's model string (the Completer protocol's ``model``)."""
        self._core = _Core(
            SimConfig(profiles={self.name: profile}, items=[SimItem.model_validate(i) for i in items])
        )

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
        """Answer like the server would to litellm's request (``response_format`` built from
        ``schema`` the way :class:`judgecal.llm.LiteLLMCompleter` builds it)."""
        from judgecal.llm import CallFailed  # noqa: PLC0415 - llm imports this module lazily
        from judgecal.llm import Completion as _Completion  # noqa: PLC0415
        from judgecal.verdict import response_format as _response_format  # noqa: PLC0415

        try:
            text = _prompt_text(messages)
        except ValueError as exc:
            self._core._record(self.name, "bad_request")
            raise CallFailed("bad_request", str(exc), status=400) from None
        core, name, faults = self._core, self.name, self.profile.faults
        fault = core.draw_fault(name)
        if fault == "rate_limit":
            core._record(name, "rate_limit")
            raise CallFailed(
                "rate_limit",
                "Rate limit reached for requests (simulated).",
                status=429,
                retry_after=faults.retry_after_s,
            )
        if fault == "server_error":
            core._record(name, "server_error")
            raise CallFailed(
                "server", "The server had an error processing your request (simulated).", status=500
            )
        if fault == "drop":
            core._record(name, "drop")
            # litellm reports a dropped connection with a status 500 of its own making
            raise CallFailed(
                "connection", "Connection error (simulated: closed without a response).", status=500
            )
        hang = 0.0
        if fault == "timeout":
            core._record(name, "timeout")
            hang = faults.hang_s
            if hang >= timeout:  # the server is cancelled in its hang, before its delay draw
                raise CallFailed("timeout", f"no answer within {timeout:g} s (simulated hang)", status=408)
        delay = core.draw_delay(name, self.profile)  # not waited in-process; drawn to stay in step
        if fault == "timeout" and hang + delay >= timeout:
            raise CallFailed("timeout", f"no answer within {timeout:g} s (simulated hang)", status=408)
        if fault == "html":
            from judgecal.llm import _bad_body_message  # noqa: PLC0415

            core._record(name, "html")
            raise CallFailed("bad_body", _bad_body_message(HTML_ERROR_PAGE), status=200)
        response_format = None if schema is None else _response_format(schema)
        content, outcome, match = core.answer(name, self.profile, text, response_format, seed, temperature)
        content, finish, outcome = _damaged(fault, content, outcome)
        if fault != "timeout":
            core._record(name, outcome, match)
        return _Completion(
            text=content,
            finish_reason=finish,
            response_model=name,
            prompt_tokens=max(1, len(text) // 4),
            completion_tokens=_completion_tokens(content),
            cost=0.0,
            latency_ms=0.0,
        )

    def stats(self) -> dict[str, Any]:
        """Counters as :meth:`SimulatedJudge.stats` (``requests``, ``by_outcome``, ``by_match``...)."""
        return self._core.stats()

    def reset_stats(self) -> None:
        """Zero the counters."""
        self._core.reset_stats()

    def set_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> None:
        """Replace the known items."""
        self._core.set_items(items)

    def add_items(self, items: Iterable[SimItem | Mapping[str, Any]]) -> int:
        """Add known items to those already known (equal ones are skipped); how many were new."""
        return self._core.add_items(items)
