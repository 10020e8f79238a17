"""One budget of provider requests and USD shared by every stage of a run.

``Limits.max_calls`` and ``Limits.max_cost`` bound one grading run. A validation is many runs —
the test split's grading, then every probe's batches of derived items — and ``--max-cost 5``
means five dollars for all of them, not five per batch. :class:`Budget` is that ledger: each
stage is given what is left (:meth:`Budget.limits`), and what it spent is charged afterwards
(:meth:`Budget.charge`). Once the budget is spent the remaining stages get a cap of zero, so
their units are recorded as ``skipped`` without a call, and :attr:`Budget.stopped` says which
stages were cut short — a validation cut short is never approved (``docs/approval.md``).

An unknown price cannot be held to a cost cap: with ``max_cost`` set, a run whose price is not
known before the first call is refused (:func:`require_known_price`), and a stage whose calls
came back without a cost stops every later stage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from judgecal.errors import ConfigError

if TYPE_CHECKING:
    from judgecal.judge_types import Limits, RunResult

__all__ = ["Budget", "PreflightOutcome", "require_known_price"]


class PreflightOutcome(Protocol):
    """What :func:`require_known_price` reads of a preflight: a
    :class:`judgecal.preflight.PreflightResult` (the preflight, a layer up, calls it)."""

    @property
    def status(self) -> str:
        """``ok`` when the preflight call was made and answered."""
        ...

    @property
    def cost_reported(self) -> bool:
        """Whether the answering call reported its cost."""
        ...


class Budget:
    """What a run may still spend: provider requests (retries included) and USD."""

    def __init__(self, *, max_calls: int | None = None, max_cost: float | None = None):
        self.max_calls = max_calls
        """Requests allowed across every stage (None: no cap)."""
        self.max_cost = max_cost
        """USD allowed across every stage (None: no cap)."""
        self.calls = 0
        """Requests made so far."""
        self.cost = 0.0
        """USD spent so far (known costs only; see :attr:`cost_known`)."""
        self.cost_known = True
        """False once a call came back without a cost."""
        self.stopped: list[str] = []
        """The stages a cap cut short, one line each (``"probe:position: 12 of 40 units skipped"``)."""

    @classmethod
    def of(cls, limits: Limits | None) -> Budget:
        """The budget ``limits`` sets (its ``max_calls`` and ``max_cost``; none when it is None)."""
        if limits is None:
            return cls()
        return cls(max_calls=limits.max_calls, max_cost=limits.max_cost)

    @property
    def capped(self) -> bool:
        """Whether there is any cap to enforce."""
        return self.max_calls is not None or self.max_cost is not None

    @property
    def remaining_calls(self) -> int | None:
        """Requests left (None: no cap); 0 once the cost cap is spent or a cost is unknown."""
        if self.max_cost is not None and (not self.cost_known or self.cost >= self.max_cost):
            return 0
        if self.max_calls is None:
            return None
        return max(0, self.max_calls - self.calls)

    @property
    def remaining_cost(self) -> float | None:
        """USD left (None: no cap)."""
        if self.max_cost is None:
            return None
        return max(0.0, self.max_cost - self.cost)

    @property
    def exhausted(self) -> bool:
        """True when no further request may be made."""
        return self.remaining_calls == 0

    def limits(self, limits: Limits | None) -> Limits | None:
        """``limits`` with its caps replaced by what is left (unchanged when nothing is capped)."""
        if not self.capped:
            return limits
        from judgecal.judge_types import Limits  # noqa: PLC0415

        base = limits or Limits()
        return base.model_copy(update={"max_calls": self.remaining_calls, "max_cost": self.remaining_cost})

    def charge(self, stage: str, run: RunResult) -> None:
        """Count what one stage's run spent; remember it when a cap stopped it."""
        self.calls += run.n_calls
        if run.cost is None:
            self.cost_known = False
        else:
            self.cost += run.cost
        if run.status == "stopped" or (self.capped and run.n_skipped):
            self.stopped.append(f"{stage}: {run.n_skipped} of {run.n_units} units skipped")

    def reason(self) -> str:
        """Why the budget stopped the run, with the figures (for a decision's reasons)."""
        parts = []
        if self.max_calls is not None and self.calls >= self.max_calls:
            parts.append(f"{self.calls} of --max-calls {self.max_calls} requests made")
        if self.max_cost is not None and not self.cost_known:
            parts.append("a call's cost was unknown, so --max-cost could not be enforced")
        elif self.max_cost is not None and self.cost >= self.max_cost:
            parts.append(f"${self.cost:.4f} of --max-cost ${self.max_cost:g} spent")
        spent = "; ".join(parts) or f"{self.calls} requests made"
        cut = "; ".join(self.stopped) if self.stopped else "no stage"
        return f"the budget ran out ({spent}): {cut}"


def require_known_price(
    model: str, max_cost: float | None, preflight: PreflightOutcome | None = None
) -> None:
    """Refuse a cost cap that cannot be enforced, before any call.

    With a ``preflight`` that made its call, the price is known when that call reported a cost;
    otherwise it is looked up in litellm's price map (:func:`judgecal.pricing.price_of`: simulated
    and local models cost nothing). Raises :class:`~judgecal.errors.ConfigError` when
    ``max_cost`` is set and the price is unknown.
    """
    if max_cost is None:
        return
    if preflight is not None and preflight.status == "ok":
        if preflight.cost_reported:
            return
        why = "the provider reported no cost for the preflight call"
    else:
        from judgecal.pricing import price_of  # noqa: PLC0415

        if price_of(model).known:
            return
        why = "litellm's price map has no price for it"
    raise ConfigError(
        f"--max-cost {max_cost:g} cannot be enforced for {model}: {why}. Drop --max-cost and cap the "
        "requests with --max-calls instead, or register the model's price (litellm.register_model)",
        field="max_cost",
    )
