"""Approved judges as graders for other harnesses: ``load_grader("<rubric>")``.

Which record is in force (``docs/approval.md``): for a judge on a rubric, the *newest* record of
its (judge model, rubric, gold set, policy) — :func:`~judgecal.approval.certificate.decision_key`
— governs. ``load_grader`` returns a :class:`Grader` configured exactly as that record validated
(model, sampling, samples, aggregation) when the governing record is valid; when it is revoked,
rejected, inconclusive, stale, expired or provisional it raises
:class:`~judgecal.errors.NotApprovedError` saying why, and never falls back to an older record of
the same key. Without ``judge``, the newest key whose governing record is valid is used. The
caller may opt out with ``allow_unapproved=True``. A *provisional* record (point estimates that
meet the policy on too few labels) is refused exactly like an unapproved one unless the caller
opts in with ``allow_provisional=True``; every verdict of such a grader then says
``approval_tier="provisional"``, and its runs are stored with the gold name
``<rubric>~grader~provisional``. Every verdict goes through the same cached, recorded pipeline as
``judgecal grade`` (runs of kind ``grader``).

A grader kept alive (a pytest session, an Inspect scorer, a DeepEval metric) checks before every
grading call that its record is still the one in force — not revoked, not expired, not
superseded by a newer record of its key — with one query of the store, and raises
``NotApprovedError`` otherwise: a call already under way when a revoke commits finishes, none
after it starts.

>>> import judgecal.approval as a
>>> a.GraderVerdict(status="ok", label="pass", passed=True, score=1.0, model="sim/accurate",
...                 rubric="support-billing").passed
True
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judgecal import _aio
from judgecal._model import sha256_json
from judgecal.approval.certificate import Certificate, DecisionKey, decision_key
from judgecal.errors import ConfigError, InputError, NotApprovedError
from judgecal.gold import GoldItem, GoldSet
from judgecal.judge import ItemVerdict, JudgeConfig, Limits, RunResult
from judgecal.rubric import Rubric

__all__ = ["Grader", "GraderVerdict", "find_approval", "governing_record", "load_grader"]

_PAGE = 500
_FIRST = 5


class GraderVerdict(BaseModel):
    """One graded item, as a harness sees it."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "invalid", "error"]
    """``ok``: a verdict; ``invalid``: the judge answered unusably (never a score); ``error``: no
    answer after the retries."""
    label: str | int | None = None
    """The verdict on the rubric's scale (pass/fail, a score, A/B/tie)."""
    passed: bool | None = None
    """Binary and ordinal rubrics: whether the label counts as a pass."""
    score: float | None = None
    """1.0/0.0 for binary pass/fail, the score for ordinal rubrics, None for pairwise."""
    reasoning: str | None = None
    """The judge's stated reason."""
    failure_modes: list[str] = Field(default_factory=list)
    """Failure modes the judge cited."""
    certificate_id: str | None = None
    """The approval record the judge is used under (None when used without approval)."""
    approval_tier: str | None = None
    """The tier of that record: ``approved``, ``approved_with_correction``, or ``provisional``
    (graded only because the caller opted in with ``allow_provisional``); None without approval."""
    model: str
    """The judge's model string."""
    rubric: str
    """The rubric's name."""
    cached: bool = False
    """Every unit of the verdict came from the store."""
    error: str | None = None
    """Why an ``error`` or ``invalid`` verdict has no label."""


def _score(rubric: Rubric, label: str | int | None) -> float | None:
    if label is None:
        return None
    if rubric.scale.kind == "binary":
        return 1.0 if label == "pass" else 0.0
    if rubric.scale.kind == "ordinal":
        return float(label)
    return None


