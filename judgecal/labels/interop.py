"""Label Studio and Argilla: hand items to a labelling tool, read its export back as gold items.

Four pure functions, no I/O on the way out and no partial results on the way in: an export that
is wrong anywhere raises :class:`~judgecal.errors.GoldError` naming the file, the record (its
index and task or record id) and the field, before anything is returned.

The questions are the same in both tools: ``label`` (one of the rubric's labels), ``failure_modes``
(any of the rubric's failure-mode ids, when it has some) and ``note`` (free text). On the way back
every annotator's label goes to ``GoldItem.labels``, their failure modes to
``metadata["human_failure_modes"][annotator]`` and their note to ``metadata["notes"][annotator]``.
An item without any counted label (no annotation yet, only skipped ones) is left out; an export
without any label at all is an error (it would make an empty gold set).

Formats followed (read from the tools' documentation and source, not guessed):

- Label Studio: the JSON export and task format, https://labelstud.io/guide/export.html and
  https://labelstud.io/guide/task_format.html (``completed_by`` is a user id, an object with
  ``email`` in expanded exports; ``was_cancelled`` marks a skipped annotation); the JSON-MIN rows
  as label-studio-sdk 2.1's converter writes them (one row per non-cancelled annotation: the task
  data, ``id``, one key per control tag, ``annotator``), ``label_studio_sdk/converter/converter.py``
  in https://github.com/HumanSignal/label-studio-sdk; tags ``Choices``/``Choice`` (``alias``
  replaces the shown value in results) and ``TextArea``, https://labelstud.io/tags/choice.html and
  https://labelstud.io/tags/textarea.html.
- Argilla v2 (argilla 2.8 SDK): https://docs.argilla.io/latest/how_to_guides/import_export/ and
  the SDK source in https://github.com/argilla-io/argilla (``argilla/src/argilla/records/
  _resource.py`` ``Record.to_dict``, ``records/_io/_generic.py`` for the flattened keys
  ``<question>.responses``, ``.responses.users``, ``.responses.status``; ``settings/_resource.py``
  ``Settings.serialize``/``from_json``). The nested form of 2.8 carries no response status, so
  every response with a value counts there; the flattened form keeps only ``submitted`` ones.
- Argilla v1 ``FeedbackDataset`` rows: fields as columns, one column per question holding
  ``[{"user_id", "value", "status"}]``, ``external_id`` and ``metadata`` (a JSON string), as
  argilla 1.x ``client/feedback/integrations/huggingface/dataset.py`` writes them
  (https://docs.argilla.io/en/v1.16.0/practical_guides/export_dataset.html).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from pydantic import BaseModel

from judgecal.errors import GoldError
from judgecal.gold import GoldItem
from judgecal.rubric import Rubric

__all__ = ["from_argilla", "from_label_studio", "to_argilla", "to_label_studio"]

Label = str | int
Items = Sequence[Mapping[str, Any] | GoldItem]
QUESTIONS = ("label", "failure_modes", "note")
"""The question (control tag) names both tools use, in order."""
_TITLES = {"input": "Input", "output": "Output", "reference": "Reference"}
_TITLES |= {"output_a": "Output A", "output_b": "Output B"}
_RESERVED = {"id", "status", "_server_id", "vectors", "fields", "metadata", "responses", "suggestions"}
"""Argilla record keys: no metadata key may take one (the flattened export mixes them)."""
_HUMAN = ("human_failure_modes", "notes")
"""The metadata keys that hold annotators' answers: never sent to a tool, filled on the way back."""
_RATING_MAX = 10  # Argilla's RatingQuestion takes values 0..10
_FLAT = (("value", ""), ("user_id", ".users"), ("status", ".status"))
"""Argilla's flattened export: ``<question>.responses`` + these suffixes, three lists in step."""


def _err(where: str, field: str | None, message: str) -> GoldError:
    return GoldError(message, location=where, field=field)


# --------------------------------------------------------------------------------------------
# The rubric as questions, and the items to label


def _label_choices(rubric: Rubric) -> list[tuple[Label, str]]:
    """(label, text shown) for every label of the scale; an ordinal level shows its anchor."""
    levels = rubric.scale.levels or {}
    return [(x, f"{x}: {levels[int(x)]}" if levels else str(x)) for x in rubric.scale.labels]


