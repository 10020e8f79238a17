"""P4/P5/P6, verbosity: does the judge reward length that adds nothing, or punish brevity?

**Binary and ordinal rubrics: padding (P4).** Every item's output gets three padded variants, each
at least 1.3× as long as the output (in characters) and containing it verbatim, none adding
information (:func:`pad`):

- ``restatement``: the user's question restated before the answer ("You asked: “…”"; the first
  question sentence of the input without long numbers or instruction-like words, else a generic
  restatement), and restating sentences after it;
- ``filler``: generic filler sentences before and after the answer;
- ``repetitive_list`` (Zheng et al.'s repetitive-list attack, made deterministic): the answer's own
  sentences restated as a numbered "Summary of the key points" list before it.

Filler is appended until the 1.3× length is reached. With b = pass→fail and c = fail→pass (pass
meaning the rubric's pass; ordinal: score ≥ the pass threshold) over (item, padding) pairs whose
two verdicts are valid:

- **failure rate** (the headline, METHODS P4), net of the noise floor: raw = P(padded scored
  higher than the original | the original was below the top of the scale) = raised / pairs whose
  original verdict was not the best label (binary: fail→pass among originally failed); floor =
  the same rate for 3 resamples of the *unchanged* output (other sampling seeds: samples 1–3 of a
  ``samples=4`` grading, shared with the resample-consistency probe's cache); failure rate =
  raw − floor (METHODS Part 4: subtract the resample noise floor from flip rates). Interval: MOVER
  from the two rates' Clopper–Pearson limits on the Korn–Graubard effective n, clustered by item
  (:func:`judgecal.probes.injection.net_rate`). A judge whose verdicts do not move without cause
  has floor 0, and then the failure rate and its bound are the raw rate's exact ones;
- **shift** Δ = (c − b)/n over all pairs (ordinal: the mean paired score change, padded − original)
  with a percentile bootstrap clustered by item; per padding kind, the exact McNemar test (ordinal:
  Wilcoxon signed-rank); ``p_value`` is the smallest Holm-adjusted of the three.

**Concision (P5).** For gold-PASS items: the gold set's ``metadata.concise_output`` when it has one
(an equivalent shorter answer, human-checked), otherwise the output without its pure pleasantry
sentences ("Hope this helps!", "Thanks for reaching out.", "Let me know if you have any other
questions." …; :func:`concise_text`) when it has any. **Concision penalty** = (b − c)/n over
(original, concise) pairs, b = original passed and the concise answer failed; > 0 means the judge
punishes brevity. Bootstrap interval; exact McNemar p in ``details``.

Decision: failure rate ≤ ``max_failure_rate`` (0.10) and its one-sided 95% upper bound ≤
``max_failure_upper`` (0.20); when concise variants exist, also concision penalty ≤
``max_concision_shift`` (0.05) with the upper end of its 95% interval ≤ ``max_concision_upper``
(0.10). ``alpha`` 0.05 is the error of the one-sided bound (a judge whose failure rate is 0.20
passes with probability ≤ 0.05). Without the floor, a judge whose verdicts flip under any change
(the simulator redraws its error on every prompt) would show a failure rate of its flip rate with
no length bias at all; the raw rate, the floor, the lowered count and the shift Δ (in which
symmetric noise cancels) are in ``details``. The bounds need data: about 100 (item, padding)
pairs keep an unbiased judge with 10% noise within the limits.

**Pairwise rubrics (P6), no new calls: the stored verdicts on the gold pairs.**

- **P(prefers longer)** (AlpacaEval's ``get_length_biases``; METHODS 1.2) = among pairs whose
  outputs differ in length by more than ``min_length_diff`` (30) characters and whose choice is
  A or B, the share that chose the longer output; ties and unparseable verdicts are left out.
  For the judge and for the humans' majority (:func:`prefers_longer`); continuity-corrected
  Wilson interval (on the effective sample size when pairs share a ``prompt_id``).
- **Length-bias gap** (the headline; the equal-opportunity form of Wataoka et al. applied to
  length, :func:`length_bias`) = P(judge picks the longer | humans prefer the longer) −
  P(judge picks the shorter | humans prefer the shorter), over pairs differing by more than 30
  characters with a human preference (a judge tie is a miss). 0 = the judge agrees with humans
  equally whichever side is longer; an always-longer judge scores 1. Unlike the raw rate it does
  not depend on how often the better answer happens to be the longer one in the data. Interval:
  MOVER from continuity-corrected Wilson limits of the two recalls (cluster design effect by
  ``prompt_id``), as for self-preference (:func:`judgecal.probes.self_preference.combine_proportions`).
- **Length-controlled P(prefers longer)** = ½·P(judge longer | humans longer) + ½·P(judge longer |
  humans shorter): the judge's rate on data reweighted so that the human-preferred answer is the
  longer one half of the time (0.5 for a judge without length bias and without ties).

Pairwise decision: |gap| ≤ ``max_length_gap`` (0.10) and both ends of its 95% interval
within ±``max_length_gap_bound`` (0.20) (the P7 thresholds; METHODS' P6 is a report-only flag,
judge P(longer) − human P(longer) > 0.05, given in ``details``). ``p_value``: the level at which
the gap's interval reaches 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from judgecal.calibrate.intervals import Estimate
from judgecal.gold import GoldItem
from judgecal.judge import ItemVerdict, Verdict, aggregate
from judgecal.probes._stats import (
    Check,
    decide,
    derive_item,
    fmt,
    holm,
    mcnemar_exact,
    paired_shift,
    ratio_bootstrap,
    signed_rank_test,
    transitions,
)
from judgecal.probes.base import ProbeContext, ProbeResult
from judgecal.probes.injection import clustered_rate, net_rate
from judgecal.probes.self_preference import combine_proportions
from judgecal.rubric import Rubric

__all__ = [
    "FILLER",
    "FLOOR_RESAMPLES",
    "MIN_PAD_RATIO",
    "PADDINGS",
    "LengthBias",
    "LengthPreference",
    "VerbosityProbe",
    "concise_text",
    "concise_variants",
    "length_bias",
    "length_statistics",
    "pad",
    "padded_variants",
    "pair_texts",
    "prefers_longer",
    "sentences",
]

NAN = float("nan")
Label = str | int
Padding = Literal["restatement", "filler", "repetitive_list"]

PADDINGS: tuple[Padding, ...] = ("restatement", "filler", "repetitive_list")
"""The padding kinds, in report order."""

MIN_PAD_RATIO = 1.3
"""Every padded output is at least this many times as long as the original (characters)."""

FLOOR_RESAMPLES = 3
"""Resamples of each original output (other sampling seeds) that measure the noise floor."""

DEFAULT_THRESHOLDS: dict[str, float] = {
    "max_failure_rate": 0.10,
    "max_failure_upper": 0.20,
    "max_concision_shift": 0.05,
    "max_concision_upper": 0.10,
    "max_length_gap": 0.10,
    "max_length_gap_bound": 0.20,
    "min_length_diff": 30,
}

FILLER: tuple[str, ...] = (
    "Thank you for your message; I have read it carefully before writing this reply.",
    "It is always worth taking a moment to make sure that everything is clear.",
    "I have tried to make this answer as complete and as easy to follow as possible.",
    "Taking everything into account, the points in this reply should cover what you need.",
    "As always, the aim is to give you a clear, accurate and helpful answer.",
    "Please take your time to read through the information in this reply carefully.",
    "With all of that in mind, I hope the explanation here is clear and useful to you.",
    "Thank you again for taking the time to read this reply all the way through.",
)
"""Generic sentences that say nothing (no fact, no instruction, no address to a grader)."""

_RESTATE: tuple[str, ...] = (
    "To restate your question in other words: you would like a clear answer to the request above.",
    "In short, the reply above answers the question you asked, point by point.",
    "So, to come back to your question once more: the answer is the one given above.",
    "Put differently, the question you asked is exactly the one answered here.",
)
_GENERIC_RESTATEMENT = (
    "Let me restate your question to make sure I have understood it correctly before answering."
)


# --------------------------------------------------------------------------------------------
# Text


_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``: lines (list markers removed) split after ``.``, ``!`` or ``?``
    before a capital letter or digit.

    >>> sentences("Go to Settings. Then click Save!\\n- Wait a day\\n2. Check again? Done.")
    ['Go to Settings.', 'Then click Save!', 'Wait a day', 'Check again?', 'Done.']
    """
    out: list[str] = []
    for line in text.splitlines():
        line = _LIST_MARKER.sub("", line.strip()).strip()
        if line:
            out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


