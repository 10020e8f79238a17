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

The package, in reading order: :mod:`~judgecal.simulate._config` (profiles, items, presets),
:mod:`~judgecal.simulate._behaviour` (finding the item, drawing the verdict: pure),
:mod:`~judgecal.simulate._core` (one judge's state: fault draws, counters, answer log),
:mod:`~judgecal.simulate._server` (HTTP), :mod:`~judgecal.simulate._remote` (another process's
simulator), :mod:`~judgecal.simulate._completer` (in-process) and
:mod:`~judgecal.simulate._provider` (``sim/<preset>`` for :func:`judgecal.llm.open_completer`).
"""

from judgecal.simulate import _provider  # noqa: F401 - registers the sim/ provider
from judgecal.simulate._behaviour import INJECTION_PATTERNS
from judgecal.simulate._completer import SimCompleter
from judgecal.simulate._config import (
    ANSWER_LOG_MAX,
    FAULT_KINDS,
    HTML_ERROR_PAGE,
    MALFORMED_TEXT,
    OUTCOMES,
    PRESET_DESCRIPTIONS,
    PRESETS,
    REFUSAL_TEXT,
    SIMULATOR_SERVICE,
    FaultRates,
    JudgeProfile,
    SimConfig,
    SimItem,
    load_config,
)
from judgecal.simulate._remote import RemoteSimulator, find_simulator
from judgecal.simulate._server import SimulatedJudge, run_forever, serve

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
