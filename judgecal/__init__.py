"""judgecal: measure whether an LLM judge can be trusted.

The public API is listed in ``__all__``; names load on first use so that ``import judgecal``
(and ``judgecal --help``) stay fast. litellm is imported only when a judge is first called.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # errors
    "JudgecalError": "judgecal.errors",
    "InputError": "judgecal.errors",
    "RubricError": "judgecal.errors",
    "GoldError": "judgecal.errors",
    "ConfigError": "judgecal.errors",
    "NotFoundError": "judgecal.errors",
    "ProviderError": "judgecal.errors",
    "StoreError": "judgecal.errors",
    # rubrics and prompts
    "Rubric": "judgecal.rubric",
    "load_rubric": "judgecal.rubric",
    "find_rubric": "judgecal.rubric",
    "list_rubrics": "judgecal.rubric",
    "render_messages": "judgecal.prompt",
    # gold sets
    "GoldItem": "judgecal.gold",
    "GoldSet": "judgecal.gold",
    "load_gold": "judgecal.gold",
    "find_gold": "judgecal.gold",
    # verdicts and judging
    "Verdict": "judgecal.verdict",
    "parse_answer": "judgecal.verdict",
    "answer_schema": "judgecal.verdict",
    "JudgeConfig": "judgecal.judge",
    "Sampling": "judgecal.judge",
    "Limits": "judgecal.judge",
    "RunResult": "judgecal.judge",
    "ItemVerdict": "judgecal.judge",
    "grade": "judgecal.judge",
    "agrade": "judgecal.judge",
    # calibration
    "CalibrationReport": "judgecal.calibrate.report",
    "build_report": "judgecal.calibrate.report",
    "input_from_run": "judgecal.calibrate.inputs",
    "input_from_verdicts": "judgecal.calibrate.inputs",
    "input_from_judgments": "judgecal.calibrate.inputs",
    "Estimate": "judgecal.calibrate.intervals",
    # importers of human-judgment data
    "JudgmentSet": "judgecal.importers",
    "load_judgments": "judgecal.importers",
    "load_verdicts": "judgecal.importers",
    # the approval gate and approved judges as graders
    "Policy": "judgecal.approval",
    "load_policy": "judgecal.approval",
    "Decision": "judgecal.approval",
    "Certificate": "judgecal.approval",
    "ValidationResult": "judgecal.approval",
    "validate": "judgecal.approval",
    "avalidate": "judgecal.approval",
    "Grader": "judgecal.approval",
    "GraderVerdict": "judgecal.approval",
    "load_grader": "judgecal.approval",
    "NotApprovedError": "judgecal.errors",
    # storage
    "Store": "judgecal.store",
    # the simulated judge
    "SimulatedJudge": "judgecal.simulate",
    "SimConfig": "judgecal.simulate",
    "SimItem": "judgecal.simulate",
    "JudgeProfile": "judgecal.simulate",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'judgecal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
