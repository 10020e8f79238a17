"""Published figures reproduced from the real public data (PandaLM, LLMBar) through our importers.

Runs when ``JUDGECAL_REAL_DATA`` points at the data folder (a folder of the public human-judgment
datasets; CI provides it).
Every figure is computed twice: with judgecal's own statistics and with an independent
implementation (scikit-learn, krippendorff), so a bug in either shows up.

Conventions that reproduce the published numbers (see ``docs/importers.md``):

* PandaLM: gold = majority of annotator1..3 (every one of the 999 items has one); accuracy and
  macro precision/recall/F1 over the three classes A, B, tie, each class's F1 averaged (not the
  F1 of the averaged P and R), undefined precision counted as 0. The gpt-3.5-turbo row counts its
  25 unparseable verdicts (``"garbage"``) as ties, as PandaLM's ``compute_metrics.py`` does.
* LLMBar: the final verdict of each order (``results[-1]``); an unparseable verdict (``null``) is
  wrong for accuracy; for positional agreement (``equal``) two unparseable verdicts of one item
  count as the same pick (the authors compare the raw winners, ``None == None``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support

from judgecal.calibrate import agreement as ag
from judgecal.importers import JudgmentSet, import_llmbar, import_pandalm, llmbar_statistics

ROOT = Path(__file__).resolve().parent.parent


def _data_dir() -> Path | None:
    value = os.environ.get("JUDGECAL_REAL_DATA")
    if not value:
        return None
    path = Path(value)
    if path.is_absolute():
        return path
    # CI gives it relative to the project root; tests run in a temporary folder.
    return (Path.cwd() / path) if (Path.cwd() / path).exists() else (ROOT / path)


DATA = _data_dir()

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        DATA is None,
        reason="JUDGECAL_REAL_DATA is not set (the public human-judgment datasets; CI provides them)",
    ),
]

PAIRWISE = ["A", "B", "tie"]
INVALID = "invalid"
"""The judge-side category an unparseable verdict becomes when it counts as wrong."""


def _pct(x: float) -> float:
    return round(100 * x, 2)


# --------------------------------------------------------------------------------------------
# PandaLM


@pytest.fixture(scope="module")
def pandalm() -> JudgmentSet:
    assert DATA is not None
    return import_pandalm(DATA / "pandalm" / "data" / "testset-v1.json")


def _pairs(js: JudgmentSet, judge: str, invalid_as: str) -> tuple[list[object], list[object]]:
    """Gold majority and the judge's label, item by item (every item has both here)."""
    gold = js.gold_labels()
    pred = js.verdict_labels(judge, invalid_as=invalid_as if invalid_as in js.labels else None)
    ids = [item.id for item in js.items]
    return [gold[i] for i in ids], [INVALID if pred[i] is None else pred[i] for i in ids]


def test_pandalm_import_is_complete(pandalm: JudgmentSet):
    assert len(pandalm.items) == 999
    assert pandalm.annotators == ["annotator1", "annotator2", "annotator3"]
    gold = pandalm.gold_labels()
    # The convention question "items without a majority?" does not arise: none of the 999 lacks one.
    assert None not in gold.values()
    assert sorted(pandalm.judges) == ["gpt-3.5-turbo", "pandalm-7b"]
    for verdicts in pandalm.judges.values():
        assert sorted(v.item_id for v in verdicts) == sorted(gold)
    invalid = [v for v in pandalm.judges["gpt-3.5-turbo"] if v.status == "invalid"]
    assert len(invalid) == 25 and {v.raw for v in invalid} == {"garbage"}
    assert all(v.status == "ok" for v in pandalm.judges["pandalm-7b"])
    raws = {v.raw for v in pandalm.judges["gpt-3.5-turbo"]}
    assert raws == {"1", "2", "Tie", "garbage"}


@pytest.mark.parametrize(
    ("judge", "invalid_as", "published"),
    [
        # The published gpt-3.5-turbo row: its 25 unparseable verdicts counted as ties.
        ("gpt-3.5-turbo", "tie", (71.07, 58.79, 57.36, 57.55)),
        ("pandalm-7b", INVALID, (66.77, 57.38, 57.50, 57.43)),
    ],
)
def test_pandalm_table(pandalm: JudgmentSet, judge: str, invalid_as: str, published: tuple[float, ...]):
    y_true, y_pred = _pairs(pandalm, judge, invalid_as)
    ours = ag.precision_recall_f1(y_true, y_pred, labels=PAIRWISE)
    assert ours.n == len(pandalm.items) == 999 and ours.accuracy == ag.percent_agreement(y_true, y_pred)
    figures = (
        _pct(ag.percent_agreement(y_true, y_pred)),
        _pct(ours.macro_precision),
        _pct(ours.macro_recall),
        _pct(ours.macro_f1),
    )
    assert figures == published
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=PAIRWISE, average="macro", zero_division=0
    )
    sk = (_pct(accuracy_score(y_true, y_pred)), _pct(p), _pct(r), _pct(f))
    assert sk == published


