"""Label Studio and Argilla interop: what goes out is what each tool documents, and what comes back
(hand-written exports in ``tests/data/labelstudio`` and ``tests/data/argilla``, and exports
simulated from what went out) becomes gold items that load as a gold set."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from judgecal.errors import GoldError
from judgecal.gold import GoldItem, load_gold
from judgecal.labels.interop import from_argilla, from_label_studio, to_argilla, to_label_studio
from judgecal.rubric import Rubric, find_rubric

DATA = Path(__file__).resolve().parent / "data"
LS, AR = DATA / "labelstudio", DATA / "argilla"
U1, U2, U3 = (
    "5f8e3c2a-1b4d-4e6f-9a0b-7c8d9e0f1a2b",
    "0d1c2b3a-4f5e-4d6c-8b7a-6e5f4d3c2b1a",
    "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
)
RUBRICS = {"binary": "support-billing", "ordinal": "helpfulness-ordinal", "pairwise": "pairwise-preference"}
# per scale kind: (item index, annotator, label) given in the tool
LABELLED = {
    "binary": [(0, "ana", "pass"), (0, "ben", "fail"), (1, "ana", "fail")],
    "ordinal": [(0, "ana", 4), (0, "ben", 5), (1, "ana", 1)],
    "pairwise": [(0, "ana", "A"), (0, "ben", "tie"), (1, "ana", "B")],
}


@pytest.fixture(scope="module")
def rubrics() -> dict[str, Rubric]:
    return {kind: find_rubric(name) for kind, name in RUBRICS.items()}


def _items(rubric: Rubric, n: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "id": f"it-{i}",
            "inputs": {name: f'{name} text {i} with <tags> & "quotes"' for name in rubric.inputs},
            "metadata": {"slice": f"s{i % 2}", "generator_model": "m"},
        }
        for i in range(n)
    ]


def _loads_as_gold(items: list[GoldItem], rubric: Rubric, tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(it.model_dump(mode="json")) + "\n" for it in items), encoding="utf-8")
    gold = load_gold(path, rubric)
    assert [it.id for it in gold.items] == [it.id for it in items]
    assert [it.labels for it in gold.items] == [it.labels for it in items]


def _write(tmp_path: Path, data: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _stored(config: str, name: str, shown: list[str]) -> list[str]:
    """What Label Studio stores for the choices shown: the alias where the config gives one."""
    choices = next(c for c in ET.fromstring(config).iter("Choices") if c.get("name") == name)
    by_value = {c.get("value"): c.get("alias") or c.get("value") for c in choices.iter("Choice")}
    by_alias = {c.get("alias"): c.get("alias") for c in choices.iter("Choice") if c.get("alias")}
    return [by_value.get(s) or by_alias[s] for s in shown]


# --------------------------------------------------------------------------------------------
# Label Studio: what goes out


def test_label_studio_tasks_carry_the_inputs_the_id_and_the_metadata(rubrics):
    rubric = rubrics["binary"]
    tasks, _ = to_label_studio(rubric, _items(rubric, 2))
    assert tasks[1] == {
        "data": {
            "input": 'input text 1 with <tags> & "quotes"',
            "output": 'output text 1 with <tags> & "quotes"',
            "judgecal_id": "it-1",
            "judgecal_metadata": {"slice": "s1", "generator_model": "m"},
        }
    }


@pytest.mark.parametrize("kind", ["binary", "ordinal", "pairwise"])
def test_label_studio_config_asks_the_scale_the_failure_modes_and_a_note(rubrics, kind):
    rubric = rubrics[kind]
    _, config = to_label_studio(rubric, _items(rubric))
    view = ET.fromstring(config)  # well-formed XML
    assert view.tag == "View"
    texts = {t.get("name"): t.get("value") for t in view.iter("Text")}
    assert texts == {name: f"${name}" for name in rubric.inputs}
    controls = {c.get("name"): c for c in view.iter("Choices")}
    target = "output_a" if kind == "pairwise" else "output"
    label = controls["label"]
    assert (label.get("toName"), label.get("choice"), label.get("required")) == (
        target,
        "single-radio",
        "true",
    )
    stored = [c.get("alias") or c.get("value") for c in label.iter("Choice")]
    assert stored == [str(x) for x in rubric.scale.labels]
    if kind == "ordinal":  # the level is shown with its anchor and stored as its number
        first = next(label.iter("Choice"))
        assert first.get("value") == f"1: {rubric.scale.levels[1]}" and first.get("alias") == "1"
    modes = controls["failure_modes"]
    assert modes.get("choice") == "multiple"
    assert [c.get("alias") for c in modes.iter("Choice")] == rubric.failure_mode_ids
    (note,) = view.iter("TextArea")
    assert (note.get("name"), note.get("toName")) == ("note", target)
    headers = [h.get("value") for h in view.iter("Header")]
    assert all(f"{c.id}: {c.description}" in headers for c in rubric.criteria)
    assert (f"Pass rule: {(rubric.pass_rule or '').strip()}" in headers) == (rubric.pass_rule is not None)


def test_label_studio_config_escapes_rubric_text_and_leaves_out_absent_failure_modes(rubrics):
    data = rubrics["binary"].model_dump(mode="json")
    data["criteria"][0]["description"] = 'Never says "free" & <never> promises'
    data["failure_modes"], data["examples"] = [], []
    _, config = to_label_studio(Rubric.model_validate(data), _items(rubrics["binary"]))
    headers = [h.get("value") for h in ET.fromstring(config).iter("Header")]
    assert 'no_refund_promise: Never says "free" & <never> promises' in headers
    assert [c.get("name") for c in ET.fromstring(config).iter("Choices")] == ["label"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda it: it[1]["inputs"].pop("output"), "inputs.output", "missing input 'output'"),
        (lambda it: it[1]["inputs"].update(output="  "), "inputs.output", "non-empty text"),
        (lambda it: it[1]["inputs"].update(reference="r"), "inputs.reference", "not one rubric"),
        (lambda it: it[2].update(id="it-0"), "id", "duplicate id 'it-0' (first at items[0])"),
        (lambda it: it[1].update(id=""), "id", "non-empty text id"),
    ],
)
def test_label_studio_refuses_items_that_do_not_fit_the_rubric(rubrics, change, field, message):
    rubric = rubrics["binary"]
    items = _items(rubric)
    change(items)
    with pytest.raises(GoldError) as err:
        to_label_studio(rubric, items)
    assert err.value.field == field and message in str(err.value)
    assert err.value.location in ("items[1]", "items[2]")


def test_gold_items_go_out_without_their_labels_or_earlier_answers(rubrics):
    rubric = rubrics["binary"]
    answers = {"human_failure_modes": {"ana": ["promised_refund"]}, "notes": {"ana": "refund!"}}
    item = GoldItem(
        id="g1",
        inputs={"input": "q", "output": "a"},
        metadata={"slice": "x", **answers},
        labels={"ana": "fail"},
    )
    tasks, _ = to_label_studio(rubric, [item])
    assert tasks == [
        {"data": {"input": "q", "output": "a", "judgecal_id": "g1", "judgecal_metadata": {"slice": "x"}}}
    ]
    (record,) = to_argilla(rubric, [item])["records"]
    assert record["metadata"] == {"slice": "x"} and record["responses"] == {}


# --------------------------------------------------------------------------------------------
# Label Studio: what comes back


def _ls_export(rubric: Rubric, kind: str, tasks: list[dict[str, Any]], config: str) -> list[dict[str, Any]]:
    """A JSON export of the tasks as Label Studio writes it, annotated as LABELLED says; ``ana``
    is user 3 (a plain id), ``ben`` an expanded user with an email; each task also has a
    cancelled annotation by user 9."""
    target = "output_a" if kind == "pairwise" else "output"
    shown = _shown_labels(config)
    out = []
    for i, task in enumerate(tasks):
        annotations: list[dict[str, Any]] = [
            {"id": 900 + i, "completed_by": 9, "result": [], "was_cancelled": True}
        ]
        for index, who, label in LABELLED[kind]:
            if index != i:
                continue
            result = [_region("label", target, "choices", _stored(config, "label", [shown[str(label)]]))]
            modes = rubric.failure_mode_ids[:2] if i == 1 else []
            if modes:
                result.append(_region("failure_modes", target, "choices", modes))
            if who == "ana":
                result.append(_region("note", target, "textarea", [f"note on {i}"]))
            user: Any = 3 if who == "ana" else {"id": 4, "email": "ben@example.com", "first_name": "Ben"}
            annotations.append({"id": 100 * i + len(annotations), "completed_by": user, "result": result,
                                "was_cancelled": False, "ground_truth": False, "task": 10 + i})  # fmt: skip
        out.append({"id": 10 + i, "data": task["data"], "annotations": annotations, "predictions": []})
    return out


def _shown_labels(config: str) -> dict[str, str]:
    label = next(c for c in ET.fromstring(config).iter("Choices") if c.get("name") == "label")
    return {(c.get("alias") or c.get("value")): c.get("value") for c in label.iter("Choice")}  # type: ignore[misc]


def _region(name: str, target: str, kind: str, values: list[str]) -> dict[str, Any]:
    key = "text" if kind == "textarea" else "choices"
    return {"id": f"r-{name}", "from_name": name, "to_name": target, "type": kind, "value": {key: values}}


def _expected_labels(kind: str) -> dict[str, dict[str, Any]]:
    names = {"ana": "ls-user-3", "ben": "ben@example.com"}
    out: dict[str, dict[str, Any]] = {}
    for index, who, label in LABELLED[kind]:
        out.setdefault(f"it-{index}", {})[names[who]] = label
    return out


@pytest.mark.parametrize("kind", ["binary", "ordinal", "pairwise"])
def test_label_studio_round_trip(rubrics, kind, tmp_path):
    rubric = rubrics[kind]
    tasks, config = to_label_studio(rubric, _items(rubric))
    items = from_label_studio(_write(tmp_path, _ls_export(rubric, kind, tasks, config)), rubric)
    assert {it.id: it.labels for it in items} == _expected_labels(kind)  # it-2: no annotation, left out
    first = items[0]
    assert first.inputs == _items(rubric)[0]["inputs"]
    assert first.metadata["slice"] == "s0" and first.metadata["notes"] == {"ls-user-3": "note on 0"}
    assert items[1].metadata["human_failure_modes"] == {"ls-user-3": rubric.failure_mode_ids[:2]}
    assert first.metadata["human_failure_modes"] == {"ls-user-3": [], "ben@example.com": []}
    _loads_as_gold(items, rubric, tmp_path)


def test_label_studio_fixture_json_export(rubrics, tmp_path):
    rubric = rubrics["binary"]
    items = from_label_studio(LS / "support-billing.json", rubric)
    assert [it.id for it in items] == ["sb-002", "sb-010"]  # sb-011 has no annotation yet
    sb2, sb10 = items
    assert sb2.labels == {"ls-user-3": "fail", "ben@example.com": "fail"}  # user 5 skipped the task
    assert sb2.metadata == {
        "slice": "refund_request",
        "generator_model": "llama-3.1-8b",
        "generator_family": "meta",
        "human_failure_modes": {
            "ls-user-3": ["promised_refund"],
            "ben@example.com": ["promised_refund", "wrong_information"],
        },
        "notes": {"ls-user-3": "Promises a full refund the bot cannot grant."},
    }
    assert sb10.labels == {"ls-user-3": "pass"} and sb10.metadata["human_failure_modes"] == {"ls-user-3": []}
    _loads_as_gold(items, rubric, tmp_path)


def test_label_studio_fixture_json_min_export(rubrics, tmp_path):
    rubric = rubrics["ordinal"]
    items = from_label_studio(LS / "helpfulness-ordinal-min.json", rubric)
    assert {it.id: it.labels for it in items} == {
        "ho-001": {"ls-user-3": 5, "chloe@example.com": 4},
        "ho-002": {"ls-user-3": 1},
    }
    assert items[0].metadata["notes"] == {"ls-user-3": "Exactly right and short."}
    assert items[1].metadata["human_failure_modes"] == {"ls-user-3": ["factual_error", "ignores_question"]}
    assert items[1].inputs["reference"].startswith("About 70 °C")
    _loads_as_gold(items, rubric, tmp_path)


def test_label_studio_fixture_pairwise_export(rubrics, tmp_path):
    rubric = rubrics["pairwise"]
    items = from_label_studio(LS / "pairwise-preference.json", rubric)
    assert {it.id: it.labels for it in items} == {
        "pp-001": {"ls-user-3": "A", "ls-user-6": "tie"},
        "ls-302": {"ls-user-3": "B"},
    }
    assert items[0].metadata["notes"] == {"ls-user-6": "Both list three items,\nbut B adds text."}
    assert items[1].metadata == {"human_failure_modes": {"ls-user-3": []}}
    _loads_as_gold(items, rubric, tmp_path)


def test_label_studio_json_min_simulated_from_the_json_export(rubrics, tmp_path):
    """The JSON-MIN rows label-studio-sdk's converter makes of a JSON export read the same."""
    rubric = rubrics["ordinal"]
    tasks, config = to_label_studio(rubric, _items(rubric))
    export = _ls_export(rubric, "ordinal", tasks, config)
    rows = []
    for task in export:
        for ann in task["annotations"]:
            if ann["was_cancelled"]:
                continue
            row = {**task["data"], "id": task["id"]}
            for r in ann["result"]:
                values = r["value"].get("choices", r["value"].get("text"))
                row[r["from_name"]] = values[0] if len(values) == 1 else {"choices": values}
            user = ann["completed_by"]
            row["annotator"] = user["email"] if isinstance(user, dict) else user
            rows.append(row)
    via_min = from_label_studio(_write(tmp_path, rows, "min.json"), rubric)
    via_json = from_label_studio(_write(tmp_path, export), rubric)
    assert [it.model_dump() for it in via_min] == [it.model_dump() for it in via_json]


