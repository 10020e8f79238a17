"""The human ceiling: how well humans agree with each other, and whether the judge does as well.

Three views, all over gold labels shaped ``{item_id: {annotator: label}}`` (annotators may have
labelled different subsets; a ``None`` label means "not labelled") and, for the judge,
``{item_id: label | None}`` where ``None`` is an invalid verdict:

- :func:`human_agreement`: pairwise Cohen κ (quadratic-weighted for ordinal/interval scales) and
  Krippendorff α over all annotators (Krippendorff 2004, 2011). This is gate G0's input.
- :func:`leave_one_out`: each annotator against the majority of the *other* annotators, and the
  judge against the same majority on the same items (Zheng et al. 2023, NeurIPS Datasets &
  Benchmarks, arXiv 2306.05685, §4 / App. D.3; Dubois et al.'s AlpacaEval annotator
  meta-evaluation, ``tatsu-lab/alpaca_eval``), with the paired difference judge − human.
- :func:`alt_test`: Calderon, Reichart & Dror's alternative annotator test (ACL 2025, arXiv
  2501.10970), the statistical replacement criterion of gate G2b.

One module per view (``_human``, ``_loo``, ``_alt_test``) over the shared input handling
(``_base``); every name is importable from here.
"""

from __future__ import annotations

from judgecal.calibrate.ceiling._alt_test import (
    EPSILON_BY_ANNOTATOR_TYPE,
    AltTestAnnotator,
    AltTestResult,
    alt_test,
    benjamini_yekutieli,
)
from judgecal.calibrate.ceiling._human import HumanCeiling, PairAgreement, human_agreement
from judgecal.calibrate.ceiling._loo import LeaveOneOut, LooAnnotator, leave_one_out

__all__ = [
    "EPSILON_BY_ANNOTATOR_TYPE",
    "AltTestAnnotator",
    "AltTestResult",
    "HumanCeiling",
    "LeaveOneOut",
    "LooAnnotator",
    "PairAgreement",
    "alt_test",
    "benjamini_yekutieli",
    "human_agreement",
    "leave_one_out",
]