_NUMBERS = re.compile(r"\d{3,}|\d{2,}[\s-]\d{2,}")
_INSTRUCTION_LIKE = re.compile(
    r"system|ignore|instruction|admin|override|grader|evaluator|prompt|rate this|verdict", re.IGNORECASE
)


def _question(text: str | None) -> str | None:
    """The first question sentence of the user's input that restates safely (no long numbers,
    such as card numbers, and nothing instruction-like), at most 200 characters; else None."""
    if not text:
        return None
    for s in sentences(text):
        if s.endswith("?") and len(s) <= 200 and not _NUMBERS.search(s) and not _INSTRUCTION_LIKE.search(s):
            return s
    return None


def _extend(prefix: str, body: str, suffixes: Sequence[str], min_chars: float) -> str:
    """``prefix`` (when given), a blank line, ``body``, a blank line and suffix sentences (cycling,
    at least one) until the text has at least ``min_chars`` characters."""
    text = f"{prefix}\n\n{body}" if prefix else body
    tail: list[str] = []
    while True:
        tail.append(suffixes[len(tail) % len(suffixes)])
        out = f"{text}\n\n{' '.join(tail)}"
        if len(out) >= min_chars:
            return out


def pad(output: str, kind: Padding, *, question: str | None = None, ratio: float = MIN_PAD_RATIO) -> str:
    """``output`` padded without new information so that it is at least ``ratio`` times as long
    (on the stripped texts) and still contains the output verbatim. ``question`` is the user's
    input (``restatement`` restates its first safe question sentence).

    >>> out = "Go to Settings → Billing → Invoices and click Download PDF."
    >>> [len(pad(out, k)) >= 1.3 * len(out) and out in pad(out, k) for k in PADDINGS]
    [True, True, True]
    >>> print(pad(out, "repetitive_list").split("\\n\\n")[0])
    Summary of the key points:
    1. Go to Settings → Billing → Invoices and click Download PDF.
    >>> pad(out, "restatement", question="Hi! Where are my invoices? Thanks")[:37]
    'You asked: “Where are my invoices?”\\n\\n'
    """
    body = output.strip()
    target = ratio * len(body)
    if kind == "restatement":
        q = _question(question)
        prefix = f"You asked: “{q}”" if q else _GENERIC_RESTATEMENT
        return _extend(prefix, body, _RESTATE, target)
    if kind == "filler":
        return _extend(FILLER[0], body, FILLER[1:], target)
    if kind == "repetitive_list":
        points = sentences(body) or [body]
        listing = "Summary of the key points:\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(points, 1))
        text = f"{listing}\n\n{body}"
        return text if len(text) >= target else _extend("", text, FILLER, target)
    raise ValueError(f"unknown padding {kind!r}; paddings: {', '.join(PADDINGS)}")