def _mode_choices(rubric: Rubric) -> list[tuple[str, str]]:
    return [(m.id, f"{m.id}: {m.description}") for m in rubric.failure_modes]


def _guidelines(rubric: Rubric) -> str:
    """The rubric as Markdown, for Argilla's guidelines."""
    out = [f"# {rubric.name} (version {rubric.version})", "", rubric.description.strip(), "", "## Criteria"]
    out += ["", *(f"- **{c.id}**: {c.description}" for c in rubric.criteria)]
    if rubric.pass_rule:
        out += ["", "## Pass rule", "", rubric.pass_rule.strip()]
    out += ["", "## Labels", "", *(f"- {text}" for _, text in _label_choices(rubric))]
    if rubric.failure_modes:
        out += ["", "## Failure modes", "", *(f"- {text}" for _, text in _mode_choices(rubric))]
    return "\n".join(out) + "\n"


def _inputs(rubric: Rubric, source: Mapping[str, Any], where: str, prefix: str) -> dict[str, str]:
    """The rubric's inputs from ``source``, each a non-empty text."""
    texts: dict[str, str] = {}
    for name in rubric.inputs:
        text, field = source.get(name), f"{prefix}{name}"
        if text is None:
            raise _err(where, field, f"missing input {name!r}, which rubric {rubric.name!r} needs")
        if not isinstance(text, str) or not text.strip():
            raise _err(where, field, "an input must be a non-empty text")
        texts[name] = text
    return texts


def _checked_items(rubric: Rubric, items: Items) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(id, inputs, metadata) of every item, checked against the rubric (``items[i]`` in errors)."""
    out: list[tuple[str, dict[str, str], dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        where = f"items[{i}]"
        item = raw.model_dump(mode="json") if isinstance(raw, BaseModel) else raw
        if not isinstance(item, Mapping):
            raise _err(where, None, f"an item must be a mapping, not {type(item).__name__}")
        item_id, inputs, metadata = item.get("id"), item.get("inputs"), item.get("metadata") or {}
        if not isinstance(item_id, str) or not item_id:
            raise _err(where, "id", "an item needs a non-empty text id")
        if item_id in seen:
            raise _err(where, "id", f"duplicate id {item_id!r} (first at items[{seen[item_id]}])")
        seen[item_id] = i
        if not isinstance(inputs, Mapping):
            raise _err(where, "inputs", "an item needs 'inputs', a mapping of input names to texts")
        if not isinstance(metadata, Mapping):
            raise _err(where, "metadata", "metadata must be a mapping")
        for name in inputs:
            if name not in rubric.inputs:
                uses = f"input {name!r} is not one rubric {rubric.name!r} uses"
                raise _err(where, f"inputs.{name}", f"{uses} ({', '.join(rubric.inputs)})")
        shown = {k: v for k, v in metadata.items() if k not in _HUMAN}  # blind: no earlier answers
        out.append((item_id, _inputs(rubric, inputs, where, "inputs."), shown))
    return out


# --------------------------------------------------------------------------------------------
# Reading an export back


class _Choices:
    """A shown text or stored value -> the rubric's label, or failure-mode id."""

    def __init__(self, rubric: Rubric):
        self.rubric = rubric
        self.labels: dict[str, Label] = {}
        for label, text in _label_choices(rubric):
            self.labels[text] = self.labels[str(label)] = label
        self.modes = {key: mode for mode, text in _mode_choices(rubric) for key in (mode, text)}

    def label(self, value: object, where: str, field: str) -> Label:
        found = self.labels.get(value) if isinstance(value, str) else None
        found = self.rubric.scale.normalise(value) if found is None else found
        if found is None:
            scale = self.rubric.scale
            raise _err(where, field, f"label {value!r} is not on the {scale.kind} scale {scale.labels}")
        return found

    def failure_modes(self, values: object, where: str, field: str) -> list[str] | None:
        """The ids (None when the rubric has no failure modes: nothing was asked)."""
        if not self.rubric.failure_modes:
            return None
        out = []
        for value in values if isinstance(values, list) else [] if values is None else [values]:
            if not isinstance(value, str) or value not in self.modes:
                known = ", ".join(self.rubric.failure_mode_ids)
                raise _err(where, field, f"unknown failure mode {value!r} (known: {known})")
            out.append(self.modes[value])
        return out


