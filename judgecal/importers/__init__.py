"""Importers: human labels and recorded judge verdicts from other tools' files.

Every importer returns one in-memory shape, :class:`JudgmentSet`: judgecal gold items (inputs,
metadata, named annotators' labels) plus the verdicts judges already gave on them
(:class:`RecordedVerdict`, one per item and presentation order). ``to_gold_set()`` turns it into a
:class:`~judgecal.gold.GoldSet`; ``verdict_labels()`` gives one judge's labels by item.

Formats (``docs/importers.md`` shows each with an example):

=========  ==================================================================================
pandalm    PandaLM ``testset-v1.json`` + judge files ``<judge>-testset-v1.json`` beside it
llmbar     LLMBar ``dataset.json`` + ``evaluators/<judge>/<strategy>/result.json`` beside it
mtbench    ``lmsys/mt_bench_human_judgments`` records (JSON array or JSONL), humans and GPT-4
csv        one row per item; columns named by a mapping (``id=qid,human.ana=label_ana,...``)
jsonl      the same as ``csv``, one JSON object per line
=========  ==================================================================================

Recorded verdicts of another harness come in the verdicts JSONL format
(:func:`load_verdicts`, :meth:`JudgmentSet.add_verdicts`).

A malformed record raises :class:`~judgecal.errors.GoldError` naming the file, the line (and the
record's index in a JSON array) and the field. A judge answer that cannot be parsed is *not* an
error: it is a verdict with ``status="invalid"``, ``label=None`` and its raw text kept.

One module per source format (``_pandalm``, ``_llmbar``, ``_mtbench``, ``_table``: CSV and JSONL)
over the shared shape (``_model``) and record reading (``_records``); ``_registry`` maps format
names to importers and detects a file's format.
"""

from judgecal.importers._llmbar import import_llmbar, llmbar_statistics
from judgecal.importers._model import JudgmentSet, RecordedVerdict, load_verdicts
from judgecal.importers._mtbench import import_mtbench
from judgecal.importers._pandalm import import_pandalm, parse_pandalm_verdict
from judgecal.importers._records import EMPTY_TEXT
from judgecal.importers._registry import IMPORTERS, detect_format, load_judgments
from judgecal.importers._table import import_csv, import_jsonl, parse_mapping

__all__ = [
    "EMPTY_TEXT",
    "IMPORTERS",
    "JudgmentSet",
    "RecordedVerdict",
    "detect_format",
    "import_csv",
    "import_jsonl",
    "import_llmbar",
    "import_mtbench",
    "import_pandalm",
    "llmbar_statistics",
    "load_judgments",
    "load_verdicts",
    "parse_mapping",
    "parse_pandalm_verdict",
]
