"""The approval policy: the thresholds the gate applies, as a YAML file with documented defaults.

The defaults (``default_policy.yaml`` beside this module) gather conventions from the literature
on judge validation: Krippendorff's α ≥ 0.667 for a usable task and κ ≥ 0.80 for agreement
(Krippendorff 2004, *Content Analysis*; Landis & Koch 1977), the alternative annotator test for
subjective tasks (Calderon, Reichart & Dror, ACL 2025), class-wise error rates and corrected pass
rates (Rogan & Gladen 1978; Lee et al. 2025), and enough labelled data to bound them (≥ 100 test
items, ≥ 40 per class, ≥ 50 with ≥ 3 annotators). A team copies the file, changes what it decides
differently and passes it with ``--policy``; the policy's hash goes into every approval record,
so an approval made under one policy does not carry over to another.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from judgecal._model import Strict
from judgecal.errors import ConfigError

__all__ = ["DEFAULT_POLICY_PATH", "Policy", "load_policy", "parse_max_age"]

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.yaml")

_AGE = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_max_age(text: str) -> timedelta:
    """A ``max_age`` such as ``90d``, ``12h``, ``2w`` or ``30m`` as a duration.

    >>> parse_max_age("90d"), parse_max_age("12h")
    (datetime.timedelta(days=90), datetime.timedelta(seconds=43200))
    """
    match = _AGE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"max_age must be a whole number and a unit, m (minutes), h (hours), d (days) or w (weeks), "
            f"such as 90d or 12h; got {text!r}"
        )
    return timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})


class DataRequirements(Strict):
    """How much labelled data an approval needs."""

    min_test_items: int = Field(default=100, ge=0)
    """Test-split items with a human majority."""
    min_per_class: int = Field(default=40, ge=0)
    """Binary rubrics: test items per human class."""
    min_ceiling_items: int = Field(default=50, ge=0)
    """Test items labelled by at least ``ceiling_annotators`` people."""
    ceiling_annotators: int = Field(default=3, ge=2)
    """Annotators an item needs to count toward ``min_ceiling_items``."""
    provisional_min_test_items: int = Field(default=20, ge=1)
    """Below the requirements above, the decision can still be *provisional* (not an approval)
    with at least this many test items; with fewer it is inconclusive."""


class CeilingGate(Strict):
    """G0: the task must be reliable for humans before any judge can be."""

    min_alpha: float = Field(default=0.667, ge=0, le=1)
    """Human–human Krippendorff's α."""


class ValidityGate(Strict):
    """G1: unparseable or refused answers."""

    max_invalid_rate: float = Field(default=0.01, ge=0, le=1)
    """Point invalid-verdict rate."""
    max_invalid_upper: float = Field(default=0.03, ge=0, le=1)
    """Upper bound of its Wilson interval."""


class AgreementGate(Strict):
    """G2: agreement with the human majority (κ; quadratic-weighted κ for ordinal rubrics)."""

    approve: float = Field(default=0.80, ge=0, le=1)
    """G2a approve: point estimate at least this ..."""
    approve_lower: float = Field(default=0.667, ge=0, le=1)
    """... and interval lower bound at least this."""
    provisional: float = Field(default=0.667, ge=0, le=1)
    """G2a provisional: point estimate at least this."""
    relative_below: float = Field(default=0.80, ge=0, le=1)
    """G2b applies when the human ceiling (α) is below this."""
    annotator_type: Literal["expert", "skilled", "crowd"] = "skilled"
    """Sets the alt-test's ε (0.2, 0.15, 0.1; Calderon et al. 2025)."""
    alt_test_min_winning_rate: float = Field(default=0.5, ge=0, le=1)
    """The alt-test's winning rate ω needed."""

    @model_validator(mode="after")
    def _ordered(self) -> AgreementGate:
        if self.approve < self.provisional:
            raise ValueError("approve must be at least provisional")
        return self


class ClassErrorGate(Strict):
    """G3 (binary rubrics): true-positive and true-negative rates."""

    min_tpr: float = Field(default=0.85, ge=0, le=1)
    """Point TPR."""
    min_tnr: float = Field(default=0.85, ge=0, le=1)
    """Point TNR."""
    min_lower: float = Field(default=0.75, ge=0, le=1)
    """Wilson lower bound of each."""
    min_j_for_correction: float = Field(default=0.6, ge=-1, le=1)
    """Youden's J needed for the approved-with-correction tier."""


class ProbeGate(Strict):
    """G5: the bias probes that must pass."""

    gated: list[str] = Field(
        default_factory=lambda: [
            "position",
            "verbosity",
            "self_preference",
            "injection",
            "sensitivity",
            "rewording",
        ]
    )
    """Probes run and required to pass (inapplicable ones are reported, not failed)."""
    reject_on: list[str] = Field(default_factory=lambda: ["injection"])
    """A failure of any of these rejects the judge whatever else holds."""
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    """Per-probe threshold overrides (keys as in each probe's defaults, ``judgecal probe --list``)."""

    @model_validator(mode="after")
    def _subset(self) -> ProbeGate:
        extra = sorted(set(self.reject_on) - set(self.gated))
        if extra:
            raise ValueError(f"reject_on names probes that are not gated: {', '.join(extra)}")
        return self


