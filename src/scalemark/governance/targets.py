"""KPI target rules: inheritance down the unit tree and local override bounds.

Plain functions, no database. Units are named by their materialised path (``/1/4/9/``):
a unit's ancestors are the prefixes of its path, so the nearest ancestor with a target is
the longest prefix that has one.

Bounds are set centrally per KPI and limit every local override:

- ``min_value`` / ``max_value``: absolute limits (a share cannot exceed 100 %);
- ``max_deviation_pct``: how far, in percent of the central target, an override may lie
  from it (in either direction). The central target is the target at the top of the
  KPI's scope (the HQ for central KPIs), never an intermediate override, so overrides
  cannot drift step by step down the tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_number, format_percent

__all__ = [
    "PERIOD_PATTERN",
    "Bounds",
    "allowed_range",
    "ancestor_paths",
    "check_override",
    "effective_target",
    "format_share",
    "valid_period",
]

V = TypeVar("V")

PERIOD_PATTERN = re.compile(r"^(current|\d{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?)$")
"""``current``, a year, a half, a quarter or a month: ``2027``, ``2027-H1``, ``2027-Q3``,
``2027-05``."""


@dataclass(frozen=True)
class Bounds:
    """Limits for local overrides of a KPI's central target (``None``: no limit)."""

    min_value: Decimal | None = None
    """Lowest allowed target."""
    max_value: Decimal | None = None
    """Highest allowed target."""
    max_deviation_pct: Decimal | None = None
    """Largest allowed distance from the central target, in percent of it."""

    @property
    def empty(self) -> bool:
        """No limit at all."""
        return self.min_value is None and self.max_value is None and self.max_deviation_pct is None


def valid_period(period: str) -> bool:
    """True for ``current`` and calendar periods such as ``2027`` or ``2027-Q3``."""
    return bool(PERIOD_PATTERN.fullmatch(period))


def ancestor_paths(unit_path: str) -> list[str]:
    """The unit's own path, then its parent's, up to the root: ``/1/4/`` → ``/1/4/``, ``/1/``."""
    parts = [p for p in unit_path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(len(parts), 0, -1)]


def effective_target(
    unit_path: str, targets_by_unit_path: Mapping[str, V]
) -> tuple[V | None, str | None]:
    """The target that holds at a unit and the path of the unit that set it.

    The unit's own target wins; without one, the nearest ancestor's. ``(None, None)`` when
    no unit on the way up to the root has one.
    """
    for path in ancestor_paths(unit_path):
        if path in targets_by_unit_path:
            return targets_by_unit_path[path], path
    return None, None


def allowed_range(
    central_value: Decimal | None, bounds: Bounds
) -> tuple[Decimal | None, Decimal | None]:
    """Lowest and highest override the bounds allow (``None``: unlimited on that side).

    With a deviation limit but no central target nothing can be compared, so only the
    absolute limits count here; :func:`check_override` refuses that case separately.
    """
    low, high = bounds.min_value, bounds.max_value
    if bounds.max_deviation_pct is not None and central_value is not None:
        spread = abs(central_value) * bounds.max_deviation_pct / Decimal(100)
        low = central_value - spread if low is None else max(low, central_value - spread)
        high = central_value + spread if high is None else min(high, central_value + spread)
    return low, high


def format_share(pct: Decimal) -> str:
    """A percentage given in percent (``12.5``) in the locale's style (``12,5 %``)."""
    exponent = pct.normalize().as_tuple().exponent
    digits = max(0, -exponent) if isinstance(exponent, int) else 0
    return format_percent(pct / Decimal(100), digits=min(digits, 3))


def check_override(
    central_value: Decimal | None,
    override: Decimal,
    bounds: Bounds,
    fmt: Callable[[Decimal], str] = format_number,
) -> str | None:
    """Why ``override`` is not allowed as a local target, or ``None`` when it is.

    The message is translated into the current language; ``fmt`` formats the numbers
    in it (Babel, current locale).
    """
    if bounds.min_value is not None and override < bounds.min_value:
        return _("The target must be at least %(min)s.", min=fmt(bounds.min_value))
    if bounds.max_value is not None and override > bounds.max_value:
        return _("The target must be at most %(max)s.", max=fmt(bounds.max_value))
    if bounds.max_deviation_pct is None:
        return None
    if central_value is None:
        return _(
            "There is no central target yet: local targets are checked against it, so it"
            " must be set first."
        )
    low, high = allowed_range(central_value, bounds)
    assert low is not None and high is not None
    if low <= override <= high:
        return None
    return _(
        "The target may differ from the central target %(central)s by at most %(pct)s,"
        " so it must lie between %(low)s and %(high)s.",
        central=fmt(central_value),
        pct=format_share(bounds.max_deviation_pct),
        low=fmt(low),
        high=fmt(high),
    )