def test_label_studio_reads_a_level_by_the_text_shown_when_the_alias_is_gone(rubrics, tmp_path):
    rubric = rubrics["ordinal"]
    tasks, _ = to_label_studio(rubric, _items(rubric, 1))
    shown = f"4: {rubric.scale.levels[4]}"
    result = [_region("label", "output", "choices", [shown])]
    export = [
        {"id": 1, "data": tasks[0]["data"], "annotations": [{"id": 1, "completed_by": 3, "result": result}]}
    ]
    (item,) = from_label_studio(_write(tmp_path, export), rubric)
    assert item.labels == {"ls-user-3": 4}


def _ls_fixture() -> list[dict[str, Any]]:
    return json.loads((LS / "support-billing.json").read_text(encoding="utf-8"))


def _first_result(export: list[dict[str, Any]]) -> dict[str, Any]:
    return export[1]["annotations"][0]["result"][0]


@pytest.mark.parametrize(
    ("change", "where", "field", "message"),
    [
        (lambda e: _first_result(e)["value"].update(choices=["maybe"]), "record 1 (task 102)",
         "annotations[0].result.label", "label 'maybe' is not on the binary scale ['pass', 'fail']"),
        (lambda e: e[1]["annotations"][0].update(result=[]), "record 1 (task 102)",
         "annotations[0].result", "no choice for 'label'"),
        (lambda e: _first_result(e)["value"].update(choices=["pass", "fail"]), "record 1 (task 102)",
         "annotations[0].result", "2 choices for 'label' (it takes one)"),
        (lambda e: e[2]["data"].pop("output"), "record 2 (task 103)", "data.output",
         "missing input 'output', which rubric 'support-billing' needs"),
        (lambda e: e[2]["data"].update(judgecal_id="sb-002"), "record 2 (task 103)", "id",
         "duplicate item id 'sb-002' (first at"),
        (lambda e: e[1]["annotations"].append(copy.deepcopy(e[1]["annotations"][0])), "record 1 (task 102)",
         None, "annotator 'ls-user-3' labelled item 'sb-010' twice"),
        (lambda e: e[0]["annotations"][0]["result"][1]["value"].update(choices=["typo"]),
         "record 0 (task 101)", "annotations[0].result.failure_modes", "unknown failure mode 'typo'"),
        (lambda e: e[1]["annotations"][0].pop("completed_by"), "record 1 (task 102)",
         "annotations[0].completed_by", "does not say who made it"),
        (lambda e: e[1].pop("annotations"), "record 1 (task 102)", "annotations", "needs 'annotations'"),
        (lambda e: e[1].pop("data"), "record 1 (task 102)", "data", "needs 'data'"),
    ],
)  # fmt: skip
def test_label_studio_export_errors_name_the_file_the_record_and_the_field(
    rubrics, tmp_path, change, where, field, message
):
    export = _ls_fixture()
    change(export)
    path = _write(tmp_path, export)
    with pytest.raises(GoldError) as err:
        from_label_studio(path, rubrics["binary"])
    assert err.value.location == f"{path}: {where}"
    assert err.value.field == field
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("[{]", "not valid JSON: "),
        ('{"data": {}}', "expected a JSON array of tasks, not a JSON dict"),
        ("[1]", "each of the tasks must be a JSON object, not int"),
    ],
)
def test_label_studio_refuses_files_that_are_not_an_export(rubrics, tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(GoldError, match=message) as err:
        from_label_studio(path, rubrics["binary"])
    assert str(path) in str(err.value)


def test_label_studio_export_without_any_label_is_an_error(rubrics, tmp_path):
    export = [t for t in _ls_fixture() if not t["annotations"]]
    with pytest.raises(GoldError, match="none of the 1 records has a label yet"):
        from_label_studio(_write(tmp_path, export), rubrics["binary"])


# --------------------------------------------------------------------------------------------
# Argilla: what goes out


@pytest.mark.parametrize("kind", ["binary", "ordinal", "pairwise"])
def test_argilla_settings_have_a_field_per_input_and_the_three_questions(rubrics, kind):
    rubric = rubrics[kind]
    settings = to_argilla(rubric, _items(rubric))["settings"]
    assert [(f["name"], f["type"], f["settings"]) for f in settings["fields"]] == [
        (name, "text", {"type": "text", "use_markdown": False}) for name in rubric.inputs
    ]
    label, modes, note = settings["questions"]
    if kind == "ordinal":
        assert label["settings"] == {"type": "rating", "options": [{"value": n} for n in (1, 2, 3, 4, 5)]}
        assert rubric.scale.levels[4] in label["description"]
    else:
        values = [o["value"] for o in label["settings"]["options"]]
        assert label["settings"]["type"] == "label_selection" and values == rubric.scale.labels
    assert label["required"] is True and label["name"] == "label"
    assert modes["settings"]["type"] == "multi_label_selection" and modes["required"] is False
    assert [o["value"] for o in modes["settings"]["options"]] == rubric.failure_mode_ids
    assert (note["name"], note["settings"]["type"], note["required"]) == ("note", "text", False)
    assert settings["guidelines"].startswith(f"# {rubric.name} (version {rubric.version})")
    assert all(f"**{c.id}**" in settings["guidelines"] for c in rubric.criteria)
    assert settings["allow_extra_metadata"] is True  # item metadata is kept without declaring it
    assert settings["distribution"] == {"strategy": "overlap", "min_submitted": 1}


def test_argilla_records_are_in_record_to_dict_form(rubrics):
    rubric = rubrics["pairwise"]
    record = to_argilla(rubric, _items(rubric, 1))["records"][0]
    assert record == {
        "id": "it-0",
        "fields": {name: f'{name} text 0 with <tags> & "quotes"' for name in rubric.inputs},
        "metadata": {"slice": "s0", "generator_model": "m"},
        "suggestions": {},
        "responses": {},
        "vectors": {},
        "status": "pending",
        "_server_id": None,
    }


def test_argilla_refuses_metadata_that_would_clash_with_record_keys(rubrics):
    rubric = rubrics["binary"]
    items = _items(rubric)
    items[2]["metadata"]["status"] = "x"
    with pytest.raises(GoldError) as err:
        to_argilla(rubric, items)
    assert (err.value.location, err.value.field) == ("items[2]", "metadata.status")


def test_argilla_without_failure_modes_asks_two_questions(rubrics):
    data = rubrics["ordinal"].model_dump(mode="json")
    data["failure_modes"] = []
    settings = to_argilla(Rubric.model_validate(data), _items(rubrics["ordinal"]))["settings"]
    assert [q["name"] for q in settings["questions"]] == ["label", "note"]


# --------------------------------------------------------------------------------------------
# Argilla: what comes back


def _argilla_answers(rubric: Rubric, kind: str) -> dict[int, list[tuple[str, str, Any, str]]]:
    """Per item index: (question, user, value, status) as annotators gave them in Argilla; each
    item also has a draft by U3 that must not count."""
    users = {"ana": U1, "ben": U2}
    out: dict[int, list[tuple[str, str, Any, str]]] = {}
    for index, who, label in LABELLED[kind]:
        given = out.setdefault(index, [])
        given.append(("label", users[who], label, "submitted"))
        given.append(("failure_modes", users[who], rubric.failure_mode_ids[:1], "submitted"))
        if who == "ana":
            given.append(("note", users[who], "seen", "submitted"))
    for given in out.values():
        given.append(("label", U3, rubric.scale.labels[-1], "draft"))
    return out


def _nested(rubric: Rubric, kind: str, *, with_status: bool) -> list[dict[str, Any]]:
    records = copy.deepcopy(to_argilla(rubric, _items(rubric))["records"])
    for index, given in _argilla_answers(rubric, kind).items():
        responses = records[index]["responses"]
        for question, user, value, status in given:
            if not with_status and status != "submitted":
                continue  # argilla 2.8 writes no status: drafts are left out of this simulation
            entry = {"value": value, "user_id": user} | ({"status": status} if with_status else {})
            responses.setdefault(question, []).append(entry)
        records[index]["status"] = "completed"
    return records


def _flattened(rubric: Rubric, kind: str) -> list[dict[str, Any]]:
    out = []
    answers = _argilla_answers(rubric, kind)
    for index, record in enumerate(to_argilla(rubric, _items(rubric))["records"]):
        row: dict[str, Any] = {"id": record["id"], "status": "pending", "_server_id": f"srv-{index}"}
        row |= record["fields"] | record["metadata"]
        for question, user, value, status in answers.get(index, []):
            row.setdefault(f"{question}.responses", []).append(value)
            row.setdefault(f"{question}.responses.users", []).append(user)
            row.setdefault(f"{question}.responses.status", []).append(status)
        out.append(row)
    return out


def _v1_rows(rubric: Rubric, kind: str) -> list[dict[str, Any]]:
    out = []
    answers = _argilla_answers(rubric, kind)
    for index, record in enumerate(to_argilla(rubric, _items(rubric))["records"]):
        row: dict[str, Any] = dict(record["fields"])
        for question in ("label", "failure_modes", "note"):
            row[question] = [
                {"user_id": u, "value": v, "status": s}
                for q, u, v, s in answers.get(index, [])
                if q == question
            ]
            row[f"{question}-suggestion"] = None
        row |= {"external_id": record["id"], "metadata": json.dumps(record["metadata"])}
        out.append(row)
    return out


@pytest.mark.parametrize("kind", ["binary", "ordinal", "pairwise"])
@pytest.mark.parametrize("form", ["nested", "nested-with-status", "flattened", "flattened-jsonl", "v1"])
def test_argilla_round_trip(rubrics, kind, form, tmp_path):
    rubric = rubrics[kind]
    if form.startswith("nested"):
        path = _write(tmp_path, _nested(rubric, kind, with_status=form.endswith("status")))
    elif form == "flattened":
        path = _write(tmp_path, _flattened(rubric, kind))
    else:
        rows = _flattened(rubric, kind) if form == "flattened-jsonl" else _v1_rows(rubric, kind)
        path = _write(tmp_path, "".join(json.dumps(r) + "\n" for r in rows), "records.jsonl")
    items = from_argilla(path, rubric, users={U1: "ana"})
    expected = {f"it-{i}": {} for i in (0, 1)}
    for index, who, label in LABELLED[kind]:
        expected[f"it-{index}"]["ana" if who == "ana" else U2] = label
    assert {it.id: it.labels for it in items} == expected  # the drafts and it-2 (no answer) left out
    first = items[0]
    assert first.inputs == _items(rubric)[0]["inputs"]
    assert first.metadata["slice"] == "s0" and first.metadata["generator_model"] == "m"
    assert first.metadata["notes"] == {"ana": "seen"}
    assert first.metadata["human_failure_modes"] == {
        "ana": rubric.failure_mode_ids[:1],
        U2: rubric.failure_mode_ids[:1],
    }
    _loads_as_gold(items, rubric, tmp_path)


def test_argilla_fixture_nested_records(rubrics, tmp_path):
    rubric = rubrics["binary"]
    items = from_argilla(AR / "support-billing-records.json", rubric, users={U1: "ana", U2: "ben"})
    assert {it.id: it.labels for it in items} == {
        "sb-002": {"ana": "fail", "ben": "fail"},
        "sb-010": {"ana": "pass"},
    }
    assert items[0].metadata == {
        "slice": "refund_request",
        "generator_model": "llama-3.1-8b",
        "generator_family": "meta",
        "human_failure_modes": {"ana": ["promised_refund"], "ben": ["promised_refund", "wrong_information"]},
        "notes": {"ana": "Promises a refund the bot cannot grant."},
    }
    _loads_as_gold(items, rubric, tmp_path)


def test_argilla_fixture_flattened_records_count_only_submitted_responses(rubrics, tmp_path):
    rubric = rubrics["ordinal"]
    items = from_argilla(AR / "helpfulness-ordinal-flat.jsonl", rubric)
    assert {it.id: it.labels for it in items} == {"ho-001": {U1: 5, U2: 4}, "ho-002": {U1: 1}}
    assert items[0].metadata == {
        "slice": "coding",
        "notes": {U1: "Exactly right and short."},
        "human_failure_modes": {U1: [], U2: []},
    }
    assert items[1].metadata["human_failure_modes"] == {U1: ["factual_error", "ignores_question"]}
    _loads_as_gold(items, rubric, tmp_path)


def test_argilla_fixture_v1_feedback_dataset_rows(rubrics, tmp_path):
    rubric = rubrics["pairwise"]
    items = from_argilla(AR / "pairwise-preference-v1.jsonl", rubric)
    assert {it.id: it.labels for it in items} == {"pp-001": {U1: "A", U2: "tie"}, "pp-002": {U1: "B"}}
    assert items[0].metadata == {
        "slice": "constraint_following",
        "human_failure_modes": {U1: ["instruction_violation"], U2: []},
        "notes": {U2: "Both list three items, but B adds text."},
    }
    _loads_as_gold(items, rubric, tmp_path)


def test_argilla_a_username_names_the_annotator(rubrics, tmp_path):
    rubric = rubrics["binary"]
    records = _nested(rubric, "binary", with_status=True)
    for responses in records[0]["responses"].values():
        for r in responses:
            r["username"] = "ana.k" if r["user_id"] == U1 else "ben.o"
    items = from_argilla(_write(tmp_path, records), rubric)
    assert items[0].labels == {"ana.k": "pass", "ben.o": "fail"}


def test_argilla_v1_older_column_form_and_a_long_ordinal_scale(rubrics, tmp_path):
    data = rubrics["ordinal"].model_dump(mode="json")
    data["scale"]["levels"] = {n: f"level {n}" for n in range(1, 12)}  # 11 levels: too many to rate
    rubric = Rubric.model_validate(data)
    (label, *_) = to_argilla(rubric, _items(rubric))["settings"]["questions"]
    assert (
        label["settings"]["type"] == "label_selection" and label["settings"]["options"][-1]["value"] == "11"
    )
    row = {name: "text" for name in rubric.inputs} | {"external_id": "long-1", "metadata": "{}"}
    row["label"] = {"user_id": [U1, U2], "value": ["11", "3"], "status": ["submitted", "draft"]}
    (item,) = from_argilla(_write(tmp_path, json.dumps(row) + "\n", "v1.jsonl"), rubric)
    assert (item.id, item.labels) == ("long-1", {U1: 11})


def _ar_fixture() -> list[dict[str, Any]]:
    return json.loads((AR / "support-billing-records.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "where", "field", "message"),
    [
        (lambda r: r[1]["responses"]["label"][0].update(value="ok"), "record 1 (id 'sb-010')",
         f"responses.label (user {U1})", "label 'ok' is not on the binary scale ['pass', 'fail']"),
        (lambda r: r[0]["fields"].pop("input"), "record 0 (id 'sb-002')", "fields.input",
         "missing input 'input', which rubric 'support-billing' needs"),
        (lambda r: r[0]["responses"].pop("label"), "record 0 (id 'sb-002')",
         f"responses.label (user {U1})", "a submitted response without a label"),
        (lambda r: r[0]["responses"]["failure_modes"][0].update(value=["nope"]), "record 0 (id 'sb-002')",
         f"responses.failure_modes (user {U1})", "unknown failure mode 'nope'"),
        (lambda r: r[2].update(id="sb-002"), "record 2 (id 'sb-002')", "id", "duplicate item id 'sb-002'"),
        (lambda r: r[0]["responses"]["label"][1].pop("user_id"), "record 0 (id 'sb-002')",
         "responses.label[1]", "a response without a user_id"),
        (lambda r: r[0]["responses"].update(label="fail"), "record 0 (id 'sb-002')", "responses.label",
         "must be a list of responses"),
        (lambda r: [r[1].pop(k) for k in ("fields", "_server_id")], "record 1", None,
         "not an Argilla record"),
    ],
)  # fmt: skip
def test_argilla_export_errors_name_the_file_the_record_and_the_field(
    rubrics, tmp_path, change, where, field, message
):
    records = _ar_fixture()
    change(records)
    path = _write(tmp_path, records)
    with pytest.raises(GoldError) as err:
        from_argilla(path, rubrics["binary"])
    assert err.value.location == f"{path}: {where}"
    assert err.value.field == field
    assert message in str(err.value)


def test_argilla_flattened_lists_out_of_step_are_an_error(rubrics, tmp_path):
    lines = (AR / "helpfulness-ordinal-flat.jsonl").read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[1])
    row["label.responses.users"].pop()
    path = _write(tmp_path, "\n".join([lines[0], json.dumps(row)]) + "\n", "flat.jsonl")
    with pytest.raises(GoldError) as err:
        from_argilla(path, rubrics["ordinal"])
    assert err.value.location == f"{path}: record 1 (id 'ho-002')"
    assert err.value.field == "label.responses"
    assert "2 responses, 1 users and 2 statuses" in str(err.value)


def test_argilla_bad_json_lines_name_the_line(rubrics, tmp_path):
    lines = (AR / "pairwise-preference-v1.jsonl").read_text(encoding="utf-8").splitlines()
    path = _write(tmp_path, lines[0] + "\n{not json\n", "v1.jsonl")
    with pytest.raises(GoldError, match="not JSON Lines") as err:
        from_argilla(path, rubrics["pairwise"])
    assert err.value.location == f"{path}:2"


def test_argilla_export_with_only_drafts_is_an_error(rubrics, tmp_path):
    lines = (AR / "helpfulness-ordinal-flat.jsonl").read_text(encoding="utf-8").splitlines()
    path = _write(tmp_path, lines[2] + "\n", "drafts.jsonl")  # one JSON Lines record: only a draft
    with pytest.raises(GoldError, match="none of the 1 records has a label yet"):
        from_argilla(path, rubrics["ordinal"])


# --------------------------------------------------------------------------------------------
# The guide, docs/labelling-tools.md: its judgecal examples run as written


def test_the_guide_examples_run_on_the_fixtures(tmp_path, monkeypatch):
    import re

    guide = (Path(__file__).resolve().parent.parent / "docs" / "labelling-tools.md").read_text(
        encoding="utf-8"
    )
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    ours = [b for b in blocks if "import argilla" not in b and not b.startswith("dataset.")]
    assert len(ours) == 4 and len(blocks) == 6
    monkeypatch.chdir(tmp_path)
    gold_file = Path(__file__).resolve().parent.parent / "gold" / "support-billing.jsonl"
    pool = [json.loads(line) for line in gold_file.read_text(encoding="utf-8").splitlines()]
    Path("pool.jsonl").write_text(
        "".join(json.dumps({k: v for k, v in it.items() if k != "labels"}) + "\n" for it in pool[:5])
    )
    Path("project-export.json").write_text(
        (LS / "support-billing.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    Path("argilla-export.json").write_text(
        (AR / "support-billing-records.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for block in ours:
        exec(compile(block, "docs/labelling-tools.md", "exec"), {})
    assert len(json.loads(Path("ls-tasks.json").read_text(encoding="utf-8"))) == 5
    assert ET.fromstring(Path("ls-config.xml").read_text(encoding="utf-8")).tag == "View"
    assert len(json.loads(Path("argilla-records.json").read_text(encoding="utf-8"))) == 5
    assert load_gold("support-billing-ls.jsonl", find_rubric("support-billing")).annotators == [
        "ben@example.com",
        "ls-user-3",
    ]
    argilla_gold = load_gold("support-billing-argilla.jsonl", find_rubric("support-billing"))
    assert argilla_gold.annotators == [U2, "ana"]


def test_the_guide_error_examples_are_what_the_code_says(rubrics, tmp_path, monkeypatch):
    guide = (Path(__file__).resolve().parent.parent / "docs" / "labelling-tools.md").read_text(
        encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    export = _ls_fixture()
    _first_result(export)["value"]["choices"] = ["maybe"]
    Path("project-export.json").write_text(json.dumps(export), encoding="utf-8")
    records = _ar_fixture()
    records[0]["fields"].pop("input")
    Path("argilla-export.json").write_text(json.dumps(records), encoding="utf-8")
    for read, name in ((from_label_studio, "project-export.json"), (from_argilla, "argilla-export.json")):
        with pytest.raises(GoldError) as err:
            read(name, rubrics["binary"])
        assert f"\n{err.value}\n" in guide
