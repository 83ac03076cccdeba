"""Target maturity per framework dimension, set by HQ as part of the governance setup.

New assessments start from these targets; dimensions HQ left open fall back to the
targets of the latest assessment and then to the framework's own default.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from scalemark.assessment.framework import Framework
from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity import audit

__all__ = ["parse_targets", "save_targets", "targets_for"]


def parse_targets(
    framework: Framework, raw: Mapping[str, str]
) -> tuple[dict[str, float], dict[str, object]]:
    """Levels per dimension from form text (blank: no target), and errors by dimension."""
    levels: dict[str, float] = {}
    errors: dict[str, object] = {}
    for dimension in framework.dimensions:
        text = (raw.get(dimension.key) or "").strip().replace(",", ".")
        if not text:
            continue
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors[dimension.key] = _l("Enter a level from 1 to 5, e.g. 3 or 3.5.")
            continue
        if not value.is_finite() or not Decimal(1) <= value <= Decimal(5):
            errors[dimension.key] = _l("Enter a level from 1 to 5, e.g. 3 or 3.5.")
            continue
        if value != value.quantize(Decimal("0.1")):
            errors[dimension.key] = _l("Use at most one decimal place (e.g. 3.5).")
            continue
        levels[dimension.key] = float(value)
    return levels, errors


async def targets_for(framework_key: str) -> dict[str, float]:
    """HQ's targets for a framework's dimensions (only those HQ set)."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT dimension_key, level FROM maturity_target WHERE framework_key = $1",
            framework_key,
        )
    return {r["dimension_key"]: float(r["level"]) for r in rows}


async def save_targets(framework: Framework, levels: Mapping[str, float]) -> bool:
    """Replace HQ's targets for ``framework`` (audited); True when something changed."""
    async with tenant_transaction() as conn:
        before = await targets_for(framework.key)
        after = {k: float(v) for k, v in levels.items() if framework.has_dimension(k)}
        if before == after:
            return False
        await conn.execute("DELETE FROM maturity_target WHERE framework_key = $1", framework.key)
        for key, level in after.items():
            await conn.execute(
                "INSERT INTO maturity_target (framework_key, dimension_key, level)"
                " VALUES ($1, $2, $3)",
                framework.key,
                key,
                Decimal(str(level)),
            )
        await audit.record(
            "governance.maturity_targets",
            object_type="framework",
            object_id=framework.key,
            before=before,
            after=after,
        )
    return True