class Grader:
    """A judge configuration bound to a rubric (and, normally, to its approval record)."""

    def __init__(
        self,
        rubric: Rubric,
        judge: JudgeConfig,
        certificate: Certificate | None,
        *,
        store: Any = None,
        api_base: str | None = None,
        api_key: str | None = None,
        limits: Limits | None = None,
        sim_items: list[Any] | None = None,
    ):
        from judgecal.store import Store  # noqa: PLC0415

        self.rubric = rubric
        self.judge = judge
        self.certificate = certificate
        self.store = store or Store()
        self.limits = limits
        self._api_base, self._api_key, self._sim_items = api_base, api_key, sim_items
        self._opened: Any = None

    @classmethod
    def from_certificate(
        cls,
        rubric: Rubric,
        cert: Certificate,
        *,
        store: Any = None,
        api_base: str | None = None,
        api_key: str | None = None,
        limits: Limits | None = None,
    ) -> Grader:
        """The grader of an approval record: its judge configuration, and for a simulated judge
        the truth of the gold set it was validated on."""
        from judgecal.gold import load_gold  # noqa: PLC0415
        from judgecal.judge import sim_items_from_gold  # noqa: PLC0415

        config = JudgeConfig.model_validate(cert.judge)
        sim_items = None
        if config.model.startswith("sim/"):
            sim_items = sim_items_from_gold(rubric, load_gold(cert.gold_path, rubric).items)
        return cls(
            rubric,
            config,
            cert,
            store=store,
            api_base=api_base,
            api_key=api_key,
            limits=limits,
            sim_items=sim_items,
        )

    @property
    def certificate_id(self) -> str | None:
        """The approval record's id (None when used without approval)."""
        return None if self.certificate is None else self.certificate.id

    @property
    def approval_tier(self) -> str | None:
        """The approval record's tier (``provisional`` only when the caller opted in); None
        without approval."""
        return None if self.certificate is None else self.certificate.tier

    def check_in_force(self) -> None:
        """Raise :class:`NotApprovedError` unless the grader's record is still the decision in force
        for its key: not revoked, not expired, and no newer record of the same judge, rubric, gold
        set and policy (one query of the store; nothing to check without a record). Every grading
        call runs it first."""
        cert = self.certificate
        if cert is None:
            return
        current = governing_record(self.store, cert.key)
        who = f"judge {cert.model!r} on rubric {cert.rubric!r}"
        if current is None:
            raise NotApprovedError(
                f"approval record {cert.id[:12]} for {who} is no longer in the store; validate again"
            )
        if current.id != cert.id:
            status, why = current.status(rubric=self.rubric)
            raise NotApprovedError(
                f"approval {cert.id[:12]} for {who} is no longer in force: a newer record "
                f"{current.id[:12]} ({current.created_at:%Y-%m-%d %H:%M} UTC, gold set {current.gold!r}) "
                f"governs and is {status.replace('_', ' ')}: {why}"
                + ("; load the grader again to use it" if status in ("valid", "provisional") else "")
            )
        if current.revoked_at is not None or current.expired():
            status, why = current.status(rubric=self.rubric)
            raise NotApprovedError(f"approval {cert.id[:12]} for {who} is {status}: {why}")

    def _completer(self) -> Any:
        if self._opened is None:
            from judgecal.llm import open_completer  # noqa: PLC0415

            self._opened = open_completer(
                self.judge.model, api_base=self._api_base, api_key=self._api_key, sim_items=self._sim_items
            )
        return self._opened.completer

    def close(self) -> None:
        """Stop what the grader started (the simulated judge, for ``sim/...``)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _item(self, inputs: Any, index: int) -> GoldItem:
        where = f"inputs[{index}]" if index >= 0 else "inputs"
        if not isinstance(inputs, dict):
            raise InputError(
                f"must be a mapping of the rubric's inputs to text, got {type(inputs).__name__}", field=where
            )
        missing = [k for k in self.rubric.inputs if k not in inputs]
        unknown = [k for k in inputs if k not in self.rubric.inputs]
        if missing or unknown:
            raise InputError(
                f"rubric {self.rubric.name} takes inputs {self.rubric.inputs}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else ""),
                field=where,
            )
        for key, value in inputs.items():
            if not isinstance(value, str) or not value.strip():
                raise InputError("must be non-empty text", field=f"{where}.{key}")
        return GoldItem(id="g-" + sha256_json(inputs)[:24], inputs=dict(inputs))

    def _verdict(self, result: RunResult, iv: ItemVerdict) -> GraderVerdict:
        units = [v for v in result.verdicts if v.item_id == iv.item_id]
        ok = [v for v in units if v.status == "ok" and v.label == iv.label]
        first = ok[0] if ok else (units[0] if units else None)
        status: Literal["ok", "invalid", "error"] = (
            "ok" if iv.status == "ok" else ("invalid" if iv.status == "invalid" else "error")
        )
        error = None
        if status != "ok" and first is not None:
            error = (
                first.error
                or first.invalid_reason
                or ("skipped: a call or cost cap was reached" if iv.status == "skipped" else None)
            )
        return GraderVerdict(
            status=status,
            label=iv.label if status == "ok" else None,
            passed=iv.passed if status == "ok" else None,
            score=_score(self.rubric, iv.label) if status == "ok" else None,
            reasoning=first.reasoning if first is not None else None,
            failure_modes=list(first.failure_modes) if first is not None else [],
            certificate_id=self.certificate_id,
            approval_tier=self.approval_tier,
            model=self.judge.model,
            rubric=self.rubric.name,
            cached=bool(units) and all(v.cached for v in units),
            error=error,
        )

    async def agrade_many(self, many: list[dict[str, str]]) -> list[GraderVerdict]:
        """Grade several items in one run (concurrently, within the limits)."""
        from judgecal.judge import agrade  # noqa: PLC0415

        items = [self._item(inputs, i) for i, inputs in enumerate(many)]
        self.check_in_force()
        unique = list({it.id: it for it in items}.values())
        # the stored run says when its verdicts came from a provisional approval
        tier = "~provisional" if self.approval_tier == "provisional" else ""
        gold = GoldSet(
            name=f"{self.rubric.name}~grader{tier}",
            path="(grader)",
            file_hash=sha256_json([it.id for it in unique]),
            items=unique,
            splits=dict.fromkeys((it.id for it in unique), "test"),
        )
        result = await agrade(
            self.rubric,
            gold,
            self.judge,
            self._completer(),
            store=self.store,
            limits=self.limits,
            kind="grader",
        )
        by_id = {iv.item_id: iv for iv in result.items}
        return [self._verdict(result, by_id[it.id]) for it in items]

    async def agrade(self, inputs: dict[str, str]) -> GraderVerdict:
        """Grade one item: ``inputs`` maps each of the rubric's inputs to its text."""
        if not isinstance(inputs, dict):
            self._item(inputs, -1)
        return (await self.agrade_many([inputs]))[0]

    def grade(self, inputs: dict[str, str]) -> GraderVerdict:
        """Synchronous :meth:`agrade` (not from inside a running event loop)."""
        return _aio.run(self.agrade(inputs))

    def grade_many(self, many: list[dict[str, str]]) -> list[GraderVerdict]:
        """Synchronous :meth:`agrade_many`."""
        return _aio.run(self.agrade_many(many))

    def __repr__(self) -> str:
        cert = self.certificate_id[:12] if self.certificate_id else "unapproved"
        tier = ", PROVISIONAL" if self.approval_tier == "provisional" else ""
        return f"Grader({self.rubric.name!r}, {self.judge.model!r}, certificate={cert}{tier})"


