"""Listings of stored things (runs, approval records, comparisons) that fit 80 columns and whose
ids can be copied: the id column shows :meth:`judgecal.store.Store.short_ids` whole, never
wrapped or cut, and the other columns wrap instead."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from judgecal.store.ids import MIN_PREFIX


def id_column(shown: Iterable[str], header: str = "id") -> Any:
    """The column of the ids a listing prints (``shown``): never wrapped, folded or cut."""
    from rich.table import Column

    width = max((len(s) for s in shown), default=MIN_PREFIX)
    return Column(header, no_wrap=True, min_width=max(width, len(header)))


def listing_table(*columns: Any) -> Any:
    """A rich table for a listing: a rule under the header, no borders, one space of padding
    after each cell (the separator is another), so the cells get the width: eight columns fit 80."""
    from rich import box
    from rich.table import Table

    return Table(*columns, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
