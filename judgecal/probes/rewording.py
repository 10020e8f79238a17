"""Rubric-rewording invariance: does the verdict depend on how the rubric's criteria are worded?

A rubric says *what* to check; two wordings of the same criteria should give the same verdicts.
Recent work reports up to 9% of an LLM judge's verdicts flipping under such meaning-preserving
rewrites of its rubric. This probe rewrites the rubric's criteria without changing their meaning,
grades the split's items with each rewritten rubric (new prompt text, same items) and measures
what moved.

**The rewrites** (deterministic; :func:`reworded_rubrics`):

- ``reordered``: the criteria rotated by half their number (c1…c8 → c5…c8, c1…c4; two criteria
  are swapped). A rotation, not the reversal the ``position`` probe already uses on binary and
  ordinal rubrics, so the two probes do not measure the same prompts twice. Left out when the
  order carries meaning: a template that presents the criteria "in order of priority" (or ranked,
  or most important first), or a criterion that says it "decides first" or applies "only when"
  another is equal.
- ``paraphrased``: every criterion's description rewritten by fixed rules (:func:`paraphrase`):

  1. imperative ↔ declarative: "Check that / Ensure that / Make sure / Verify that X" → "X";
     a description that starts with a verb of its implicit subject ("Never promises …",
     "Addresses …") → "Check that the answer never promises …" (pairwise rubrics: "Check
     whether each response …"); an imperative verb ("Cite the source") → "The answer cites the
     source";
  2. modals: "must" → "has to" / "have to" (by the subject's number), "should" → "ought to",
     never before "not" or "never";
  3. synonyms from a small fixed table (:data:`SYNONYMS`: "gives" → "offers", "fine" →
     "acceptable", "every" → "each", …), whole words, only in lower case or as the first word of
     a sentence, so capitalised names are never touched;
  4. sentence order: a later sentence that stands on its own (no pronoun, not a fragment such
     as "Not needed for …" or "Decides first.") moves before the first one.

  Quoted text ("…", “…”, `…`) is never changed. Each rewrite is checked: the negations and
  restrictors (not, no, never, without, only, unless, …), the numbers and number words, the
  capitalised names and the quotes of the description must be exactly those of the original;
  a criterion whose rewrite would change any of them keeps its original wording.
- ``reordered+paraphrased``: both.

A rewrite that leaves the rendered prompt unchanged (the template does not show the criteria, a
single criterion, no rule applies) is left out; with none left the probe is not applicable.

Examples (support-billing's and helpfulness-ordinal's criteria):

>>> print(paraphrase("Never asks for a full card number or CVV and never repeats them (the last "
...                  "four digits are fine)."))  # doctest: +NORMALIZE_WHITESPACE
Check that the answer never requests a full card number or CVV and never repeats them (the last
four digits are acceptable).
>>> print(paraphrase("Addresses what the user actually asked, including every part of a multi-part "
...                  "question."))  # doctest: +NORMALIZE_WHITESPACE
Check that the answer responds to what the user really asked, including each part of a multi-part
question.
>>> print(paraphrase('Never claims it looked at the account ("I can see your invoice"). Explaining '
...                  'where the user can look is fine.'))  # doctest: +NORMALIZE_WHITESPACE
Explaining where the user can look is acceptable. Check that the answer never asserts it looked at
the account ("I can see your invoice").
>>> paraphrase("Ensure that the reply must cite the policy.")
'The reply has to cite the policy.'
>>> paraphrase("Facts, numbers, code and reasoning are correct; no invented details.")
'Facts, numbers, code and reasoning are accurate; no made-up details.'

**What is measured.** Per item and wording, the verdict's *direction*: a pass (binary and
ordinal rubrics: ``passed``, i.e. the pass rule or the pass threshold) or a verdict for output A
(pairwise rubrics). Per rewrite r, the **shift** Δ_r = P(pass | rewrite r) − P(pass | original
wording), paired by item, with the Bonett–Price adjusted Wald interval (:func:`paired_difference`).
The **headline and the gated test** is the shift pooled over the rewrites: every (item, rewrite)
pair stacked, Δ = mean over rewrites of Δ_r, its interval widened by the design effect of the
rewrites sharing an item's original verdict (clusters = items, or their ``prompt_id``). Pass:
the interval lies inside ±``max_shift`` (0.10: the "upper bound ≤ 10 pp" limit the judge-bias
catalogue sets on such shifts, shown on an interval; a 92%-accurate judge's interval on 280 items
is already about ±0.04 wide); fail: the one-sided p-value at the boundary
(:func:`boundary_p`, ``abs``) is below α after the battery's Holm adjustment; else inconclusive.

Why a directional shift: a judge whose errors are noise redraws them on *any* prompt change, so
its verdicts flip under a rewording even with no rewording bias at all (a binary judge of accuracy
a flips about 2a(1 − a) of them: 15% at a = 0.92). Raw flip rates therefore cannot gate; a shift
in one direction has mean 0 for such a judge whatever its accuracy, and is what a rubric-sensitive
judge shows (a wording that makes it more lenient, or stricter). Why pooled: one gated test
(no Holm burden spent across rewrites), a pass reachable from 9 gold items for an ideal judge
(26 pairs) instead of 26 per rewrite, and a standard error ~18% smaller for a noisy judge. The
per-rewrite shifts are reported beside it as ungated tests with their own p-values, because
two rewrites pushing in opposite directions would cancel in the pooled shift.

**Reported, not gated**: the **flip rate** per rewrite (share of items whose label changed;
Wilson) against the **resample noise floor** — the flip rate between the original verdict and a
resample of the original wording with another request seed (one more call per item; threshold
``resample_floor`` 0 skips it) — and the excess (flip rate − floor, paired by item, adjusted
Wald); ordinal rubrics also get the mean score change per rewrite; pairwise rubrics the shift in
tie share.

**Cost**: items × (1 + rewrites + 1) calls at most; the original wording's verdicts are those a
``judgecal grade`` run stored (usually from the cache). :meth:`RewordingProbe.plan` says before
any call whether an ideal judge (no bias, no noise) could pass: it needs rewrites × items ≥ 26
pairs at T = 0.10 (±z·√2/(n + 2) ≤ T), i.e. 9 items with three rewrites, 26 with one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

from judgecal.calibrate.intervals import Estimate, wilson
from judgecal.gold import GoldItem
from judgecal.judge import ItemVerdict, RunResult
from judgecal.probes._stats import boundary_p, derive_item, fmt, paired_difference
from judgecal.probes.base import BATTERY_ALPHA, ProbeContext, ProbePlan, ProbeResult, ProbeTest, settle
from judgecal.probes.position import min_cases
from judgecal.prompt import render_messages
from judgecal.rubric import Criterion, Rubric

__all__ = [
    "DEFAULT_THRESHOLDS",
    "REWRITES",
    "SYNONYMS",
    "RewordingProbe",
    "invariants",
    "order_matters",
    "paraphrase",
    "paraphrase_criteria",
    "reordered_criteria",
    "reworded_rubrics",
]

DEFAULT_THRESHOLDS: dict[str, float] = {
    "max_shift": 0.10,
    "resample_floor": 1.0,
}
"""``max_shift``: the tolerance T of the pooled shift (|Δ| ≤ T acceptable); ``resample_floor``:
1 to measure the resample noise floor of the flip rates (one call per item), 0 to skip it."""

REWRITES: tuple[str, ...] = ("reordered", "paraphrased", "reordered+paraphrased")
"""The rewrites, in the order they are graded."""

_VARIANT = {"reordered": "reordered", "paraphrased": "paraphrased", "reordered+paraphrased": "both"}

SYNONYMS: dict[str, str] = {
    "addresses": "responds to",
    "asks for": "requests",
    "avoids": "steers clear of",
    "claims": "asserts",
    "contains": "includes",
    "correct": "accurate",
    "declines": "turns down",
    "easy to follow": "easy to understand",
    "every": "each",
    "extra": "additional",
    "fine": "acceptable",
    "gives": "offers",
    "helps": "assists",
    "invented": "made-up",
    "meets": "satisfies",
    "needless": "unnecessary",
    "needs": "requires",
    "on their own": "by themselves",
    "politely": "courteously",
    "actually": "really",
    "respecting": "honouring",
    "stays": "remains",
    "tells": "instructs",
    "unrelated": "off-topic",
    "unsafe": "dangerous",
    "usable": "practical",
    "wrong": "incorrect",
}
"""The fixed synonym table of the paraphrase (keys: whole words or phrases, lower case). No entry
adds or removes a negation, a restrictor, a number or a name."""

# Verbs a criterion may start with, third person singular → base form (imperative).
_VERBS: dict[str, str] = {
    "addresses": "address",
    "adds": "add",
    "answers": "answer",
    "asks": "ask",
    "avoids": "avoid",
    "cites": "cite",
    "claims": "claim",
    "contains": "contain",
    "declines": "decline",
    "describes": "describe",
    "does": "do",
    "escalates": "escalate",
    "explains": "explain",
    "follows": "follow",
    "guarantees": "guarantee",
    "implies": "imply",
    "lists": "list",
    "gives": "give",
    "has": "have",
    "helps": "help",
    "includes": "include",
    "is": "be",
    "keeps": "keep",
    "meets": "meet",
    "mentions": "mention",
    "offers": "offer",
    "promises": "promise",
    "protects": "protect",
    "provides": "provide",
    "refuses": "refuse",
    "remains": "remain",
    "repeats": "repeat",
    "resists": "resist",
    "respects": "respect",
    "responds": "respond",
    "sends": "send",
    "states": "state",
    "stays": "stay",
    "treats": "treat",
    "uses": "use",
}
_BASE_TO_3SG = {base: third for third, base in _VERBS.items() if base not in ("be", "have", "answer")}
_ADVERBS = ("never", "always", "only", "clearly", "directly", "explicitly")
_IMPERATIVE = re.compile(
    r"^(?:check (?:that|whether)|ensure(?: that)?|make sure(?: that)?|verify (?:that|whether))\s+(.+)$",
    re.IGNORECASE | re.DOTALL,
)
_NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"}
    | {"only", "unless", "except", "nowhere"}
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NUMBER_WORDS = _words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty hundred thousand million once "
    "twice first second third fourth fifth half double"
)
_PRONOUNS = _words("it its this these those they them their such above below former latter")
_FRAGMENT_STARTS = frozenset({"not", "also", "otherwise", "then", "only", "decides", *_VERBS})
_AUXILIARIES = _words("must should are is have has can cannot do will would may might need were shall")
_PLURAL_SUBJECTS = _words("they we you i these those both all")
_QUOTE = re.compile(r'"[^"\n]*"|“[^”\n]*”|`[^`\n]*`')
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\x00\"“`(])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_ORDER_IN_TEMPLATE = re.compile(
    r"\bpriorit|\bin order\b|\border of (?:importance|priority|precedence)\b|\branked\b|\bmost important\b",
    re.IGNORECASE,
)
_ORDER_IN_CRITERIA = re.compile(
    r"\b(?:decides|comes|goes|applies) first\b|\bpriority\b|\bonly when\b|\bbefore (?:the )?other\b",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------------
# The rewrites


def _mask(text: str) -> tuple[str, list[str]]:
    quotes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        quotes.append(m.group(0))
        return f"\x00{len(quotes) - 1}\x00"

    return _QUOTE.sub(keep, text), quotes


def _unmask(text: str, quotes: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: quotes[int(m.group(1))], text)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _swap_mood(sentence: str, subject: str) -> str:
    """Rule 1 on the first sentence: imperative → declarative, or declarative → imperative."""
    m = _IMPERATIVE.match(sentence)
    if m:
        return _capitalise(m.group(1))
    words = sentence.split(" ", 2)
    first = words[0]
    if first[:1].isupper() and first[1:].islower():
        low = first.lower()
        verb = words[1].rstrip(",;:") if len(words) > 1 else ""
        if verb.lower() in _AUXILIARIES:  # "Answers must …": the first word is a plural noun
            return sentence
        if low in _VERBS or (low in _ADVERBS and verb in _VERBS):
            return f"Check {subject} {low}{sentence[len(first) :]}"
        if low in _BASE_TO_3SG and len(words) > 1 and words[1][:1].islower():
            declarative = "The answer" if subject.startswith("that") else "Each response"
            return f"{declarative} {_BASE_TO_3SG[low]}{sentence[len(first) :]}"
    return sentence


def _modals(text: str) -> str:
    """Rule 2: "must" → "has to"/"have to", "should" → "ought to"; never before a negation."""

    def repl(m: re.Match[str]) -> str:
        before, modal, after = m.group(1), m.group(2), m.group(3)
        if after.lower() in ("not", "never") or not modal.islower():
            return m.group(0)
        if modal == "should":
            return f"{before} ought to {after}"
        plural = before.lower() in _PLURAL_SUBJECTS or (
            before.lower().endswith("s") and not before.lower().endswith("ss") and before.lower() != "this"
        )
        return f"{before} {'have' if plural else 'has'} to {after}"

    return re.sub(r"\b([A-Za-z]+) (must|should) ([A-Za-z]+)\b", repl, text)


_SYNONYM_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True)) + r")\b", re.IGNORECASE
)


def _synonyms(text: str) -> str:
    """Rule 3: the fixed synonym table, whole words, lower case or a sentence's first word."""

    def repl(m: re.Match[str]) -> str:
        found = m.group(0)
        new = SYNONYMS[found.lower()]
        if found.islower():
            return new
        start = m.start() == 0 or text[: m.start()].rstrip().endswith((".", "!", "?"))
        if start and found[:1].isupper() and found[1:] == found[1:].lower():
            return _capitalise(new)
        return found

    return _SYNONYM_RE.sub(repl, text)


