"""The ``sim`` provider: ``sim/<preset>`` model strings for :func:`judgecal.llm.open_completer`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from judgecal.errors import NotFoundError
from judgecal.llm import LiteLLMCompleter, OpenedCompleter, _register_free, register_provider
from judgecal.simulate._config import PRESETS, SimConfig
from judgecal.simulate._server import SimulatedJudge


def open_sim(
    preset: str,
    *,
    model: str,
    api_base: str | None = None,
    api_key: str | None = None,
    sim_items: Sequence[Any] | None = None,
) -> OpenedCompleter:
    """Start the simulated judge of ``preset`` (one of :data:`PRESETS`) on a free loopback port,
    told the truth of ``sim_items``, and reach it through litellm as ``openai/<preset>``, as a
    user's provider would be; the completer's ``model`` stays ``model`` (``sim/<preset>``).
    ``api_base`` and ``api_key`` do not apply: the simulator is the provider."""
    if preset not in PRESETS:
        raise NotFoundError(f"no simulated judge preset {preset!r}; presets: {', '.join(sorted(PRESETS))}")
    config = SimConfig(profiles={preset: PRESETS[preset]}, items=list(sim_items or []))
    sim = SimulatedJudge(config).start()
    completer = LiteLLMCompleter(f"openai/{preset}", api_base=sim.base_url, api_key="sim")
    _register_free(f"openai/{preset}")  # a simulated judge costs nothing: 0, not unknown
    completer.model = model
    return OpenedCompleter(completer, sim)


register_provider("sim", open_sim)
