"""How the simulated judge grades: reading the graded outputs from a prompt, finding the item it
knows (exact, swapped or padded), and drawing a verdict from the truth and the profile's accuracy
and biases. Pure: no I/O, no state; :mod:`judgecal.simulate._core` holds the state."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from judgecal.simulate._config import JudgeProfile, SimItem

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

_GRADED_TAGS = ("output", "output_a", "output_b")  # input and reference do not decide a verdict
_PREFIX = 40  # known outputs are indexed by their first 40 characters for the containment search
_PADDED_RATIO = 1.2  # a perturbed match at least this much longer than the original is "padded"


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
