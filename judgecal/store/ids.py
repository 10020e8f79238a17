"""Ids as people type them: the shortest unique prefix to show, and one rule to resolve what was typed.

Every stored id (run, approval record, comparison) is 32 hex characters. Listings show the
shortest prefix that no other id of the same kind shares, and never fewer than
:data:`MIN_PREFIX` characters (like git's abbreviated hashes); every command that takes an id
accepts the whole id or any prefix of it that names exactly one row.

Resolution (:func:`resolve`): the exact id, else the one row whose id starts with what was typed.
A prefix that several ids share raises :class:`AmbiguousIdError` naming them (exit code 2); one
that matches nothing raises :class:`~judgecal.errors.NotFoundError` (exit code 2).

>>> short_ids(["687f79ab01", "687f79ab99", "12345678ff"], among=["687f79ab01", "687f79ab99", "12345678ff"])
{'687f79ab01': '687f79ab0', '687f79ab99': '687f79ab9', '12345678ff': '12345678'}
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from judgecal.errors import NotFoundError

__all__ = ["MIN_PREFIX", "AmbiguousIdError", "all_ids", "resolve", "short_ids"]

MIN_PREFIX = 8
"""The fewest characters a listing shows of an id."""

_MAX_CANDIDATES = 10
"""How many of the ids an ambiguous prefix matches its error names."""


class AmbiguousIdError(NotFoundError):
    """A typed prefix starts more than one id; ``candidates`` holds (some of) them."""

    def __init__(self, message: str, *, candidates: list[str]):
        self.candidates = candidates
        super().__init__(message)


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def short_ids(ids: Iterable[str], *, among: Iterable[str], min_len: int = MIN_PREFIX) -> dict[str, str]:
    """For each of ``ids``, its shortest prefix (at least ``min_len`` characters) that no other id
    in ``among`` starts with — what a listing prints. ``among`` holds every id a prefix is
    resolved against (the listed ids among them); an id is never cut below its own length."""
    pool = sorted(set(among) | set(ids))
    short: dict[str, str] = {}
    for ident in ids:
        i = bisect.bisect_left(pool, ident)
        need = 0
        for j in (i - 1, i + 1):  # in sorted order, the longest shared prefix is with a neighbour
            if 0 <= j < len(pool):
                need = max(need, _common(ident, pool[j]))
        short[ident] = ident[: max(min_len, need + 1)]
    return short


def all_ids(engine: Any, table: Any) -> list[str]:
    """Every id in ``table``, sorted (what :func:`short_ids` needs as ``among``)."""
    with Session(engine) as session:
        return sorted(session.exec(select(table.id)).all())


def resolve(engine: Any, table: Any, ident: str, *, noun: str, lister: str) -> Any:
    """The row of ``table`` whose id is ``ident``, else the one whose id starts with it (detached
    from its session). Surrounding blanks are ignored. Raises :class:`AmbiguousIdError` (listing
    the candidates) when several ids start with it, and :class:`~judgecal.errors.NotFoundError`
    when none does; both say which command (``lister``) shows the ids."""
    ident = ident.strip()
    with Session(engine) as session:
        row = session.get(table, ident) if ident else None
        if row is None and ident:
            rows = session.exec(
                select(table)
                .where(table.id.startswith(ident, autoescape=True))
                .order_by(table.id)
                .limit(_MAX_CANDIDATES + 1)
            ).all()
            if len(rows) > 1:
                ids = [r.id for r in rows][:_MAX_CANDIDATES]
                many = f"more than {_MAX_CANDIDATES}" if len(rows) > _MAX_CANDIDATES else str(len(rows))
                raise AmbiguousIdError(
                    f"{noun} id {ident!r} is ambiguous: {many} {noun} ids start with it"
                    f" ({', '.join(ids)}); give more characters",
                    candidates=ids,
                )
            row = rows[0] if rows else None
        if row is None:
            raise NotFoundError(f"{noun} id {ident!r} matches no {noun}; `{lister}` shows them")
        session.expunge(row)
        return row