class _Builder:
    """One item's annotations; a second annotation by the same annotator is an error."""

    def __init__(self, item_id: str, inputs: dict[str, str], metadata: dict[str, Any], where: str):
        self.item_id, self.inputs, self.metadata, self.where = item_id, inputs, metadata, where
        self.labels: dict[str, Label] = {}
        self.modes: dict[str, list[str]] = {}
        self.notes: dict[str, str] = {}

    def add(self, annotator: str, label: Label, modes: list[str] | None, note: object, where: str) -> None:
        if annotator in self.labels:
            raise _err(where, None, f"annotator {annotator!r} labelled item {self.item_id!r} twice")
        self.labels[annotator] = label
        if modes is not None:
            self.modes[annotator] = modes
        if isinstance(note, str) and note.strip():
            self.notes[annotator] = note.strip()

    def item(self) -> GoldItem:
        meta = dict(self.metadata)
        for key, values in (("human_failure_modes", self.modes), ("notes", self.notes)):
            if values:
                before = meta.get(key)
                meta[key] = {**(before if isinstance(before, dict) else {}), **values}
        return GoldItem(id=self.item_id, inputs=self.inputs, metadata=meta, labels=self.labels)


def _finish(builders: Sequence[_Builder], path: Path) -> list[GoldItem]:
    """The items that got a label. Two records with one item id, or an export without any label
    (it would make an empty gold set), are errors."""
    seen: dict[str, str] = {}
    for b in builders:
        if b.item_id in seen:
            raise _err(b.where, "id", f"duplicate item id {b.item_id!r} (first at {seen[b.item_id]})")
        seen[b.item_id] = b.where
    out = [b.item() for b in builders if b.labels]
    if not out:
        raise _err(str(path), None, f"none of the {len(builders)} records has a label yet")
    return out