def _movable(sentence: str) -> bool:
    words = [w.lower() for w in _WORD.findall(sentence)]
    return len(words) >= 4 and words[0] not in _FRAGMENT_STARTS and not (set(words) & _PRONOUNS)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def invariants(text: str) -> tuple[Counter[str], Counter[str], Counter[str], Counter[str]]:
    """What a paraphrase must keep exactly: negations and restrictors, numbers (digits and number
    words), capitalised names (not counting a sentence's first word) and quoted text — each as a
    multiset.

    >>> neg, num, names, quotes = invariants('Never asks for the CVV; the last 4 digits are fine.')
    >>> sorted(neg), sorted(num), sorted(names), sorted(quotes)
    (['never'], ['4'], ['CVV'], [])
    """
    masked, quotes = _mask(text)
    lowered = [w.lower() for w in _tokens(masked)]
    negations = Counter(w for w in lowered if w in _NEGATIONS or w.endswith(("n't", "n’t")))
    numbers = Counter(re.findall(r"\d+(?:[.,]\d+)*", masked)) + Counter(
        w for w in lowered if w in _NUMBER_WORDS
    )
    names: Counter[str] = Counter()
    for sentence in _SENTENCE_END.split(masked):
        for i, m in enumerate(_WORD.finditer(sentence)):
            word = m.group(0)
            if sum(c.isupper() for c in word) >= 2 or (i > 0 and word[:1].isupper()):
                names[word] += 1
    return negations, numbers, names, Counter(quotes)


