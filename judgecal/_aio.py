"""Running judgecal's async work from synchronous code, and leaving nothing open behind it.

litellm keeps the HTTP clients it builds in a process-wide cache keyed by the running event loop
(``in_memory_llm_clients_cache``, ``<key>-<id(loop)>``). A synchronous entry point that calls
``asyncio.run`` gets a new loop each time, so each call leaves a client (an aiohttp session with
open sockets) bound to a loop that is now closed; litellm drops it when it evicts it (after ten
minutes, or past 200 entries) and the garbage collector then finds the session unclosed. In a long
process (a test session, a service, a notebook) those are real leaked sockets. :func:`run` closes
the clients that belong to its own loop before the loop ends, so nothing is left open.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["close_loop_clients", "run"]

T = TypeVar("T")


async def close_loop_clients() -> int:
    """Close and forget litellm's cached clients built on the running loop; returns how many.

    Only this loop's clients are touched: a client of another loop (another thread's) may be in
    use. Nothing happens when litellm was never imported."""
    litellm = sys.modules.get("litellm")
    cache = getattr(litellm, "in_memory_llm_clients_cache", None) if litellm else None
    entries = getattr(cache, "cache_dict", None)
    if not isinstance(entries, dict):
        return 0
    suffix = f"-{id(asyncio.get_running_loop())}"
    ttl = getattr(cache, "ttl_dict", None)
    closed = 0
    for key in [k for k in list(entries) if isinstance(k, str) and k.endswith(suffix)]:
        client = entries.pop(key, None)
        if isinstance(ttl, dict):
            ttl.pop(key, None)
        close = getattr(client, "close", None) or getattr(client, "aclose", None)
        if not callable(close):
            continue
        try:
            result = close()
            if inspect.isawaitable(result):
                await result
            closed += 1
        except Exception:  # noqa: BLE001 - closing is best effort; the answer was already delivered
            continue
    return closed


async def _closing(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return await coro
    finally:
        await close_loop_clients()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, then close the provider clients the run opened on its loop."""
    return asyncio.run(_closing(coro))
