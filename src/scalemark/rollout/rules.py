"""Rollout rules: the five stages, gate criteria and stage transitions (no database).

The stages are the whitepaper's rollout logic, repeated per unit:

1. central governance defined, 2. organisation structure mapped into roles and units,
3. pilot of an initial use case, 4. transfer to further units, 5. continuous extension
and optimisation.

HQ sets *gate criteria* for entering stages 2–5. A data criterion (assessment maturity,
adoption) is met when the unit's figure reaches the threshold; while no figure exists
the gate cannot be met by data and a manual sign-off with a note stands in for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from scalemark.i18n import lazy_gettext as _l

__all__ = [
    "CRITERIA",
    "DATA_CRITERIA",
    "FIRST_STAGE",
    "LAST_STAGE",
    "NOTE_MAX",
    "STAGES",
    "THRESHOLD_RANGES",
    "CriterionResult",
    "CriterionStatus",
    "GateCriterion",
    "GateResult",
    "MoveDecision",
    "RolloutError",
    "Stage",
    "UnitFacts",
    "check_move",
    "evaluate_gate",
    "parse_gate_form",
    "parse_stage",
    "stage_counts",
    "stage_of",
]

FIRST_STAGE = 1
LAST_STAGE = 5
NOTE_MAX = 2000
"""Longest note on a move."""


@dataclass(frozen=True)
class Stage:
    """One rollout stage."""

    number: int
    short: object
    """Short name for column heads and charts."""
    title: object
    """The whitepaper's wording."""


STAGES: tuple[Stage, ...] = (
    Stage(1, _l("Governance"), _l("Central governance defined")),
    Stage(2, _l("Structure"), _l("Organisation structure mapped into roles and units")),
    Stage(3, _l("Pilot"), _l("Pilot of an initial use case")),
    Stage(4, _l("Transfer"), _l("Transfer to further units")),
    Stage(5, _l("Optimisation"), _l("Continuous extension and optimisation")),
)
"""The five stages in order."""


def stage_of(number: int) -> Stage:
    """The stage with this number (1–5)."""
    return STAGES[number - 1]


class RolloutError(ValueError):
    """A rollout change that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


CRITERIA: dict[str, object] = {
    "assessment_maturity_at_least": _l("Assessment maturity at least"),
    "adoption_at_least": _l("Adoption at least (percent)"),
    "manual_signoff": _l("Manual sign-off"),
}
"""Kinds of gate criteria and their names."""

DATA_CRITERIA = ("assessment_maturity_at_least", "adoption_at_least")
"""Criteria evaluated from data (assessment scores, adoption metrics)."""

THRESHOLD_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "assessment_maturity_at_least": (Decimal(0), Decimal(5)),
    "adoption_at_least": (Decimal(0), Decimal(100)),
}
"""Allowed thresholds: maturity levels 0–5, adoption in percent."""


@dataclass(frozen=True)
class GateCriterion:
    """One criterion of the gate into ``stage``."""

    stage: int
    criterion: str
    threshold: Decimal | None = None


@dataclass(frozen=True)
class UnitFacts:
    """What is known about a unit for gate checks (``None``: no data yet)."""

    maturity: float | None = None
    """Latest assessment maturity (0–5)."""
    adoption: float | None = None
    """Adoption in percent (0–100)."""


class CriterionStatus(StrEnum):
    """How a criterion stands for a unit."""

    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"
    """A data criterion without data yet: needs a manual sign-off with a note."""
    SIGNOFF = "signoff"
    """Always a manual decision."""


@dataclass(frozen=True)
class CriterionResult:
    """One criterion evaluated for one unit."""

    criterion: GateCriterion
    status: CriterionStatus
    value: float | None = None
    """The unit's figure, when there is one."""


@dataclass(frozen=True)
class GateResult:
    """The gate into ``stage`` evaluated for one unit."""

    stage: int
    results: tuple[CriterionResult, ...] = field(default=())

    @property
    def met(self) -> bool:
        """Every criterion is met by data (a gate without criteria is open)."""
        return all(r.status is CriterionStatus.MET for r in self.results)

    @property
    def needs_signoff(self) -> bool:
        """Moving in takes a manual sign-off with a note."""
        return not self.met