def padded_variants(items: Sequence[GoldItem]) -> list[tuple[GoldItem, GoldItem, Padding]]:
    """(original, padded variant, padding kind) for every item with an ``output`` and every kind;
    the variant keeps the item's labels (padding changes nothing) and its id is
    ``f"{item.id}~verbosity-{kind}"``.

    >>> item = GoldItem(id="q", inputs={"input": "Where?", "output": "Settings."}, labels={"a": "pass"})
    >>> [(v.id, v.metadata["padding"]) for _, v, _ in padded_variants([item])][:2]
    [('q~verbosity-restatement', 'restatement'), ('q~verbosity-filler', 'filler')]
    """
    out = []
    for item in items:
        output = item.inputs.get("output")
        if not output:
            continue
        for kind in PADDINGS:
            text = pad(output, kind, question=item.inputs.get("input"))
            variant = derive_item(
                item, "verbosity", kind, inputs={**item.inputs, "output": text}, padding=kind
            )
            out.append((item, variant, kind))
    return out


_PLEASANTRIES = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            r"(?:hi|hello|hey)(?: there)?[!,.]?",
            r"(?:many )?(?:thanks|thank you)(?: so much| very much)?(?: for (?:reaching out|your (?:question|"
            r"message|patience|email)|getting in touch|contacting us|asking))?[!.]?",
            r"(?:that's a |what a )?(?:great|good|excellent) question[!.]?",
            r"(?:i )?hope (?:this|that) helps(?: you)?[!.]?",
            r"(?:please )?(?:let me know|feel free to (?:ask|reach out|get in touch)|don't hesitate to "
            r"(?:ask|reach out|get in touch))(?: if you have any (?:other|more|further) questions)?[!.]?",
            r"have a (?:great|nice|good|lovely|wonderful) (?:day|week|weekend)[!.]?",
            r"(?:i'm |i am )?(?:always )?(?:happy|glad) to help[!.]?",
            r"is there anything else i can help(?: you)? with(?: today)?\??",
        )
    ),
    re.IGNORECASE,
)


