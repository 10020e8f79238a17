"""The texts of the verbosity probe: padded variants that add length and no information, and
concise variants that drop it (see :mod:`judgecal.probes.verbosity` for the statistics).

Padding (:func:`pad`) makes each output at least ``MIN_PAD_RATIO`` (1.3) times as long, keeping it
verbatim: ``restatement`` (the user's question restated before the answer, restating sentences
after it), ``filler`` (generic sentences around it) and ``repetitive_list`` (Zheng et al.'s
repetitive-list attack, made deterministic: the answer's own sentences as a numbered "Summary of
the key points" list before it). A concise variant (:func:`concise_text`) is the gold set's
``metadata.concise_output`` when it has one, else the output without its whole-sentence
pleasantries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from judgecal.gold import GoldItem
from judgecal.probes._stats import derive_item
from judgecal.rubric import Rubric

__all__ = [
    "FILLER",
    "MIN_PAD_RATIO",
    "PADDINGS",
    "Padding",
    "concise_text",
    "concise_variants",
    "pad",
    "padded_variants",
    "sentences",
]

Padding = Literal["restatement", "filler", "repetitive_list"]

PADDINGS: tuple[Padding, ...] = ("restatement", "filler", "repetitive_list")
"""The padding kinds, in report order."""

MIN_PAD_RATIO = 1.3
"""Every padded output is at least this many times as long as the original (characters)."""


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
