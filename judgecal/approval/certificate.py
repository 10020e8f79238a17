"""The approval record (certificate): what was approved, under which policy, on what evidence.

Every validation writes one, whatever its tier — a rejection is evidence too. A certificate
applies to one *judge configuration*: the model string and the version the provider reported,
the sampling settings, samples and aggregation, the rubric and its prompt template, the gold set
and its split, and the policy. It stops applying (``stale``) as soon as any of those hashes
differs from the files on disk now — a changed prompt, rubric, gold set or policy calls for a new
validation — and it can be revoked by hand. A *provisional* record (too few labels to approve)
whose hashes still hold has status ``provisional``: graders use it only when the caller opts in.
Under a policy with ``max_age`` a record also carries ``expires_at`` and is ``expired`` from then
on; records made before ``max_age`` existed never expire.

Which record is in force: :func:`decision_key` names the (judge model, rubric, gold set,
policy) a record decides; the newest record of a key governs it (``docs/approval.md``, "Which
decision is in force").
"""

from __future__ import annotations

import contextlib
import os
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from judgecal.approval.decision import Decision, Tier

if TYPE_CHECKING:
    from judgecal.rubric import Rubric

__all__ = ["HASH_KEYS", "Certificate", "CertificateStatus", "DecisionKey", "current_hashes", "decision_key"]

HASH_KEYS = ("rubric", "template", "gold", "split", "policy")
"""The hashes a certificate pins; a change to any of them makes it stale."""

CertificateStatus = Literal["valid", "provisional", "stale", "expired", "revoked", "not_approved"]
"""``valid``: an approval that applies now; ``provisional``: a provisional decision that applies
now (used only with ``allow_provisional``); ``stale``: a hash changed; ``expired``: older than the
policy's ``max_age``; ``revoked``; ``not_approved``: inconclusive or rejected."""