def paraphrase(text: str, *, pairwise: bool = False) -> str:
    """A meaning-preserving paraphrase of one criterion's description by the fixed rules of the
    module docstring (mood, modals, synonyms, sentence order); the original text when a rule
    would change a negation, a number, a name or a quote, or when no rule applies. Whitespace is
    normalised. Deterministic.

    >>> paraphrase("Stays calm, respectful and non-judgmental, also with angry users.")
    'Check that the answer remains calm, respectful and non-judgmental, also with angry users.'
    >>> paraphrase("Does exactly what the instruction asks. Decides first.", pairwise=True)
    'Check whether each response does exactly what the instruction asks. Decides first.'
    >>> paraphrase("The answer is polite.")  # no rule applies
    'The answer is polite.'
    """
    original = " ".join(text.split())
    masked, quotes = _mask(original)
    sentences = [s for s in _SENTENCE_END.split(masked) if s]
    if not sentences:
        return text
    subject = "whether each response" if pairwise else "that the answer"
    sentences[0] = _swap_mood(sentences[0], subject)
    sentences = [_synonyms(_modals(s)) for s in sentences]
    if len(sentences) > 1:
        moved = [s for s in sentences[1:] if _movable(s)]
        kept = [s for s in sentences[1:] if not _movable(s)]
        sentences = [*moved, sentences[0], *kept]
    out = _unmask(" ".join(sentences), quotes)
    if out == original or invariants(out) != invariants(original):
        return text
    return out


