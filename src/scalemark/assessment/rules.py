"""Assessment rules as plain functions: lifecycle moves and who may do what.

No database here; :mod:`scalemark.assessment.service` applies these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n import lazy_pgettext as _lp
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission

__all__ = [
    "ACTIONS",
    "EDITABLE_STATUSES",
    "NEXT_CYCLE_STATUSES",
    "RESULT_STATUSES",
    "STATUSES",
    "STATUS_LABELS",
    "AssessmentError",
    "Move",
    "SetupValues",
    "can_answer_status",
    "can_run",
    "can_see_results",
    "moves_from",
    "next_status",
    "parse_due_date",
    "parse_setup",
    "parse_target",
    "runner_refusal",
]

STATUSES = ("draft", "open", "in_review", "closed")
"""Lifecycle order."""

STATUS_LABELS: dict[str, object] = {
    "draft": _lp("assessment status", "Draft"),
    "open": _lp("assessment status", "Open"),
    "in_review": _lp("assessment status", "In review"),
    "closed": _lp("assessment status", "Closed"),
}
"""Translated status names."""

EDITABLE_STATUSES = frozenset({"draft", "open"})
"""Statuses in which the setup (scope, targets, respondents) may change."""

NEXT_CYCLE_STATUSES = frozenset({"in_review", "closed"})
"""Statuses from which the next cycle may start."""

RESULT_STATUSES = frozenset({"in_review", "closed"})
"""Statuses in which results show to people who do not run assessments."""


class AssessmentError(ValueError):
    """A change that breaks a rule; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Move:
    """A lifecycle action: from which statuses, to which, and whether it needs a reason."""

    action: str
    to_status: str
    from_statuses: frozenset[str]
    needs_reason: bool
    label: object


ACTIONS: dict[str, Move] = {
    "open": Move("open", "open", frozenset({"draft"}), False, _l("Open for answers")),
    "review": Move("review", "in_review", frozenset({"open"}), False, _l("Start the review")),
    "close": Move("close", "closed", frozenset({"in_review"}), False, _l("Close and lock")),
    "reopen": Move(
        "reopen", "open", frozenset({"in_review", "closed"}), True, _l("Reopen for answers")
    ),
    "back_to_review": Move(
        "back_to_review", "in_review", frozenset({"closed"}), True, _l("Reopen the review")
    ),
}
"""Every lifecycle action by name."""


def next_status(current: str, action: str, reason: str = "") -> str:
    """The status after ``action``, or :class:`AssessmentError` when it is not allowed."""
    move = ACTIONS.get(action)
    if move is None or current not in move.from_statuses:
        raise AssessmentError(
            "action",
            _l("This step is not possible now: the assessment is %(status)s.")
            % {"status": STATUS_LABELS.get(current, current)},
        )
    if move.needs_reason and not reason.strip():
        raise AssessmentError("reason", _l("Please give a reason for reopening."))
    if len(reason) > 2000:
        raise AssessmentError("reason", _l("The reason is too long (2,000 characters at most)."))
    return move.to_status


def can_answer_status(status: str) -> bool:
    """Answers may change only while the assessment is open."""
    return status == "open"


def can_run(principal: Principal | None) -> bool:
    """May create, set up, review and close assessments (anywhere in the tenant)."""
    return principal is not None and principal.can(Permission.RUN_ASSESSMENTS)


def runner_refusal(principal: Principal | None, status: str | None) -> int | None:
    """The HTTP status refusing a runner's action on an assessment in ``status``, else None.

    404 when there is no assessment (``status`` None) and for drafts to non-runners, who
    may not know of them; 403 for anyone else who does not run assessments.
    """
    if status is None or (status == "draft" and not can_run(principal)):
        return 404
    return None if can_run(principal) else 403


def can_see_results(principal: Principal | None, status: str, unit_path: str) -> bool:
    """Results of a unit: assessment runners always, others with ``view`` once in review."""
    if principal is None:
        return False
    if can_run(principal):
        return True
    return status in RESULT_STATUSES and principal.can(Permission.VIEW, unit_path)


def moves_from(status: str) -> list[Move]:
    """The lifecycle actions possible from ``status``, in a stable order."""
    return [move for move in ACTIONS.values() if status in move.from_statuses]


def parse_target(raw: str) -> float:
    """A target level from a form (``3``, ``3.5``, ``3,5``), rounded to one decimal."""
    try:
        value = Decimal(raw.strip().replace(",", "."))
    except InvalidOperation:
        raise AssessmentError("target", _l("Enter a target level from 1 to 5.")) from None
    if not value.is_finite() or not 1 <= value <= 5:
        raise AssessmentError("target", _l("Enter a target level from 1 to 5."))
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def parse_due_date(raw: str, *, today: date | None = None) -> date | None:
    """A due date (``YYYY-MM-DD``) or None when left empty; ``today`` refuses past dates."""
    text = raw.strip()
    if not text:
        return None
    try:
        due = date.fromisoformat(text)
    except ValueError:
        raise AssessmentError("due_date", _l("Enter the due date as a date.")) from None
    if today is not None and due < today:
        raise AssessmentError("due_date", _l("The due date lies in the past."))
    return due


@dataclass
class SetupValues:
    """An assessment's setup read from a form, with a message per field at fault."""

    title: str = ""
    unit_ids: list[int] = field(default_factory=list)
    due_date: date | None = None
    targets: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_setup(
    title: str,
    unit_values: Iterable[str],
    due_date: str,
    target_values: Mapping[str, str],
    dimensions: Iterable[str],
    *,
    today: date | None = None,
) -> SetupValues:
    """Read title, units, due date and targets; every field's mistake is reported.

    ``target_values`` holds the posted ``target_<dimension>`` fields; a dimension without
    a field keeps its default, an empty or bad field is a mistake. Whether the units exist
    is for the service to say (it sees the tenant's tree).
    """
    found = SetupValues(title=title.strip())
    if not found.title:
        found.errors["title"] = str(_l("Please give the assessment a title."))
    elif len(found.title) > 200:
        found.errors["title"] = str(_l("The title is too long (200 characters at most)."))
    ids: list[int] = []
    for raw in unit_values:
        text = str(raw).strip()
        if not text.isdigit() or len(text) > 18:
            found.errors["units"] = str(
                _l("Some of the chosen units do not exist or are archived.")
            )
            break
        ids.append(int(text))
    found.unit_ids = list(dict.fromkeys(ids))
    if not found.unit_ids and "units" not in found.errors:
        found.errors["units"] = str(_l("Choose at least one unit to assess."))
    try:
        found.due_date = parse_due_date(due_date, today=today)
    except AssessmentError as exc:
        found.errors["due_date"] = str(exc.message)
    for key in dimensions:
        raw_target = target_values.get(key)
        if raw_target is None:
            continue
        try:
            found.targets[key] = parse_target(raw_target)
        except AssessmentError as exc:
            found.errors[f"target_{key}"] = str(exc.message)
    return found