DecisionKey = tuple[str, str, str, str | None]
"""What a record decides: (judge model string, rubric name, gold set name, policy path — None for
the bundled default)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _policy_key(path: str | None) -> str | None:
    """The policy a record was decided under, by where it lives (not by its hash: an edited policy
    makes the record stale, it does not start a new key). None: the bundled default."""
    if path is None:
        return None
    from judgecal.approval.policy import DEFAULT_POLICY_PATH  # noqa: PLC0415

    norm = os.path.normpath(path)
    return None if norm == os.path.normpath(DEFAULT_POLICY_PATH) else norm


def _fill_expiry(data: dict[str, Any]) -> dict[str, Any]:
    """A record being made (no id yet) takes ``max_age`` from the policy it was decided under —
    when that policy, read now, is the one its hash pins — and ``expires_at`` from it."""
    from datetime import timedelta  # noqa: PLC0415

    from judgecal.approval.policy import load_policy  # noqa: PLC0415
    from judgecal.errors import JudgecalError  # noqa: PLC0415

    if "max_age" in data or "expires_at" in data:
        return data
    try:
        policy = load_policy(data.get("policy_path"))
    except JudgecalError:
        return data
    hashes = data.get("hashes") or {}
    if policy.max_age is None or hashes.get("policy") != policy.policy_hash:
        return data
    created = data.get("created_at") or _now()
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    age: timedelta = policy.max_age_delta  # type: ignore[assignment]
    return {**data, "created_at": created, "max_age": policy.max_age, "expires_at": created + age}


class Certificate(BaseModel):
    """An approval record. ``status()`` says whether it still applies."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    """The record's id (32 hex characters; any unique prefix works on the command line)."""
    created_at: datetime = Field(default_factory=_now)
    """When the validation finished (UTC)."""
    rubric: str
    """The rubric's name."""
    rubric_path: str
    """The rubric folder validated (re-read to check the hashes)."""
    rubric_version: str
    """The rubric's own version string."""
    gold: str
    """The gold set's name."""
    gold_path: str
    """The gold file validated against (re-read to check the hashes)."""
    split: str = "test"
    """The split the decision is based on."""
    judge: dict[str, Any]
    """The judge configuration: model, sampling settings, samples, aggregation, orders."""
    model: str
    """The judge's model string."""
    model_version: str | None = None
    """The model version the provider reported in its answers (``model`` field), when it did."""
    hashes: dict[str, str]
    """SHA-256 of the rubric file, prompt template, gold file, split assignment and policy."""
    policy_path: str | None = None
    """The policy file used (None: the bundled default)."""
    decision: Decision
    """The gate's tier, reasons and per-gate figures."""
    calibration: dict[str, Any]
    """The test-split calibration report (JSON)."""
    probes: dict[str, Any] | None = None
    """The probe report (JSON)."""
    cost: float | None = None
    """USD spent on new provider calls by this validation (None when a price is unknown)."""
    latency_ms: dict[str, float | None] = Field(default_factory=dict)
    """p50/p95/p99 latency of the grading run's new calls (empty when everything was cached)."""
    calls: int = 0
    """Provider requests this validation made (0 when every verdict came from the store)."""
    run_id: str
    """The grading run of the test split."""
    judgecal_version: str
    """The judgecal that decided."""
    revoked_at: datetime | None = None
    """When the record was revoked (None: not revoked)."""
    revoked_reason: str | None = None
    """Why it was revoked."""
    max_age: str | None = None
    """The policy's ``max_age`` when the record was made (None: it does not expire)."""
    expires_at: datetime | None = None
    """When the record expires: ``created_at`` + ``max_age`` (None: never; records made before
    ``max_age`` existed never expire)."""

    @model_validator(mode="before")
    @classmethod
    def _expiry(cls, data: Any) -> Any:
        # a record read back from the store has its id; only a new one reads its policy's max_age
        if isinstance(data, dict) and "id" not in data:
            return _fill_expiry(data)
        return data

    @property
    def key(self) -> DecisionKey:
        """What this record decides (:func:`decision_key`)."""
        return decision_key(self)

    def expired(self, now: datetime | None = None) -> bool:
        """``expires_at`` has passed (never for a record without one)."""
        if self.expires_at is None:
            return False
        return (now or _now()) >= _aware(self.expires_at)

    @property
    def approved(self) -> bool:
        """The decision was one of the approved tiers (regardless of staleness or revocation)."""
        return self.decision.approved

    @property
    def tier(self) -> Tier:
        """The decision's tier."""
        return self.decision.tier

    def status(
        self, current: dict[str, str] | None = None, *, rubric: Rubric | None = None
    ) -> tuple[CertificateStatus, str]:
        """Whether the approval still applies, and why not.

        ``current`` are the hashes of the files now (:func:`current_hashes`); without them the
        files are read — only for an approved or provisional, unrevoked record — with ``rubric``
        standing for the record's rubric when given.
        """
        if self.revoked_at is not None:
            return (
                "revoked",
                f"revoked {self.revoked_at:%Y-%m-%d %H:%M} UTC: {self.revoked_reason or 'no reason'}",
            )
        if not self.approved and self.tier != "provisional":
            return "not_approved", f"the validation ended {self.tier}"
        if current is None:
            current = current_hashes(self, rubric)
        changed = self.changed(current)
        if changed:
            what = ", ".join(
                f"{k} ({_short(self.hashes.get(k))} then, {_short(current.get(k))} now)" for k in changed
            )
            return "stale", f"changed since the approval: {what} — validate again"
        if self.expired():
            return "expired", self.expiry_reason()
        expires = f"; expires {_aware(self.expires_at):%Y-%m-%d %H:%M} UTC" if self.expires_at else ""
        if self.tier == "provisional":
            d = self.decision
            needed = ", ".join(f"{n} {label}" for label, n in d.labels_needed_per_class.items()) or (
                f"about {d.labels_needed}" if d.labels_needed else "more"
            )
            return (
                "provisional",
                "provisional, not approved: the point estimates meet the policy on too few labels "
                f"(approval would take {needed} more labelled items); usable only with allow_provisional"
                + expires,
            )
        return "valid", f"{self.tier}; rubric, template, gold set, split and policy unchanged{expires}"

    def expiry_reason(self) -> str:
        """Why an expired record no longer applies: when it expired, when it was made, the max_age."""
        what = "provisional" if self.tier == "provisional" else "approved"
        when = _aware(self.expires_at) if self.expires_at else None
        return (
            f"expired {when:%Y-%m-%d %H:%M} UTC: {what} {_aware(self.created_at):%Y-%m-%d %H:%M} UTC, "
            f"max_age {self.max_age or '?'} — validate again"
        )

    def changed(self, current: dict[str, str]) -> list[str]:
        """The pinned hashes that differ from ``current`` (:data:`HASH_KEYS` order)."""
        return [k for k in HASH_KEYS if current.get(k) != self.hashes.get(k)]


def decision_key(cert: Certificate) -> DecisionKey:
    """(judge model string, rubric name, gold set name, policy path or None for the bundled
    default): the newest record of a key is the decision in force for it."""
    return (cert.model, cert.rubric, cert.gold, _policy_key(cert.policy_path))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _short(h: str | None) -> str:
    return h[:12] if h else "missing"


def current_hashes(cert: Certificate, rubric: Rubric | None = None) -> dict[str, str]:
    """The hashes of the certificate's rubric, gold set and policy as they are on disk now
    (a file that is gone or no longer loads hashes as ``missing``). ``rubric``: the rubric that
    will grade, loaded now wherever the record's was — its hashes stand for the record's."""
    from judgecal.approval.policy import load_policy  # noqa: PLC0415
    from judgecal.errors import JudgecalError  # noqa: PLC0415
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.rubric import load_rubric  # noqa: PLC0415

    out: dict[str, str] = {}
    own: Rubric | None = None
    with contextlib.suppress(JudgecalError):
        own = load_rubric(cert.rubric_path)
    grading = rubric or own
    if grading is not None:
        out["rubric"], out["template"] = grading.rubric_hash, grading.template_hash
    try:
        gold = load_gold(cert.gold_path, own, require_labels=False)
        out["gold"], out["split"] = gold.file_hash, gold.split_hash
    except JudgecalError:
        pass
    with contextlib.suppress(JudgecalError):
        out["policy"] = load_policy(cert.policy_path).policy_hash
    return out
