"""judgecal's synchronous entry points close the provider clients litellm opened for them.

litellm caches a client per event loop; each ``asyncio.run`` is a new loop, so without
:func:`judgecal._aio.run` every synchronous grade would leave an aiohttp session with open
sockets behind, reported unclosed when litellm later drops it."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

from judgecal import _aio
from judgecal.llm import open_completer
from judgecal.simulate import PRESETS, SimConfig, SimulatedJudge


def _unclosed_after(runner: Any) -> list[str]:
    """ResourceWarnings from the clients these calls leave in litellm's cache, once dropped.
    Only this test's clients count: garbage other tests left behind is collected first, and
    clients cached before the test stay cached."""
    import litellm

    cache = litellm.in_memory_llm_clients_cache
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc.collect()
    before = set(cache.cache_dict)
    with SimulatedJudge(SimConfig(profiles={"accurate": PRESETS["accurate"]}, items=[])) as sim:
        completer = open_completer("openai/accurate", api_base=sim.base_url).completer

        async def call() -> Any:
            return await completer.complete(
                [{"role": "user", "content": "hi"}],
                schema=None,
                temperature=0.0,
                max_tokens=8,
                seed=1,
                timeout=10,
            )

        for _ in range(3):
            assert runner(call()).text
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            # what litellm does when it evicts a client: forget it (the garbage collector finds it)
            for key in set(cache.cache_dict) - before:
                cache.cache_dict.pop(key, None)
                cache.ttl_dict.pop(key, None)
            for _ in range(3):
                gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_run_leaves_no_client_open() -> None:
    assert _unclosed_after(_aio.run) == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_plain_asyncio_run_would_leave_sessions_open() -> None:
    """The control: the same calls through bare ``asyncio.run`` leave unclosed sessions."""
    leaked = _unclosed_after(asyncio.run)
    assert any("Unclosed client session" in m or "unclosed" in m.lower() for m in leaked), leaked


async def test_close_loop_clients_touches_only_its_own_loop() -> None:
    import litellm

    cache = litellm.in_memory_llm_clients_cache
    closed: list[str] = []

    class Client:
        def __init__(self, name: str) -> None:
            self.name = name

        async def close(self) -> None:
            closed.append(self.name)

    here = f"k-{id(asyncio.get_running_loop())}"
    cache.cache_dict[here] = Client("mine")
    cache.cache_dict["k-1"] = Client("other loop")
    try:
        assert await _aio.close_loop_clients() == 1
        assert closed == ["mine"] and here not in cache.cache_dict and "k-1" in cache.cache_dict
    finally:
        cache.cache_dict.pop("k-1", None)
