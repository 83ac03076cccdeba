"""Score refresh and results against a real tenant schema, with hand-checked numbers.

The answers are those of :mod:`support.assessment_results` (DE: two respondents, FR: one;
HQ > EU > DE, FR, IT in scope, DE weighing 2).
"""

from __future__ import annotations

import pytest

from scalemark.assessment import results, review, service
from scalemark.db import tenant_transaction
from scalemark.i18n import use_locale
from support.assessment_results import ScoredWorld, answer, answer_all, scored_world

OVERALL = results.OVERALL


async def stale_flags(assessment_id: int) -> dict[int, bool]:
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT unit_id, scores_stale FROM assessment_unit WHERE assessment_id = $1",
            assessment_id,
        )
    return {r["unit_id"]: r["scores_stale"] for r in rows}


async def stored(assessment_id: int, unit_id: int) -> dict[str, tuple]:
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT dimension_key, self_score, validated_score, answered, dont_know,"
            " not_applicable, questions, spread FROM assessment_score"
            " WHERE assessment_id = $1 AND unit_id = $2",
            assessment_id,
            unit_id,
        )
    return {
        r["dimension_key"]: (
            None if r["self_score"] is None else float(r["self_score"]),
            None if r["validated_score"] is None else float(r["validated_score"]),
            r["answered"],
            r["dont_know"],
            r["not_applicable"],
            r["questions"],
            None if r["spread"] is None else float(r["spread"]),
        )
        for r in rows
    }


async def test_refresh_pools_two_respondents_and_clears_the_flag(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant) as conn:
        assert all((await stale_flags(aid)).values())
        assert await results.refresh_scores(aid) == 5
        assert not any((await stale_flags(aid)).values())
        assert await results.refresh_scores(aid) == 0  # nothing stale: nothing to do

        de = await stored(aid, ids["DE"])
        # governance: gov_standards (1 + 3)/2 = 2, gov_roles only "don't know", gov_review
        # shown to bernd only (anna's hidden 5 is ignored) and not applicable.
        assert de["governance"] == (2.0, 2.0, 1, 1, 1, 3, 2.0)
        # execution: templates (2 + 4)/2 = 3 (weight 1), tools 4 (weight 2) → 11/3
        assert de["execution"] == (3.67, 3.67, 2, 0, 0, 2, 2.0)
        assert de[OVERALL][:2] == (3.11, 3.11)
        assert de[OVERALL][2:6] == (3, 1, 1, 5)
        fr = await stored(aid, ids["FR"])
        assert fr["governance"][:2] == (3.67, 3.67)
        assert fr["execution"][:2] == (3.0, 3.0)
        assert fr[OVERALL][:2] == (3.22, 3.22)
        it = await stored(aid, ids["IT"])
        assert it[OVERALL][:3] == (None, None, 0)

        positions = await conn.fetch(
            "SELECT unit_id, field_key, position, respondents FROM assessment_position"
            " WHERE assessment_id = $1 ORDER BY unit_id",
            aid,
        )
        assert {(r["unit_id"], float(r["position"]), r["respondents"]) for r in positions} == {
            (ids["DE"], 40.0, 2),
            (ids["FR"], 80.0, 1),
        }

        # A changed answer marks only its unit stale; the refresh redoes only that one.
        await answer(scored.respondents["chloe@fr.example"].id, "exe_tools", "level", 5)
        flags = await stale_flags(aid)
        assert [u for u, stale in flags.items() if stale] == [ids["FR"]]
        assert await results.refresh_scores(aid) == 1
        assert (await stored(aid, ids["FR"]))["execution"][:2] == (4.33, 4.33)


async def test_validated_levels_change_only_the_validated_score(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant):
        await results.refresh_scores(aid)
        await review.validate(aid, ids["DE"], "gov_standards", "level", 4, "Standards seen")
        assert (await stale_flags(aid))[ids["DE"]] is True
        assert await results.refresh_scores(aid) == 1
        de = await stored(aid, ids["DE"])
        assert de["governance"][:2] == (2.0, 4.0)
        assert de["execution"][:2] == (3.67, 3.67)
        # (4 + 2·11/3)/3 = 3.78
        assert de[OVERALL][:2] == (3.11, 3.78)

        await review.validate(aid, ids["DE"], "gov_standards", "na", None, "Not relevant here")
        await results.refresh_scores(aid)
        de = await stored(aid, ids["DE"])
        assert de["governance"][:2] == (2.0, None)  # nothing left to count
        assert de[OVERALL][:2] == (3.11, 3.67)