def _records(path: Path, what: str, *, jsonl: bool = False) -> list[dict[str, Any]]:
    """The records of a JSON array (or, with ``jsonl``, of JSON Lines), each a JSON object."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise _err(str(path), None, f"cannot read file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise _err(str(path), None, f"not UTF-8 text (byte {exc.start})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise _err(str(path), None, "the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if not jsonl or not lines[0][1].lstrip().startswith("{"):
            why = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
            raise _err(str(path), None, f"not valid JSON: {why}") from None
        data = []
        for n, line in lines:  # JSON Lines: one record per line
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise _err(f"{path}:{n}", None, f"not JSON Lines: {err.msg} (column {err.colno})") from None
    if jsonl and isinstance(data, dict) and len(lines) == 1:
        data = [data]
    if not isinstance(data, list):
        raise _err(str(path), None, f"expected a JSON array of {what}, not a JSON {type(data).__name__}")
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            kind = type(rec).__name__
            raise _err(f"{path}: record {i}", None, f"each of the {what} must be a JSON object, not {kind}")
    return data


# --------------------------------------------------------------------------------------------
# Label Studio


def to_label_studio(rubric: Rubric, items: Items) -> tuple[list[dict[str, Any]], str]:
    """Tasks to import into Label Studio and the labeling config XML of the project.

    Each task is ``{"data": {<input>: text, ..., "judgecal_id": id, "judgecal_metadata": {...}}}``.
    The config shows the rubric's criteria and every input in a ``Text`` tag, and asks ``label``
    (``Choices``, one, required; an ordinal level shows its anchor and stores its number through
    ``alias``), ``failure_modes`` (``Choices choice="multiple"``, when the rubric has failure modes;
    stores the id) and ``note`` (``TextArea``). Items are mappings with ``id``, ``inputs`` and
    ``metadata``, or GoldItems; labels and the metadata of earlier answers (``human_failure_modes``,
    ``notes``) stay behind: labelling is blind.
    """
    checked = _checked_items(rubric, items)
    tasks = [{"data": {**texts, "judgecal_id": i, "judgecal_metadata": meta}} for i, texts, meta in checked]
    return tasks, _label_studio_config(rubric)


def _label_studio_config(rubric: Rubric) -> str:
    target, q = ("output" if "output" in rubric.inputs else "output_a"), quoteattr
    out = ["<View>", f'  <Header value={q(f"{rubric.name} (version {rubric.version})")} size="3"/>']
    out += [f'  <Header value={q(f"{c.id}: {c.description}")} size="6"/>' for c in rubric.criteria]
    if rubric.pass_rule:
        out.append(f'  <Header value={q("Pass rule: " + rubric.pass_rule.strip())} size="6"/>')
    for name in rubric.inputs:
        out += [f'  <Header value={q(_TITLES[name])} size="4"/>', f'  <Text name="{name}" value="${name}"/>']
    ask = "Which output is better?" if rubric.scale.kind == "pairwise" else "Label"
    out += [
        f'  <Header value="{ask}" size="4"/>',
        f'  <Choices name="label" toName="{target}" choice="single-radio" required="true">',
    ]
    for label, text in _label_choices(rubric):
        alias = f" alias={q(str(label))}" if text != str(label) else ""
        out.append(f"    <Choice value={q(text)}{alias}/>")
    out.append("  </Choices>")
    if rubric.failure_modes:
        either = " (in either output)" if rubric.scale.kind == "pairwise" else ""
        out += [
            f'  <Header value="Failure modes seen{either}" size="4"/>',
            f'  <Choices name="failure_modes" toName="{target}" choice="multiple">',
        ]
        out += [f"    <Choice value={q(text)} alias={q(mode)}/>" for mode, text in _mode_choices(rubric)]
        out.append("  </Choices>")
    out += [
        '  <Header value="Note (optional)" size="4"/>',
        f'  <TextArea name="note" toName="{target}" rows="2" maxSubmissions="1" editable="true"/>',
    ]
    return "\n".join([*out, "</View>"]) + "\n"


def from_label_studio(path: str | os.PathLike[str], rubric: Rubric) -> list[GoldItem]:
    """Gold items from a Label Studio JSON export (or JSON-MIN export) of a project made with
    :func:`to_label_studio`'s config.

    One item per task with at least one non-cancelled annotation; a non-cancelled annotation
    without a ``label`` choice is an error, and so is an export where no task has a label. The
    annotator is ``completed_by``'s email when the export expands it (JSON-MIN: ``annotator``),
    else ``ls-user-<id>``. The item id is ``data.judgecal_id``, else ``ls-<task id>``;
    ``data.judgecal_metadata`` becomes the metadata.
    """
    path = Path(path)
    rows, choices = _records(path, "tasks"), _Choices(rubric)
    if rows and "data" not in rows[0] and "annotator" in rows[0]:
        return _from_json_min(path, rows, rubric, choices)
    builders = []
    for i, task in enumerate(rows):
        where = f"{path}: record {i} (task {task.get('id')})"
        builder = _ls_builder(task, task.get("data"), rubric, where, "data.")
        annotations = task.get("annotations", task.get("completions"))
        if not isinstance(annotations, list):
            raise _err(where, "annotations", "a task of the JSON export needs 'annotations', a list")
        for j, ann in enumerate(annotations):
            field = f"annotations[{j}]"
            if not isinstance(ann, dict):
                raise _err(where, field, "an annotation must be a JSON object")
            if ann.get("was_cancelled") or ann.get("skipped"):
                continue
            results: dict[str, list[Any]] = {}
            for r in ann.get("result") or []:
                if isinstance(r, dict) and isinstance(r.get("value"), dict):
                    given = r["value"].get("choices", r["value"].get("text", []))
                    results.setdefault(str(r.get("from_name")), []).extend(
                        given if isinstance(given, list) else [given]
                    )
            who = (ann.get("completed_by"), f"{field}.completed_by")
            _annotate(builder, choices, results, who, where, f"{field}.result.")
        builders.append(builder)
    return _finish(builders, path)


def _annotate(
    b: _Builder,
    choices: _Choices,
    results: dict[str, list[Any]],
    who: tuple[object, str],
    where: str,
    at: str,
) -> None:
    """Add one Label Studio annotation: ``results`` maps a control tag to its choices or texts,
    ``who`` is the annotator's value and its field, ``at`` prefixes the fields of results."""
    given = results.get("label")
    if not given or len(given) != 1:
        many = f"{len(given)} choices for 'label' (it takes one)" if given else "no choice for 'label'"
        raise _err(where, at.rstrip(".") or "label", f"{many} in this annotation")
    label = choices.label(given[0], where, f"{at}label")
    modes = choices.failure_modes(results.get("failure_modes"), where, f"{at}failure_modes")
    b.add(
        _ls_annotator(*who, where), label, modes, "\n".join(str(t) for t in results.get("note") or []), where
    )