def _records(store: Any, rubric: str, model: str | None, *, first: int = _PAGE) -> Any:
    """Every record of ``rubric`` (and ``model``), newest first, a page at a time (no limit can
    hide a governing record); the first page holds ``first`` records."""
    offset, size = 0, first
    while True:
        page = store.list_certificates(rubric=rubric, model=model, limit=size, offset=offset)
        yield from page
        if len(page) < size:
            return
        offset += size
        size = _PAGE


def governing_record(store: Any, key: DecisionKey) -> Certificate | None:
    """The newest record of ``key`` — (judge model, rubric, gold set, policy) — which is the
    decision in force for it; None when there is none."""
    model, rubric = key[0], key[1]
    # the record a grader checks is nearly always the newest of its judge: read a few first
    for cert in _records(store, rubric, model, first=_FIRST):
        if decision_key(cert) == key:
            return cert  # type: ignore[no-any-return]
    return None


def find_approval(
    rubric: Rubric, *, judge: str | None = None, store: Any, allow_provisional: bool = False
) -> tuple[Certificate | None, list[tuple[Certificate, str, str]]]:
    """The record in force that may grade ``rubric`` (with ``judge`` if given), and the governing
    records looked at before it with their status and reason (newest first).

    Records are grouped by :func:`~judgecal.approval.certificate.decision_key` (judge model,
    rubric, gold set, policy); only the newest record of each key counts — it governs the key —
    and an older record of the same key is never used, whatever its status. The first governing
    record (newest first) that is valid — or, with ``allow_provisional``, valid or provisional —
    is returned; ``None`` when no key's governing record is."""
    looked: list[tuple[Certificate, str, str]] = []
    seen: set[DecisionKey] = set()
    for cert in _records(store, rubric.name, judge):
        key = decision_key(cert)
        if key in seen:
            continue  # an older record of a key already decided by its newest
        seen.add(key)
        # the rubric that will grade is the one loaded now, wherever the record's was
        status, why = cert.status(rubric=rubric)
        if status == "valid" or (status == "provisional" and allow_provisional):
            return cert, looked
        looked.append((cert, status, why))
    return None, looked


