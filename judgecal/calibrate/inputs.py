"""Where calibration data comes from: a stored grading run, or verdicts imported from elsewhere."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from judgecal.calibrate.report import CalibrationInput, ItemRecord
from judgecal.errors import InputError

OrderRule = Literal["conservative", "judgebench"]
"""How the two presentation orders of a pair combine (:func:`judgecal.judge.aggregate`)."""

__all__ = ["OrderRule", "input_from_judgments", "input_from_run", "input_from_verdicts"]


def input_from_run(store: Any, run_id: str, *, order_rule: OrderRule = "conservative") -> CalibrationInput:
    """The items of a stored run with the judge's aggregated verdicts and the human labels.

    The gold set is re-read from the path the run recorded; if its bytes changed since the run,
    the labels no longer match what was graded and this raises :class:`InputError`. A pairwise
    run in both orders combines them by ``order_rule`` (:func:`judgecal.judge.aggregate`); its
    order-inconsistent pairs are counted in ``meta["order_inconsistent"]`` (of
    ``meta["both_orders"]`` pairs with a verdict in each order) and named in a note — they are
    verdicts (``tie``), not invalid ones.
    """
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.judge import JudgeConfig, aggregate, verdicts_from_rows  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415

    run = store.get_run(run_id)
    rubric = find_rubric(run.rubric_name)
    gold = load_gold(run.gold_path, rubric, require_labels=False)
    if gold.file_hash != run.gold_hash:
        raise InputError(
            f"the gold set changed since run {run.id[:12]} graded it (hash {run.gold_hash[:12]} then, "
            f"{gold.file_hash[:12]} now): grade it again",
            location=run.gold_path,
        )
    judge = JudgeConfig.model_validate_json(run.settings_json)
    items = gold.select(run.split)  # type: ignore[arg-type]
    rows = store.run_calls(run.id)
    verdicts, item_verdicts = verdicts_from_rows(rubric, judge, items, rows)
    stored = {ri.item_id for ri, _call in rows}
    never = sorted(item.id for item in items if item.id not in stored)
    reasons = Counter(v.invalid_reason or "unknown" for v in verdicts if v.status == "invalid")
    by_id = {iv.item_id: iv for iv in item_verdicts}
    inconsistent = both = 0
    if rubric.scale.kind == "pairwise" and judge.orders == "both":
        units: dict[str, list[Any]] = {}
        for v in verdicts:
            units.setdefault(v.item_id, []).append(v)
        for item in items:
            mine = units.get(item.id, [])
            by_id[item.id] = aggregate(rubric, judge, item, mine, order_rule=order_rule)
            per_order = [
                aggregate(rubric, judge, item, [v for v in mine if v.order == o]) for o in ("ab", "ba")
            ]
            if all(iv.status == "ok" for iv in per_order):
                both += 1
                inconsistent += per_order[0].label != per_order[1].label
    records: list[ItemRecord] = []
    for item in items:
        iv = by_id[item.id]
        score: float | None = None
        if rubric.scale.kind == "ordinal":
            score = iv.score_mean
        elif rubric.scale.kind == "binary" and judge.samples > 1 and iv.votes:
            score = iv.votes.get("pass", 0) / sum(iv.votes.values())
        status: Literal["ok", "invalid", "error", "skipped"] = iv.status
        records.append(
            ItemRecord(
                id=item.id,
                humans=dict(item.labels),
                judge=iv.label if status == "ok" else None,
                judge_status=status,
                split=gold.splits[item.id],
                slice=item.slice,
                cluster=None if item.metadata.get("prompt_id") is None else str(item.metadata["prompt_id"]),
                score=score,
                adjudicated=item.adjudicated,
            )
        )
    notes = _inconsistency_note(inconsistent, both, order_rule)
    if rubric.rubric_hash != run.rubric_hash or rubric.template_hash != run.template_hash:
        notes.append(
            "the rubric or its template changed since this run: the figures describe the version graded"
        )
    labels, tie_note = _with_tie(list(rubric.scale.labels), [r.judge for r in records])
    return CalibrationInput(
        scale=rubric.scale.kind,
        labels=labels,
        items=records,
        judge_name=run.model,
        source=f"run {run.id}",
        rubric=rubric.name,
        run_id=run.id,
        gold_hash=run.gold_hash,
        dev_versions=store.dev_versions(rubric.name, run.gold_hash),
        pass_threshold=rubric.scale.pass_threshold,
        meta={
            "invalid_reasons": dict(reasons),
            "notes": [*notes, *tie_note],
            "run_status": run.status,
            "never_graded": never,
            "samples": judge.samples,
            "order_inconsistent": inconsistent,
            "both_orders": both,
            "order_rule": order_rule,
        },
    )


def _vote(
    verdicts: list[Any], invalid_as: Any, scale: str
) -> tuple[Any, Literal["ok", "invalid", "error", "skipped"]]:
    """The recorded verdicts of one order (or of an item without orders) -> one label: the valid
    verdicts vote; a tied vote is ``fail`` (binary), the lower score (ordinal), ``tie``
    (pairwise: no preference)."""
    votes = Counter(v.label if v.label is not None else invalid_as for v in verdicts)
    votes.pop(None, None)
    if not verdicts:
        return None, "skipped"
    if not votes:
        return None, "invalid"
    ranked = votes.most_common()
    top = [lab for lab, n in ranked if n == ranked[0][1]]
    if len(top) == 1:
        return top[0], "ok"
    if scale == "binary":
        return "fail", "ok"
    if scale == "ordinal":
        return min(top), "ok"
    return "tie", "ok"


def _order_labels(verdicts: list[Any], invalid_as: Any) -> tuple[Any, Any] | None:
    """A pair's verdict in each order (``ab``, ``ba``) when both orders were recorded and gave a
    label, else None."""
    by_order = {o: [v for v in verdicts if v.order == o] for o in ("ab", "ba")}
    if not all(by_order.values()):
        return None
    ab, ab_status = _vote(by_order["ab"], invalid_as, "pairwise")
    ba, ba_status = _vote(by_order["ba"], invalid_as, "pairwise")
    return (ab, ba) if ab_status == ba_status == "ok" else None


def _item_verdict(
    verdicts: list[Any],
    labels: list[Any],
    invalid_as: Any,
    scale: str = "pairwise",
    *,
    order_rule: OrderRule = "conservative",
) -> tuple[Any, Literal["ok", "invalid", "error", "skipped"]]:
    """Recorded verdicts of one item (one or both orders) -> one label, by the rule
    :func:`judgecal.judge.aggregate` applies to judgecal's own runs. A pair recorded in both
    orders: each order's verdicts vote (:func:`_vote`); an order whose verdicts are all
    unparseable makes the item invalid; two different verdicts are an order-inconsistent pair,
    ``tie`` under ``order_rule="conservative"`` (Zheng et al. 2023: a win only when both orders
    agree) — never invalid — and under ``"judgebench"`` (Tan et al. 2024) a tie in one order
    and a win in the other is that win. Anything else: every verdict votes (:func:`_vote`).
    ``labels`` (the scale) is kept for the callers' sake: a tie is the verdict of an
    order-inconsistent pair even on a scale without one."""
    del labels
    if scale == "pairwise" and {v.order for v in verdicts} >= {"ab", "ba"}:
        both = _order_labels(verdicts, invalid_as)
        if both is None:
            return None, "invalid"
        ab, ba = both
        if ab == ba:
            return ab, "ok"
        if order_rule == "judgebench" and "tie" in (ab, ba):
            return (ba if ab == "tie" else ab), "ok"
        return "tie", "ok"
    return _vote(verdicts, invalid_as, scale)


def _with_tie(labels: list[Any], judged: list[Any]) -> tuple[list[Any], list[str]]:
    """A pairwise scale without ties gains ``tie`` as a judge-only category when an
    order-inconsistent pair was combined into one."""
    if "tie" in labels or "tie" not in judged:
        return labels, []
    note = (
        "the scale has no tie, but pairs whose two orders disagree are counted as 'tie' "
        "(the judge preferred neither output): 'tie' is shown as a judge-only category"
    )
    return [*labels, "tie"], [note]


def _inconsistency_note(inconsistent: int, both: int, order_rule: OrderRule) -> list[str]:
    if not both:
        return []
    rule = (
        "each counted as a tie (a win only when both orders agree: Zheng et al. 2023)"
        if order_rule == "conservative"
        else "a tie in one order and a win in the other counted as that win, opposite wins as a "
        "tie (Tan et al. 2024, JudgeBench)"
    )
    return [
        f"{inconsistent} of {both} pairs judged in both orders gave a different verdict in each "
        f"order (order-inconsistent): {rule}, not as invalid; the position probe tells whether "
        "they lean to one slot"
    ]


def input_from_verdicts(
    gold: Any,
    verdicts: list[Any],
    *,
    judge_name: str,
    scale: Literal["binary", "ordinal", "pairwise"],
    labels: list[Any],
    order: Literal["ab", "ba", "both"] = "both",
    invalid_as: Any = None,
    rubric: str | None = None,
    pass_threshold: int | None = None,
    source: str,
    order_rule: OrderRule = "conservative",
) -> CalibrationInput:
    """A gold set plus verdicts recorded elsewhere (``RecordedVerdict`` list of one judge).

    ``order`` picks the presentation orders to use when both were recorded; ``invalid_as`` maps
    unparseable verdicts onto a label (PandaLM's published table counts them as ``tie``) —
    ``None`` keeps them invalid. ``order_rule`` combines a pair's two orders (see
    :func:`_item_verdict`); the order-inconsistent pairs are counted in
    ``meta["order_inconsistent"]`` (of ``meta["both_orders"]``).
    """
    grouped: dict[str, list[Any]] = {}
    for v in verdicts:
        if order == "both" or v.order in (None, order):
            grouped.setdefault(v.item_id, []).append(v)
    records = []
    inconsistent = both = 0
    for item in gold.items:
        mine = grouped.get(item.id, [])
        label, status = _item_verdict(mine, labels, invalid_as, scale, order_rule=order_rule)
        pair = _order_labels(mine, invalid_as) if scale == "pairwise" else None
        if pair is not None:
            both += 1
            inconsistent += pair[0] != pair[1]
        records.append(
            ItemRecord(
                id=item.id,
                humans=dict(item.labels),
                judge=label,
                judge_status=status,
                split=gold.splits[item.id],
                slice=item.slice,
                cluster=None if item.metadata.get("prompt_id") is None else str(item.metadata["prompt_id"]),
                adjudicated=item.adjudicated,
            )
        )
    reasons = Counter("unparseable" for v in verdicts if v.label is None)
    notes = _inconsistency_note(inconsistent, both, order_rule)
    if invalid_as is not None:
        notes.append(f"unparseable verdicts were counted as {invalid_as!r}, not as invalid")
    scale_labels, tie_note = _with_tie(list(labels), [r.judge for r in records])
    return CalibrationInput(
        scale=scale,
        labels=scale_labels,
        items=records,
        judge_name=judge_name,
        source=source,
        rubric=rubric,
        gold_hash=gold.file_hash,
        pass_threshold=pass_threshold,
        meta={
            "invalid_reasons": dict(reasons),
            "notes": [*notes, *tie_note],
            "order_inconsistent": inconsistent,
            "both_orders": both,
            "order_rule": order_rule,
        },
    )


def input_from_judgments(
    judgments: Any,
    judge: str,
    *,
    order: Literal["ab", "ba", "both"] = "both",
    invalid_as: Any = None,
    order_rule: OrderRule = "conservative",
) -> CalibrationInput:
    """A :class:`judgecal.importers.JudgmentSet` (PandaLM, LLMBar, MT-Bench, CSV...) and one of its judges."""
    from judgecal.errors import NotFoundError  # noqa: PLC0415

    if judge not in judgments.judges:
        raise NotFoundError(
            f"no judge {judge!r} in {judgments.source}; judges: {', '.join(sorted(judgments.judges))}"
        )
    return input_from_verdicts(
        judgments.to_gold_set(),
        judgments.judges[judge],
        judge_name=judge,
        scale=judgments.scale,
        labels=list(judgments.labels),
        order=order,
        invalid_as=invalid_as,
        source=f"{judgments.format} {judgments.source}",
        order_rule=order_rule,
    )
