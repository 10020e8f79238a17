"""MT-Bench human judgments (``lmsys/mt_bench_human_judgments``): humans' and GPT-4's pairwise votes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judgecal.errors import GoldError
from judgecal.gold import GoldItem
from judgecal.importers._model import JudgmentSet, RecordedVerdict
from judgecal.importers._records import _PAIRWISE, Label, StrPath, _inputs, _records, _text, _Where


def _mtbench_winner(value: object) -> Label | None:
    """``model_a``/``model_b`` -> A/B; any ``tie...`` (``tie (bothbad)``) -> tie, as FastChat's
    ``compute_agreement.py`` counts them; anything else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text == "model_a":
        return "A"
    if text == "model_b":
        return "B"
    return "tie" if text.startswith("tie") else None


_FLIP: dict[Label | None, Label | None] = {"A": "B", "B": "A", "tie": "tie", None: None}


def _messages(value: object, where: _Where, field: str, turn: int) -> tuple[list[str], list[str]]:
    if not isinstance(value, list):
        raise where.error("must be a list of {role, content} messages", field)
    users: list[str] = []
    answers: list[str] = []
    for i, msg in enumerate(value):
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), str):
            raise where.error("each message needs a text 'content' and a 'role'", f"{field}[{i}]")
        role = msg.get("role")
        if role == "user":
            users.append(msg["content"])
        elif role == "assistant":
            answers.append(msg["content"])
        else:
            raise where.error(f"role {role!r} must be 'user' or 'assistant'", f"{field}[{i}].role")
    if len(users) < turn or len(answers) < turn:
        raise where.error(f"has fewer than {turn} user and assistant messages (turn {turn})", field)
    return users[:turn], answers[:turn]


def _transcript(texts: Sequence[str], who: str) -> str:
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"### {who} (turn {i}):\n{t}" for i, t in enumerate(texts, start=1))


def import_mtbench(
    path: StrPath,
    *,
    also: Sequence[StrPath] = (),
    judge_prefixes: Sequence[str] = ("gpt4", "gpt-4"),
    keep_unlabelled: bool = False,
    name: str | None = None,
) -> JudgmentSet:
    """Pairwise votes in the ``lmsys/mt_bench_human_judgments`` format (JSON array or JSONL).

    Records ``{question_id, model_a, model_b, winner, judge, turn, conversation_a,
    conversation_b}`` from ``path`` and the files in ``also`` (e.g. the ``human`` and ``gpt4_pair``
    splits exported separately). An item is (question, model pair, turn), the pair in alphabetical
    order as FastChat's ``compute_agreement.py`` keys it (a vote on the reversed pair is flipped).
    ``winner``: ``model_a``/``model_b`` -> A/B, any ``tie...`` -> tie. A ``judge`` whose name starts
    with one of ``judge_prefixes`` gives recorded verdicts (an unknown winner is invalid); every
    other judge is a human annotator (an unknown winner is an error). Items no human labelled are
    dropped unless ``keep_unlabelled``. ``metadata.prompt_id`` is the question id.
    """
    files = [Path(path), *(Path(p) for p in also)]
    items: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, dict[str, tuple[RecordedVerdict, _Where]]] = defaultdict(dict)
    for file in files:
        if file.suffix == ".parquet":
            raise GoldError(
                "Parquet is not read directly: export the split as JSON lines first, e.g. "
                "datasets.load_dataset('lmsys/mt_bench_human_judgments')['human'].to_json('human.jsonl')",
                location=str(file),
            )
        n = 0
        for where, rec in _records(file):
            n += 1
            qid = rec.get("question_id")
            if isinstance(qid, bool) or not isinstance(qid, int | str) or qid == "":
                raise where.error(f"must be an integer or text, not {qid!r}", "question_id")
            turn = rec.get("turn", 1)
            if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
                raise where.error(f"must be a positive integer, not {turn!r}", "turn")
            model_a = _text(rec.get("model_a"), where, "model_a")
            model_b = _text(rec.get("model_b"), where, "model_b")
            if not model_a or model_a == model_b:
                raise where.error("model_a and model_b must be two different names", "model_b")
            judge_raw = rec.get("judge")
            if isinstance(judge_raw, list) and judge_raw and all(isinstance(j, str) for j in judge_raw):
                judge = "/".join(judge_raw)  # FastChat's own files: ["gpt-4", "pair-v2"]
            elif isinstance(judge_raw, str) and judge_raw.strip():
                judge = judge_raw.strip()
            else:
                raise where.error(f"must be a judge name, not {judge_raw!r}", "judge")
            winner = rec.get("winner")
            if not isinstance(winner, str):
                raise where.error(f"must be text (model_a, model_b, tie), not {winner!r}", "winner")
            label = _mtbench_winner(winner)
            is_judge = judge.startswith(tuple(judge_prefixes))
            if label is None and not is_judge:
                raise where.error(
                    f"winner {winner!r} must be model_a, model_b, tie or tie (bothbad)", "winner"
                )
            flip = model_b < model_a
            first, second = (model_b, model_a) if flip else (model_a, model_b)
            if flip:
                label = _FLIP[label]
            item_id = f"{qid}-{first}-vs-{second}-t{turn}"
            users, answers_a = _messages(rec.get("conversation_a"), where, "conversation_a", turn)
            _, answers_b = _messages(rec.get("conversation_b"), where, "conversation_b", turn)
            item = items.get(item_id)
            if item is None:  # the first record of an item gives its texts
                if flip:
                    answers_a, answers_b = answers_b, answers_a
                metadata: dict[str, Any] = {
                    "question_id": qid,
                    "turn": turn,
                    "model_a": first,
                    "model_b": second,
                    "generator_model_a": first,
                    "generator_model_b": second,
                    "prompt_id": qid,
                    "slice": f"turn {turn}",
                }
                inputs = _inputs(
                    {
                        "input": _transcript(users, "User"),
                        "output_a": _transcript(answers_a, "Assistant"),
                        "output_b": _transcript(answers_b, "Assistant"),
                    },
                    metadata,
                )
                item = items[item_id] = {"inputs": inputs, "metadata": metadata, "labels": {}}
            if is_judge:
                if item_id in verdicts[judge]:
                    raise where.error(
                        f"judge {judge!r} already has a verdict on this item "
                        f"(at {verdicts[judge][item_id][1]})",
                        "judge",
                    )
                v = RecordedVerdict(
                    item_id=item_id, label=label, raw=winner, status="ok" if label is not None else "invalid"
                )
                verdicts[judge][item_id] = (v, where)
            else:
                key, k = judge, 2
                while key in item["labels"]:  # a second vote by the same person counts as FastChat counts it
                    key, k = f"{judge}#{k}", k + 1
                item["labels"][key] = label
        if n == 0:
            raise GoldError("the file has no records", location=str(file))
    keep = {i for i, it in items.items() if it["labels"] or keep_unlabelled}
    gold = [GoldItem(id=i, **it) for i, it in items.items() if i in keep]
    judged = {
        judge: [v for i, (v, _) in by_item.items() if i in keep]
        for judge, by_item in sorted(verdicts.items())
    }
    return JudgmentSet(
        name=name or f"mtbench-{Path(path).stem}",
        source=str(path),
        format="mtbench",
        scale="pairwise",
        labels=list(_PAIRWISE),
        items=gold,
        judges=judged,
    )