async def test_roll_up_gaps_and_recommendations(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant):
        await review.validate(aid, ids["DE"], "gov_standards", "level", 4, "Standards seen")
        assessment = await service.get_assessment(aid)
        assert assessment is not None
        found = await results.load_results(assessment)
        assert found.parents == {
            ids["HQ"]: None,
            ids["EU"]: ids["HQ"],
            ids["DE"]: ids["EU"],
            ids["FR"]: ids["EU"],
            ids["IT"]: ids["EU"],
        }
        # EU = DE (weight 2) and FR (weight 1); IT has no answers and EU/HQ none of their own.
        eu = found.summary([ids["EU"]])
        rows = {row.key: row for row in eu.dimensions}
        assert rows["governance"].validated_score == pytest.approx((2 * 4.0 + 3.67) / 3)
        assert rows["governance"].self_score == pytest.approx((2 * 2.0 + 3.67) / 3)
        assert rows["execution"].validated_score == pytest.approx((2 * 3.67 + 3.0) / 3)
        assert eu.overall.self_score == pytest.approx((2 * 3.11 + 3.22) / 3)
        hq = found.summary([ids["HQ"]])
        assert hq.overall.validated_score == pytest.approx(eu.overall.validated_score)
        # Coverage over the subtree: governance DE 1 of 2, FR 3 of 3 → 4 of 5.
        assert rows["governance"].coverage == pytest.approx(4 / 5)
        assert rows["governance"].dont_know == 1
        assert found.roots([ids["DE"], ids["FR"]]) == [ids["DE"], ids["FR"]]
        assert found.roots(u.id for u in found.units) == [ids["HQ"]]

        # DE: governance 4 vs 5 → gap 1; execution 3.67 vs 4 → 0.33; largest first.
        de = found.summary([ids["DE"]])
        gaps = found.gap_list(de)
        assert [(g.dimension, round(g.size, 2)) for g in gaps] == [
            ("governance", 1.0),
            ("execution", 0.33),
        ]
        assert gaps[0].recommendation == "Measure how the standards are applied."
        assert gaps[1].recommendation == "Automate the most frequent campaigns."
        with use_locale("fr"):
            french = found.gap_list(de)
        assert [g.recommendation for g in french] == [
            "Mesurez l'application des standards.",
            "Automatisez les campagnes les plus fréquentes.",
        ]
        assert [g.title for g in french] == ["Gouvernance", "Exécution"]
        assert found.comparison([ids["DE"]], [ids["DE"]]) is None


async def second_cycle(scored: ScoredWorld) -> service.Assessment:
    """Close the first cycle (one answer validated) and start the next one (a draft), in
    which DE's respondents answer level 4 throughout. Call inside a tenant transaction.
    """
    ids, aid = scored.units, scored.assessment_id
    await review.validate(aid, ids["DE"], "gov_standards", "level", 4, "Standards seen")
    await service.change_status(aid, "review")
    await service.change_status(aid, "close")
    following = await service.start_next_cycle(aid, "Scalability 2027")
    people = {p.email: p for p in await service.respondents(following.id)}
    fours = {
        key: ("level", 4)
        for key in ("gov_standards", "gov_roles", "gov_review", "exe_templates", "exe_tools")
    }
    await answer_all(people, {"anna@de.example": fours, "bernd@de.example": fours})
    return following


async def test_comparison_with_the_previous_cycle(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant):
        following = await second_cycle(scored)
        assert following.previous_id == aid and following.cycle == 2
        found = await results.load_results(following)
        assert found.previous is not None and found.previous.cycle == 1
        compared = found.comparison([ids["DE"]], [ids["DE"], ids["FR"]])
        assert compared is not None
        by_key = {row.key: row for row in compared.dimensions}
        assert by_key["governance"].previous == pytest.approx(4.0)
        assert by_key["governance"].change == pytest.approx(0.0)
        assert by_key["execution"].current == pytest.approx(4.0)
        assert by_key["execution"].change == pytest.approx(4.0 - 3.67)
        assert compared.overall.change == pytest.approx(4.0 - 3.78)
        units = {row.key: row for row in compared.units}
        assert units[str(ids["DE"])].change == pytest.approx(4.0 - 3.78)
        # FR has not answered the new cycle: no current score, no change.
        assert units[str(ids["FR"])].previous == pytest.approx(3.22)
        assert units[str(ids["FR"])].change is None