def load_grader(
    rubric: str | Rubric,
    *,
    judge: str | None = None,
    allow_unapproved: bool = False,
    allow_provisional: bool = False,
    store: Any = None,
    api_base: str | None = None,
    api_key: str | None = None,
    limits: Limits | None = None,
) -> Grader:
    """The approved judge for ``rubric``: the record in force (see :func:`find_approval`; only
    ``judge``'s if given).

    Raises :class:`NotApprovedError` naming why (no record; the record in force is provisional,
    inconclusive, rejected, revoked, expired, or stale because a hash changed — an older approval
    of the same judge, gold set and policy is never used instead) unless ``allow_unapproved=True``
    — then ``judge`` is required and the grader runs without a certificate.
    ``allow_provisional=True`` also accepts a provisional record in force: a provisional judge's
    verdicts say ``approval_tier="provisional"``.
    """
    from judgecal.gold import load_gold  # noqa: PLC0415
    from judgecal.judge import sim_items_from_gold  # noqa: PLC0415
    from judgecal.rubric import find_rubric  # noqa: PLC0415
    from judgecal.store import Store  # noqa: PLC0415

    rubric_ = find_rubric(rubric) if isinstance(rubric, str) else rubric
    store = store or Store()
    cert, looked = find_approval(rubric_, judge=judge, store=store, allow_provisional=allow_provisional)
    if cert is not None:
        return Grader.from_certificate(
            rubric_, cert, store=store, api_base=api_base, api_key=api_key, limits=limits
        )
    if allow_unapproved:
        if not judge:
            raise ConfigError("allow_unapproved needs a judge model string (judge=...)")
        sim_items = None
        if judge.startswith("sim/"):
            # the simulated judge knows the truth of the rubric's own gold set, when there is one
            from judgecal.gold import list_gold  # noqa: PLC0415

            path = list_gold().get(rubric_.name)
            if path is not None:
                sim_items = sim_items_from_gold(rubric_, load_gold(path, rubric_).items)
        return Grader(
            rubric_,
            JudgeConfig(model=judge),
            None,
            store=store,
            api_base=api_base,
            api_key=api_key,
            limits=limits,
            sim_items=sim_items,
        )
    who = f"rubric {rubric_.name!r}" + (f" and judge {judge!r}" if judge else "")
    if not looked:
        raise NotApprovedError(
            f"no approval record for {who}: run `judgecal validate {rubric_.name} --judge <model>` first "
            "(or pass allow_unapproved=True to use a judge without approval)"
        )
    newest, status, why = looked[0]
    opt_in = (
        "; to grade with it anyway, pass allow_provisional=True (every verdict then says "
        "approval_tier='provisional')"
        if any(s == "provisional" for _, s, _ in looked)
        else ""
    )
    others = len(looked) - 1
    raise NotApprovedError(
        f"no valid approval for {who}: the record in force {newest.id[:12]} ({newest.model}, gold set "
        f"{newest.gold!r}, {newest.created_at:%Y-%m-%d %H:%M} UTC) is {status.replace('_', ' ')}: {why}"
        + (
            f" ({others} other judge/gold set/policy combination(s) looked at, none valid either)"
            if others
            else ""
        )
        + "; older records of the same judge, gold set and policy are not used"
        + opt_in
    )