def paraphrase_criteria(rubric: Rubric) -> list[Criterion]:
    """The rubric's criteria, each description paraphrased (ids and order kept)."""
    pairwise = rubric.scale.kind == "pairwise"
    return [
        Criterion(id=c.id, description=paraphrase(c.description.strip(), pairwise=pairwise))
        for c in rubric.criteria
    ]


def reordered_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """The criteria rotated by half their number, rounded up: c1…c5 → c4, c5, c1, c2, c3.

    >>> [c.id for c in reordered_criteria([Criterion(id=f"c{i}", description="x") for i in range(1, 6)])]
    ['c4', 'c5', 'c1', 'c2', 'c3']
    """
    k = math.ceil(len(criteria) / 2)
    return [*criteria[k:], *criteria[:k]]


def order_matters(rubric: Rubric) -> bool:
    """Whether the criteria's order carries meaning (a template presenting them by priority, or a
    criterion that refers to the order), so that reordering them would change the rubric."""
    if _ORDER_IN_TEMPLATE.search(rubric.template_source):
        return True
    return any(_ORDER_IN_CRITERIA.search(c.description) for c in rubric.criteria)


def reworded_rubrics(rubric: Rubric, sample: GoldItem | None = None) -> dict[str, Rubric]:
    """The meaning-preserving rewrites of the rubric that change its prompt, by name
    (:data:`REWRITES`, in that order). ``sample``: an item whose rendered prompt must change
    (without one, the criteria themselves must)."""
    candidates: dict[str, list[Criterion]] = {}
    paraphrased = paraphrase_criteria(rubric)
    reorder = len(rubric.criteria) > 1 and not order_matters(rubric)
    if reorder:
        candidates["reordered"] = reordered_criteria(rubric.criteria)
    candidates["paraphrased"] = paraphrased
    if reorder:
        candidates["reordered+paraphrased"] = reordered_criteria(paraphrased)

    def key(criteria: list[Criterion]) -> Any:
        if sample is None:
            return tuple((c.id, " ".join(c.description.split())) for c in criteria)
        copy = rubric.model_copy(update={"criteria": criteria})
        return str(render_messages(copy, sample.inputs))

    seen = {key(list(rubric.criteria))}
    out: dict[str, Rubric] = {}
    for name in REWRITES:
        if name not in candidates:
            continue
        k = key(candidates[name])
        if k in seen:
            continue
        seen.add(k)
        out[name] = rubric.model_copy(update={"criteria": candidates[name]})
    return out


