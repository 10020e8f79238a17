"""Resample-consistency (P11, the stability gate's input) scenarios: noise, not bias.

"Unbiased" judges are judges that repeat themselves — ``item_stable`` profiles at temperature 0,
whose errors belong to the item (accuracy 0.75 / 0.85 / 0.92 / 1.0 alike): their modal agreement
is 1 and the probe must not fail them. The "effects" are per-sample error rates e of a judge
whose every sample is drawn afresh (right with probability 1 − e, independently per request
seed): its modal agreement over k = 5 samples is E[max(X, 5 − X)]/5 with X ~ Binomial(5, 1 − e)
(:func:`judgecal.probes.consistency.expected_binary_modal_agreement`) — 0.856, 0.747 and 0.667 at
e = 0.15 / 0.25 / 0.35, all below the tolerance 0.90, so their fail rate is the power.
"""

from __future__ import annotations

from bench._probe_bench import Scenario, bundled_gold
from judgecal.probes.consistency import expected_binary_modal_agreement
from judgecal.simulate import JudgeProfile


def _modal(profile: JudgeProfile) -> float:
    return 1.0 if profile.item_stable else expected_binary_modal_agreement(profile.accuracy, 5)


SCENARIOS: list[Scenario] = [
    Scenario(
        probe="resample_consistency",
        rubric="support-billing",
        gold=bundled_gold("support-billing"),
        unbiased=lambda a, seed: JudgeProfile(accuracy=a, item_stable=True, seed=seed),
        biased=lambda e, seed: JudgeProfile(accuracy=1 - e, seed=seed),
        effects=[0.15, 0.25, 0.35],
        true_effect=_modal,
        headline="modal agreement",
        label="resample_consistency / support-billing (bundled test split, 51 items, k = 5)",
    ),
]
