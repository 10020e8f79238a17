"""The queue is driven by the decision: from an inconclusive approval record, draw the items that
would decide it, have simulated annotators label them over HTTP, export, validate again — and the
decision is made."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

from judgecal.gold import load_gold
from judgecal.labels.app import create_label_app
from judgecal.labels.export import export_lines, pinned, write_jsonl
from judgecal.labels.queue import plan_for_record
from judgecal.labels.store import LabelStore
from judgecal.rubric import find_rubric
from tests.conftest import write_synthetic_gold

pytestmark = pytest.mark.slow


def _pool(path: Path, *, n: int, seed: int) -> tuple[Path, dict[str, str]]:
    """Unlabelled items (ids of their own, no pinned split) and their hidden truth."""
    raw = write_synthetic_gold(path.with_suffix(".src.jsonl"), n=n, seed=seed)
    truth: dict[str, str] = {}
    with open(path, "w", encoding="utf-8") as out:
        for line in raw.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            item["id"] = "pool-" + item["id"]
            truth[item["id"]] = item["metadata"].pop("truth")
            item["metadata"].pop("split", None)
            item.pop("labels", None)
            out.write(json.dumps(item) + "\n")
    return path, truth


def _client(app: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(app)


def test_a_queue_from_an_inconclusive_record_turns_the_decision(tmp_path: Path) -> None:
    from judgecal.approval import validate
    from judgecal.store import Store

    rubric = find_rubric("support-billing")
    store = Store(f"sqlite:///{tmp_path / 'judgecal.db'}")
    try:
        small = write_synthetic_gold(tmp_path / "small.jsonl", n=40, seed=3)
        first = validate("support-billing", "sim/consistent", gold=str(small), store=store)
        d = first.decision
        assert d.tier in ("inconclusive", "provisional"), d.reasons
        assert d.labels_needed and d.labels_needed > 0
        pool_path, truth = _pool(tmp_path / "pool.jsonl", n=600, seed=11)
        pool = load_gold(pool_path, rubric, require_labels=False)
        plan = plan_for_record(
            store, first.certificate.id, pool.items, ["ann", "bob", "cy"], overlap=0.0, seed=5
        )
        assert plan.n_random >= d.labels_needed and plan.n_targeted == 0
        assert plan.ceiling_annotators == 3 and plan.n_multi > 0
        assert sum(len(it.assigned) == 3 for it in plan.items) == plan.n_multi
        with pytest.raises(Exception, match="name at least 3 annotators"):
            plan_for_record(store, first.certificate.id, pool.items, ["ann", "bob"], overlap=0.3, seed=5)
        assert all(it.selection == "random" for it in plan.items)
        assert all(
            it.inclusion_probability == pytest.approx(plan.n_random / len(pool.items)) for it in plan.items
        )
        ls = LabelStore(store)
        queue, tokens = ls.create_queue(
            name="decide",
            rubric=rubric,
            items=plan.items,
            annotators=["ann", "bob", "cy"],
            source=f"record:{plan.record_id}",
            for_record=plan.record_id,
            plan=plan.as_dict(),
        )
        client = _client(create_label_app(store, "decide", rubric))
        rng = random.Random(0)
        for person in ("ann", "bob", "cy"):
            while True:
                nxt = client.get(f"/a/{tokens[person]}/api/next").json()
                if nxt["item"] is None:
                    break
                item_id = nxt["item"]["id"]
                right = truth[item_id]
                label = right if rng.random() > 0.03 else ("fail" if right == "pass" else "pass")
                body = {
                    "item_id": item_id,
                    "label": label,
                    "item_hash": nxt["item"]["item_hash"],
                    "rubric_hash": nxt["rubric_hash"],
                }
                assert client.post(f"/a/{tokens[person]}/api/labels", json=body).status_code == 201
        small_set = load_gold(small, rubric)
        base = pinned(small_set)
        lines, counts = export_lines(ls.get_queue("decide"), ls.labels(queue), base=base)
        assert counts["items"] == len(plan.items) and counts["base"] == len(base)
        merged = write_jsonl(lines, tmp_path / "support-more.jsonl")
        merged_set = load_gold(merged, rubric)
        assert all(
            merged_set.splits[i] == s for i, s in small_set.splits.items()
        )  # old items keep their split
        second = validate("support-billing", "sim/consistent", gold=str(merged), store=store)
        assert second.decision.tier == "approved", second.decision.reasons
    finally:
        store.close()


def test_a_decided_record_needs_an_explicit_size(tmp_path: Path, approved_support: Any) -> None:
    from judgecal.errors import ConfigError
    from judgecal.store import Store

    rubric = find_rubric("support-billing")
    pool_path, _truth = _pool(tmp_path / "pool.jsonl", n=30, seed=12)
    pool = load_gold(pool_path, rubric, require_labels=False)
    store = Store()
    try:
        with pytest.raises(ConfigError, match="approved: more labels would not change it"):
            plan_for_record(store, approved_support.id, pool.items, ["ann"], overlap=0.0)
        plan = plan_for_record(store, approved_support.id, pool.items, ["ann"], overlap=0.0, n=10)
        assert len(plan.items) == 10
    finally:
        store.close()


def test_a_run_queue_carries_the_verdict_and_hides_it_while_blind(tmp_path: Path) -> None:
    from judgecal.gold import find_gold
    from judgecal.judge import JudgeConfig, grade
    from judgecal.labels.queue import items_from_run
    from judgecal.store import Store

    rubric = find_rubric("support-billing")
    gold = find_gold("support-billing", rubric)
    store = Store(f"sqlite:///{tmp_path / 'judgecal.db'}")
    try:
        run = grade(rubric, gold, JudgeConfig(model="sim/consistent"), store=store, preflight=False)
        run_id, items = items_from_run(store, run.run_id[:10], rubric, ["ann"], overlap=0.0)
        assert run_id == run.run_id and len(items) == len(gold.items)
        assert all(set(it.judge_verdicts) == {run_id} for it in items)
        ls = LabelStore(store)
        for name, blind in (("blind", True), ("open", False)):
            _, tokens = ls.create_queue(
                name=name, rubric=rubric, items=items, annotators=["ann"], source=f"run:{run_id}", blind=blind
            )
            page = _client(create_label_app(store, name, rubric)).get(f"/a/{tokens['ann']}")
            assert page.status_code == 200 and ("Judge verdict" in page.text) is (not blind)
    finally:
        store.close()


def test_targeted_items_come_from_disagreements_and_go_to_dev(tmp_path: Path) -> None:
    from judgecal.approval import validate
    from judgecal.judge import JudgeConfig, grade
    from judgecal.labels.queue import run_verdicts
    from judgecal.store import Store

    rubric = find_rubric("support-billing")
    store = Store(f"sqlite:///{tmp_path / 'judgecal.db'}")
    try:
        small = write_synthetic_gold(tmp_path / "small.jsonl", n=40, seed=3)
        record = validate("support-billing", "sim/consistent", gold=str(small), store=store).certificate
        pool_path, _truth = _pool(tmp_path / "pool.jsonl", n=200, seed=13)
        pool = load_gold(pool_path, rubric, require_labels=False)
        runs = [
            grade(rubric, pool, JudgeConfig(model=m), store=store, preflight=False).run_id
            for m in ("sim/consistent", "sim/noisy")
        ]
        a, b = (run_verdicts(store, r)[2] for r in runs)
        differ = {i for i in a if i in b and a[i] != b[i]}
        assert len(differ) >= 20
        plan = plan_for_record(
            store,
            record.id,
            pool.items,
            ["ann", "bob", "cy"],
            overlap=0.0,
            seed=1,
            n_targeted=15,
            disagree=runs,
        )
        targeted = [it for it in plan.items if it.selection == "targeted"]
        assert len(targeted) == plan.n_targeted == 15
        assert all(
            it.id in differ and it.metadata["split"] == "dev" and it.inclusion_probability is None
            for it in targeted
        )
        assert all("split" not in it.metadata for it in plan.items if it.selection == "random")
        with pytest.raises(Exception, match="two or more runs"):
            plan_for_record(
                store, record.id, pool.items, ["a", "b", "c"], overlap=0.0, n_targeted=5, disagree=runs[:1]
            )
    finally:
        store.close()
