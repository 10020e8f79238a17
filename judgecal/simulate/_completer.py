"""The simulated judge in-process: :class:`SimCompleter`, the server's verdicts and faults without HTTP."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from judgecal.llm import CallFailed, Completion, _bad_body_message
from judgecal.simulate._behaviour import _prompt_text
from judgecal.simulate._config import HTML_ERROR_PAGE, JudgeProfile, SimConfig, SimItem, _preset
from judgecal.simulate._core import _completion_tokens, _Core, _damaged
from judgecal.verdict import response_format as _response_format


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

    >>> import asyncio, json
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
            core._record(name, "html")
            raise CallFailed("bad_body", _bad_body_message(HTML_ERROR_PAGE), status=200)
        response_format = None if schema is None else _response_format(schema)
        content, outcome, match = core.answer(name, self.profile, text, response_format, seed, temperature)
        content, finish, outcome = _damaged(fault, content, outcome)
        if fault != "timeout":
            core._record(name, outcome, match)
        return Completion(
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