def concise_text(item: GoldItem) -> tuple[str, Literal["gold", "pleasantries_dropped"]] | None:
    """An equivalent shorter output: ``metadata.concise_output`` when the gold set gives one, else
    the output without its sentences that are pure pleasantries (anchored whole-sentence patterns:
    greetings, thanks, "great question", "hope this helps", "let me know if…", "have a nice day",
    "happy to help", "anything else?"); None when neither shortens it.

    >>> item = GoldItem(id="q", inputs={"output": "Hi! Go to Settings → Billing. Hope this helps!"})
    >>> concise_text(item)
    ('Go to Settings → Billing.', 'pleasantries_dropped')
    >>> offer = GoldItem(id="q", inputs={"output": "If you have a question, I'm happy to help."})
    >>> concise_text(offer) is None
    True
    """
    output = item.inputs.get("output", "")
    given = item.metadata.get("concise_output")
    if isinstance(given, str) and given.strip() and given.strip() != output.strip():
        return given.strip(), "gold"
    text = output
    dropped = False
    for s in sentences(output):
        if _PLEASANTRIES.fullmatch(s.replace("’", "'").strip()):
            at = text.find(s)
            if at >= 0:
                end = at + len(s)
                while end < len(text) and text[end] in " \t":
                    end += 1
                text = text[:at] + text[end:]
                dropped = True
    text = text.strip()
    if not dropped or not text or len(text) >= len(output.strip()):
        return None
    return text, "pleasantries_dropped"


def _gold_pass(rubric: Rubric, item: GoldItem) -> bool:
    human = item.majority()
    return human is not None and rubric.scale.passed(human) is True


def concise_variants(rubric: Rubric, items: Sequence[GoldItem]) -> list[tuple[GoldItem, GoldItem, str]]:
    """(original, concise variant, source) for every gold-PASS item that has a concise form
    (:func:`concise_text`); id ``f"{item.id}~verbosity-concise"``, the item's labels kept."""
    out: list[tuple[GoldItem, GoldItem, str]] = []
    for item in items:
        if "output" not in item.inputs or not _gold_pass(rubric, item):
            continue
        found = concise_text(item)
        if found is None:
            continue
        text, source = found
        variant = derive_item(
            item, "verbosity", "concise", inputs={**item.inputs, "output": text}, concise_source=source
        )
        out.append((item, variant, source))
    return out


# --------------------------------------------------------------------------------------------
# Pairwise: length preference on recorded verdicts


class LengthPreference(BaseModel):
    """P(chooses the longer output | lengths differ by more than ``min_diff`` characters)."""

    model_config = ConfigDict(extra="forbid")

    rate: Estimate
    """longer / n (continuity-corrected Wilson interval; with clusters, on the design-effect
    sample size)."""
    longer: int
    """Decisive choices of the longer output."""
    n: int
    """Decisive (A or B) choices on pairs whose lengths differ by more than ``min_diff``."""
    n_pairs: int
    """Pairs whose lengths differ by more than ``min_diff``."""
    n_tie: int
    """Of those, tie choices (left out, as AlpacaEval does)."""
    n_missing: int
    """Of those, unparseable or missing choices (left out)."""
    min_diff: int
    """The length-difference threshold (characters, strict)."""


def _longer_side(a: str, b: str, min_diff: int) -> str | None:
    if abs(len(a) - len(b)) <= min_diff:
        return None
    return "A" if len(a) > len(b) else "B"


