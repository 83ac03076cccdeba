"""Words of the governance workspace: choices, their translated labels and the error type.

Plain data, no database. Roles are the tenant's roles (``identity.roles``), so approval
steps and RACI columns map onto people who actually hold them.
"""

from __future__ import annotations

from scalemark.i18n import lazy_gettext as _l
from scalemark.org.rules import UNIT_KINDS

__all__ = [
    "APPROVER_LEVELS",
    "APPROVER_ROLES",
    "CADENCES",
    "CATEGORIES",
    "GOVERNANCE_ROLES",
    "LEVELS",
    "OPERATING_MODEL_KINDS",
    "RACI_LETTERS",
    "ROLE_NAMES",
    "TEXT_MAX",
    "TITLE_MAX",
    "UNIT_KINDS",
    "GovernanceError",
    "GovernanceErrors",
    "clean_text",
    "storable_id",
]

TITLE_MAX = 200
"""Longest title or name."""
TEXT_MAX = 4000
"""Longest description or details text."""

GOVERNANCE_ROLES = ("hq_admin", "unit_lead", "contributor", "it_owner", "stakeholder")
"""Roles that own standards, sit in RACI columns and take part in meetings."""

APPROVER_ROLES = ("hq_admin", "unit_lead", "contributor", "it_owner")
"""Roles that can approve or take an escalation (stakeholders only read)."""

ROLE_NAMES: dict[str, object] = {
    "hq_admin": _l("HQ admin"),
    "unit_lead": _l("Unit lead"),
    "contributor": _l("Contributor"),
    "it_owner": _l("IT / platform owner"),
    "stakeholder": _l("Stakeholder"),
}
"""Short role names for tables and matrices."""

CATEGORIES: dict[str, object] = {
    "process": _l("Process standard"),
    "campaign": _l("Campaign standard"),
}
"""Kinds of standard."""

LEVELS: dict[str, object] = {
    "mandatory": _l("Mandatory"),
    "recommended": _l("Recommended"),
}
"""How binding a standard is."""

APPROVER_LEVELS: dict[str, object] = {
    "same_unit": _l("The unit itself"),
    "parent": _l("The parent unit"),
    "region": _l("The region above"),
    "country": _l("The country above"),
    "business_unit": _l("The business unit above"),
    "brand": _l("The brand above"),
    "team": _l("The team above"),
    "hq": _l("Headquarters"),
}
"""Where an approver sits, seen from the unit that asks for approval."""

RACI_LETTERS: dict[str, object] = {
    "R": _l("Responsible"),
    "A": _l("Accountable"),
    "C": _l("Consulted"),
    "I": _l("Informed"),
}
"""RACI letters and what they mean."""

OPERATING_MODEL_KINDS: dict[str, object] = {
    "decision_path": _l("Decision paths"),
    "escalation_level": _l("Escalation levels"),
    "coordination_rhythm": _l("Coordination rhythms"),
}
"""Parts of the operating model."""

CADENCES: dict[str, object] = {
    "weekly": _l("Weekly"),
    "every_two_weeks": _l("Every two weeks"),
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "half_yearly": _l("Every six months"),
    "yearly": _l("Yearly"),
    "as_needed": _l("As needed"),
}
"""How often a coordination rhythm meets."""


class GovernanceError(ValueError):
    """A governance change that breaks a rule; ``field`` names the form field at fault.

    ``field`` is ``"form"`` for problems of the whole form; steps use ``steps`` or
    ``step-<n>-<name>``.
    """

    def __init__(self, field: str, message: object) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message

    @property
    def errors(self) -> dict[str, str]:
        """The error as a field → message map for forms."""
        return {self.field: str(self.message)}


class GovernanceErrors(GovernanceError):
    """Several field errors at once (a form reports all of them together)."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()), ("form", ""))
        super().__init__(first[0], first[1])
        self._errors = dict(errors)

    @property
    def errors(self) -> dict[str, str]:
        """Every field error."""
        return dict(self._errors)


def storable_id(value: int, *, bits: int = 64) -> bool:
    """An id a ``bigint`` (or, with ``bits=32``, an ``integer``) column can hold, above 0.

    URLs accept any integer; larger ones would make the driver fail instead of "not found".
    """
    return 0 < value < 2 ** (bits - 1)


def clean_text(value: object, limit: int = TEXT_MAX) -> str:
    """A form value as trimmed text with normalised line endings (``None`` → ``""``)."""
    text = "" if value is None else str(value)
    return text.replace("\r\n", "\n").strip()[: limit + 1]
