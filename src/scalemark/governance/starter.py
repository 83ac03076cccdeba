""" "Start from the Scalemark template": a sensible first governance from the whitepaper.

Standards for the campaign process, the use of central templates, CI guardrails and KPI
reporting; a two-step campaign approval; RACI rows for campaign planning, localisation,
approval and KPI reporting; decision paths, escalation levels and coordination rhythms.
Texts are written in the tenant's default language when the template is applied (they are
ordinary drafts afterwards). Items whose title already exists are skipped, so applying the
template twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.governance import operating_model, raci, standards, workflows
from scalemark.governance.operating_model import ModelItemData
from scalemark.governance.raci import ActivityData
from scalemark.governance.standards import StandardData
from scalemark.governance.workflows import StepData, WorkflowData
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n import use_locale
from scalemark.identity import audit

__all__ = ["StarterResult", "apply_starter_template"]

_STANDARDS = (
    (
        "campaign",
        "mandatory",
        _l("Campaign process"),
        _l(
            "Every campaign runs through the same stages: brief, plan, create and localise,"
            " approve, launch, evaluate. Each stage has an owner and ends with a documented"
            " result."
        ),
        (),
        "hq_admin",
    ),
    (
        "campaign",
        "mandatory",
        _l("Use of central campaign templates"),
        _l(
            "Local teams build campaigns from the central templates and only change the parts"
            " marked as editable. New templates are requested from HQ instead of being built"
            " locally."
        ),
        ("region", "country", "business_unit", "brand", "team"),
        "unit_lead",
    ),
    (
        "campaign",
        "mandatory",
        _l("Corporate identity and brand guardrails"),
        _l(
            "All content follows the binding CI and governance guidelines. Local adaptations"
            " of language, images and offers stay within these guardrails."
        ),
        (),
        "hq_admin",
    ),
    (
        "process",
        "mandatory",
        _l("KPI reporting"),
        _l(
            "Every unit reports the centrally defined KPIs every month from the shared data"
            " basis. Each KPI has one owner; deviations from the targets come with the action"
            " derived from them."
        ),
        (),
        "unit_lead",
    ),
    (
        "process",
        "recommended",
        _l("Feedback after each campaign"),
        _l(
            "After each campaign the unit collects what worked and what did not and shares it"
            " with HQ, so that standards and templates improve continuously."
        ),
        ("country", "business_unit", "brand", "team"),
        "unit_lead",
    ),
)

_WORKFLOW_NAME = _l("Campaign approval")
_WORKFLOW_TEXT = _l(
    "Two steps: the unit lead approves the localised campaign, then HQ checks it against the"
    " central standards before launch."
)
_WORKFLOW_STEPS = (
    StepData("unit_lead", "same_unit", "3", "unit_lead", "parent"),
    StepData("hq_admin", "hq", "5", "hq_admin", "hq"),
)

_RACI = (
    (
        _l("Campaign planning"),
        {"hq_admin": "C", "unit_lead": "A", "contributor": "R", "stakeholder": "I"},
    ),
    (
        _l("Localisation of content"),
        {"hq_admin": "C", "unit_lead": "A", "contributor": "R"},
    ),
    (
        _l("Campaign approval"),
        {"hq_admin": "A", "unit_lead": "R", "contributor": "I"},
    ),
    (
        _l("KPI reporting"),
        {"hq_admin": "A", "unit_lead": "R", "it_owner": "C", "stakeholder": "I"},
    ),
    (
        _l("Roles, rights and platform configuration"),
        {"hq_admin": "A", "it_owner": "R", "unit_lead": "C"},
    ),
)

_MODEL = (
    (
        "decision_path",
        _l("Central standards"),
        _l(
            "HQ decides on process and campaign standards, KPI definitions and central"
            " templates after consulting the regions."
        ),
        "",
        (),
    ),
    (
        "decision_path",
        _l("Local adaptations"),
        _l(
            "Units decide on local adaptations within the guardrails themselves; anything"
            " that touches a mandatory standard goes to HQ."
        ),
        "",
        (),
    ),
    (
        "escalation_level",
        _l("Level 1: unit lead"),
        _l("Deviations and overdue approvals go to the lead of the unit first."),
        "",
        (),
    ),
    (
        "escalation_level",
        _l("Level 2: region"),
        _l("If the unit cannot solve it within five working days, the region decides."),
        "",
        (),
    ),
    (
        "escalation_level",
        _l("Level 3: HQ governance board"),
        _l("Conflicts between units or with central standards are decided by HQ."),
        "",
        (),
    ),
    (
        "coordination_rhythm",
        _l("Governance board"),
        _l("Reviews standards, KPIs and the rollout; decides on changes to the governance."),
        "quarterly",
        ("hq_admin", "unit_lead"),
    ),
    (
        "coordination_rhythm",
        _l("Campaign planning round"),
        _l("HQ and the units align the campaign calendar and the use of templates."),
        "monthly",
        ("hq_admin", "unit_lead", "contributor"),
    ),
    (
        "coordination_rhythm",
        _l("KPI review"),
        _l("The units present their KPIs against the targets and the actions derived."),
        "monthly",
        ("hq_admin", "unit_lead", "stakeholder"),
    ),
)


@dataclass(frozen=True)
class StarterResult:
    """How many items the template added (existing titles are skipped)."""

    standards: int = 0
    workflows: int = 0
    raci: int = 0
    operating_model: int = 0

    @property
    def total(self) -> int:
        """Everything added."""
        return self.standards + self.workflows + self.raci + self.operating_model


async def apply_starter_template() -> StarterResult:
    """Add the starter set as drafts, in the tenant's default language, in one transaction."""
    with use_locale(current_tenant().default_locale):
        async with tenant_transaction():
            have_standards = {
                s.title.casefold() for s in await standards.list_standards() if s.central
            }
            added_standards = 0
            for category, level, title, text, kinds, owner in _STANDARDS:
                if str(title).casefold() in have_standards:
                    continue
                await standards.create_standard(
                    StandardData(str(title), str(text), category, level, list(kinds), owner)
                )
                added_standards += 1

            added_workflows = 0
            names = {w.name.casefold() for w in await workflows.list_workflows()}
            if str(_WORKFLOW_NAME).casefold() not in names:
                steps = [StepData(**vars(s)) for s in _WORKFLOW_STEPS]
                await workflows.create_workflow(
                    WorkflowData(str(_WORKFLOW_NAME), str(_WORKFLOW_TEXT), steps)
                )
                added_workflows = 1

            rows = {a.title.casefold() for a in await raci.list_activities()}
            added_raci = 0
            for title, letters in _RACI:
                if str(title).casefold() in rows:
                    continue
                await raci.create_activity(ActivityData(str(title), "", dict(letters)))
                added_raci += 1

            items = {(i.kind, i.title.casefold()) for i in await operating_model.list_items()}
            added_items = 0
            for kind, title, details, cadence, roles in _MODEL:
                if (kind, str(title).casefold()) in items:
                    continue
                await operating_model.create_item(
                    ModelItemData(kind, str(title), str(details), cadence, list(roles))
                )
                added_items += 1
            result = StarterResult(added_standards, added_workflows, added_raci, added_items)
            await audit.record(
                "governance.template.apply",
                object_type="governance",
                object_id="starter",
                after=vars(result),
            )
    return result
