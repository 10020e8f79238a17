"""A judge's data shapes: its configuration (:class:`JudgeConfig`, :class:`Sampling`), the
:class:`Limits` of a run, and what a grading run returns (:class:`RunResult`, one
:class:`ItemVerdict` per item).

Plain models with no I/O, below everything that grades: the units of work (:mod:`judgecal.units`),
the executors (:mod:`judgecal.execute`), the budget, the preflight and the plans read them, and
:mod:`judgecal.judge` (which re-exports them) produces them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from judgecal._model import Strict, sha256_json
from judgecal.verdict import Verdict

__all__ = ["ItemVerdict", "JudgeConfig", "Limits", "RunResult", "Sampling"]


class Sampling(Strict):
    """Sampling settings sent with every call."""

    temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature."""
    max_tokens: int = Field(default=512, ge=1, le=100_000)
    """Cap on the answer's length."""
    seed: int | None = None
    """Base seed; sample ``i`` of an item is sent ``seed + i`` (or ``i`` when samples > 1)."""


class JudgeConfig(Strict):
    """A judge: a model string, sampling settings, samples per item and how to aggregate them."""

    model: str = Field(min_length=1)
    """A litellm model string (``openai/gpt-4o-mini``, ``ollama/llama3.1``) or ``sim/<preset>``."""
    sampling: Sampling = Field(default_factory=Sampling)
    """Sampling settings."""
    samples: int = Field(default=1, ge=1, le=100)
    """Samples per item (and per presentation order)."""
    aggregation: Literal["majority", "median", "mean"] = "majority"
    """How an item's samples become one verdict (see :func:`aggregate`)."""
    orders: Literal["ab", "both"] = "ab"
    """Pairwise rubrics: judge as given (``ab``) or in both presentation orders (``both``)."""
    structured: Literal["auto", "json_schema", "none"] = "auto"
    """Whether to send the verdict JSON schema as ``response_format``."""
    api_key_env: str | None = None
    """The *name* of the environment variable holding the provider's API key (never the key);
    None: litellm's own variable for the provider (``OPENAI_API_KEY``, ...). Not part of the
    cache key nor of the judge's identity: the same model with another key is the same judge."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        from judgecal.settings import check_env_name  # noqa: PLC0415

        return check_env_name(value)

    def settings(self) -> dict[str, Any]:
        """What, besides the prompt, changes the answer: the settings part of the cache key."""
        return {"sampling": self.sampling.model_dump(), "structured": self.structured}

    @property
    def settings_hash(self) -> str:
        return sha256_json(self.settings())

    def api_key(self) -> str | None:
        """The key in :attr:`api_key_env` (None when it names no variable); a
        :class:`~judgecal.errors.ConfigError` when the variable is unset or empty."""
        if self.api_key_env is None:
            return None
        from judgecal.settings import api_key_from_env  # noqa: PLC0415

        return api_key_from_env(self.api_key_env, source="the judge's api_key_env")


class Limits(Strict):
    """How hard to push the provider, and when to stop."""

    concurrency: int = Field(default=8, ge=1, le=1024)
    """Calls in flight at once."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds before one call is abandoned (and retried)."""
    max_retries: int = Field(default=6, ge=0, le=50)
    """Retries of one call after a 429, 5xx, timeout or dropped connection."""
    backoff_base: float = Field(default=0.5, ge=0)
    """First backoff in seconds; doubles each retry, with full jitter."""
    backoff_max: float = Field(default=30.0, ge=0)
    """Longest backoff in seconds when the provider sends no Retry-After."""
    retry_after_max: float = Field(default=60.0, ge=0)
    """Longest Retry-After honoured, in seconds. A provider asking for a longer wait is not
    waited for: the call fails with the wait it asked for and the run stops (``stopped``)."""
    max_calls: int | None = Field(default=None, ge=0)
    """Stop making provider requests (attempts, retries included) after this many."""
    max_cost: float | None = Field(default=None, ge=0)
    """Stop making provider requests once this much USD has been spent in the run."""
    deadline: float | None = Field(default=None, gt=0)
    """Seconds the whole run may take, waits included (None: no limit). When it passes, calls in
    flight are abandoned and the units without an answer are ``skipped`` (the run is
    ``stopped``, "deadline reached")."""
    deadline_at: float | None = Field(default=None, gt=0)
    """The same as a moment (seconds since the epoch, :func:`time.time`); the earlier of the two
    applies. A command of several runs (validate, compare, probe) sets it once, so every stage
    shares one deadline."""

    def ends_at(self, started: float) -> float | None:
        """When a run started at ``started`` (:func:`time.time`) must end, or None."""
        ends = [
            t for t in (self.deadline_at, None if self.deadline is None else started + self.deadline) if t
        ]
        return min(ends) if ends else None


class ItemVerdict(BaseModel):
    """An item's verdict after aggregating its samples and presentation orders."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    """The item's id."""
    status: Literal["ok", "invalid", "error", "skipped"]
    """``ok`` when at least one unit gave a verdict; else the worst outcome of its units."""
    label: str | int | None = None
    """The aggregated verdict."""
    passed: bool | None = None
    """Whether the verdict counts as a pass (binary and ordinal rubrics)."""
    score_mean: float | None = None
    """Ordinal: the mean of the sampled scores."""
    votes: dict[str, int] = Field(default_factory=dict)
    """How many units gave each label."""
    n_units: int = 0
    """Units (orders x samples) of the item."""
    consistent: bool | None = None
    """Whether every valid unit gave the same label (None when fewer than two)."""
    human: str | int | None = None
    """The human majority label, when the item has labels."""


class RunResult(BaseModel):
    """What a grading run did."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    """The run's id in the store."""
    status: Literal["completed", "stopped", "interrupted", "failed"]
    """``stopped``: a cap on calls or cost ended it early."""
    model: str
    """The judge's model string."""
    rubric: str
    """The rubric's name."""
    n_items: int
    """Items graded."""
    n_units: int
    """Units of work (items x orders x samples)."""
    n_ok: int
    """Units with a verdict."""
    n_invalid: int
    """Units whose answer was unusable (kept, never scored)."""
    n_error: int
    """Units with no answer after every retry."""
    n_skipped: int
    """Units not attempted because a cap was reached."""
    n_cached: int
    """Units answered from the cache (no provider call)."""
    n_calls: int
    """Provider requests made, retries included."""
    cost: float | None
    """USD spent on new calls (None when a model's price is unknown)."""
    latency_ms: dict[str, float | None]
    """p50/p95/p99 of new calls' latency."""
    wall_s: float
    """Wall time of the run."""
    verdicts: list[Verdict] = Field(repr=False)
    """Every unit's verdict."""
    items: list[ItemVerdict] = Field(repr=False)
    """Every item's aggregated verdict."""

    @property
    def agreement(self) -> tuple[int, int]:
        """(items whose verdict equals the human majority, items with both) — a raw figure;
        ``judgecal calibrate`` gives the chance-corrected ones with intervals."""
        pairs = [iv for iv in self.items if iv.status == "ok" and iv.human is not None]
        return sum(iv.label == iv.human for iv in pairs), len(pairs)