# --------------------------------------------------------------------------------------------
# The probe


def _direction(rubric: Rubric, iv: ItemVerdict | None) -> bool | None:
    """The verdict's direction (pass; pairwise: output A), None when there is no valid verdict."""
    if iv is None or iv.status != "ok":
        return None
    if rubric.scale.kind == "pairwise":
        return iv.label == "A"
    return bool(iv.passed)


def _shift_test(
    name: str,
    before: list[bool],
    after: list[bool],
    clusters: list[str],
    tolerance: float,
    *,
    gated: bool,
    confidence: float,
) -> tuple[ProbeTest, dict[str, Any]]:
    repeated = len(set(clusters)) < len(clusters)
    est, se, counts = paired_difference(
        before, after, clusters=clusters if repeated else None, confidence=confidence
    )
    p = boundary_p(counts["centre"], se, tolerance, "abs")
    test = ProbeTest(name=name, estimate=est, tolerance=tolerance, direction="abs", p_value=p, gated=gated)
    return test, {k: counts[k] for k in ("b", "c", "n", "deff")}


def _pct(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{100 * x:.1f}%"


def _interval(e: Estimate) -> str:
    return f"95% CI {fmt(e.lo)} to {fmt(e.hi)}"


class RewordingProbe:
    """Rubric-rewording invariance: the criteria reordered, paraphrased, and both."""

    name = "rewording"
    description = "Rubric rewording: the criteria reordered and paraphrased (same meaning)"
    gated = True
    default_thresholds = dict(DEFAULT_THRESHOLDS)

    def applies(self, rubric: Rubric, items: Sequence[GoldItem]) -> str | None:
        if not items:
            return "no gold items in the split"
        if not reworded_rubrics(rubric, items[0]):
            return (
                "no meaning-preserving rewording changes the prompt (the template does not show the "
                "criteria, or they cannot be reordered and no paraphrase rule applies to them)"
            )
        return None

    def plan(self, rubric: Rubric, items: Sequence[GoldItem], thresholds: dict[str, float]) -> ProbePlan:
        """Calls: items × (1 original + rewrites + 1 resample); passable when an ideal judge's
        pooled interval, ±z·√2/(rewrites × items + 2), fits inside ±``max_shift``."""
        t = {**DEFAULT_THRESHOLDS, **thresholds}
        rewrites = reworded_rubrics(rubric, items[0] if items else None)
        r, n = len(rewrites), len(items)
        floor = 1 if t["resample_floor"] >= 1 else 0
        calls = n * (1 + r + floor)
        confidence = 1.0 - BATTERY_ALPHA
        need = min_cases(t["max_shift"], confidence=confidence)
        z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
        passable = r > 0 and r * n >= need
        min_items = math.ceil(need / r) if r else None
        reason = (
            f"{calls} calls ({n} items × (original + {r} rewording{'s' if r != 1 else ''}"
            f"{' + a resample' if floor else ''})); an ideal judge's pooled interval on {r * n} pairs is "
            f"±{fmt(z * math.sqrt(2.0) / (r * n + 2))}, "
            + (
                f"inside ±{fmt(t['max_shift'])}"
                if passable
                else f"wider than ±{fmt(t['max_shift'])} ({min_items} items needed)"
            )
        )
        return ProbePlan(
            calls=calls,
            cases=r * n,
            passable=passable,
            min_cases=None if passable else need,
            min_items=None if passable else min_items,
            reason=reason,
        )

    async def run(self, ctx: ProbeContext) -> ProbeResult:
        rubric = ctx.rubric
        t = {**DEFAULT_THRESHOLDS, **ctx.thresholds}
        tolerance = t["max_shift"]
        confidence = 1.0 - ctx.alpha
        pairwise = rubric.scale.kind == "pairwise"
        rewrites = reworded_rubrics(rubric, ctx.items[0])
        original = await ctx.grade(ctx.items, label="rewording-original")
        runs: dict[str, tuple[list[GoldItem], RunResult]] = {}
        for name, reworded in rewrites.items():
            variants = [derive_item(it, self.name, _VARIANT[name]) for it in ctx.items]
            runs[name] = (variants, await ctx.grade(variants, rubric=reworded, label=f"rewording-{name}"))
        floor_run: tuple[list[GoldItem], RunResult] | None = None
        if t["resample_floor"] >= 1:
            judge = ctx.judge
            sampling = judge.sampling.model_copy(
                update={"seed": (judge.sampling.seed or 0) + max(judge.samples, 1) + 7919}
            )
            variants = [derive_item(it, self.name, "resample") for it in ctx.items]
            floor_run = (
                variants,
                await ctx.grade(
                    variants,
                    judge=judge.model_copy(update={"sampling": sampling}),
                    label="rewording-resample",
                ),
            )

        by_id = {iv.item_id: iv for iv in original.items}
        cluster_of = {it.id: str(it.metadata.get("prompt_id", it.id)) for it in ctx.items}
        pooled_before: list[bool] = []
        pooled_after: list[bool] = []
        pooled_clusters: list[str] = []
        per_rewrite: dict[str, dict[str, Any]] = {}
        tests: list[ProbeTest] = []
        flips_by_rewrite: dict[str, dict[str, bool]] = {}

        floor_flips: dict[str, bool] = {}
        if floor_run is not None:
            resampled = {iv.item_id: iv for iv in floor_run[1].items}
            for item, variant in zip(ctx.items, floor_run[0], strict=True):
                first, second = by_id.get(item.id), resampled.get(variant.id)
                if first is not None and second is not None and first.status == second.status == "ok":
                    floor_flips[item.id] = first.label != second.label

        for name, (variants, run) in runs.items():
            after_by = {iv.item_id: iv for iv in run.items}
            before: list[bool] = []
            after: list[bool] = []
            clusters: list[str] = []
            score_changes: list[int] = []
            flips: dict[str, bool] = {}
            ties = [0, 0]
            invalid = 0
            for item, variant in zip(ctx.items, variants, strict=True):
                b_iv, a_iv = by_id.get(item.id), after_by.get(variant.id)
                b, a = _direction(rubric, b_iv), _direction(rubric, a_iv)
                if a_iv is not None and a_iv.status == "invalid":
                    invalid += 1
                if b is None or a is None or b_iv is None or a_iv is None:
                    continue
                before.append(b)
                after.append(a)
                clusters.append(cluster_of[item.id])
                flips[item.id] = b_iv.label != a_iv.label
                if rubric.scale.kind == "ordinal":
                    score_changes.append(int(a_iv.label) - int(b_iv.label))  # type: ignore[arg-type]
                if pairwise:
                    ties[0] += b_iv.label == "tie"
                    ties[1] += a_iv.label == "tie"
            test, counts = _shift_test(
                f"{name} shift", before, after, clusters, tolerance, gated=False, confidence=confidence
            )
            tests.append(test)
            pooled_before += before
            pooled_after += after
            pooled_clusters += clusters
            flips_by_rewrite[name] = flips
            flip = wilson(sum(flips.values()), len(flips), confidence=confidence)
            entry: dict[str, Any] = {
                "shift": test.estimate.model_dump(mode="json"),
                "p_value": test.p_value,
                "counts": counts,
                "flip_rate": flip.model_dump(mode="json"),
                "invalid_reworded": invalid,
                "criteria_order": [c.id for c in rewrites[name].criteria],
                "run_id": run.run_id,
            }
            common = [i for i in flips if i in floor_flips]
            if common:
                excess, _, _ = paired_difference(
                    [floor_flips[i] for i in common], [flips[i] for i in common], confidence=confidence
                )
                entry["excess_flip_rate"] = excess.model_dump(mode="json")
            if score_changes:
                entry["mean_score_change"] = sum(score_changes) / len(score_changes)
            if pairwise and before:
                entry["tie_share_change"] = (ties[1] - ties[0]) / len(before)
            per_rewrite[name] = entry

        headline, counts = _shift_test(
            "pooled shift",
            pooled_before,
            pooled_after,
            pooled_clusters,
            tolerance,
            gated=True,
            confidence=confidence,
        )
        floor_rate = wilson(sum(floor_flips.values()), len(floor_flips), confidence=confidence)
        what = "verdicts for output A" if pairwise else "pass rate"
        shifts = ", ".join(f"{name} {fmt(entry['shift']['value'])}" for name, entry in per_rewrite.items())
        flips_text = " / ".join(_pct(per_rewrite[name]["flip_rate"]["value"]) for name in per_rewrite)
        floor_text = (
            f" vs {_pct(floor_rate.value)} between two resamples of the original wording"
            if floor_run is not None
            else ""
        )
        est = headline.estimate
        reason = (
            f"pooled over {len(rewrites)} meaning-preserving rewording{'s' if len(rewrites) != 1 else ''} "
            f"of the criteria the {what} moved by {fmt(est.value)} ({_interval(est)}, tolerance "
            f"±{fmt(tolerance)}, p={fmt(headline.p_value)}, {counts['n']} pairs); per rewording: {shifts}; "
            f"verdicts flipped {flips_text}{floor_text} (flips include noise; the shift does not)"
        )
        details: dict[str, Any] = {
            "rewrites": per_rewrite,
            "counts": counts,
            "noise_floor": floor_rate.model_dump(mode="json") if floor_run is not None else None,
            "reworded_criteria": {
                name: {c.id: c.description for c in rewritten.criteria}
                for name, rewritten in rewrites.items()
                if "paraphrased" in name
            },
            "run_ids": [original.run_id, *(run.run_id for _, run in runs.values())]
            + ([floor_run[1].run_id] if floor_run is not None else []),
        }
        result = ProbeResult(
            probe=self.name,
            kind="invariance",
            gated=self.gated,
            statistic=(
                "rewording shift: P(verdict for output A | reworded criteria) − P(… | original), "
                "pooled over rewordings"
                if pairwise
                else "rewording shift: P(pass | reworded criteria) − P(pass | original), pooled over "
                "rewordings"
            ),
            estimate=est,
            headline_limit="max_shift",
            threshold={"max_shift": tolerance},
            alpha=ctx.alpha,
            p_value=headline.p_value,
            tests=[headline, *tests],
            reason=reason,
            n=counts["n"],
            details=details,
        )
        return settle([result], alpha=ctx.alpha)[0]