def _ls_builder(task: dict[str, Any], data: object, rubric: Rubric, where: str, prefix: str) -> _Builder:
    if not isinstance(data, dict):
        raise _err(where, "data", "a task needs 'data', a JSON object")
    item_id = data.get("judgecal_id")
    if item_id is None:
        if task.get("id") is None:
            raise _err(where, "id", "the task has neither data.judgecal_id nor an id")
        item_id = f"ls-{task['id']}"
    if not isinstance(item_id, str) or not item_id:
        raise _err(where, f"{prefix}judgecal_id", "judgecal_id must be a non-empty text")
    metadata = data.get("judgecal_metadata") or {}
    if not isinstance(metadata, dict):
        raise _err(where, f"{prefix}judgecal_metadata", "judgecal_metadata must be a JSON object")
    return _Builder(item_id, _inputs(rubric, data, where, prefix), metadata, where)


def _ls_annotator(value: object, field: str, where: str) -> str:
    if isinstance(value, dict):  # an expanded user: {"id", "email", "first_name", "last_name"}
        if value.get("email"):
            return str(value["email"])
        value = value.get("id")
    if isinstance(value, bool) or value is None or value == "":
        raise _err(where, field, "the annotation does not say who made it")
    return f"ls-user-{value}" if isinstance(value, int) or str(value).isdigit() else str(value)


def _from_json_min(
    path: Path, rows: list[dict[str, Any]], rubric: Rubric, choices: _Choices
) -> list[GoldItem]:
    """JSON-MIN: one row per annotation (a task without any: one row without ``label``). A
    Choices value is its choice, or ``{"choices": [...]}`` when several were picked; a TextArea
    value its text, or ``{"text": [...]}``."""
    builders: dict[str, _Builder] = {}
    tasks: dict[str, object] = {}
    for i, row in enumerate(rows):
        where = f"{path}: record {i} (task {row.get('id')})"
        built = _ls_builder(row, row, rubric, where, "")
        if tasks.setdefault(built.item_id, row.get("id")) != row.get("id"):
            raise _err(
                where, "id", f"duplicate item id {built.item_id!r} (first at {builders[built.item_id].where})"
            )
        builder = builders.setdefault(built.item_id, built)
        if row.get("annotator") is None and "label" not in row:
            continue
        results = {q: _unwrap(row.get(q), "text" if q == "note" else "choices") for q in QUESTIONS}
        _annotate(builder, choices, results, (row.get("annotator"), "annotator"), where, "")
    return _finish(list(builders.values()), path)


def _unwrap(value: object, key: str) -> list[Any]:
    if isinstance(value, dict):
        value = value.get(key)
    return [] if value is None else list(value) if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------
# Argilla


