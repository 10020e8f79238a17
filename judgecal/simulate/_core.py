"""The state behind one simulated judge, shared by the HTTP server and the in-process completer:
its profiles and known items, the seeded fault and latency draws, the counters and the answer log,
and the answer to a prompt before any transport fault."""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from judgecal.simulate._behaviour import (
    _GRADED_TAGS,
    _REFUSED,
    _decide,
    _Found,
    _Index,
    _last_tag,
    _reasoning,
    _scale_of,
    _verdict_rng,
)
from judgecal.simulate._config import (
    ANSWER_LOG_MAX,
    FAULT_KINDS,
    MALFORMED_TEXT,
    OUTCOMES,
    REFUSAL_TEXT,
    JudgeProfile,
    SimConfig,
    SimItem,
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
