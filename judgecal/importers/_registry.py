"""The importers by format name, and telling a file's format from its name and first record."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judgecal.errors import ConfigError, GoldError, NotFoundError
from judgecal.importers._llmbar import import_llmbar
from judgecal.importers._model import JudgmentSet
from judgecal.importers._mtbench import import_mtbench
from judgecal.importers._pandalm import _ANNOTATOR_KEY, import_pandalm
from judgecal.importers._records import StrPath, _first_record
from judgecal.importers._table import import_csv, import_jsonl

IMPORTERS: dict[str, Callable[..., JudgmentSet]] = {
    "csv": import_csv,
    "jsonl": import_jsonl,
    "llmbar": import_llmbar,
    "mtbench": import_mtbench,
    "pandalm": import_pandalm,
}
"""Format name -> importer; :func:`load_judgments` looks formats up here."""


def detect_format(path: StrPath) -> str | None:
    """The format of a file or folder, from its name and first record; None when unclear."""
    p = Path(path)
    if p.is_dir():
        if (p / "dataset.json").is_file():
            return "llmbar"
        if (p / "testset-v1.json").is_file():
            return "pandalm"
        return None
    if p.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    first = _first_record(p) if p.is_file() else None
    if first is None:
        return None
    keys = set(first)
    if {"response1", "response2"} <= keys and any(_ANNOTATOR_KEY.match(k) for k in keys):
        return "pandalm"
    if {"output_1", "output_2", "label"} <= keys:
        return "llmbar"
    if {"question_id", "model_a", "model_b", "winner"} <= keys:
        return "mtbench"
    if {"item_id", "judge"} <= keys:
        return None  # a verdicts file: it adds to a set (JudgmentSet.add_verdicts)
    if p.suffix.lower() == ".jsonl":
        return "jsonl"
    return None


def load_judgments(path: StrPath, *, format: str | None = None, **options: Any) -> JudgmentSet:
    """Import ``path`` with the importer of ``format`` (detected when None); ``options`` go to it."""
    if not Path(path).exists():  # a file, or a folder for the formats that are one (LLMBar)
        raise NotFoundError(f"no such file or folder: {path}")
    if format is None:
        format = detect_format(path)
        if format is None:
            hint = ""
            first = _first_record(Path(path)) if Path(path).is_file() else None
            if first is not None and {"item_id", "judge"} <= set(first):
                hint = " It looks like a verdicts file: add it to a set with JudgmentSet.add_verdicts."
            raise GoldError(
                f"cannot tell the file's format from its name or first record; name it (--format on the "
                f"command line, format= in Python): one of {', '.join(sorted(IMPORTERS))}.{hint}",
                location=str(path),
            )
    importer = IMPORTERS.get(format)
    if importer is None:
        raise NotFoundError(f"no importer for format {format!r}; formats: {', '.join(sorted(IMPORTERS))}")
    accepted = [n for n, p in inspect.signature(importer).parameters.items() if p.kind is p.KEYWORD_ONLY]
    for option in options:
        if option not in accepted:
            raise ConfigError(
                f"format {format!r} takes no option {option!r} (options: {', '.join(accepted)})", field=option
            )
    return importer(path, **options)
