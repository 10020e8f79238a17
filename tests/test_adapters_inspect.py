"""The Inspect AI scorer (``judgecal.adapters.inspect_ai_scorer``) inside real ``inspect_ai.eval``
runs on the ``mockllm/model`` provider: the approved judge scores each sample as it would directly,
a rubric without approval is refused before anything runs, and an unusable verdict is unscored
(left out of the metrics), never a pass or a fail."""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("JUDGECAL_REQUIRE_ADAPTERS") != "1":
    pytest.importorskip(
        "inspect_ai", reason='the Inspect AI adapter needs the inspect extra: pip install -e ".[inspect]"'
    )

from inspect_ai import Task, task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessage, ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import CORRECT, INCORRECT
from inspect_ai.solver import generate

from judgecal.adapters.inspect_ai_scorer import judgecal_scorer
from judgecal.approval import load_grader
from judgecal.errors import ConfigError, NotApprovedError
from judgecal.gold import load_gold
from judgecal.rubric import find_rubric
from judgecal.simulate import FaultRates, JudgeProfile, SimConfig, SimulatedJudge

pytestmark = [
    # inspect_ai 0.3.285 calls tenacity's wait_exponential_jitter(initial=...), deprecated in tenacity 9.2
    pytest.mark.filterwarnings("ignore:The 'initial' parameter is deprecated:DeprecationWarning"),
    # and leaves an anyio stream per sample unclosed (so does a plain match() scorer); see run()
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function MemoryObjectReceiveStream.__del__"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]


def reply(text: str) -> ModelOutput:
    # usage given, so mockllm does not count tokens with tiktoken (which downloads its encoding)
    out = ModelOutput.from_content(model="mockllm/model", content=text)
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return out


def mock_model(replies: dict[str, str]) -> Any:
    """``mockllm/model`` answering each sample's input with its reply (whatever the order)."""

    def answer(messages: list[ChatMessage], *_: Any) -> ModelOutput:
        return reply(replies[messages[-1].text])

    return get_model("mockllm/model", custom_outputs=answer)


def run(task_: Any, model: Any, log_dir: Path) -> EvalLog:
    (log,) = inspect_eval(task_, model=model, display="none", log_dir=str(log_dir))
    gc.collect()  # inspect's unclosed streams are collected here, under this module's filter
    return log


@pytest.fixture
def prose_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A judge that answers prose without a verdict (every verdict ``invalid``); its base URL."""
    sim = SimulatedJudge(SimConfig(profiles={"prose": JudgeProfile(faults=FaultRates(malformed=1.0))}))
    sim.start()
    monkeypatch.setenv("OPENAI_API_KEY", "sim")
    yield sim.base_url
    sim.stop()


def test_approved_judge_scores_a_real_eval(approved_support: Any, tmp_path: Path) -> None:
    gold = load_gold(approved_support.gold_path, find_rubric("support-billing"))
    items = {it.id: dict(it.inputs) for it in gold.items[:6]}  # truth alternates pass/fail
    replies = {inputs["input"]: inputs["output"] for inputs in items.values()}
    replies["Where are my invoices?"] = ""  # a model that says nothing
    dataset = [Sample(input=inputs["input"], id=item_id) for item_id, inputs in items.items()]
    dataset.append(Sample(input="Where are my invoices?", id="silent"))

    log = run(
        Task(dataset=dataset, solver=generate(), scorer=judgecal_scorer("support-billing")),
        mock_model(replies),
        tmp_path / "logs",
    )

    assert log.status == "success", log.error
    scores = {s.id: next(iter(s.scores.values())) for s in (log.samples or []) if s.scores}
    # each score is the approved judge's own verdict on that sample (graded again, from the store)
    with load_grader("support-billing") as grader:
        direct = dict(zip(items, grader.grade_many(list(items.values())), strict=True))
    for item_id, verdict in direct.items():
        score = scores[item_id]
        assert verdict.cached and verdict.status == "ok"
        assert score.value == (CORRECT if verdict.passed else INCORRECT), item_id
        assert score.answer == verdict.label and score.explanation == verdict.reasoning
        assert score.metadata is not None
        assert score.metadata["certificate_id"] == approved_support.id
        assert (score.metadata["label"], score.metadata["status"]) == (verdict.label, "ok")
        assert score.metadata["judge"] == "sim/consistent"
    assert {CORRECT, INCORRECT} <= {s.value for s in scores.values()}  # both outcomes exercised
    # an empty completion fails without a judge call
    assert scores["silent"].value == INCORRECT and scores["silent"].reason == "no_response"
    # accuracy is the pass rate over every sample
    passed = sum(1 for v in direct.values() if v.passed)
    assert log.results is not None
    assert log.results.scores[0].metrics["accuracy"].value == pytest.approx(passed / 7)
    # the log records the scorer and its arguments
    assert log.results.scores[0].name == "judgecal_scorer"


def test_without_an_approval_the_task_is_refused_before_it_runs(tmp_path: Path) -> None:
    with pytest.raises(NotApprovedError, match="no approval record for rubric 'support-billing'"):
        judgecal_scorer("support-billing")

    @task
    def support() -> Task:
        return Task(dataset=[Sample(input="q")], solver=generate(), scorer=judgecal_scorer("support-billing"))

    # through inspect's own task loading too: the eval stops before any sample is solved
    with pytest.raises(NotApprovedError, match="judgecal validate support-billing"):
        inspect_eval(support, model=mock_model({"q": "a"}), display="none", log_dir=str(tmp_path / "logs"))
    assert not list((tmp_path / "logs").glob("*.eval"))


def test_an_unusable_verdict_is_unscored_not_failed(prose_judge: str, tmp_path: Path) -> None:
    scorer = judgecal_scorer(
        "support-billing", judge="openai/prose", allow_unapproved=True, api_base=prose_judge
    )
    dataset = [Sample(input="Can I get a refund?", id=1), Sample(input="Where is my invoice?", id=2)]
    log = run(
        Task(dataset=dataset, solver=generate(), scorer=scorer),
        mock_model({"Can I get a refund?": "Ask billing.", "Where is my invoice?": "Settings → Billing."}),
        tmp_path / "logs",
    )
    assert log.status == "success" and log.results is not None
    result = log.results.scores[0]
    assert (result.scored_samples, result.unscored_samples) == (0, 2)
    assert math.isnan(result.metrics["accuracy"].value)  # no pass rate from no verdicts, not 0
    for sample in log.samples or []:
        score = next(iter(sample.scores.values())) if sample.scores else None
        assert score is not None and math.isnan(float(score.as_float()))
        assert score.reason == "grader_failed"
        assert score.metadata is not None and score.metadata["status"] == "invalid"
        assert score.metadata["certificate_id"] is None


def test_pairwise_rubrics_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="pairwise"):
        judgecal_scorer("pairwise-preference", judge="sim/accurate", allow_unapproved=True)


def test_a_revoke_after_the_task_is_built_errors_the_eval_with_the_reason(
    approved_support: Any, tmp_path: Path
) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    older = add_record(store, approved_support, minutes=-60)  # a fallback would be possible
    gold = load_gold(approved_support.gold_path, find_rubric("support-billing"))
    items = {it.id: dict(it.inputs) for it in gold.items[:2]}
    scorer = judgecal_scorer("support-billing")  # built while the approval is in force
    store.revoke_certificate(approved_support.id, "the provider retired the model")
    store.close()
    dataset = [Sample(input=x["input"], id=i) for i, x in items.items()]
    log = run(
        Task(dataset=dataset, solver=generate(), scorer=scorer),
        mock_model({x["input"]: x["output"] for x in items.values()}),
        tmp_path / "logs",
    )
    assert log.status == "error" and log.error is not None
    assert "NotApprovedError" in log.error.traceback or "NotApprovedError" in log.error.message
    assert "judgecal refused to score sample" in log.error.message
    assert "is revoked" in log.error.message and "the provider retired the model" in log.error.message
    assert older.id[:12] not in log.error.message
    # no sample was scored: a refusal is never a pass or a fail
    assert not any(s.scores for s in (log.samples or []))


def test_a_newer_rejected_validation_refuses_the_task(approved_support: Any) -> None:
    from test_approval_binding import add_record

    from judgecal.store import Store

    store = Store()
    newer = add_record(store, approved_support, minutes=30, tier="rejected")
    store.close()
    with pytest.raises(NotApprovedError, match=f"record in force {newer.id[:12]} .* ended rejected"):
        judgecal_scorer("support-billing")