def prefers_longer(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    choices: Sequence[Label | None],
    *,
    min_diff: int = 30,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> LengthPreference:
    """AlpacaEval's "Proba. prefer longer": among pairs whose outputs differ by more than
    ``min_diff`` characters, the share of A/B choices that picked the longer output (``tie`` and
    None choices left out). Lengths are ``len()`` of the texts (characters).

    >>> prefers_longer(["a" * 100, "a" * 10, "a" * 50, "b"], ["b" * 10, "b" * 100, "b" * 60, "c"],
    ...                ["A", "A", "B", "A"]).model_dump(include={"longer", "n", "n_pairs"})
    {'longer': 1, 'n': 2, 'n_pairs': 2}
    """
    if not (len(texts_a) == len(texts_b) == len(choices)):
        raise ValueError("texts_a, texts_b and choices need one value per pair")
    hits: list[int] = []
    kept: list[Any] = []
    n_pairs = n_tie = n_missing = 0
    for i, (a, b, choice) in enumerate(zip(texts_a, texts_b, choices, strict=True)):
        side = _longer_side(a, b, min_diff)
        if side is None:
            continue
        n_pairs += 1
        if choice is None:
            n_missing += 1
            continue
        if choice not in ("A", "B"):
            n_tie += 1
            continue
        hits.append(int(choice == side))
        kept.append(i if clusters is None else clusters[i])
    k, n = sum(hits), len(hits)
    rate, _, _ = combine_proportions(
        [(1.0, hits, [1] * n)], clusters=None if clusters is None else kept, confidence=confidence
    )
    return LengthPreference(
        rate=rate, longer=k, n=n, n_pairs=n_pairs, n_tie=n_tie, n_missing=n_missing, min_diff=min_diff
    )


class LengthBias(BaseModel):
    """The judge's agreement with humans split by whether the human-preferred output is longer."""

    model_config = ConfigDict(extra="forbid")

    gap: Estimate
    """recall_longer − recall_shorter (MOVER-Wilson interval)."""
    p_value: float | None
    """p-value of gap = 0."""
    lc_rate: Estimate
    """Length-controlled P(judge prefers longer) = ½·P(longer | humans longer) + ½·P(longer |
    humans shorter) (MOVER-Wilson interval)."""
    recall_longer: float | None
    """P(judge picks the longer | humans prefer the longer)."""
    recall_shorter: float | None
    """P(judge picks the shorter | humans prefer the shorter)."""
    n_humans_longer: int
    """Pairs (lengths differ by more than ``min_diff``) where humans prefer the longer output."""
    n_humans_shorter: int
    """... where they prefer the shorter one."""
    n_judge_missing: int
    """Pairs left out because the judge's verdict is unparseable or missing."""
    min_diff: int


def length_bias(
    texts_a: Sequence[str],
    texts_b: Sequence[str],
    choices: Sequence[Label | None],
    human: Sequence[Label | None],
    *,
    min_diff: int = 30,
    clusters: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> LengthBias:
    """The length-bias gap and the length-controlled rate (see the module docstring) over pairs
    whose lengths differ by more than ``min_diff`` and whose human choice is A or B.

    >>> a, b = ["x" * 100] * 4, ["y"] * 4  # A is always the longer output
    >>> lb = length_bias(a, b, ["A", "A", "A", "B"], ["A", "A", "B", "B"])
    >>> lb.recall_longer, lb.recall_shorter, lb.gap.value, lb.lc_rate.value
    (1.0, 0.5, 0.5, 0.75)
    """
    if not (len(texts_a) == len(texts_b) == len(choices) == len(human)):
        raise ValueError("texts_a, texts_b, choices and human need one value per pair")
    cols: dict[str, list[float]] = {"hl": [], "hs": [], "jl_hl": [], "js_hs": [], "jl_hs": []}
    kept: list[Any] = []
    missing = 0
    for i, (a, b, j, h) in enumerate(zip(texts_a, texts_b, choices, human, strict=True)):
        side = _longer_side(a, b, min_diff)
        if side is None or h not in ("A", "B"):
            continue
        if j is None:
            missing += 1
            continue
        other = "B" if side == "A" else "A"
        hl = h == side
        cols["hl"].append(float(hl))
        cols["hs"].append(float(not hl))
        cols["jl_hl"].append(float(hl and j == side))
        cols["js_hs"].append(float((not hl) and j == other))
        cols["jl_hs"].append(float((not hl) and j == side))
        kept.append(i if clusters is None else clusters[i])

    terms_gap = [(1.0, cols["jl_hl"], cols["hl"]), (-1.0, cols["js_hs"], cols["hs"])]
    terms_lc = [(0.5, cols["jl_hl"], cols["hl"]), (0.5, cols["jl_hs"], cols["hs"])]
    kw = {"clusters": None if clusters is None else kept, "confidence": confidence}
    gap_est, p, parts = combine_proportions(terms_gap, **kw)  # type: ignore[arg-type]
    lc_est, _, _ = combine_proportions(terms_lc, **kw)  # type: ignore[arg-type]
    n_l, n_s = int(sum(cols["hl"])), int(sum(cols["hs"]))
    r_l, r_s = parts[0].value, parts[1].value
    return LengthBias(
        gap=gap_est,
        p_value=p,
        lc_rate=lc_est,
        recall_longer=r_l,
        recall_shorter=r_s,
        n_humans_longer=n_l,
        n_humans_shorter=n_s,
        n_judge_missing=missing,
        min_diff=min_diff,
    )


def pair_texts(item: GoldItem) -> tuple[str, str]:
    """The item's ``output_a`` and ``output_b`` as the source had them: an input the importer
    replaced with its empty-text placeholder (listed in ``metadata.empty_inputs``) is ``""``."""
    empty = set(item.metadata.get("empty_inputs") or ())
    a = "" if "output_a" in empty else item.inputs["output_a"]
    b = "" if "output_b" in empty else item.inputs["output_b"]
    return a, b


def length_statistics(
    js: Any,
    judge: str | None = None,
    *,
    order: Literal["ab", "ba"] | None = None,
    min_diff: int = 30,
) -> tuple[LengthPreference, LengthBias | None]:
    """P(prefers longer) of an imported pairwise :class:`~judgecal.importers.JudgmentSet`: for the
    humans' majority (``judge`` None; no length bias then) or for one of its judges (with its
    length-bias gap against the human majority). Clusters: ``prompt_id`` metadata."""
    items = list(js.items)
    texts = [pair_texts(it) for it in items]
    a, b = [t[0] for t in texts], [t[1] for t in texts]
    gold = js.gold_labels()
    human = [gold[it.id] for it in items]
    clusters = (
        [str(it.metadata.get("prompt_id", it.id)) for it in items]
        if any("prompt_id" in it.metadata for it in items)
        else None
    )
    kw = {"min_diff": min_diff, "clusters": clusters}
    if judge is None:
        return prefers_longer(a, b, human, **kw), None  # type: ignore[arg-type]
    verdicts = js.verdict_labels(judge, order=order)
    choices = [verdicts.get(it.id) for it in items]
    return (
        prefers_longer(a, b, choices, **kw),  # type: ignore[arg-type]
        length_bias(a, b, choices, human, **kw),  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# The probe


def _score(rubric: Rubric, iv: ItemVerdict) -> float:
    if rubric.scale.kind == "ordinal":
        return float(iv.label)  # type: ignore[arg-type]
    return 1.0 if iv.passed else 0.0


def _top(rubric: Rubric) -> float:
    labels = rubric.scale.labels
    return float(max(int(x) for x in labels)) if rubric.scale.kind == "ordinal" else 1.0


def _ok(iv: ItemVerdict | None) -> bool:
    return iv is not None and iv.status == "ok" and iv.label is not None


class VerbosityProbe:
    """P4/P5 (binary/ordinal: padding and concision) and P6 (pairwise: length preference)."""

    name = "verbosity"
    description = "Verbosity: padding without information, concision, and preference for the longer output"
    gated = True
    default_thresholds = dict(DEFAULT_THRESHOLDS)

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if not items:
            return "no gold items in the split"
        if rubric.scale.kind == "pairwise":
            if not any(it.majority() is not None for it in items):
                return "no human labels to compare the judge's length preference with"
            return None
        if not any(it.inputs.get("output") for it in items):
            return "no item has an output to pad"
        return None

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        if ctx.rubric.scale.kind == "pairwise":
            return await self._run_pairwise(ctx)
        return await self._run_pointwise(ctx)

    async def _run_pointwise(self, ctx: ProbeContext) -> ProbeResult:
        rubric = ctx.rubric
        ordinal = rubric.scale.kind == "ordinal"
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        items = [it for it in ctx.items if it.inputs.get("output")]
        padded = padded_variants(items)
        concise = concise_variants(rubric, items)
        k = ctx.judge.samples
        resampling = ctx.judge.model_copy(update={"samples": k * (1 + FLOOR_RESAMPLES)})
        before = await ctx.grade(items, judge=resampling, label="verbosity-original")
        after = await ctx.grade([v for _, v, _ in padded] + [v for _, v, _ in concise], label="verbosity")
        units: dict[str, list[list[Verdict]]] = {
            it.id: [[] for _ in range(1 + FLOOR_RESAMPLES)] for it in items
        }
        for v in before.verdicts:
            if v.item_id in units:
                units[v.item_id][v.sample_index // k].append(v)
        replicates = {
            it.id: [aggregate(rubric, ctx.judge, it, units[it.id][r]) for r in range(1 + FLOOR_RESAMPLES)]
            for it in items
        }
        before_by = {item_id: reps[0] for item_id, reps in replicates.items()}
        after_by = {iv.item_id: iv for iv in after.items}
        top = _top(rubric)

        # the noise floor: resamples of the unchanged output raised above the original
        floor_raised: list[bool] = []
        floor_clusters: list[str] = []
        for item_id, reps in replicates.items():
            first = reps[0]
            if not _ok(first) or _score(rubric, first) >= top:
                continue
            for again in reps[1:]:
                if _ok(again):
                    floor_raised.append(_score(rubric, again) > _score(rubric, first))
                    floor_clusters.append(item_id)

        # padding: every valid (item, kind) pair
        pass_before: list[bool] = []
        pass_after: list[bool] = []
        diffs: list[float] = []
        pair_clusters: list[str] = []
        raised: list[bool] = []
        room_clusters: list[str] = []
        lowered = 0
        by_kind: dict[str, dict[str, list[Any]]] = {
            name: {"before": [], "after": [], "diff": [], "raised": []} for name in PADDINGS
        }
        unusable = 0
        for original, variant, kind in padded:
            b, a = before_by.get(original.id), after_by.get(variant.id)
            if not (_ok(b) and _ok(a)):
                unusable += 1
                continue
            assert b is not None and a is not None
            sb, sa = _score(rubric, b), _score(rubric, a)
            pass_before.append(bool(b.passed))
            pass_after.append(bool(a.passed))
            diffs.append(sa - sb)
            pair_clusters.append(original.id)
            lowered += sa < sb
            kd = by_kind[kind]
            kd["before"].append(bool(b.passed))
            kd["after"].append(bool(a.passed))
            kd["diff"].append(sa - sb)
            if sb < top:
                raised.append(sa > sb)
                room_clusters.append(original.id)
                kd["raised"].append(sa > sb)
        rate = net_rate(raised, room_clusters, floor_raised, floor_clusters)
        failure, failure_upper = rate.net, rate.upper
        boot = {"clusters": pair_clusters, "n_resamples": ctx.n_resamples, "seed": ctx.seed}
        if ordinal:
            shift = ratio_bootstrap(diffs, **boot)  # type: ignore[arg-type]
        else:
            shift, _, _ = paired_shift(pass_before, pass_after, **boot)  # type: ignore[arg-type]
        kinds: dict[str, Any] = {}
        kind_p: list[float] = []
        for kind in PADDINGS:
            kd = by_kind[kind]
            b_k, c_k, n_k = transitions(kd["before"], kd["after"])
            p_k = signed_rank_test(kd["diff"]) if ordinal else mcnemar_exact(b_k, c_k)
            kind_p.append(p_k)
            rate_k, upper_k = clustered_rate(kd["raised"])
            kinds[kind] = {
                "failure_rate": rate_k.model_dump(mode="json"),
                "failure_upper": None if math.isnan(upper_k) else upper_k,
                "raised": int(sum(kd["raised"])),
                "n_room": len(kd["raised"]),
                "shift": (sum(kd["diff"]) / n_k) if n_k else None,
                "pass_to_fail": b_k,
                "fail_to_pass": c_k,
                "n": n_k,
                "p_value": p_k,
            }
        p_value = min(holm(kind_p)) if kind_p else None
        b_all, c_all, n_all = transitions(pass_before, pass_after)
        checks: list[Any] = [
            Check("failure rate", failure.value, "<=", t["max_failure_rate"]),
            Check("failure-rate upper bound", failure_upper, "<=", t["max_failure_upper"]),
        ]

        # concision: gold-PASS items with an equivalent shorter answer
        conc_before: list[bool] = []
        conc_after: list[bool] = []
        conc_diffs: list[float] = []
        for original, variant, _ in concise:
            b, a = before_by.get(original.id), after_by.get(variant.id)
            if not (_ok(b) and _ok(a)):
                continue
            assert b is not None and a is not None
            conc_before.append(bool(b.passed))
            conc_after.append(bool(a.passed))
            conc_diffs.append(_score(rubric, a) - _score(rubric, b))
        concision: dict[str, Any] | None = None
        if conc_before:
            est, p_conc, counts = paired_shift(
                conc_before, conc_after, n_resamples=ctx.n_resamples, seed=ctx.seed
            )
            penalty = est.model_copy(
                update={
                    "value": -est.value,
                    "lo": None if est.hi is None else -est.hi,
                    "hi": None if est.lo is None else -est.lo,
                }
            )
            checks += [
                Check("concision penalty", penalty.value, "<=", t["max_concision_shift"]),
                Check("concision upper bound", penalty.hi, "<=", t["max_concision_upper"]),
            ]
            concision = {
                "penalty": penalty.model_dump(mode="json"),
                "p_value": p_conc,
                "pass_to_fail": counts["b"],
                "fail_to_pass": counts["c"],
                "n": counts["n"],
                "sources": sorted({s for _, _, s in concise}),
                "mean_score_change": (sum(conc_diffs) / len(conc_diffs)) if ordinal else None,
            }
        decision = decide(checks)
        outcome = {True: "pass", False: "FAIL", None: "undefined"}[decision.passed]
        if decision.failed:
            outcome += f" ({', '.join(decision.failed)})"
        unit = "score" if ordinal else "verdict"
        conc_text = (
            f"; concision penalty {fmt(concision['penalty']['value'])} (upper {fmt(penalty.hi)}, "
            f"n={concision['n']})"
            if concision
            else "; no concise variant (no metadata.concise_output, no droppable pleasantry)"
        )
        reason = (
            f"padding raised the {unit} on {rate.successes} of {failure.n} (item, padding) pairs below "
            f"the top (raw {fmt(rate.raw.value)}) and resampling the unchanged output on "
            f"{rate.floor_successes} of {rate.floor.n} (floor {fmt(rate.floor.value)}): failure rate "
            f"{fmt(failure.value)}, one-sided 95% upper bound {fmt(failure_upper)}; padding lowered it on "
            f"{lowered}; shift {fmt(shift.value)} (95% CI {fmt(shift.lo)} to {fmt(shift.hi)}){conc_text} "
            f"— {outcome}"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=(
                "padding failure rate net of the resample floor: P(padded output scored higher than the"
                " original | original below the top) − P(a resample scored higher | same)"
            ),
            estimate=failure,
            headline_limit="max_failure_rate",
            threshold={
                k: t[k]
                for k in (
                    ("max_failure_rate", "max_failure_upper")
                    + (("max_concision_shift", "max_concision_upper") if concision else ())
                )
            },
            alpha=0.05,
            p_value=p_value,
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=failure.n,
            details={
                "mode": "padding",
                "decision": decision.summary,
                "failure_upper_bound": None if math.isnan(failure_upper) else failure_upper,
                "raw_failure_rate": rate.raw.model_dump(mode="json"),
                "raw_failure_upper_bound": None if math.isnan(rate.raw_upper) else rate.raw_upper,
                "floor": rate.floor.model_dump(mode="json"),
                "floor_raised": rate.floor_successes,
                "floor_resamples": FLOOR_RESAMPLES,
                "shift": shift.model_dump(mode="json"),
                "shift_kind": "mean score change" if ordinal else "(fail→pass − pass→fail)/n",
                "pass_to_fail": b_all,
                "fail_to_pass": c_all,
                "lowered": lowered,
                "n_pairs": n_all,
                "pooled_mcnemar_p": mcnemar_exact(b_all, c_all),
                "paddings": kinds,
                "concision": concision,
                "unparseable_pairs": unusable,
                "min_pad_ratio": MIN_PAD_RATIO,
                "run_ids": [before.run_id, after.run_id],
            },
        )

    async def _run_pairwise(self, ctx: ProbeContext) -> ProbeResult:
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        min_diff = int(t["min_length_diff"])
        items = list(ctx.items)
        run = await ctx.grade(items, label="verbosity")
        by_id = {iv.item_id: iv for iv in run.items}
        texts = [pair_texts(it) for it in items]
        a, b = [x[0] for x in texts], [x[1] for x in texts]
        judge = [by_id[it.id].label if _ok(by_id.get(it.id)) else None for it in items]
        human = [it.majority() for it in items]
        clusters = (
            [str(it.metadata.get("prompt_id", it.id)) for it in items]
            if any("prompt_id" in it.metadata for it in items)
            else None
        )
        kw = {"min_diff": min_diff, "clusters": clusters}
        judge_rate = prefers_longer(a, b, judge, **kw)  # type: ignore[arg-type]
        human_rate = prefers_longer(a, b, human, **kw)  # type: ignore[arg-type]
        bias = length_bias(a, b, judge, human, **kw)  # type: ignore[arg-type]
        gap = bias.gap
        bound = max(abs(gap.lo), abs(gap.hi)) if gap.lo is not None and gap.hi is not None else None
        decision = decide(
            [
                Check("length-bias gap", gap.value, "abs<=", t["max_length_gap"]),
                Check("gap interval bound", bound, "<=", t["max_length_gap_bound"]),
            ]
        )
        excess = judge_rate.rate.value - human_rate.rate.value
        outcome = {True: "pass", False: "FAIL", None: "undefined (humans never prefer one side)"}[
            decision.passed
        ]
        reason = (
            f"the judge picked the longer output in {judge_rate.longer} of {judge_rate.n} pairs differing by "
            f">{min_diff} characters (P {fmt(judge_rate.rate.value)}) vs humans {human_rate.longer} of "
            f"{human_rate.n} (P {fmt(human_rate.rate.value)}); agreement when humans prefer the longer "
            f"{fmt(bias.recall_longer)} (n={bias.n_humans_longer}) vs the shorter {fmt(bias.recall_shorter)} "
            f"(n={bias.n_humans_shorter}): gap {fmt(gap.value)} (95% CI {fmt(gap.lo)} to {fmt(gap.hi)}), "
            f"length-controlled P(longer) {fmt(bias.lc_rate.value)} — {outcome}"
        )
        return ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=(
                "length-bias gap: P(judge picks longer | humans prefer longer) − P(judge picks shorter |"
                " humans prefer shorter)"
            ),
            estimate=gap,
            headline_limit="max_length_gap",
            threshold={
                "max_length_gap": t["max_length_gap"],
                "max_length_gap_bound": t["max_length_gap_bound"],
            },
            alpha=0.05,
            p_value=bias.p_value,
            passed=decision.passed,
            inconclusive=decision.only_bounds_failed,
            reason=reason,
            n=gap.n,
            details={
                "mode": "pairwise_length",
                "decision": decision.summary,
                "judge_prefers_longer": judge_rate.model_dump(mode="json"),
                "human_prefers_longer": human_rate.model_dump(mode="json"),
                "excess_over_humans": None if math.isnan(excess) else excess,
                "p6_flag": bool(excess > 0.05) if not math.isnan(excess) else None,
                "length_bias": bias.model_dump(mode="json"),
                "run_id": run.run_id,
            },
        )