def test_pandalm_gpt35_with_unparseable_verdicts_counted_as_wrong(pandalm: JudgmentSet):
    """Counted as invalid (wrong whatever the gold label) instead of as ties: accuracy 69.77.

    Not a published row: the macro figures are averaged over A, B, tie, with the invalid
    verdicts as misses of their true class (53.65 / 53.24 / 52.74).
    """
    y_true, y_pred = _pairs(pandalm, "gpt-3.5-turbo", INVALID)
    assert _pct(ag.percent_agreement(y_true, y_pred)) == 69.77
    assert _pct(accuracy_score(y_true, y_pred)) == 69.77
    ours = ag.precision_recall_f1(y_true, y_pred, labels=[*PAIRWISE, INVALID], macro_labels=PAIRWISE)
    assert ours.accuracy == ag.percent_agreement(y_true, y_pred)
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=PAIRWISE, average="macro", zero_division=0
    )
    assert (_pct(ours.macro_precision), _pct(ours.macro_recall), _pct(ours.macro_f1)) == (53.65, 53.24, 52.74)
    assert (_pct(p), _pct(r), _pct(f)) == (53.65, 53.24, 52.74)


@pytest.mark.parametrize(
    ("first", "second", "published"),
    [
        ("annotator1", "annotator2", 0.85),
        ("annotator1", "annotator3", 0.88),
        ("annotator2", "annotator3", 0.86),
    ],
)
def test_pandalm_human_human_kappa(pandalm: JudgmentSet, first: str, second: str, published: float):
    a, b = pandalm.annotator_labels(first), pandalm.annotator_labels(second)
    ids = sorted(a)
    x, y = [a[i] for i in ids], [b[i] for i in ids]
    ours = ag.cohen_kappa(x, y)
    assert round(ours, 2) == published
    assert ours == pytest.approx(cohen_kappa_score(x, y), abs=1e-12)


def test_pandalm_three_annotator_alpha_matches_krippendorff(pandalm: JudgmentSet):
    raters = ["annotator1", "annotator2", "annotator3"]
    data = [[item.labels[r] for item in pandalm.items] for r in raters]
    ours = ag.krippendorff_alpha(data, level="nominal")
    code = {"A": 1, "B": 2, "tie": 0}
    theirs = krippendorff.alpha(
        reliability_data=np.array([[code[v] for v in row] for row in data], dtype=float),
        level_of_measurement="nominal",
    )
    assert ours == pytest.approx(theirs, abs=1e-12)
    assert round(ours, 4) == 0.8642  # no published figure: pinned to catch a change


# --------------------------------------------------------------------------------------------
# LLMBar

LLMBAR_SETS = ("LLMBar/Natural", "Processed/MT-Bench", "Processed/FairEval")
RESULT_DIRS: list[Path] = (
    sorted(p.parent for s in LLMBAR_SETS for p in (DATA / "llmbar" / s).glob("evaluators/*/*/result.json"))
    if DATA is not None
    else []
)


@functools.cache
def _llmbar(dataset_dir: Path) -> JudgmentSet:
    return import_llmbar(dataset_dir)


def _judge_of(result_dir: Path) -> tuple[JudgmentSet, str]:
    return _llmbar(result_dir.parent.parent.parent), f"{result_dir.parent.name}/{result_dir.name}"


def _id(result_dir: Path) -> str:
    return "/".join(result_dir.parts[-5:]).replace("/evaluators", "")


def _orders(js: JudgmentSet, judge: str) -> tuple[list[object], list[object | None], list[object | None]]:
    gold, ab, ba = (
        js.gold_labels(),
        js.verdict_labels(judge, order="ab"),
        js.verdict_labels(judge, order="ba"),
    )
    ids = [item.id for item in js.items]
    return [gold[i] for i in ids], [ab[i] for i in ids], [ba[i] for i in ids]


def _inv(labels: Sequence[object | None]) -> list[object]:
    return [INVALID if v is None else v for v in labels]


def test_llmbar_subset_is_all_there():
    assert DATA is not None
    assert len(RESULT_DIRS) == 40
    sizes = {s: len(_llmbar(DATA / "llmbar" / s).items) for s in LLMBAR_SETS}
    assert sizes == {"LLMBar/Natural": 100, "Processed/MT-Bench": 200, "Processed/FairEval": 66}


