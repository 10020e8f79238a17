"""A model's price per token, from litellm's price map (no network: the bundled map).

``sim/`` and ``local/`` models are free; a model not in the map has an **unknown price**. The
plans (:mod:`judgecal.plan`) estimate costs with it, and a cost cap whose price cannot be known
is refused before any call (:func:`judgecal.budget.require_known_price`).
"""

from __future__ import annotations

from typing import Literal

from judgecal._model import Strict

__all__ = ["Price", "price_of"]


class Price(Strict):
    """A model's price per token, from litellm's price map."""

    model: str
    """The model string."""
    known: bool
    """Whether the price is known (free models included)."""
    input_per_token: float | None = None
    """USD per prompt token (None: unknown)."""
    output_per_token: float | None = None
    """USD per answer token (None: unknown)."""
    source: Literal["price map", "free (simulated)", "free (local)", "unknown price"]
    """Where the price comes from."""

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for these tokens (None when the price is unknown)."""
        if self.input_per_token is None or self.output_per_token is None:
            return None
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


def price_of(model: str) -> Price:
    """The price of ``model``: ``sim/`` and ``local/`` models are free; any other is looked up in
    litellm's price map (imported through :mod:`judgecal.llm`; no network: the bundled map)."""
    if model.startswith("sim/"):
        return Price(
            model=model, known=True, input_per_token=0.0, output_per_token=0.0, source="free (simulated)"
        )
    if model.startswith("local/"):
        return Price(
            model=model, known=True, input_per_token=0.0, output_per_token=0.0, source="free (local)"
        )
    from judgecal.llm import _import_litellm  # noqa: PLC0415 - the one module that imports litellm

    litellm = _import_litellm()
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=1_000_000, completion_tokens=1_000_000
        )
    except Exception:  # noqa: BLE001 - litellm raises several kinds for a model it does not map
        return Price(model=model, known=False, source="unknown price")
    return Price(
        model=model,
        known=True,
        input_per_token=float(prompt) / 1_000_000,
        output_per_token=float(completion) / 1_000_000,
        source="price map",
    )
