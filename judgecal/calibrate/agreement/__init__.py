"""Agreement between an LLM judge's verdicts and human gold labels: pure functions over label arrays.

In the style of ``sklearn.metrics``: data positional, options keyword-only, no I/O, one formula per
statistic. The chance-corrected coefficients are written once, over confusion matrices of shape
``(..., k, k)`` (``kappa_from_confusion``, ``pi_from_confusion``, ``ac1_from_confusion``,
``agreement_from_confusion``, ``tpr_from_confusion``, ``tnr_from_confusion``); the functions over
label arrays build the confusion matrix and call them, and the bootstrap in
``judgecal.calibrate.intervals`` calls them on a stack of resampled matrices.

Labels
------
A label is any hashable value: ``"pass"``/``"fail"``, the integers of a 1-5 scale,
``"A"``/``"B"``/``"tie"``. ``labels=`` fixes the set *and order* of the categories; without it the
categories are the sorted union of the values observed. The order matters only where a statistic
uses it: weighted κ (the category's index position in ``labels`` is its place on the scale),
ordinal α, and the row/column order of a confusion matrix. Rows of a confusion matrix are the first
argument (``a``, ``y_true``), columns the second; TPR/TNR read rows as the gold labels.

Degenerate cases: an undefined statistic is ``nan``, never an exception
-----------------------------------------------------------------------
- **No items** (n = 0): every statistic is ``nan`` (the confusion matrix is all zeros, ``n`` is 0).
- **Chance agreement p_e = 1** (κ, weighted κ, π): both raters used one and the same single
  category, so (p_o - p_e)/(1 - p_e) is 0/0: ``nan``. AC1 is ``nan`` with fewer than 2 categories.
- **Krippendorff's α**: ``nan`` when no unit has two or more values (e.g. a single rater), or when
  the pairable values hold one distinct value only (expected disagreement D_e = 0).
- **Correlations** (Spearman, Kendall τ-b, Pearson): ``nan`` with fewer than 2 items or when either
  array is constant (zero variance). No scipy warning leaks.
- **Per-class rates**: recall of a class absent from ``y_true`` is ``nan``; TPR with no gold positive
  and TNR with no gold negative are ``nan`` (so is Youden's J then). The one exception, kept for
  compatibility with ``sklearn`` (``zero_division=0``) and with published tables (PandaLM): the
  *precision* of a class that was never predicted is 0, not ``nan``. A macro average is ``nan`` as
  soon as one of its classes is ``nan`` (``macro_labels=`` leaves out a judge-only category such
  as ``"invalid"``).

Malformed input raises ``ValueError`` with a message saying what and where
--------------------------------------------------------------------------
Arrays of different lengths; a value not in ``labels``; duplicate labels; a missing value
(``None``/``NaN``) in two-rater data, where every item needs a label (map an unparseable verdict to a
label of its own, e.g. ``"invalid"``, or drop the item, before calling); labels of mixed types that
cannot be sorted without ``labels=``; an unknown option (``weights``, ``level``, ``setup``);
non-numeric or non-finite values for a numeric statistic; ragged reliability data.

References: Cohen (1960, 1968); Scott (1955); Gwet (2008), *BJMSP* 61:29-48; Krippendorff (2011),
"Computing Krippendorff's Alpha-Reliability"; Artstein & Poesio (2008), *Computational Linguistics*
34(4); Zheng et al. (2023), MT-Bench, §4.1 and App. D.3.

The package: ``_encoding`` (input handling, label codes), ``_confusion`` (the coefficients over
confusion matrices), ``_raters`` (two raters' label arrays), ``_alpha`` (Krippendorff's α) and
``_numeric`` (correlations and errors of numeric scores); every name is importable from here.
"""

from __future__ import annotations

from judgecal.calibrate.agreement._alpha import (
    _alpha_codes as _alpha_codes,
)
from judgecal.calibrate.agreement._alpha import (
    _delta2 as _delta2,
)
from judgecal.calibrate.agreement._alpha import (
    krippendorff_alpha,
)
from judgecal.calibrate.agreement._confusion import (
    ac1_from_confusion,
    agreement_from_confusion,
    kappa_from_confusion,
    pi_from_confusion,
    tnr_from_confusion,
    tpr_from_confusion,
)
from judgecal.calibrate.agreement._encoding import (
    NAN as NAN,
)
from judgecal.calibrate.agreement._encoding import (
    FloatArray as FloatArray,
)
from judgecal.calibrate.agreement._encoding import (
    IntArray as IntArray,
)
from judgecal.calibrate.agreement._encoding import (
    Level as Level,
)
from judgecal.calibrate.agreement._encoding import (
    Setup as Setup,
)
from judgecal.calibrate.agreement._encoding import (
    Weights as Weights,
)
from judgecal.calibrate.agreement._encoding import (
    _check_lengths as _check_lengths,
)
from judgecal.calibrate.agreement._encoding import (
    _confusion_from_codes as _confusion_from_codes,
)
from judgecal.calibrate.agreement._encoding import (
    _encode as _encode,
)
from judgecal.calibrate.agreement._encoding import (
    _is_missing as _is_missing,
)
from judgecal.calibrate.agreement._encoding import (
    encode_labels,
)
from judgecal.calibrate.agreement._numeric import (
    kendall_tau_b,
    mean_absolute_error,
    pearson,
    spearman,
)
from judgecal.calibrate.agreement._raters import (
    PRF,
    BinaryRates,
    binary_rates,
    cohen_kappa,
    confusion_matrix,
    gwet_ac1,
    pairwise_agreement,
    percent_agreement,
    precision_recall_f1,
    scott_pi,
)

__all__ = [
    "PRF",
    "BinaryRates",
    "ac1_from_confusion",
    "agreement_from_confusion",
    "binary_rates",
    "cohen_kappa",
    "confusion_matrix",
    "encode_labels",
    "gwet_ac1",
    "kappa_from_confusion",
    "kendall_tau_b",
    "krippendorff_alpha",
    "mean_absolute_error",
    "pairwise_agreement",
    "pearson",
    "percent_agreement",
    "pi_from_confusion",
    "precision_recall_f1",
    "scott_pi",
    "spearman",
    "tnr_from_confusion",
    "tpr_from_confusion",
]