@pytest.mark.parametrize("result_dir", RESULT_DIRS, ids=_id)
def test_llmbar_statistics_reproduced(result_dir: Path):
    js, judge = _judge_of(result_dir)
    stats = llmbar_statistics(result_dir)
    gold, ab, ba = _orders(js, judge)
    n = len(gold)
    assert stats["n"] == n

    correct_ab = sum(p == g for p, g in zip(ab, gold, strict=True))  # an invalid verdict is wrong
    correct_ba = sum(p == g for p, g in zip(ba, gold, strict=True))
    both = sum(p == g and q == g for p, q, g in zip(ab, ba, gold, strict=True))
    equal = sum(p == q for p, q in zip(ab, ba, strict=True))  # two invalid verdicts count as equal
    assert (correct_ab, correct_ba, both, equal) == (
        stats["correct_False"],
        stats["correct_True"],
        stats["correct_both"],
        stats["equal"],
    )
    # The percentages exactly as the authors' script computed them (same float expression).
    assert correct_ab / n * 100 == stats["correct_False_percent"]
    assert correct_ba / n * 100 == stats["correct_True_percent"]
    assert (correct_ab + correct_ba) / 2 / n * 100 == stats["correct_average_percent"]
    assert equal / n * 100 == stats["equal_percent"]

    # The same through our statistics and through scikit-learn (equal up to float summation order).
    acc_ab, acc_ba = ag.percent_agreement(gold, _inv(ab)), ag.percent_agreement(gold, _inv(ba))
    assert acc_ab == pytest.approx(correct_ab / n, abs=1e-12)
    assert acc_ba == pytest.approx(correct_ba / n, abs=1e-12)
    assert (acc_ab + acc_ba) / 2 * 100 == pytest.approx(stats["correct_average_percent"], abs=1e-9)
    assert accuracy_score(gold, _inv(ab)) == pytest.approx(acc_ab, abs=1e-12)
    assert accuracy_score(gold, _inv(ba)) == pytest.approx(acc_ba, abs=1e-12)
    positional = ag.percent_agreement(_inv(ab), _inv(ba))
    assert positional == pytest.approx(equal / n, abs=1e-12)
    assert accuracy_score(_inv(ab), _inv(ba)) == pytest.approx(positional, abs=1e-12)


@pytest.mark.parametrize("result_dir", RESULT_DIRS, ids=_id)
def test_llmbar_stored_kappas_used_mismatched_encodings(result_dir: Path):
    """Why the stored ``kappa_*`` are no targets: the authors compared verdicts recoded as
    ``int(w) if w in ("0", "1") else 0`` (so "2" and null become 0) with labels 1/2. Recomputing
    with that encoding gives their number; with one encoding on both sides, it is another."""
    js, judge = _judge_of(result_dir)
    stats = llmbar_statistics(result_dir)
    gold, ab, _ = _orders(js, judge)
    label_codes = [1 if g == "A" else 2 for g in gold]
    their_codes = [1 if p == "A" else 0 for p in ab]
    assert cohen_kappa_score(their_codes, label_codes) == pytest.approx(stats["kappa_False"], abs=1e-12)
    consistent = ag.cohen_kappa(gold, _inv(ab))
    assert consistent == pytest.approx(cohen_kappa_score(gold, _inv(ab)), abs=1e-12)
    if any(p is not None and p != "A" for p in ab):  # some "2" verdicts: the encodings disagree
        assert consistent != pytest.approx(stats["kappa_False"], abs=1e-6)


def _first_slot_rate(js: JudgmentSet, judge: str) -> tuple[int, int]:
    """Verdicts that picked the output shown first, and all parseable verdicts, over both orders."""
    _, ab, ba = _orders(js, judge)
    first = sum(v == "A" for v in ab) + sum(v == "B" for v in ba)
    return first, sum(v is not None for v in [*ab, *ba])


def test_chatgpt_on_faireval_picks_the_first_output_nine_times_in_ten():
    assert DATA is not None
    js = _llmbar(DATA / "llmbar" / "Processed" / "FairEval")
    first, total = _first_slot_rate(js, "ChatGPT/Vanilla_NoRules")
    assert (first, total) == (120, 132), "ChatGPT/Vanilla_NoRules on FairEval"
    assert 0.85 <= first / total <= 0.95, f"first-slot rate {first}/{total} = {first / total:.3f}"
    first, total = _first_slot_rate(js, "ChatGPT/Metrics_Reference")
    assert 0.80 <= first / total <= 0.95, f"first-slot rate {first}/{total} = {first / total:.3f}"


def test_gpt4_on_mtbench_is_near_half():
    assert DATA is not None
    js = _llmbar(DATA / "llmbar" / "Processed" / "MT-Bench")
    for judge, expected in [("GPT-4/Vanilla_NoRules", (204, 400)), ("GPT-4/Metrics_Reference", (216, 400))]:
        first, total = _first_slot_rate(js, judge)
        assert (first, total) == expected, judge
        assert 0.45 <= first / total <= 0.60, (
            f"{judge}: first-slot rate {first}/{total} = {first / total:.3f}"
        )


def test_llmbar_equal_counts_two_unparseable_verdicts_as_the_same_pick():
    """The convention behind ``equal``: without it PaLM2's figure would be 81, not the stored 84."""
    assert DATA is not None
    result_dir = DATA / "llmbar" / "LLMBar" / "Natural" / "evaluators" / "PaLM2" / "Vanilla_NoRules"
    js, judge = _judge_of(result_dir)
    _, ab, ba = _orders(js, judge)
    both_invalid = sum(p is None and q is None for p, q in zip(ab, ba, strict=True))
    same_valid_pick = sum(p is not None and p == q for p, q in zip(ab, ba, strict=True))
    assert (both_invalid, same_valid_pick) == (3, 81)
    assert llmbar_statistics(result_dir)["equal"] == same_valid_pick + both_invalid == 84