def evaluate_gate(stage: int, criteria: Iterable[GateCriterion], facts: UnitFacts) -> GateResult:
    """Evaluate the criteria of the gate into ``stage`` against a unit's facts."""
    results: list[CriterionResult] = []
    for item in criteria:
        if item.stage != stage:
            continue
        if item.criterion == "manual_signoff":
            results.append(CriterionResult(item, CriterionStatus.SIGNOFF))
            continue
        value = facts.maturity if item.criterion == "assessment_maturity_at_least" else None
        if item.criterion == "adoption_at_least":
            value = facts.adoption
        if value is None:
            results.append(CriterionResult(item, CriterionStatus.NO_DATA))
        elif item.threshold is not None and Decimal(str(value)) >= item.threshold:
            results.append(CriterionResult(item, CriterionStatus.MET, value))
        else:
            results.append(CriterionResult(item, CriterionStatus.NOT_MET, value))
    return GateResult(stage, tuple(results))


def parse_stage(value: object, field_name: str = "to_stage") -> int:
    """A stage number from a form or JSON value, or :class:`RolloutError`."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise RolloutError(field_name, _l("Choose a stage from 1 to 5.")) from None
    if not FIRST_STAGE <= number <= LAST_STAGE:
        raise RolloutError(field_name, _l("Choose a stage from 1 to 5."))
    return number


@dataclass(frozen=True)
class MoveDecision:
    """An allowed move."""

    from_stage: int
    to_stage: int
    note: str
    signed_off: bool
    """A manual sign-off stood in for gate criteria not met by data."""


def check_move(
    current: int, target: int, gate: GateResult | None, *, note: str, sign_off: bool
) -> MoveDecision:
    """Decide whether a unit may move from ``current`` to ``target``.

    Forward moves go one stage at a time and need the target's gate met by data or a
    manual sign-off with a note. Moving back is always possible, with a note saying why.
    """
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise RolloutError("note", _l("Keep the note to at most 2000 characters."))
    if not FIRST_STAGE <= target <= LAST_STAGE:
        raise RolloutError("to_stage", _l("Choose a stage from 1 to 5."))
    if target == current:
        raise RolloutError("to_stage", _l("The unit is already in this stage."))
    if target < current:
        if not note:
            raise RolloutError("note", _l("Say in a note why the unit goes back."))
        return MoveDecision(current, target, note, signed_off=False)
    if target > current + 1:
        raise RolloutError("to_stage", _l("Move forward one stage at a time."))
    if gate is None or gate.met:
        return MoveDecision(current, target, note, signed_off=False)
    if not sign_off:
        raise RolloutError(
            "sign_off",
            _l(
                "The gate into this stage is not met by data. Sign off manually with a note"
                " to move the unit anyway."
            ),
        )
    if not note:
        raise RolloutError("note", _l("A manual sign-off needs a note."))
    return MoveDecision(current, target, note, signed_off=True)


def parse_gate_form(form: Mapping[str, str]) -> tuple[list[GateCriterion], dict[str, object]]:
    """Gate criteria from the gate form.

    Fields per stage N (2–5): ``maturity_N`` and ``adoption_N`` (blank: no such criterion)
    and ``signoff_N`` (present: a manual sign-off is always needed). Returns the criteria
    and errors by field name.
    """
    criteria: list[GateCriterion] = []
    errors: dict[str, object] = {}
    for stage in range(FIRST_STAGE + 1, LAST_STAGE + 1):
        for prefix, criterion in (
            ("maturity", "assessment_maturity_at_least"),
            ("adoption", "adoption_at_least"),
        ):
            name = f"{prefix}_{stage}"
            raw = (form.get(name) or "").strip().replace(",", ".")
            if not raw:
                continue
            try:
                threshold = Decimal(raw)
            except InvalidOperation:
                threshold = Decimal("NaN")
            low, high = THRESHOLD_RANGES[criterion]
            if threshold.is_nan() or not low <= threshold <= high:
                errors[name] = (
                    _l("Enter a maturity level from 0 to 5.")
                    if prefix == "maturity"
                    else _l("Enter a percentage from 0 to 100.")
                )
                continue
            criteria.append(GateCriterion(stage, criterion, threshold.quantize(Decimal("0.01"))))
        if form.get(f"signoff_{stage}"):
            criteria.append(GateCriterion(stage, "manual_signoff"))
    return criteria, errors


def stage_counts(stages: Sequence[int]) -> dict[int, int]:
    """How many units are in each stage (every stage present, zero included)."""
    counts = dict.fromkeys(range(FIRST_STAGE, LAST_STAGE + 1), 0)
    for stage in stages:
        counts[stage] = counts.get(stage, 0) + 1
    return counts
