"""The whole loop from a clone, on the shipped generated gold sets: an accurate, unbiased simulated
judge is APPROVED by the default policy, and a simulated judge with one bias is REJECTED, with that
bias's probe among the reasons.

Each validation runs the test split and every gated probe through the bundled simulated judge
(``sim/<preset>``, over loopback HTTP through litellm, as ``judgecal validate`` does).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _validate(rubric: str, judge: str, gold: str, tmp_path: Path, **options):  # type: ignore[no-untyped-def]
    from judgecal.approval import validate
    from judgecal.store import Store

    store = Store(f"sqlite:///{tmp_path / 'loop.db'}")
    try:
        return validate(rubric, judge, gold=gold, store=store, **options)
    finally:
        store.close()


def _gate(result, gate: str, name: str | None = None):  # type: ignore[no-untyped-def]
    for g in result.decision.gates:
        if g.gate == gate and (name is None or g.name.endswith(name)):
            return g
    raise AssertionError(f"no gate {gate} {name or ''}: {[g.gate for g in result.decision.gates]}")


def test_an_accurate_unbiased_judge_is_approved_on_the_shipped_set(hermetic: Path, tmp_path: Path) -> None:
    result = _validate("support-billing", "sim/accurate", "support-synthetic", tmp_path)
    assert result.decision.tier == "approved", result.decision.reasons
    assert all(g.status in ("pass", "skipped") for g in result.decision.gates), result.decision.reasons


@pytest.mark.parametrize(
    ("rubric", "gold", "judge", "probe", "options"),
    [
        ("support-billing", "support-synthetic", "sim/gullible", "injection", {}),
        ("support-billing", "support-synthetic", "sim/verbose", "verbosity", {}),
        ("support-billing", "support-synthetic", "sim/self-preferring", "self_preference", {}),
        ("support-billing", "support-synthetic", "sim/constant-pass", "sensitivity", {}),
        ("pairwise-preference", "pairwise-synthetic", "sim/position-biased", "position", {}),
    ],
)
def test_a_biased_judge_is_rejected_for_its_bias(  # type: ignore[no-untyped-def]
    hermetic: Path, tmp_path: Path, rubric, gold, judge, probe, options
) -> None:
    result = _validate(rubric, judge, gold, tmp_path, **options)
    assert result.decision.tier == "rejected", result.decision.reasons
    g5 = _gate(result, "G5", probe)
    assert g5.status == "fail", (g5.reason, result.decision.reasons)
    assert any(f"bias probe: {probe}" in r for r in result.decision.reasons)
