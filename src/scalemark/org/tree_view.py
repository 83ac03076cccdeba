"""A big unit tree a few levels at a time (plain functions, no database).

Pages with one row per unit (the KPI targets, the unit editor) show the levels below
their top that fit in :data:`ROW_BUDGET` rows. A unit on the last level shown whose
sub-units are left out offers "Show its N sub-units": htmx loads them into the page, and
without JavaScript the link opens a view that starts at that unit (its *focus*).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from scalemark.org.service import UnitNode

__all__ = ["MAX_LEVELS", "ROW_BUDGET", "TreeWindow", "ancestor_ids", "tree_window"]

ROW_BUDGET = 60
"""A view shows as many levels below its top as fit in about this many rows."""
MAX_LEVELS = 4
"""…but never more levels than this (at least one level below the top is shown)."""

Row = TypeVar("Row")


@dataclass(frozen=True)
class TreeWindow(Generic[Row]):
    """The part of a tree on screen: a focus unit and a few levels below it."""

    rows: list[Row]
    """The rows shown, in the order given (depth first)."""
    focus: UnitNode | None
    """The unit the view starts at (``None``: the top of what the reader may see)."""
    up: UnitNode | None
    """The focus's parent, when the reader may look from there."""
    base_depth: int
    """Depth of the view's top units (indentation starts there)."""
    hidden: dict[int, int] = field(default_factory=dict)
    """Unit id → number of its sub-units that are not shown."""


def ancestor_ids(unit: UnitNode) -> set[int]:
    """Ids of the units above ``unit`` (from its materialised path)."""
    return {int(part) for part in unit.path.strip("/").split("/")[:-1] if part}


def tree_window(
    rows: Sequence[Row],
    unit_of: Callable[[Row], UnitNode],
    *,
    focus: UnitNode | None = None,
    reveal: UnitNode | None = None,
    budget: int = ROW_BUDGET,
    max_levels: int = MAX_LEVELS,
) -> TreeWindow[Row]:
    """The rows of a tree (depth first) that fit in ``budget`` rows below the top.

    ``focus`` starts the view at a unit; ``reveal`` opens the branches down to a unit that
    should stay on screen (the one being edited), even below the last level.
    """
    pairs = [(row, unit_of(row)) for row in rows]
    up = None
    if focus is not None:
        up = next((unit for _row, unit in pairs if unit.id == focus.parent_id), None)
        pairs = [(row, unit) for row, unit in pairs if unit.path.startswith(focus.path)]
    per_depth = Counter(unit.depth for _row, unit in pairs)
    top = min(per_depth, default=0)
    levels, count = 1, per_depth[top] + per_depth[top + 1]
    while levels < max_levels and count + per_depth[top + levels + 1] <= budget:
        levels += 1
        count += per_depth[top + levels]
    last = top + levels
    opened = ancestor_ids(reveal) if reveal is not None else set()
    shown: list[Row] = []
    hidden: dict[int, int] = {}
    for row, unit in pairs:
        if unit.depth <= last or unit.parent_id in opened:
            shown.append(row)
            if unit.depth >= last and unit.child_count and unit.id not in opened:
                hidden[unit.id] = unit.child_count
    return TreeWindow(shown, focus, up, top, hidden)
