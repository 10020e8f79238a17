"""The labelling workspace without a browser: queues, tokens, the pages and JSON over HTTP, the
checks that refuse a label (and store nothing), undo, resume, agreement and the export."""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_SKIP

from judgecal.gold import find_gold, load_gold
from judgecal.labels.app import create_label_app
from judgecal.labels.export import export_lines, write_jsonl
from judgecal.labels.queue import assign, items_from_gold
from judgecal.labels.store import LabelStore
from judgecal.rubric import find_rubric


@pytest.fixture
def billing_queue(store: Any) -> tuple[Any, Any, dict[str, str], Any]:
    rubric = find_rubric("support-billing")
    gold = find_gold("support-billing", rubric)
    items = items_from_gold(gold.items[:12], ["ann", "bob"], overlap=0.5, seed=1)
    ls = LabelStore(store)
    queue, tokens = ls.create_queue(
        name="q1",
        rubric=rubric,
        items=items,
        annotators=["ann", "bob"],
        adjudicators=["judy"],
        source=f"gold:{gold.path}",
    )
    return rubric, queue, tokens, ls


def _client(store: Any, rubric: Any, name: str = "q1") -> Any:
    with warnings.catch_warnings():
        # starlette 1.x asks for the httpx2 package; TestClient works the same with httpx
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(create_label_app(store, name, rubric))


def test_assign_overlap_shares_items_and_splits_the_rest() -> None:
    ids = [f"i{n}" for n in range(10)]
    who = assign(ids, ["a", "b"], overlap=0.3, seed=0)
    shared = [i for i, w in who.items() if len(w) == 2]
    assert len(shared) == 3
    singles = [w[0] for w in who.values() if len(w) == 1]
    assert sorted(set(singles)) == ["a", "b"] and abs(singles.count("a") - singles.count("b")) <= 1
    assert assign(ids, ["a", "b"], overlap=0.3, seed=0) == who
    assert all(w == ["a"] for w in assign(ids, ["a"], overlap=0.3).values())


