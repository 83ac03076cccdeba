"""A realistic organisation for report tests and previews, on the built-in framework.

:func:`report_world` builds (inside the current tenant) HQ > regions > countries, a closed
first cycle and an answered second cycle of the Marketing Scalability Framework with
targets, one to three respondents per country, comments and evidence links, consultant
validations, tension-field positions, rollout stages, and the starter KPI set published
as governance version 1. Answers are generated from a fixed seed, so a world of the same
size is always the same; every text the respondents write is German.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from scalemark.assessment import registry, service
from scalemark.assessment.framework import Framework
from scalemark.db import tenant_transaction
from scalemark.org import service as org_service
from scalemark.org.rules import UnitData

__all__ = ["REGIONS", "ReportWorld", "report_world"]

REGIONS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "DACH": (
        "Region DACH",
        [
            ("DE", "Deutschland"),
            ("AT", "Österreich"),
            ("CH", "Schweiz"),
            ("DE-N", "Deutschland Nord"),
            ("DE-S", "Deutschland Süd"),
            ("DE-W", "Deutschland West"),
            ("DE-O", "Deutschland Ost"),
            ("LI", "Liechtenstein"),
            ("LU", "Luxemburg"),
        ],
    ),
    "WEST": (
        "Region Westeuropa",
        [
            ("FR", "Frankreich"),
            ("BE", "Belgien"),
            ("NL", "Niederlande"),
            ("UK", "Vereinigtes Königreich"),
            ("IE", "Irland"),
            ("FR-S", "Frankreich Süd"),
            ("FR-N", "Frankreich Nord"),
            ("PT", "Portugal"),
            ("ES", "Spanien"),
        ],
    ),
    "SOUTH": (
        "Region Südeuropa",
        [
            ("IT", "Italien"),
            ("IT-N", "Italien Nord"),
            ("GR", "Griechenland"),
            ("HR", "Kroatien"),
            ("SI", "Slowenien"),
            ("MT", "Malta"),
            ("CY", "Zypern"),
            ("RO", "Rumänien"),
        ],
    ),
    "NORD": (
        "Region Nordeuropa",
        [
            ("SE", "Schweden"),
            ("NO", "Norwegen"),
            ("DK", "Dänemark"),
            ("FI", "Finnland"),
            ("EE", "Estland"),
            ("LV", "Lettland"),
            ("LT", "Litauen"),
            ("PL", "Polen"),
            ("IS", "Island"),
        ],
    ),
}
"""Four regions with 35 countries: 40 units with the HQ."""

_PEOPLE = ("anna.berg", "jonas.keller", "lea.roth", "max.vogel", "sofia.neumann", "tim.lang")
_COMMENTS = (
    "Die Vorlagen werden nur teilweise genutzt; lokale Agenturen arbeiten mit eigenen Dateien.",
    "Seit dem letzten Quartal gibt es einen verbindlichen Freigabeprozess.",
    "Unklar, wer die Stammdaten pflegt – das Thema liegt zwischen Vertrieb und Marketing.",
    "Die Kennzahlen werden monatlich an die Zentrale berichtet, aber selten besprochen.",
    "Pilot mit zwei Teams läuft, Ergebnisse erwarten wir im Herbst.",
    "Schulungen fanden statt, die Beteiligung war gering.",
)


@dataclass
class ReportWorld:
    """What :func:`report_world` created."""

    units: dict[str, int]
    """Unit code → id (``HQ``, the region codes, the country codes)."""
    assessment: service.Assessment
    previous: service.Assessment | None
    framework: Framework


# Dimensions differ in maturity, so the profile has a shape (strong governance, weak data).
_DIMENSION_OFFSET = {
    "governance": 0.7,
    "execution": 0.3,
    "system": -0.2,
    "data": -0.8,
    "organisation": 0.4,
    "operating_model": 0.0,
    "rollout": -0.3,
    "kpi_system": -0.6,
    "change_adoption": 0.1,
}


def _level(rng: random.Random, base: float) -> int:
    return max(1, min(5, round(base + rng.uniform(-0.9, 0.9))))


async def _answer(
    conn: object, framework: Framework, respondent_id: int, base: float, rng: random.Random
) -> None:
    rows = []
    levels: dict[str, int | None] = {}
    for question in framework.questions():
        condition = question.depends_on
        if condition and not condition.holds(levels.get(condition.question)):
            continue
        roll = rng.random()
        if roll < 0.03:
            rows.append((respondent_id, question.key, "dk", None, None, "", ""))
            levels[question.key] = None
            continue
        if roll < 0.05:
            continue  # left unanswered
        level = _level(rng, base + _DIMENSION_OFFSET.get(question.dimension, 0.0))
        levels[question.key] = level
        comment = rng.choice(_COMMENTS) if rng.random() < 0.08 else ""
        evidence = (
            f"https://wiki.example.com/marketing/{question.key}" if rng.random() < 0.04 else ""
        )
        rows.append((respondent_id, question.key, "level", level, None, comment, evidence))
    for tension in framework.tension_fields:
        position = max(0, min(100, round(rng.gauss(40, 20))))
        rows.append((respondent_id, tension.key, "position", None, position, "", ""))
    await conn.executemany(  # type: ignore[attr-defined]
        "INSERT INTO assessment_answer (respondent_id, question_key, choice, level, position,"
        " comment, evidence_url) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        rows,
    )


async def _cycle(
    conn: object,
    framework: Framework,
    assessment_id: int,
    countries: list[tuple[int, str]],
    rng: random.Random,
    uplift: float,
    validate: bool,
) -> None:
    for unit_id, code in countries:
        base = 1.5 + (sum(map(ord, code)) * 7 % 23) / 10 + uplift
        for person in _PEOPLE[: 1 + (sum(map(ord, code)) % 3)]:
            # The next cycle copies the respondents of the first: reuse them.
            respondent_id = await conn.fetchval(  # type: ignore[attr-defined]
                "INSERT INTO assessment_respondent (assessment_id, unit_id, email, locale)"
                " VALUES ($1, $2, $3, 'de') ON CONFLICT (assessment_id, unit_id, email)"
                " DO UPDATE SET locale = EXCLUDED.locale RETURNING id",
                assessment_id,
                unit_id,
                f"{person}@{code.lower()}.example.com",
            )
            await _answer(conn, framework, respondent_id, base, rng)
        if validate and rng.random() < 0.5:
            for question in list(framework.questions())[: rng.randint(3, 10)]:
                await conn.execute(  # type: ignore[attr-defined]
                    "INSERT INTO assessment_validation (assessment_id, unit_id, question_key,"
                    " choice, level, rationale) VALUES ($1, $2, $3, 'level', $4, $5)"
                    " ON CONFLICT DO NOTHING",
                    assessment_id,
                    unit_id,
                    question.key,
                    _level(rng, base),
                    "Im Workshop mit dem Team anhand der Unterlagen bestätigt.",
                )
    await conn.execute(  # type: ignore[attr-defined]
        "UPDATE assessment_unit SET scores_stale = true WHERE assessment_id = $1", assessment_id
    )


async def report_world(
    *,
    countries_per_region: int = 9,
    regions: int = 4,
    previous_cycle: bool = True,
    kpis: bool = True,
    seed: int = 7,
) -> ReportWorld:
    """Build the organisation and its assessments in the current tenant (see module doc)."""
    rng = random.Random(seed)
    framework = registry.latest_builtin("marketing-scalability")
    source = registry.builtin_source(framework)
    ids: dict[str, int] = {}
    countries: list[tuple[int, str]] = []
    async with tenant_transaction() as conn:
        hq = await org_service.create_unit(UnitData("HQ", "Zentrale", "hq"), None)
        ids["HQ"] = hq.id
        for code, (name, members) in list(REGIONS.items())[:regions]:
            region = await org_service.create_unit(UnitData(code, name, "region"), "HQ")
            ids[code] = region.id
            for member_code, member_name in members[:countries_per_region]:
                node = await org_service.create_unit(
                    UnitData(member_code, member_name, "country"), code
                )
                ids[member_code] = node.id
                countries.append((node.id, member_code))
        scope = list(ids.values())
        targets = {d.key: float(d.target) for d in framework.dimensions}
        previous = None
        if previous_cycle:
            previous = await service.create_assessment(
                service.AssessmentSetup(
                    title="Marketing-Skalierbarkeit 2025", unit_ids=scope, targets=targets
                ),
                framework,
                source,
            )
            await service.change_status(previous.id, "open")
            await _cycle(conn, framework, previous.id, countries, rng, 0.0, validate=False)
            await service.change_status(previous.id, "review")
            await service.change_status(previous.id, "close")
            current = await service.start_next_cycle(previous.id, "Marketing-Skalierbarkeit 2026")
        else:
            current = await service.create_assessment(
                service.AssessmentSetup(
                    title="Marketing-Skalierbarkeit 2026", unit_ids=scope, targets=targets
                ),
                framework,
                source,
            )
        await service.change_status(current.id, "open")
        await _cycle(conn, framework, current.id, countries, rng, 0.4, validate=True)
        current = await service.change_status(current.id, "review")
        await conn.executemany(
            "INSERT INTO rollout_stage_current (unit_id, stage) VALUES ($1, $2)",
            [(unit_id, 1 + (sum(map(ord, code)) % 5)) for unit_id, code in countries],
        )
    if kpis:
        from scalemark.governance import kpi_starter, publishing

        await kpi_starter.install_starter_set(["de", "en", "fr", "es", "it"])
        await publishing.publish("KPI-System 2026")
    return ReportWorld(units=ids, assessment=current, previous=previous, framework=framework)