def to_argilla(rubric: Rubric, items: Items) -> dict[str, Any]:
    """Argilla v2 dataset settings and records for the items: ``{"settings", "records"}``.

    ``settings`` is in the form ``rg.Settings.serialize()`` writes and ``rg.Settings.from_json``
    reads: a ``TextField`` per input; questions ``label`` (a ``LabelQuestion``; for an ordinal
    scale of up to 10 levels a ``RatingQuestion``), ``failure_modes`` (``MultiLabelQuestion``,
    when the rubric has failure modes) and ``note`` (``TextQuestion``); the rubric as guidelines.
    ``records`` are in ``rg.Record.to_dict()`` form, which ``rg.Record.from_dict`` reads: the
    item id as record id, the inputs as fields, the item's metadata as record metadata.
    """
    records: list[dict[str, Any]] = []
    for i, (item_id, texts, metadata) in enumerate(_checked_items(rubric, items)):
        clash = sorted(set(metadata) & (set(rubric.inputs) | _RESERVED | set(QUESTIONS)))
        if clash:
            raise _err(f"items[{i}]", f"metadata.{clash[0]}", "the key clashes with an Argilla field or key")
        record = {"id": item_id, "fields": texts, "metadata": metadata, "suggestions": {}, "responses": {}}
        records.append(record | {"vectors": {}, "status": "pending", "_server_id": None})
    return {"settings": _argilla_settings(rubric), "records": records}


def _question(
    name: str, title: str, settings: dict[str, Any], required: bool, about: str | None
) -> dict[str, Any]:
    """A question in ``QuestionBase.serialize()`` form (server-assigned ids left out)."""
    return {"name": name, "title": title, "description": about, "required": required} | {
        "settings": settings,
        "type": settings["type"],
    }


def _argilla_settings(rubric: Rubric) -> dict[str, Any]:
    scale, text = rubric.scale, {"type": "text", "use_markdown": False}
    fields = [
        {
            "name": n,
            "title": _TITLES[n],
            "required": True,
            "description": None,
            "settings": dict(text),
            "type": "text",
        }
        for n in rubric.inputs
    ]
    if scale.kind == "ordinal" and len(scale.labels) <= _RATING_MAX:
        label: dict[str, Any] = {"type": "rating", "options": [{"value": n} for n in scale.labels]}
    else:
        options = [{"value": str(v), "text": str(v)} for v in scale.labels]
        label = {"type": "label_selection", "options": options}
    ask = "Which output is better?" if scale.kind == "pairwise" else "Label"
    listing = "\n".join(f"- {shown}" for _, shown in _label_choices(rubric))
    questions = [_question("label", ask, label, True, listing)]
    if rubric.failure_modes:
        options = [{"value": m.id, "text": m.id} for m in rubric.failure_modes]
        modes = {"type": "multi_label_selection", "options": options, "options_order": "natural"}
        listing = "\n".join(f"- {shown}" for _, shown in _mode_choices(rubric))
        questions.append(_question("failure_modes", "Failure modes seen", modes, False, listing))
    questions.append(_question("note", "Note (optional)", dict(text), False, None))
    settings = {"guidelines": _guidelines(rubric), "questions": questions, "fields": fields, "vectors": []}
    distribution = {"strategy": "overlap", "min_submitted": 1}
    return settings | {
        "metadata": [],
        "allow_extra_metadata": True,
        "distribution": distribution,
        "mapping": None,
    }


Answer = tuple[str, str, Any, Any]
"""(question, user, value, status: None when the export does not record it)."""