def test_tokens_are_stored_hashed_and_unknown_tokens_refused(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    from sqlalchemy import text

    with store.engine.connect() as conn:
        raw = conn.execute(text("select annotators_json, admin_token_sha256 from label_queues")).one()
    for token in tokens.values():
        assert token not in raw[0] and token != raw[1]
    client = _client(store, rubric)
    r = client.get("/a/not-a-token")
    assert r.status_code == 403 and "unknown token" in r.text
    r = client.post("/a/not-a-token/api/labels", json={"item_id": queue.items[0].id, "label": "pass"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "unknown_token"
    assert ls.labels(queue) == []


def test_annotator_labels_resumes_and_undoes(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    client = _client(store, rubric)
    mine = queue.items_for("ann")
    page = client.get(f"/a/{tokens['ann']}")
    assert page.status_code == 200 and mine[0].id in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    form = {
        "item_id": mine[0].id,
        "item_hash": mine[0].item_hash,
        "rubric_hash": queue.rubric_hash,
        "label": "pass",
    }
    r = client.post(f"/a/{tokens['ann']}/label", data=form, follow_redirects=False)
    assert r.status_code == 303
    # a new app (a server restart) resumes at the next item
    page = _client(store, rubric).get(f"/a/{tokens['ann']}")
    assert f">{mine[1].id}<" in page.text and "1 / " in page.text
    skip = {**form, "item_id": mine[1].id, "item_hash": mine[1].item_hash, "skip": "1"}
    assert client.post(f"/a/{tokens['ann']}/label", data=skip, follow_redirects=False).status_code == 303
    unsure = {**form, "item_id": mine[2].id, "item_hash": mine[2].item_hash, "label": "fail", "unsure": "1"}
    assert client.post(f"/a/{tokens['ann']}/label", data=unsure, follow_redirects=False).status_code == 303
    got = {lab.item_id: (lab.status, lab.label) for lab in ls.labels(queue, annotator="ann")}
    assert got == {
        mine[0].id: ("labelled", "pass"),
        mine[1].id: ("skipped", None),
        mine[2].id: ("unsure", "fail"),
    }
    r = client.post(f"/a/{tokens['ann']}/undo", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"?item={mine[2].id}")
    assert mine[2].id not in {lab.item_id for lab in ls.labels(queue, annotator="ann")}


def test_an_annotator_cannot_read_or_write_anothers_items(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    client = _client(store, rubric)
    only_bob = next(it for it in queue.items if it.assigned == ["bob"])
    r = client.get(f"/a/{tokens['ann']}?item={only_bob.id}")
    assert r.status_code == 404 and only_bob.inputs["output"][:40] not in r.text
    body = {"item_id": only_bob.id, "label": "fail", "item_hash": only_bob.item_hash}
    r = client.post(f"/a/{tokens['ann']}/api/labels", json=body)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_in_queue"
    # bob labels a shared item; ann's page of that item does not show bob's label
    shared = next(it for it in queue.items if len(it.assigned) == 2)
    assert (
        client.post(
            f"/a/{tokens['bob']}/api/labels", json={"item_id": shared.id, "label": "fail"}
        ).status_code
        == 201
    )
    page = client.get(f"/a/{tokens['ann']}?item={shared.id}")
    assert page.status_code == 200 and "your answer" not in page.text and "bob" not in page.text
    # ann's own answer does not replace bob's
    assert (
        client.post(
            f"/a/{tokens['ann']}/api/labels", json={"item_id": shared.id, "label": "pass"}
        ).status_code
        == 201
    )
    got = {(lab.annotator, lab.label) for lab in ls.labels(queue) if lab.item_id == shared.id}
    assert got == {("bob", "fail"), ("ann", "pass")}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"label": "maybe"}, 422, "off_scale"),
        ({"label": None}, 422, "off_scale"),
        ({"label": "pass", "failure_modes": ["not_a_mode"]}, 422, "off_scale"),
        ({"label": "pass", "item_hash": "0" * 64}, 409, "stale"),
        ({"label": "pass", "rubric_hash": "0" * 64}, 409, "stale"),
        ({"label": "pass", "status": "done"}, 400, "bad_request"),
        ({"label": "pass", "extra": 1}, 400, "bad_request"),
    ],
)
def test_bad_labels_are_refused_and_nothing_is_stored(
    billing_queue: Any, store: Any, body: dict[str, Any], status: int, code: str
) -> None:
    rubric, queue, tokens, ls = billing_queue
    item = queue.items_for("ann")[0]
    r = _client(store, rubric).post(f"/a/{tokens['ann']}/api/labels", json={"item_id": item.id, **body})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert ls.labels(queue) == []


def test_a_form_without_the_page_versions_is_stale(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    item = queue.items_for("ann")[0]
    r = _client(store, rubric).post(f"/a/{tokens['ann']}/label", data={"item_id": item.id, "label": "pass"})
    assert r.status_code == 409 and "Not stored" in r.text
    assert ls.labels(queue) == []


def test_an_item_changed_after_the_page_was_shown_is_stale(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    client = _client(store, rubric)
    item = queue.items_for("ann")[0]
    shown = client.get(f"/a/{tokens['ann']}")
    assert item.item_hash in shown.text
    changed = [
        it.model_copy(update={"item_hash": "f" * 64}) if it.id == item.id else it for it in queue.items
    ]
    ls.update_items(queue, changed)
    form = {
        "item_id": item.id,
        "item_hash": item.item_hash,
        "rubric_hash": queue.rubric_hash,
        "label": "pass",
    }
    r = client.post(f"/a/{tokens['ann']}/label", data=form)
    assert r.status_code == 409 and "changed since this page was shown" in r.text
    assert ls.labels(queue) == []


def test_concurrent_submissions_are_all_kept(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    client = _client(store, rubric)
    errors: list[str] = []

    def label(person: str) -> None:
        for it in queue.items_for(person):
            r = client.post(f"/a/{tokens[person]}/api/labels", json={"item_id": it.id, "label": "pass"})
            if r.status_code != 201:
                errors.append(r.text)

    threads = [threading.Thread(target=label, args=(p,)) for p in ("ann", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = len(queue.items_for("ann")) + len(queue.items_for("bob"))
    assert len(ls.labels(queue)) == expected


def test_agreement_adjudication_and_export(billing_queue: Any, store: Any, tmp_path: Path) -> None:
    rubric, queue, tokens, ls = billing_queue
    client = _client(store, rubric)
    shared = [it for it in queue.items if len(it.assigned) == 2]
    assert len(shared) >= 4
    for n, it in enumerate(shared):
        client.post(f"/a/{tokens['ann']}/api/labels", json={"item_id": it.id, "label": "pass"})
        bob = "fail" if n == 0 else "pass" if n % 2 else "fail"
        client.post(f"/a/{tokens['bob']}/api/labels", json={"item_id": it.id, "label": bob})
    fig = client.get(f"/admin/{tokens['admin']}/api/agreement").json()
    pair = fig["pairs"][0]
    assert pair["n"] == len(shared) and fig["disagreements"] == sum(
        1 for n in range(len(shared)) if n == 0 or n % 2 == 0
    )
    from judgecal.calibrate.agreement import cohen_kappa

    a = ["pass"] * len(shared)
    b = ["fail" if n == 0 else "pass" if n % 2 else "fail" for n in range(len(shared))]
    assert pair["agreement"] == pytest.approx(sum(x == y for x, y in zip(a, b, strict=True)) / len(a))
    kappa = cohen_kappa(a, b, labels=["pass", "fail"])
    assert (pair["kappa"] is None) if kappa != kappa else pair["kappa"] == pytest.approx(kappa)
    # annotators cannot use the coordinator's page; the adjudicator sees the disagreements
    assert client.get(f"/admin/{tokens['ann']}").status_code == 403
    page = client.get(f"/a/{tokens['judy']}")
    assert page.status_code == 200 and "Annotators said" in page.text
    first = shared[0]
    r = client.post(f"/a/{tokens['judy']}/api/labels", json={"item_id": first.id, "label": "fail"})
    assert r.status_code == 201 and r.json()["role"] == "adjudicator"
    agreed = next(it for n, it in enumerate(shared) if n % 2 == 1)
    r = client.post(f"/a/{tokens['judy']}/api/labels", json={"item_id": agreed.id, "label": "fail"})
    assert r.status_code == 404  # nothing to adjudicate there
    admin = client.get(f"/admin/{tokens['admin']}")
    assert admin.status_code == 200 and "Krippendorff" in admin.text
    lines, counts = export_lines(ls.get_queue("q1"), ls.labels(queue))
    assert counts["adjudicated"] == 1
    by_id = {line["id"]: line for line in lines}
    assert "judy" not in by_id[first.id]["labels"]
    assert by_id[first.id]["metadata"]["adjudicated_label"] == "fail"
    out = write_jsonl(lines, tmp_path / "exported.jsonl")
    assert out.stat().st_mode & 0o777 == 0o644  # readable by others, like every file judgecal writes
    gold = load_gold(out, rubric)
    assert {it.id for it in gold.items} == {line["id"] for line in lines}
    with pytest.raises(Exception, match="exists"):
        write_jsonl(lines, out)


def test_export_keeps_known_labels_and_drops_unlabelled(billing_queue: Any, store: Any) -> None:
    rubric, queue, tokens, ls = billing_queue
    client = _client(store, rubric)
    item = queue.items_for("ann")[0]
    client.post(
        f"/a/{tokens['ann']}/api/labels", json={"item_id": item.id, "label": "fail", "note": "refund?"}
    )
    lines, counts = export_lines(ls.get_queue("q1"), ls.labels(queue))
    # every queue item came from the bundled gold set: known labels keep them all in the export
    assert counts["items"] == len(queue.items) and counts["unlabelled"] == 0
    line = next(x for x in lines if x["id"] == item.id)
    assert line["labels"]["ann"] == "fail" and set(item.known_labels) <= set(line["labels"])
    assert line["metadata"]["notes"] == {"ann": "refund?"}
    assert json.dumps(line)


def test_an_adjudicated_label_settles_a_tie_but_is_not_an_annotator(tmp_path: Path) -> None:
    rubric = find_rubric("support-billing")
    base = find_gold("support-billing", rubric).items[0]
    line = {
        "id": "tie-1",
        "inputs": dict(base.inputs),
        "metadata": {"adjudicated_label": "FAIL", "adjudicator": "judy"},
        "labels": {"ann": "pass", "bob": "fail"},
    }
    path = tmp_path / "tie.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    item = load_gold(path, rubric).items[0]
    assert item.adjudicated == "fail" and item.majority() == "fail" and set(item.labels) == {"ann", "bob"}
    from judgecal.calibrate.report import ItemRecord

    rec = ItemRecord(
        id="t", humans=dict(item.labels), judge="pass", judge_status="ok", split="test", adjudicated="fail"
    )
    assert rec.gold == "fail"
    assert (
        ItemRecord(id="t", humans=dict(item.labels), judge="pass", judge_status="ok", split="test").gold
        is None
    )
    # an adjudicated label outside the tie does not override a majority, nor settle another tie
    three = ItemRecord(
        id="t",
        humans={"a": "pass", "b": "pass", "c": "fail"},
        judge=None,
        judge_status="ok",
        split="test",
        adjudicated="fail",
    )
    assert three.gold == "pass"
    line["metadata"]["adjudicated_label"] = "maybe"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(Exception, match="metadata.adjudicated_label"):
        load_gold(path, rubric)


@pytest.mark.skipif(not os.environ.get("JUDGECAL_TEST_POSTGRES_URL"), reason=POSTGRES_SKIP)
def test_labels_on_postgresql_keep_every_concurrent_answer() -> None:
    """The upsert on PostgreSQL (``ON CONFLICT DO UPDATE``): concurrent answers all kept, a second
    answer replaces the first, undo removes the newest."""
    import uuid

    from sqlalchemy import create_engine, text

    from judgecal.store import Store

    base = os.environ["JUDGECAL_TEST_POSTGRES_URL"]
    name = "jc_" + uuid.uuid4().hex[:8]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    store = Store(base.rsplit("/", 1)[0] + "/" + name)
    try:
        rubric = find_rubric("support-billing")
        items = items_from_gold(find_gold("support-billing", rubric).items[:20], ["ann", "bob"], overlap=1.0)
        ls = LabelStore(store)
        queue, tokens = ls.create_queue(
            name="pg", rubric=rubric, items=items, annotators=["ann", "bob"], source="test"
        )

        def label(person: str) -> None:
            access = ls.access(queue, tokens[person])
            for it in items:
                ls.submit(access, rubric=rubric, item_id=it.id, status="labelled", label="pass")

        threads = [threading.Thread(target=label, args=(p,)) for p in ("ann", "bob")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(ls.labels(queue)) == 40
        ann = ls.access(queue, tokens["ann"])
        ls.submit(ann, rubric=rubric, item_id=items[0].id, status="labelled", label="fail")
        assert {(lab.annotator, lab.label) for lab in ls.labels(queue) if lab.item_id == items[0].id} == {
            ("ann", "fail"),
            ("bob", "pass"),
        }
        assert ls.undo(ann).item_id == items[0].id  # type: ignore[union-attr]
        assert len(ls.labels(queue)) == 39
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