class StabilityGate(Strict):
    """G6: resample consistency at the deployment temperature."""

    k: int = Field(default=5, ge=2, le=50)
    """Samples per item."""
    min_alpha: float = Field(default=0.80, ge=0, le=1)
    """Krippendorff's α across samples ..."""
    min_modal_agreement: float = Field(default=0.90, ge=0, le=1)
    """... or modal-verdict agreement (either suffices)."""


class CorrectionTier(Strict):
    """What the approved-with-correction tier obliges."""

    audit_fraction: float = Field(default=0.10, ge=0, le=1)
    """Share of production items to send to a human audit."""


class CompareRule(Strict):
    """``judgecal compare``: the non-inferiority margin."""

    metric: Literal["cohen_kappa", "percent_agreement"] = "cohen_kappa"
    """Agreement measure compared (invalid verdicts count as disagreements)."""
    margin: float = Field(default=0.05, gt=0, le=1)
    """B may replace A when the one-sided 95% lower bound of metric(B) − metric(A) is above −margin."""


class Policy(Strict):
    """An approval policy. Load one with :func:`load_policy`."""

    version: int = 1
    """Format version of the policy file."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    """Confidence level of every interval the gate reads."""
    data: DataRequirements = Field(default_factory=DataRequirements)
    ceiling: CeilingGate = Field(default_factory=CeilingGate)
    validity: ValidityGate = Field(default_factory=ValidityGate)
    agreement: AgreementGate = Field(default_factory=AgreementGate)
    class_errors: ClassErrorGate = Field(default_factory=ClassErrorGate)
    probes: ProbeGate = Field(default_factory=ProbeGate)
    stability: StabilityGate = Field(default_factory=StabilityGate)
    correction: CorrectionTier = Field(default_factory=CorrectionTier)
    compare: CompareRule = Field(default_factory=CompareRule)
    max_age: str | None = None
    """How long an approval under this policy lasts (``90d``, ``12h``, ``2w``, ``30m``): from
    ``max_age`` after the validation on, the record is ``expired`` and graders refuse it. None:
    approvals do not expire."""

    _path: str | None = PrivateAttr(default=None)

    @field_validator("max_age")
    @classmethod
    def _age(cls, value: str | None) -> str | None:
        if value is not None:
            parse_max_age(value)
            value = value.strip()
        return value

    @property
    def max_age_delta(self) -> timedelta | None:
        """``max_age`` as a duration (None: approvals do not expire)."""
        return None if self.max_age is None else parse_max_age(self.max_age)

    @property
    def path(self) -> str | None:
        """Where the policy was read from (None: built in code)."""
        return self._path

    @property
    def policy_hash(self) -> str:
        """SHA-256 of the policy's canonical content: two files that say the same thing (comments,
        key order) hash the same; any changed threshold changes it. ``max_age`` counts only when
        set, so records made before the key existed keep their hash."""
        from judgecal._model import sha256_json  # noqa: PLC0415

        content = self.model_dump(mode="json")
        if content.get("max_age") is None:
            content.pop("max_age", None)
        return sha256_json(content)

    @property
    def epsilon(self) -> float:
        """The alt-test's ε for the policy's annotator type."""
        from judgecal.calibrate.ceiling import EPSILON_BY_ANNOTATOR_TYPE  # noqa: PLC0415

        return EPSILON_BY_ANNOTATOR_TYPE[self.agreement.annotator_type]


def load_policy(path: str | Path | Policy | None = None) -> Policy:
    """Read a policy file (``None``: the bundled default).

    Unknown keys and out-of-range values raise :class:`ConfigError` naming the file, line and field.

    >>> p = load_policy()
    >>> p.agreement.approve, p.validity.max_invalid_upper, p.compare.margin
    (0.8, 0.03, 0.05)
    >>> p.policy_hash == Policy().policy_hash   # the file states the code's defaults
    True
    """
    from judgecal._yamlio import load_yaml, raise_validation  # noqa: PLC0415

    if isinstance(path, Policy):
        return path
    file = Path(path) if path is not None else DEFAULT_POLICY_PATH
    if not file.is_file():
        raise ConfigError("no such policy file", location=str(file))
    data, lines = load_yaml(file, ConfigError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("a policy must be a mapping of keys to values", location=f"{file}:1")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise_validation(exc, str(file), lines.line_of, ConfigError)
        raise  # unreachable: raise_validation raises
    if policy.version != 1:
        raise ConfigError(
            f"policy format version {policy.version} is not supported (this judgecal reads version 1)",
            location=f"{file}:{lines.line_of(('version',)) or 1}",
            field="version",
        )
    policy._path = str(file)
    return policy