def from_argilla(
    path: str | os.PathLike[str], rubric: Rubric, *, users: Mapping[str, str] | None = None
) -> list[GoldItem]:
    """Gold items from Argilla records: a JSON array (``records.to_json``, ``records.to_list``) or
    JSON Lines (``records.to_datasets().to_json``), in the v2 nested or flattened form or as
    Argilla v1 ``FeedbackDataset`` rows, of a dataset made with :func:`to_argilla`'s settings.

    Only submitted responses count; a response whose status the export does not record (v2's
    nested form) counts when it has a value. The annotator is the response's ``username`` where
    present, else ``users[user_id]``, else the user id. The item id is the record id (v1:
    ``external_id``), else ``argilla-<server id>``. Records without a counted label are left out;
    an export without any is an error.
    """
    path = Path(path)
    builders, choices = [], _Choices(rubric)
    for i, rec in enumerate(_records(path, "records", jsonl=True)):
        where, nested = f"{path}: record {i}", isinstance(rec.get("fields"), dict)
        flat = not nested and ("_server_id" in rec or any(key.endswith(".responses") for key in rec))
        if nested or flat:  # v2: Record.to_dict(), or flattened by to_list(flatten=True)
            item_id = rec.get("id") or (rec.get("_server_id") and f"argilla-{rec['_server_id']}")
        elif "external_id" in rec:  # a v1 FeedbackDataset row
            item_id = rec["external_id"] or f"argilla-v1-{i}"
        else:
            forms = "'fields' (v2 nested), '<question>.responses' (v2 flattened) or 'external_id' (v1)"
            raise _err(where, None, f"not an Argilla record: it has none of {forms}")
        if not isinstance(item_id, str) or not item_id:
            raise _err(where, "id", "the record needs a text id")
        where = f"{where} (id {item_id!r})"
        if nested:
            fields, prefix, metadata = rec["fields"], "fields.", rec.get("metadata") or {}
            responses = rec.get("responses")
            if not isinstance(responses, dict | None):
                raise _err(where, "responses", "responses must map question names to lists of responses")
            answers = _listed([(q, f"responses.{q}", (responses or {}).get(q)) for q in QUESTIONS], where)
        elif flat:
            columns = [
                (q, f"{q}.responses", {k: rec.get(f"{q}.responses{x}") for k, x in _FLAT}) for q in QUESTIONS
            ]
            fields, prefix, answers = rec, "", _listed(columns, where)
            skip = set(rubric.inputs) | _RESERVED | {"score"}
            kept = [k for k in rec if k not in skip and k.split(".")[0] not in QUESTIONS]
            metadata = {k: rec[k] for k in kept if rec[k] is not None}  # to_list() pads with None
        else:
            fields, prefix, answers = rec, "", _listed([(q, q, rec.get(q)) for q in QUESTIONS], where)
            metadata = rec.get("metadata") or {}  # a JSON string; {} when the record had none
            try:
                metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
            except json.JSONDecodeError:
                raise _err(where, "metadata", "metadata is not valid JSON") from None
        if not isinstance(metadata, dict):
            raise _err(where, "metadata", "metadata must be a JSON object")
        builder = _Builder(item_id, _inputs(rubric, fields, where, prefix), metadata, where)
        given: dict[str, dict[str, Any]] = {}
        for question, user, value, status in answers:
            if status in (None, "submitted") and value is not None:
                given.setdefault(user, {})[question] = value
        for user, answer in given.items():
            field, modes_field = f"responses.label (user {user})", f"responses.failure_modes (user {user})"
            if "label" not in answer:
                raise _err(where, field, "a submitted response without a label")
            label = choices.label(answer["label"], where, field)
            modes = choices.failure_modes(answer.get("failure_modes"), where, modes_field)
            builder.add(str((users or {}).get(user, user)), label, modes, answer.get("note"), where)
        builders.append(builder)
    return _finish(builders, path)


def _listed(given_by: Sequence[tuple[str, str, Any]], where: str) -> list[Answer]:
    """Responses from (question, field, given) where ``given`` is a list of ``{"user_id",
    "value"[, "status"]}`` (v2 nested, v1) or a dict of three lists in step, ``user_id``,
    ``value`` and ``status`` (v2 flattened, and v1's older column form)."""
    out: list[Answer] = []
    for question, field, given in given_by:
        if isinstance(given, dict):
            ids, values = given.get("user_id") or [], given.get("value") or []
            statuses = given.get("status") or [None] * len(values)
            if not all(isinstance(x, list) for x in (ids, values, statuses)):
                raise _err(where, field, "responses, users and statuses must be lists")
            if not len(values) == len(ids) == len(statuses):
                counts = f"{len(values)} responses, {len(ids)} users and {len(statuses)} statuses"
                raise _err(where, field, f"{counts}: the three lists must be in step")
            given = [
                {"user_id": u, "value": v, "status": s} for u, v, s in zip(ids, values, statuses, strict=True)
            ]
        if not isinstance(given, list | None):
            raise _err(where, field, "must be a list of responses")
        for j, r in enumerate(given or []):
            if not isinstance(r, dict):
                raise _err(where, f"{field}[{j}]", "a response must be a JSON object")
            user = r.get("username") or r.get("user_id")
            if user is None or user == "":
                raise _err(where, f"{field}[{j}]", "a response without a user_id")
            out.append((question, str(user), r.get("value"), r.get("status")))
    return out
