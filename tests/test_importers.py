"""Importers on small synthetic files: every format, malformed records, detection, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from judgecal.errors import ConfigError, GoldError, NotFoundError
from judgecal.gold import load_gold
from judgecal.importers import (
    EMPTY_TEXT,
    IMPORTERS,
    JudgmentSet,
    RecordedVerdict,
    detect_format,
    import_csv,
    import_jsonl,
    import_llmbar,
    import_mtbench,
    import_pandalm,
    llmbar_statistics,
    load_judgments,
    load_verdicts,
    parse_mapping,
    parse_pandalm_verdict,
)
from judgecal.rubric import find_rubric


def _json(path: Path, value: object, *, indent: int | None = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=indent))
    return path


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# --------------------------------------------------------------------------------------------
# PandaLM


def _panda_item(idx: int, a1: object, a2: object, a3: object, **extra: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "idx": idx,
        "motivation_app": "Grammarly",
        "cmp_key": "bloom-7b_llama-7b",
        "instruction": f"Rewrite sentence {idx // 2}.",
        "input": "It is what it is." if idx >= 2 else "",
        "response1": f"first answer {idx}",
        "response2": f"second answer {idx}",
        "annotator1": a1,
        "annotator2": a2,
        "annotator3": a3,
    }
    rec.update(extra)
    return rec


@pytest.fixture
def pandalm(tmp_path: Path) -> Path:
    folder = tmp_path / "pandalm"
    _json(
        folder / "testset-v1.json",
        [
            _panda_item(0, 1, 1, 2),
            _panda_item(1, 2, 2, 2),
            _panda_item(2, 0, 0, 1, response1=""),
            _panda_item(3, 1, 2, 0, response2=True),  # no majority; a JSON boolean as the output
        ],
    )
    _json(
        folder / "gpt-3.5-turbo-testset-v1.json",
        [
            {"idx": 0, "gpt_result": "1", "gpt_reason": "one is better", "gpt_reference": "x"},
            {"idx": 1, "gpt_result": "Tie", "gpt_reason": "same", "gpt_reference": "x"},
            {"idx": 2, "gpt_result": "garbage", "gpt_reason": "", "gpt_reference": "x"},
            {"idx": 3, "gpt_result": "2", "gpt_reason": "two", "gpt_reference": "x"},
        ],
    )
    _json(
        folder / "pandalm-7b-testset-v1.json",
        [{"idx": i, "pandalm_result": r, "pandalm_reason": "r"} for i, r in enumerate([1, 2, 0, 2])],
    )
    return folder / "testset-v1.json"


def test_pandalm_items_labels_and_judges(pandalm: Path):
    js = import_pandalm(pandalm)
    assert js.format == "pandalm" and js.scale == "pairwise" and js.labels == ["A", "B", "tie"]
    assert [it.id for it in js.items] == ["0", "1", "2", "3"]
    assert js.annotators == ["annotator1", "annotator2", "annotator3"]
    assert js.gold_labels() == {"0": "A", "1": "B", "2": "tie", "3": None}
    first = js.items[0]
    assert first.inputs == {
        "input": "Rewrite sentence 0.",
        "output_a": "first answer 0",
        "output_b": "second answer 0",
    }
    assert js.items[2].inputs["input"] == "Rewrite sentence 1.\n\nIt is what it is."
    assert (
        first.metadata["generator_model_a"] == "bloom-7b"
        and first.metadata["generator_model_b"] == "llama-7b"
    )
    assert first.metadata["slice"] == "Grammarly"
    assert js.items[0].metadata["prompt_id"] == js.items[1].metadata["prompt_id"]  # same instruction
    assert js.items[0].metadata["prompt_id"] != js.items[2].metadata["prompt_id"]
    assert js.items[2].inputs["output_a"] == EMPTY_TEXT and js.items[2].metadata["empty_inputs"] == [
        "output_a"
    ]
    assert js.items[3].inputs["output_b"] == "True"

    assert sorted(js.judges) == ["gpt-3.5-turbo", "pandalm-7b"]
    gpt = js.judges["gpt-3.5-turbo"]
    assert [(v.label, v.status, v.raw) for v in gpt] == [
        ("A", "ok", "1"),
        ("tie", "ok", "Tie"),
        (None, "invalid", "garbage"),
        ("B", "ok", "2"),
    ]
    assert gpt[0].reasoning == "one is better" and gpt[0].order is None
    assert js.verdict_labels("gpt-3.5-turbo") == {"0": "A", "1": "tie", "2": None, "3": "B"}
    assert js.verdict_labels("gpt-3.5-turbo", invalid_as="tie")["2"] == "tie"
    assert js.verdict_labels("pandalm-7b") == {"0": "A", "1": "B", "2": "tie", "3": "B"}


def test_pandalm_folder_and_explicit_judge_files(pandalm: Path):
    js = import_pandalm(pandalm.parent, judges=[pandalm.parent / "pandalm-7b-testset-v1.json"])
    assert list(js.judges) == ["pandalm-7b"]
    assert import_pandalm(pandalm, judges=[]).judges == {}


@pytest.mark.parametrize(
    ("value", "label"),
    [(1, "A"), (2, "B"), (0, "tie"), ("1", "A"), (" 2 ", "B"), ("0", "tie"), ("Tie", "tie"), ("tie", "tie")],
)
def test_pandalm_verdict_parser_matches_the_repo_convention(value, label):
    assert parse_pandalm_verdict(value) == label


@pytest.mark.parametrize("value", ["garbage", "", "3", "Response 1 is better", None, True, 1.0, -1])
def test_pandalm_unparseable_verdicts(value):
    assert parse_pandalm_verdict(value) is None


def test_pandalm_bad_label_names_file_line_record_and_field(tmp_path: Path):
    path = _json(tmp_path / "testset-v1.json", [_panda_item(0, 1, 1, 1), _panda_item(1, 1, 5, 1)])
    with pytest.raises(GoldError) as info:
        import_pandalm(path)
    err = info.value
    assert err.field == "annotator2"
    # indent=1: "[" on line 1, record 0 spans 12 lines, record 1 starts on line 14
    assert err.location == f"{path}:14 (record 1)"
    assert "not one of 1 (response1), 2 (response2), 0 (tie)" in str(err)
    assert str(err).startswith(f"{path}:14 (record 1): annotator2: ")


@pytest.mark.parametrize(
    ("records", "field", "message"),
    [
        ([_panda_item(0, 1, 1, 1), {**_panda_item(1, 1, 1, 1), "idx": "x"}], "idx", "must be an integer"),
        ([_panda_item(0, 1, 1, 1), _panda_item(0, 2, 2, 2)], "idx", "duplicate idx 0"),
        (
            [{k: v for k, v in _panda_item(0, 1, 1, 1).items() if k != "instruction"}],
            "instruction",
            "missing",
        ),
        ([{**_panda_item(0, 1, 1, 1), "response1": ["x"]}], "response1", "must be text"),
        (
            [{k: v for k, v in _panda_item(0, 1, 1, 1).items() if not k.startswith("annotator")}],
            "annotator1",
            "needs",
        ),
    ],
)
def test_pandalm_malformed_records(tmp_path: Path, records, field, message):
    path = _json(tmp_path / "testset-v1.json", records)
    with pytest.raises(GoldError, match=message) as info:
        import_pandalm(path)
    assert info.value.field == field and str(path) in str(info.value)


def test_pandalm_judge_file_errors(pandalm: Path):
    judge = pandalm.parent / "x-testset-v1.json"
    _json(judge, [{"idx": 0, "x_result": "1"}, {"idx": 9, "x_result": "1"}])
    with pytest.raises(GoldError, match="idx 9 is not in the test set") as info:
        import_pandalm(pandalm)
    assert info.value.location is not None and info.value.location.endswith("(record 1)")
    _json(judge, [{"idx": 0, "x_result": "1"}, {"idx": 0, "x_result": "2"}])
    with pytest.raises(GoldError, match="duplicate idx 0"):
        import_pandalm(pandalm)
    _json(judge, [{"idx": 0, "verdict": "1"}])
    with pytest.raises(GoldError, match="exactly one '<judge>_result'"):
        import_pandalm(pandalm)
    _json(judge, [{"idx": 0, "x_result": None}])
    with pytest.raises(GoldError, match="must be a verdict") as info:
        import_pandalm(pandalm)
    assert info.value.field == "x_result"


def test_invalid_json_names_the_line(tmp_path: Path):
    path = tmp_path / "testset-v1.json"
    path.write_text("[\n" + json.dumps(_panda_item(0, 1, 1, 1)) + ',\n {"idx": 1,,}\n]')
    with pytest.raises(GoldError, match="not valid JSON") as info:
        import_pandalm(path)
    assert info.value.location == f"{path}:3 (record 1)"


def test_unreadable_and_non_array_files(tmp_path: Path):
    with pytest.raises(GoldError, match="cannot read file"):
        import_pandalm(tmp_path / "missing.json")
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b"[\xff]")
    with pytest.raises(GoldError, match="not UTF-8"):
        import_pandalm(bad)
    scalar = _json(tmp_path / "scalar.json", [1, 2])
    with pytest.raises(GoldError, match="must be a JSON object, not int"):
        import_pandalm(scalar)
    empty = _json(tmp_path / "empty.json", [])
    with pytest.raises(GoldError, match="no records"):
        import_pandalm(empty)
    trailing = tmp_path / "trailing.json"
    trailing.write_text(json.dumps([_panda_item(0, 1, 1, 1)]) + " extra")
    with pytest.raises(GoldError, match="after the JSON array"):
        import_pandalm(trailing)


# --------------------------------------------------------------------------------------------
# LLMBar


def _llmbar_record(i: int, label: object) -> dict[str, object]:
    return {"input": f"Instruction {i // 2}", "output_1": f"one {i}", "output_2": f"two {i}", "label": label}


def _result(rec: dict[str, object], ab: object, ba: object, *, stages: int = 1) -> dict[str, object]:
    final = {
        "swap = False": {"completion": [f"Output ({'a' if ab == '1' else 'b'})", "stop"], "winner": ab},
        "swap = True": {"completion": [f"Output ({'b' if ba == '1' else 'a'})", "stop"], "winner": ba},
    }
    aux: list[object] = [["auxiliary text", "stop"]] * (stages - 1)
    return {**rec, "results": [*aux, final]}


@pytest.fixture
def llmbar(tmp_path: Path) -> Path:
    folder = tmp_path / "LLMBar" / "Natural"
    data = [_llmbar_record(0, 1), _llmbar_record(1, 2), _llmbar_record(2, 1)]
    _json(folder / "dataset.json", data)
    _json(
        folder / "evaluators" / "GPT-4" / "Vanilla" / "result.json",
        [_result(data[0], "1", "1"), _result(data[1], "2", "1"), _result(data[2], None, None)],
    )
    processed = [{**r, "label": str(r["label"])} for r in data]  # string labels, as in Processed/
    _json(
        folder / "evaluators" / "ChatGPT" / "Metrics_Reference" / "result.json",
        [_result(r, "1", "2", stages=3) for r in processed],
    )
    _json(
        folder / "evaluators" / "GPT-4" / "Vanilla" / "statistics.json",
        {
            "correct_False": "1 / 3 = 33.33333333333333%",
            "correct_True": "1 / 3 = 33.33333333333333%",
            "correct_average": "33.33333333333333%",
            "correct_both": "1 / 3 = 33.33333333333333%",
            "equal": "2 / 3 = 66.66666666666666%",
            "kappa_False": 0.1,
        },
    )
    return folder


def test_llmbar_both_orders_and_nulls(llmbar: Path):
    js = import_llmbar(llmbar)
    assert js.name == "llmbar-natural" and js.labels == ["A", "B"]
    assert sorted(js.judges) == ["ChatGPT/Metrics_Reference", "GPT-4/Vanilla"]
    assert js.gold_labels() == {"0": "A", "1": "B", "2": "A"}
    assert js.items[0].labels == {"gold": "A"}
    assert js.items[0].inputs == {"input": "Instruction 0", "output_a": "one 0", "output_b": "two 0"}
    assert js.items[0].metadata["prompt_id"] == js.items[1].metadata["prompt_id"]
    gpt4 = js.judges["GPT-4/Vanilla"]
    assert [(v.item_id, v.order, v.label, v.status) for v in gpt4] == [
        ("0", "ab", "A", "ok"),
        ("0", "ba", "A", "ok"),
        ("1", "ab", "B", "ok"),
        ("1", "ba", "A", "ok"),
        ("2", "ab", None, "invalid"),
        ("2", "ba", None, "invalid"),
    ]
    assert gpt4[0].raw == "Output (a)"
    assert js.verdict_labels("GPT-4/Vanilla", order="ba") == {"0": "A", "1": "A", "2": None}
    with pytest.raises(ValueError, match="pass order='ab' or order='ba'"):
        js.verdict_labels("GPT-4/Vanilla")
    chat = js.verdict_labels("ChatGPT/Metrics_Reference", order="ab")  # the last stage is the verdict
    assert chat == {"0": "A", "1": "A", "2": "A"}


def test_llmbar_dataset_file_and_judge_selection(llmbar: Path):
    js = import_llmbar(llmbar / "dataset.json", judges=["GPT-4/Vanilla"])
    assert list(js.judges) == ["GPT-4/Vanilla"]
    with pytest.raises(NotFoundError, match="found: ChatGPT/Metrics_Reference, GPT-4/Vanilla"):
        import_llmbar(llmbar, judges=["PaLM2/Swap"])


def test_llmbar_statistics_are_parsed(llmbar: Path):
    stats = llmbar_statistics(llmbar / "evaluators" / "GPT-4" / "Vanilla")
    assert stats["n"] == 3 and stats["correct_False"] == 1 and stats["equal"] == 2
    assert stats["correct_False_percent"] == 1 / 3 * 100
    assert stats["correct_average_percent"] == 33.33333333333333
    assert stats["kappa_False"] == 0.1
    bad = _json(llmbar / "bad" / "statistics.json", {"equal": "lots"})
    with pytest.raises(GoldError, match="unexpected value") as info:
        llmbar_statistics(bad.parent)
    assert info.value.field == "equal"


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda r: r.update(output_1="changed"), "output_1", "differs from record 1 of dataset.json"),
        (lambda r: r.update(label=1), "label", "differs"),
        (lambda r: r.update(results=[]), "results", "last entry"),
        (lambda r: r["results"][-1].pop("swap = True"), "results[-1].swap = True", "missing"),
        (
            lambda r: r["results"][-1]["swap = False"].update(winner="3"),
            "results[-1].swap = False.winner",
            "'3'",
        ),
    ],
)
def test_llmbar_malformed_results(llmbar: Path, mutate, field, message):
    path = llmbar / "evaluators" / "GPT-4" / "Vanilla" / "result.json"
    records = json.loads(path.read_text())
    mutate(records[1])
    _json(path, records)
    with pytest.raises(GoldError, match=message) as info:
        import_llmbar(llmbar)
    assert info.value.field == field
    assert info.value.location is not None and info.value.location.startswith(str(path))
    assert info.value.location.endswith("(record 1)")


def test_llmbar_result_with_missing_records(llmbar: Path):
    path = llmbar / "evaluators" / "GPT-4" / "Vanilla" / "result.json"
    _json(path, json.loads(path.read_text())[:2])
    with pytest.raises(GoldError, match="has 2 records, dataset.json has 3"):
        import_llmbar(llmbar)


def test_llmbar_bad_gold_label(tmp_path: Path):
    path = _json(tmp_path / "dataset.json", [_llmbar_record(0, 1), _llmbar_record(1, 0)])
    with pytest.raises(GoldError, match="must be 1 or 2") as info:
        import_llmbar(path)
    assert info.value.field == "label" and info.value.location == f"{path}:8 (record 1)"


# --------------------------------------------------------------------------------------------
# MT-Bench human judgments (lmsys/mt_bench_human_judgments: splits "human" and "gpt4_pair")


def _conv(question: str, answer: str, q2: str | None = None, a2: str | None = None) -> list[dict[str, str]]:
    conv = [{"content": question, "role": "user"}, {"content": answer, "role": "assistant"}]
    if q2 is not None and a2 is not None:
        conv += [{"content": q2, "role": "user"}, {"content": a2, "role": "assistant"}]
    return conv


_Q81 = "Compose an engaging travel blog post about a recent trip to Hawaii."
_Q81_2 = "Rewrite your previous response. Start every sentence with the letter A."


def _vote(qid: int, a: str, b: str, winner: str, judge: str, turn: int = 1) -> dict[str, object]:
    answers = {"alpaca-13b": ("Short post.", "A short post."), "gpt-4": ("Vivid post.", "A vivid post.")}
    return {
        "question_id": qid,
        "model_a": a,
        "model_b": b,
        "winner": winner,
        "judge": judge,
        "conversation_a": _conv(_Q81, answers[a][0], _Q81_2, answers[a][1]),
        "conversation_b": _conv(_Q81, answers[b][0], _Q81_2, answers[b][1]),
        "turn": turn,
    }


@pytest.fixture
def mtbench(tmp_path: Path) -> tuple[Path, Path]:
    human = _jsonl(
        tmp_path / "human.jsonl",
        [
            _vote(81, "alpaca-13b", "gpt-4", "model_b", "expert_0"),
            _vote(81, "gpt-4", "alpaca-13b", "model_a", "author_2"),  # reversed pair: same item
            _vote(81, "alpaca-13b", "gpt-4", "tie (bothbad)", "expert_7"),
            _vote(81, "alpaca-13b", "gpt-4", "model_a", "expert_0", turn=2),
            _vote(81, "alpaca-13b", "gpt-4", "model_b", "expert_0", turn=2),  # a second vote, same person
        ],
    )
    gpt4 = _json(
        tmp_path / "gpt4_pair.json",
        [
            _vote(81, "gpt-4", "alpaca-13b", "model_a", "gpt4_pair"),
            _vote(81, "alpaca-13b", "gpt-4", "tie (inconsistent)", "gpt4_pair", turn=2),
            _vote(82, "alpaca-13b", "gpt-4", "error", "gpt4_pair"),  # no human vote on q82
        ],
    )
    return human, gpt4


def test_mtbench_items_annotators_and_gpt4(mtbench: tuple[Path, Path]):
    human, gpt4 = mtbench
    js = import_mtbench(human, also=[gpt4])
    assert js.format == "mtbench" and js.labels == ["A", "B", "tie"]
    assert [it.id for it in js.items] == ["81-alpaca-13b-vs-gpt-4-t1", "81-alpaca-13b-vs-gpt-4-t2"]
    t1, t2 = js.items
    assert t1.labels == {"expert_0": "B", "author_2": "B", "expert_7": "tie"}
    assert t2.labels == {"expert_0": "A", "expert_0#2": "B"}
    assert t1.metadata["prompt_id"] == 81 and t1.metadata["turn"] == 1 and t2.metadata["slice"] == "turn 2"
    assert t1.metadata["generator_model_a"] == "alpaca-13b" and t1.metadata["generator_model_b"] == "gpt-4"
    assert t1.inputs == {"input": _Q81, "output_a": "Short post.", "output_b": "Vivid post."}
    assert t2.inputs["input"] == f"### User (turn 1):\n{_Q81}\n\n### User (turn 2):\n{_Q81_2}"
    assert (
        t2.inputs["output_b"]
        == "### Assistant (turn 1):\nVivid post.\n\n### Assistant (turn 2):\nA vivid post."
    )
    assert list(js.judges) == ["gpt4_pair"]
    verdicts = js.judges["gpt4_pair"]
    assert [(v.item_id, v.label, v.raw, v.order) for v in verdicts] == [
        ("81-alpaca-13b-vs-gpt-4-t1", "B", "model_a", None),  # gpt-4 was model_a: flipped to B
        ("81-alpaca-13b-vs-gpt-4-t2", "tie", "tie (inconsistent)", None),
    ]
    assert js.gold_labels() == {"81-alpaca-13b-vs-gpt-4-t1": "B", "81-alpaca-13b-vs-gpt-4-t2": None}


def test_mtbench_keep_unlabelled_and_invalid_judge_answers(mtbench: tuple[Path, Path]):
    human, gpt4 = mtbench
    js = import_mtbench(gpt4, also=[human], keep_unlabelled=True)
    q82 = "82-alpaca-13b-vs-gpt-4-t1"
    assert q82 in {it.id for it in js.items}
    v82 = [v for v in js.judges["gpt4_pair"] if v.item_id == q82]
    assert [(v.status, v.label, v.raw) for v in v82] == [("invalid", None, "error")]
    only_gpt4 = import_mtbench(gpt4, keep_unlabelled=True)
    assert all(not it.labels for it in only_gpt4.items)
    assert import_mtbench(gpt4).items == []


def test_mtbench_fastchat_judge_lists_and_prefixes(tmp_path: Path):
    path = _jsonl(
        tmp_path / "votes.jsonl",
        [
            _vote(81, "alpaca-13b", "gpt-4", "model_b", "expert_0"),
            {**_vote(81, "alpaca-13b", "gpt-4", "model_b", "x"), "judge": ["gpt-4", "pair-v2"]},
        ],
    )
    assert list(import_mtbench(path).judges) == ["gpt-4/pair-v2"]
    js = import_mtbench(path, judge_prefixes=["nobody"])
    assert js.judges == {} and js.items[0].labels == {"expert_0": "B", "gpt-4/pair-v2": "B"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"winner": "model_c"}, "winner", "must be model_a, model_b, tie"),
        ({"winner": None}, "winner", "must be text"),
        ({"question_id": None}, "question_id", "integer or text"),
        ({"turn": 0}, "turn", "positive integer"),
        ({"turn": 3}, "conversation_a", "fewer than 3"),
        ({"model_b": "alpaca-13b"}, "model_b", "two different"),
        ({"judge": ""}, "judge", "judge name"),
        ({"conversation_b": "text"}, "conversation_b", "list of"),
        ({"conversation_a": [{"role": "system", "content": "x"}]}, "conversation_a[0].role", "'user' or"),
    ],
)
def test_mtbench_malformed_records(tmp_path: Path, change, field, message):
    path = _jsonl(
        tmp_path / "human.jsonl",
        [
            "// exported split",
            _vote(81, "alpaca-13b", "gpt-4", "tie", "expert_1"),
            {**_vote(81, "alpaca-13b", "gpt-4", "tie", "expert_2"), **change},
        ],
    )
    with pytest.raises(GoldError, match=message) as info:
        import_mtbench(path)
    assert info.value.field == field and info.value.location == f"{path}:3"


def test_mtbench_duplicate_judge_verdict_and_parquet(tmp_path: Path):
    path = _jsonl(tmp_path / "g.jsonl", [_vote(81, "alpaca-13b", "gpt-4", "tie", "gpt4_pair")] * 2)
    with pytest.raises(GoldError, match="already has a verdict") as info:
        import_mtbench(path)
    assert info.value.location == f"{path}:2"
    parquet = tmp_path / "human-00000-of-00001.parquet"
    parquet.write_bytes(b"PAR1")
    with pytest.raises(GoldError, match="export the split as JSON lines"):
        import_mtbench(parquet)


# --------------------------------------------------------------------------------------------
# Plain tables with a column mapping


def test_parse_mapping():
    assert parse_mapping("id=qid, output=answer ,human:ana=label_ana,judge.gpt-4.1@ba=g") == {
        "id": "qid",
        "output": "answer",
        "human.ana": "label_ana",
        "judge.gpt-4.1@ba": "g",
    }
    assert parse_mapping({"meta.slice": "topic"}) == {"meta.slice": "topic"}
    assert parse_mapping(None) == {}
    with pytest.raises(ConfigError, match="unknown target 'answer'"):
        parse_mapping("answer=output")
    with pytest.raises(ConfigError, match="unknown target"):
        parse_mapping("judge.gpt4@xy=col")
    with pytest.raises(ConfigError, match="must read target=column"):
        parse_mapping("id")
    with pytest.raises(ConfigError, match="mapped twice"):
        parse_mapping("human.ana=a,human:ana=b")


def test_csv_with_a_mapping(tmp_path: Path):
    path = tmp_path / "items.csv"
    path.write_text(
        "qid,question,answer,label_ana,label_ben,gpt4_label,topic\n"
        'q1,"Refund, please?","No refunds.",Pass,pass,PASS,refund\n'
        'q2,"Multi\nline","We promise a refund!",fail,fail,"I think it fails",refund\n'
        "q3,Hi,Hello,fail,,,greeting\n"
    )
    js = import_csv(
        path,
        mapping="id=qid,input=question,output=answer,human.ana=label_ana,human.ben=label_ben,"
        "judge.gpt4=gpt4_label,meta.slice=topic",
    )
    assert js.scale == "binary" and js.labels == ["pass", "fail"] and js.format == "csv"
    assert [it.id for it in js.items] == ["q1", "q2", "q3"]
    assert js.items[0].labels == {"ana": "pass", "ben": "pass"} and js.items[2].labels == {"ana": "fail"}
    assert js.items[1].inputs["input"] == "Multi\nline" and js.items[0].metadata == {"slice": "refund"}
    assert [(v.item_id, v.label, v.status, v.raw) for v in js.judges["gpt4"]] == [
        ("q1", "pass", "ok", "PASS"),
        ("q2", None, "invalid", "I think it fails"),
    ]


def test_csv_line_numbers_count_multiline_cells(tmp_path: Path):
    path = tmp_path / "items.csv"
    path.write_text('id,input,output,human.ana\nq1,"two\nlines",x,pass\nq2,y,z,maybe\n')
    with pytest.raises(GoldError, match="'maybe' is not on the binary scale") as info:
        import_csv(path, scale="binary")
    assert info.value.location == f"{path}:4" and info.value.field == "human.ana"


def test_csv_default_columns_pairwise_orders_and_labels_column(tmp_path: Path):
    path = tmp_path / "pairs.tsv"
    rows = [
        ["id", "input", "output_a", "output_b", "labels", "judge:j@ab", "judge:j@ba", "meta.prompt_id"],
        ["p1", "Q", "a", "b", '{"ana": "A", "ben": "[[B]]"}', "A", "B", "7"],
        ["p2", "Q", "a", "", '{"ana": "tie"}', "b", "", "7"],
    ]
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    js = load_judgments(path)
    assert js.scale == "pairwise" and js.labels == ["A", "B", "tie"]
    assert js.items[0].labels == {"ana": "A", "ben": "B"}
    assert js.items[1].inputs["output_b"] == EMPTY_TEXT and js.items[1].metadata["empty_inputs"] == [
        "output_b"
    ]
    assert js.verdict_labels("j", order="ab") == {"p1": "A", "p2": "B"}
    assert js.verdict_labels("j", order="ba") == {"p1": "B"}


def test_table_scale_inference_and_rubric(tmp_path: Path):
    path = _jsonl(
        tmp_path / "ordinal.jsonl",
        [
            {"id": "o1", "input": "q", "output": "a", "human.ana": 4, "human.ben": "5", "judge.j": "[[4]]"},
            {"id": "o2", "input": "q", "output": "b", "human.ana": 2, "judge.j": 9},
        ],
    )
    js = import_jsonl(path)
    assert js.scale == "ordinal" and js.labels == [1, 2, 3, 4, 5]
    assert js.items[0].labels == {"ana": 4, "ben": 5}
    assert [(v.label, v.status, v.raw) for v in js.judges["j"]] == [
        (4, "ok", "[[4]]"),
        (None, "invalid", "9"),
    ]
    with_rubric = import_jsonl(path, rubric="helpfulness-ordinal")
    assert with_rubric.labels == find_rubric("helpfulness-ordinal").scale.labels
    with pytest.raises(GoldError, match="cannot tell the scale"):
        import_jsonl(_jsonl(tmp_path / "x.jsonl", [{"id": "1", "output": "a", "human.ana": "good"}]))


@pytest.mark.parametrize(
    ("text", "kwargs", "error", "message"),
    [
        ("qid,output\n1,a\n", {"mapping": "id=nope"}, GoldError, "no column 'nope'"),
        ("qid,output,human.a\n1,a,pass\n", {}, GoldError, "no id column"),
        ("id,human.a\n1,pass\n", {}, GoldError, "no input columns"),
        ("id,output,human.a\n1,a,pass\n1,b,pass\n", {}, GoldError, "duplicate id '1'"),
        ("id,output,human.a\n,a,pass\n", {}, GoldError, "needs an id"),
        ("id,output,output\n1,a,b\n", {}, GoldError, "duplicate column"),
        ("id,output,human.a\n1,a,pass,extra\n", {}, GoldError, "4 cells but the header has 3"),
        ("id,output,labels\n1,a,[1]\n", {}, GoldError, "JSON object annotator"),
        ("", {}, GoldError, "empty"),
        ("id,output\n", {}, GoldError, "no rows"),
        ("id,output\n1,a\n", {"mapping": "bogus=x"}, ConfigError, "unknown target"),
    ],
)
def test_table_errors(tmp_path: Path, text, kwargs, error, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(error, match=message):
        import_csv(path, scale="binary", **kwargs)


# --------------------------------------------------------------------------------------------
# Verdicts of another harness


@pytest.fixture
def pairs(tmp_path: Path) -> JudgmentSet:
    path = tmp_path / "pairs.csv"
    path.write_text("id,input,output_a,output_b,human.ana\np1,Q,a,b,A\np2,Q,c,d,tie\n")
    return import_csv(path)


def test_verdicts_file_adds_a_judge(tmp_path: Path, pairs: JudgmentSet):
    path = _jsonl(
        tmp_path / "verdicts.jsonl",
        [
            {"item_id": "p1", "judge": "gpt-4o", "label": "A", "raw": '{"verdict": "A"}', "order": "ab"},
            {"item_id": "p1", "judge": "gpt-4o", "label": "b", "raw": "B", "order": "ba"},
            {"item_id": "p2", "judge": "gpt-4o", "label": None, "raw": "I cannot decide", "order": "ab"},
            {"item_id": "p2", "judge": "mini", "label": "tie", "reasoning": "same"},
        ],
    )
    js = pairs.add_verdicts(path)
    assert pairs.judges == {} and sorted(js.judges) == ["gpt-4o", "mini"]
    assert js.verdict_labels("gpt-4o", order="ab") == {"p1": "A", "p2": None}
    assert js.verdict_labels("gpt-4o", order="ba") == {"p1": "B"}
    assert js.judges["gpt-4o"][2].status == "invalid" and js.judges["gpt-4o"][2].raw == "I cannot decide"
    assert js.judges["mini"][0].reasoning == "same" and js.judges["mini"][0].order is None
    with pytest.raises(GoldError, match="already have verdicts"):
        js.add_verdicts(path)
    raw = load_verdicts(path)  # without a set: labels taken as written
    assert raw["gpt-4o"][1].label == "b"


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"item_id": "p9", "judge": "j", "label": "A"}, "item_id", "no item 'p9'"),
        ({"item_id": "p1", "judge": "j", "label": "C"}, "label", "not one of"),
        ({"item_id": "p1", "judge": "", "label": "A"}, "judge", "judge's name"),
        ({"item_id": "p1", "judge": "j", "label": "A", "order": "x"}, "order", "'ab', 'ba' or null"),
        ({"item_id": "p1", "judge": "j", "label": "A", "score": 1}, "score", "unknown key"),
        ({"item_id": "p1", "judge": "j", "label": "A", "status": "invalid"}, "status", "needs label null"),
        ({"item_id": "p1", "judge": "j", "label": "A", "raw": 3}, "raw", "must be text"),
        ({"judge": "j", "label": "A"}, "item_id", "required"),
    ],
)
def test_verdicts_file_errors(tmp_path: Path, pairs: JudgmentSet, record, field, message):
    path = _jsonl(tmp_path / "v.jsonl", [{"item_id": "p2", "judge": "j", "label": "tie"}, record])
    with pytest.raises(GoldError, match=message) as info:
        pairs.add_verdicts(path)
    assert info.value.field == field and info.value.location == f"{path}:2"


def test_verdicts_file_duplicates(tmp_path: Path, pairs: JudgmentSet):
    rec = {"item_id": "p1", "judge": "j", "label": "A", "order": "ab"}
    path = _jsonl(tmp_path / "v.jsonl", [rec, rec])
    with pytest.raises(GoldError, match="a second verdict of 'j' on 'p1'"):
        pairs.add_verdicts(path)


# --------------------------------------------------------------------------------------------
# Detection, registry, the shape itself, round trip through judgecal's gold loader


def test_every_format_is_detected(pandalm: Path, llmbar: Path, mtbench: tuple[Path, Path], tmp_path: Path):
    plain = _jsonl(tmp_path / "plain.jsonl", [{"id": "1", "output": "x", "human.a": "pass"}])
    verdicts = _jsonl(tmp_path / "verdicts.jsonl", [{"item_id": "1", "judge": "j", "label": "pass"}])
    assert detect_format(pandalm) == "pandalm" and detect_format(pandalm.parent) == "pandalm"
    assert detect_format(llmbar) == "llmbar" and detect_format(llmbar / "dataset.json") == "llmbar"
    assert detect_format(mtbench[0]) == "mtbench" and detect_format(mtbench[1]) == "mtbench"
    assert detect_format(plain) == "jsonl" and detect_format(tmp_path / "x.csv") == "csv"
    assert detect_format(verdicts) is None and detect_format(tmp_path) is None
    assert load_judgments(pandalm).format == "pandalm"
    assert load_judgments(llmbar).format == "llmbar"
    assert load_judgments(mtbench[0], also=[mtbench[1]]).judges
    assert load_judgments(plain).format == "jsonl"
    with pytest.raises(GoldError, match="looks like a verdicts file"):
        load_judgments(verdicts)
    with pytest.raises(
        GoldError,
        match=r"format= in Python\): one of csv, jsonl, llmbar, mtbench, pandalm",
    ):
        load_judgments(tmp_path)


def test_load_judgments_errors(pandalm: Path):
    assert sorted(IMPORTERS) == ["csv", "jsonl", "llmbar", "mtbench", "pandalm"]
    with pytest.raises(NotFoundError, match="formats: csv, jsonl, llmbar, mtbench, pandalm"):
        load_judgments(pandalm, format="alpacaeval")
    with pytest.raises(ConfigError, match="takes no option 'mapping' \\(options: judges, name\\)"):
        load_judgments(pandalm, mapping="id=x")
    assert load_judgments(pandalm, format="pandalm", name="p").name == "p"


def test_round_trip_through_gold_validation(pandalm: Path, tmp_path: Path):
    js = import_pandalm(pandalm)
    gold = js.to_gold_set()
    assert gold.name == "pandalm-testset-v1" and [it.id for it in gold.items] == ["0", "1", "2", "3"]
    written = js.write_gold(tmp_path / "pandalm.jsonl")
    loaded = load_gold(written, find_rubric("pairwise-preference"))
    assert loaded.file_hash == gold.file_hash
    assert loaded.splits == gold.splits and loaded.split_hash == gold.split_hash
    assert [it.model_dump() for it in loaded.items] == [it.model_dump() for it in gold.items]


def test_mtbench_and_llmbar_sets_pass_gold_validation(
    mtbench: tuple[Path, Path], llmbar: Path, tmp_path: Path
):
    rubric = find_rubric("pairwise-preference")
    for i, js in enumerate([import_mtbench(mtbench[0], also=[mtbench[1]]), import_llmbar(llmbar)]):
        loaded = load_gold(js.write_gold(tmp_path / f"{i}.jsonl"), rubric)
        assert len(loaded.items) == len(js.items)


def test_the_shape_is_strict():
    with pytest.raises(ValidationError, match="needs a label"):
        RecordedVerdict(item_id="1", status="ok")
    with pytest.raises(ValidationError, match="has no label"):
        RecordedVerdict(item_id="1", label="A", status="invalid")
    with pytest.raises(ValidationError, match="extra"):
        RecordedVerdict(item_id="1", label="A", confidence=0.9)  # type: ignore[call-arg]
    base: dict[str, Any] = {
        "name": "n",
        "source": "s",
        "format": "csv",
        "scale": "pairwise",
        "labels": ["A", "B"],
    }
    item = {"id": "1", "inputs": {"input": "q"}, "labels": {"ana": "A"}}
    with pytest.raises(ValidationError, match="duplicate item id"):
        JudgmentSet(**base, items=[item, item])
    with pytest.raises(ValidationError, match="is not in"):
        JudgmentSet(**base, items=[{**item, "labels": {"ana": "tie"}}])
    with pytest.raises(ValidationError, match="unknown item"):
        JudgmentSet(**base, items=[item], judges={"j": [RecordedVerdict(item_id="2", label="A")]})
    with pytest.raises(ValidationError, match="label 'C'"):
        JudgmentSet(**base, items=[item], judges={"j": [RecordedVerdict(item_id="1", label="C")]})


def test_lookups_list_the_valid_names(pandalm: Path):
    js = import_pandalm(pandalm)
    with pytest.raises(NotFoundError, match="judges: gpt-3.5-turbo, pandalm-7b"):
        js.verdict_labels("gpt-4")
    with pytest.raises(ValueError, match="not a label"):
        js.verdict_labels("pandalm-7b", invalid_as="C")
    with pytest.raises(NotFoundError, match="annotators: annotator1, annotator2, annotator3"):
        js.annotator_labels("annotator4")
    assert js.annotator_labels("annotator3") == {"0": "B", "1": "B", "2": "A", "3": "tie"}