async def test_heatmap_rows_for_small_and_large_scopes(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    async with tenant_transaction(scored.tenant):
        assessment = await service.get_assessment(aid)
        assert assessment is not None
        found = await results.load_results(assessment)
    everyone = [u.id for u in found.units]
    rows, partial = found.heatmap_rows(everyone, None)
    assert rows == [ids[c] for c in ("HQ", "EU", "DE", "FR", "IT")] and not partial
    values = found.heatmap_values([ids["DE"]])
    assert values == [[pytest.approx(2.0), pytest.approx(3.67)]]
    # Beyond the limit: the selection and its children, or the tops and their children.
    rows, partial = found.heatmap_rows(everyone, ids["EU"], limit=4)
    assert partial and rows == [ids[c] for c in ("EU", "DE", "FR", "IT")]
    rows, partial = found.heatmap_rows(everyone, None, limit=4)
    assert partial and rows == [ids["HQ"], ids["EU"]]


async def test_results_are_reused_until_their_rows_change(make_tenant) -> None:
    scored = await scored_world(make_tenant)
    ids, aid = scored.units, scored.assessment_id
    tenant = scored.tenant

    async def load() -> results.Results:
        """One request's worth: its own transaction."""
        async with tenant_transaction(tenant):
            assessment = await service.get_assessment(aid)
            assert assessment is not None
            return await results.load_results(assessment)

    async def change(sql: str, *args: object) -> None:
        async with tenant_transaction(tenant) as conn:
            await conn.execute(sql, *args)

    refreshed = await load()  # refreshes the stale units: computed, not kept
    first = await load()
    assert first is not refreshed
    assert await load() is first  # nothing changed: reused
    async with tenant_transaction(tenant):
        await answer(scored.respondents["chloe@fr.example"].id, "exe_tools", "level", 5)
        # Inside the changing transaction the change shows at once.
        assessment = await service.get_assessment(aid)
        assert assessment is not None
        inside = await results.load_results(assessment)
        assert inside.own[ids["FR"]]["execution"].self_score == pytest.approx(4.33)
    second = await load()
    assert second is not first
    assert second.own[ids["FR"]]["execution"].self_score == pytest.approx(4.33)
    assert await load() is second
    # A renamed unit, a validation and a changed target each count as a change too.
    await change("UPDATE unit SET name = 'Deutschland' WHERE id = $1", ids["DE"])
    third = await load()
    assert third is not second and third.by_id[ids["DE"]].name == "Deutschland"
    async with tenant_transaction(tenant):
        await review.validate(aid, ids["DE"], "exe_tools", "level", 5, "Platform seen")
    fourth = await load()
    assert fourth is not third and fourth.validations == {ids["DE"]: 1}
    await change(
        "UPDATE assessment_target SET level = 2 WHERE assessment_id = $1"
        " AND dimension_key = 'governance'",
        aid,
    )
    fifth = await load()
    assert fifth is not fourth and fifth.targets["governance"] == 2.0
    assert await load() is fifth


async def test_roll_many_matches_scoring_roll_up() -> None:
    import random

    from scalemark.assessment import scoring
    from scalemark.assessment.service import ScopeUnit

    rng = random.Random(5)
    units: list[ScopeUnit] = []
    paths: dict[int, str] = {}
    for unit_id in range(1, 80):
        parent = rng.choice([None, *paths]) if paths else None
        path = f"{paths[parent] if parent else '/'}{unit_id}/"
        paths[unit_id] = path
        units.append(
            ScopeUnit(
                unit_id, f"U{unit_id}", "", "team", path, path.count("/") - 2, parent, "en", 1
            )
        )
    in_scope = [u for u in units if rng.random() < 0.7]
    parents = results.scope_parents(in_scope)
    weights = {u.id: rng.choice((0.5, 1.0, 2.0)) for u in in_scope}
    own = {u.id: [rng.choice((None, 1.0, 2.5, 4.0)) for _ in range(3)] for u in in_scope}
    rolled = results.roll_many(results.bottom_up(in_scope), parents, weights, own, 3)
    for i in range(3):
        expected = scoring.roll_up(parents, {u: values[i] for u, values in own.items()}, weights)
        for unit_id, value in expected.items():
            got = rolled[unit_id][i]
            assert (got is None) == (value is None), unit_id
            if value is not None:
                assert got == pytest.approx(value)


async def test_results_page_in_french_with_gaps_and_the_previous_cycle(make_tenant) -> None:
    from support.identity import Organisation, WebClient, person, shared_live_server

    server = await shared_live_server()
    scored = await scored_world(make_tenant)
    ids = scored.units
    async with tenant_transaction(scored.tenant):
        following = await second_cycle(scored)
        await service.change_status(following.id, "open")
        await service.change_status(following.id, "review")
    org = Organisation(tenant=scored.tenant)
    reader = await person(org, "reader", "stakeholder", "HQ")
    async with WebClient(server, org.slug) as client:
        await client.signed_in(reader)
        assert (await client.post("/locale", {"locale": "fr", "next": "/"})).status_code == 303
        page = await client.get(f"/assessments/{following.id}/results?unit={ids['DE']}")
        assert page.status_code == 200, page.text[:300]
        text = page.text
        assert '<html lang="fr">' in text
        # Gaps: governance 4 vs 5 first, then execution 4 = 4 (met): one gap, in French.
        assert "Mesurez l&#39;application des standards." in text
        assert 'data-testid="gap-execution"' not in text
        # Decimal commas; the comparison per dimension and per unit.
        assert 'data-testid="overall-validated">4,0<' in text
        assert 'data-testid="comparison"' in text
        execution = text.split('data-testid="change-execution"')[1].split("</tr>")[0]
        assert "3,7" in execution and "+0,3" in execution
        unit_row = text.split(f'data-testid="unit-change-{ids["DE"]}"')[1].split("</tr>")[0]
        assert "3,8" in unit_row and "+0,2" in unit_row
        # EU is DE's parent in scope: its scores are the radar's fourth series.
        assert "Unit EU" in text.split('data-testid="radar"')[1].split("</figure>")[0]
