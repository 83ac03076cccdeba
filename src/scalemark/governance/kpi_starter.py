"""The Scalemark starter KPI set, after the whitepaper's KPI system (section 4).

Central level: overall performance comparable across units (campaign ROI, qualified
leads, cost per lead). Local level: each market against the central targets, and the
adoption of central templates. Campaign level: interaction and customer-journey data.
Names and descriptions are gettext messages, stored in every tenant language; the
"how it is measured" text is stored in the tenant's default language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from scalemark.governance import kpis
from scalemark.governance.kpi_rules import KpiData, KpiError
from scalemark.governance.targets import Bounds
from scalemark.i18n import lazy_gettext as _l
from scalemark.i18n import use_locale
from scalemark.identity import audit

__all__ = ["STARTER_KPIS", "StarterKpi", "install_starter_set"]


@dataclass(frozen=True)
class StarterKpi:
    """One KPI of the starter set."""

    key: str
    level: str
    unit_of_measure: str
    direction: str
    owner_role: str
    mandatory: bool
    name: object
    description: object
    measurement: object
    bounds: Bounds = field(default_factory=Bounds)
    central_target: Decimal | None = None


STARTER_KPIS: tuple[StarterKpi, ...] = (
    StarterKpi(
        key="campaign_roi",
        level="central",
        unit_of_measure="percent",
        direction="higher",
        owner_role="hq_admin",
        mandatory=True,
        name=_l("Overall campaign ROI"),
        description=_l(
            "Return on marketing investment across all units, calculated the same way"
            " everywhere so that countries and business units can be compared."
        ),
        measurement=_l(
            "(Revenue attributed to campaigns − marketing spend) ÷ marketing spend, per"
            " quarter, from the shared data basis."
        ),
        bounds=Bounds(max_deviation_pct=Decimal(25)),
    ),
    StarterKpi(
        key="qualified_leads",
        level="central",
        unit_of_measure="count",
        direction="higher",
        owner_role="hq_admin",
        mandatory=True,
        name=_l("Qualified leads"),
        description=_l(
            "Leads that meet the common qualification criteria, counted identically in every unit."
        ),
        measurement=_l("Number of leads marked as qualified in the CRM, per month."),
        bounds=Bounds(min_value=Decimal(0), max_deviation_pct=Decimal(50)),
    ),
    StarterKpi(
        key="cost_per_lead",
        level="central",
        unit_of_measure="currency",
        direction="lower",
        owner_role="hq_admin",
        mandatory=True,
        name=_l("Cost per lead"),
        description=_l("Marketing spend per qualified lead, comparable across all units."),
        measurement=_l("Marketing spend ÷ qualified leads, per month."),
        bounds=Bounds(min_value=Decimal(0), max_deviation_pct=Decimal(30)),
    ),
    StarterKpi(
        key="market_target_attainment",
        level="local",
        unit_of_measure="percent",
        direction="higher",
        owner_role="unit_lead",
        mandatory=True,
        name=_l("Market performance against central target"),
        description=_l("How far each market or unit reaches the targets set centrally for it."),
        measurement=_l(
            "Achieved value ÷ target value of the unit's central KPIs, averaged, in percent."
        ),
        bounds=Bounds(min_value=Decimal(0), max_value=Decimal(200), max_deviation_pct=Decimal(0)),
        central_target=Decimal(100),
    ),
    StarterKpi(
        key="template_adoption",
        level="local",
        unit_of_measure="percent",
        direction="higher",
        owner_role="unit_lead",
        mandatory=False,
        name=_l("Adoption of central templates"),
        description=_l(
            "Share of the unit's campaigns built from central campaign templates and"
            " localised within the guardrails."
        ),
        measurement=_l(
            "Campaigns based on a central template ÷ all campaigns launched, per quarter."
        ),
        bounds=Bounds(min_value=Decimal(0), max_value=Decimal(100), max_deviation_pct=Decimal(20)),
    ),
    StarterKpi(
        key="engagement_rate",
        level="campaign",
        unit_of_measure="percent",
        direction="higher",
        owner_role="contributor",
        mandatory=False,
        name=_l("Campaign engagement rate"),
        description=_l(
            "Interactions with a campaign (clicks, replies, shares) per contact reached."
        ),
        measurement=_l("Interactions ÷ contacts reached, per campaign."),
        bounds=Bounds(min_value=Decimal(0), max_value=Decimal(100)),
    ),
    StarterKpi(
        key="journey_conversion",
        level="campaign",
        unit_of_measure="percent",
        direction="higher",
        owner_role="contributor",
        mandatory=False,
        name=_l("Customer-journey conversion rate"),
        description=_l("Share of contacts who enter a customer journey and reach its goal step."),
        measurement=_l("Contacts reaching the goal step ÷ contacts entering the journey."),
        bounds=Bounds(min_value=Decimal(0), max_value=Decimal(100)),
    ),
)
"""The starter set, by level."""


def _data(item: StarterKpi, locales: list[str]) -> KpiData:
    names: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    for locale in locales:
        with use_locale(locale):
            names[locale] = str(item.name)
            descriptions[locale] = str(item.description)
    with use_locale(locales[0]):
        measurement = str(item.measurement)
    return KpiData(
        key=item.key,
        level=item.level,
        unit_of_measure=item.unit_of_measure,
        direction=item.direction,
        owner_role=item.owner_role,
        measurement=measurement,
        mandatory=item.mandatory,
        bounds=item.bounds,
        names=names,
        descriptions=descriptions,
    )


async def install_starter_set(locales: list[str]) -> list[kpis.Kpi]:
    """Create the starter KPIs whose keys are still free; returns those created.

    ``locales``: the tenant's languages, default first. Central targets the set defines
    are set at the HQ when it exists.
    """
    from scalemark.db import tenant_transaction
    from scalemark.governance import kpi_targets
    from scalemark.org import service as org_service

    created: list[kpis.Kpi] = []
    async with tenant_transaction():
        root = await org_service.root_unit()
        for item in STARTER_KPIS:
            if await kpis.find_kpi(item.key) is not None:
                continue
            try:
                kpi = await kpis.create_kpi(
                    _data(item, locales), scope_unit_id=None, locales=locales
                )
            except KpiError:
                continue  # a unit's own KPI already uses the key: leave it alone
            if item.central_target is not None and root is not None:
                await kpi_targets.set_target(kpi, root, "current", item.central_target)
            created.append(kpi)
        if created:
            await audit.record(
                "kpi.starter_set",
                object_type="kpi",
                object_id="starter",
                after={"created": [k.key for k in created]},
            )
    return created
