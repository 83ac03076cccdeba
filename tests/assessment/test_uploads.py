"""Frameworks uploaded per tenant: ``/assessments/frameworks`` (upload, mistakes, refusals,
downloads, withdrawal), new assessments on an upload, and who may see what.

Uploads are the test framework (``fixtures/mini.yaml``) under another id, so they never
collide with the snapshot the world's own assessment runs on.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import asyncpg
import pytest

from scalemark.assessment import registry, service, uploads
from scalemark.db import tenant_transaction
from support.assessment_pages import api_client, org_of, signed_in
from support.assessment_results import consultant
from support.assessments import MINI_FRAMEWORK, AssessmentWorld, assessment_world
from support.identity import WebClient, person, shared_live_server
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

PAGE = "/assessments/frameworks"


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


def own_framework(key: str = "own-check", version: int = 1, title: str | None = None) -> str:
    """The test framework's text under ``key`` and ``version`` (and another English title)."""
    text = MINI_FRAMEWORK.read_text(encoding="utf-8")
    text = text.replace("id: mini-scalability", f"id: {key}", 1)
    text = text.replace("version: 1", f"version: {version}", 1)
    if title is not None:
        text = text.replace('en: "Mini scalability check"', f'en: "{title}"', 1)
    return text


async def upload_file(client: WebClient, text: str, name: str = "own.yaml"):
    """Post ``text`` as the file input, the way a browser sends a chosen file."""
    return await client.http.post(
        PAGE,
        data={"_csrf_token": await client.csrf(), "text": ""},
        files={"file": (name, text.encode("utf-8"), "application/yaml")},
    )


async def audit_actions(world: AssessmentWorld) -> list[str]:
    async with tenant_transaction(world.tenant) as conn:
        rows = await conn.fetch("SELECT action FROM audit_event ORDER BY id")
    return [row["action"] for row in rows]


def framework_options(html: str) -> list[str]:
    """Values of the new-assessment form's framework select."""
    select = re.search(r'<select[^>]*name="framework".*?</select>', html, re.S)
    assert select is not None
    return re.findall(r'<option value="([^"]+)"', select.group(0))


async def test_upload_lists_downloads_and_is_idempotent(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    admin = await person(org_of(world), "admin", "hq_admin")
    text = own_framework()
    async with await signed_in(server, world, admin) as client:
        listing = await client.get("/assessments")
        assert f'href="{PAGE}"' in listing.text and 'data-testid="frameworks-link"' in listing.text
        page = await client.get(PAGE)
        assert page.status_code == 200
        assert 'accept=".yaml,.yml"' in page.text and 'data-testid="upload-text"' in page.text
        builtin = registry.builtin_frameworks()[0]
        assert f'data-key="{builtin.key}"' in page.text

        # The built-in file can be downloaded to start an own one from.
        url = f"{PAGE}/builtin/{builtin.key}/{builtin.version}"
        got = await client.get(url)
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("application/yaml")
        assert "attachment" in got.headers["content-disposition"]
        assert got.text == registry.builtin_source(builtin)
        assert (await client.get(f"{PAGE}/builtin/nope/1")).status_code == 404

        done = await upload_file(client, text)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{PAGE}?done=uploaded"
        page = await client.get(done.headers["location"])
        assert "The framework is uploaded" in page.text
        row = re.search(
            r'<tr data-testid="framework-row" data-key="own-check"[^>]*>.*?</tr>', page.text, re.S
        )
        assert row is not None
        assert "Mini scalability check" in row.group(0) and "EN, FR" in row.group(0)
        assert "Uploaded by admin" in row.group(0)
        upload_id = int(re.search(r'data-id="(\d+)"', row.group(0)).group(1))  # type: ignore[union-attr]

        got = await client.get(f"{PAGE}/{upload_id}/download")
        assert got.status_code == 200 and got.text == text
        assert got.headers["content-type"].startswith("application/yaml")
        assert 'filename="own-check-v1.yaml"' in got.headers["content-disposition"]

        # The same text again, pasted with Windows line ends: the same content, no change.
        again = await client.post(PAGE, {"text": text.replace("\n", "\r\n")})
        assert again.status_code == 303
    assert (await audit_actions(world)).count("assessment.framework.upload") == 1
    async with tenant_transaction(world.tenant):
        listed = await uploads.uploaded_frameworks()
    assert [(u.framework.key, u.framework.version) for u in listed] == [("own-check", 1)]


async def test_mistakes_are_listed_with_line_and_field(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    admin = await person(org_of(world), "admin", "hq_admin")
    broken = own_framework().replace("weight: 2", "weight: -1", 1)
    broken = broken.replace("  - key: governance", "  - key: Governance!", 1)
    line_of_weight = (
        broken.splitlines().index(
            next(line for line in broken.splitlines() if "weight: -1" in line)
        )
        + 1
    )
    async with await signed_in(server, world, admin) as client:
        refused = await client.post(PAGE, {"text": broken})
        assert refused.status_code == 422
        assert "This file has 2 mistakes" in refused.text
        issues = re.findall(
            r'data-testid="upload-issue" data-line="(\d+)" data-field="([^"]*)"', refused.text
        )
        assert len(issues) == 2
        assert (str(line_of_weight), next(f for _l, f in issues if f.endswith("weight"))) in issues
        assert any(field.endswith("key") for _line, field in issues)
        # The text is kept to correct it in place.
        assert "key: Governance!" in refused.text and "weight: -1" in refused.text

        # A file with mistakes: the same list, and its text comes back in the text box.
        from_file = await upload_file(client, "id: x\nversion: one\n")
        assert from_file.status_code == 422
        assert 'data-testid="upload-issues"' in from_file.text
        assert "version: one" in from_file.text

        empty = await client.post(PAGE, {"text": "  "})
        assert empty.status_code == 422
        assert "Choose a YAML file or paste the framework text." in empty.text

        huge = await client.post(PAGE, {"text": "# " + "x" * uploads.MAX_UPLOAD_BYTES})
        assert huge.status_code == 422 and "larger than 1 MB" in huge.text
    async with tenant_transaction(world.tenant):
        assert await uploads.uploaded_frameworks() == []


async def test_a_key_and_version_name_one_content(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    admin = await consultant(world.tenant)
    builtin = registry.builtin_frameworks()[0]
    async with await signed_in(server, world, admin) as client:
        assert (await client.post(PAGE, {"text": own_framework()})).status_code == 303
        changed = own_framework(title="Changed title")
        refused = await client.post(PAGE, {"text": changed})
        assert refused.status_code == 422
        assert "A new version needs a new version number." in refused.text
        assert "Changed title" in refused.text  # the input is kept
        # A new version number is a new framework.
        newer = await client.post(PAGE, {"text": own_framework(version=2, title="Changed title")})
        assert newer.status_code == 303

        as_builtin = own_framework(key=builtin.key, version=builtin.version)
        refused = await client.post(PAGE, {"text": as_builtin})
        assert refused.status_code == 422
        assert "is a built-in framework" in refused.text
        assert "A new version needs a new version number." in refused.text
    async with tenant_transaction(world.tenant):
        listed = await uploads.uploaded_frameworks()
    assert [(u.framework.key, u.framework.version) for u in listed] == [
        ("own-check", 1),
        ("own-check", 2),
    ]


async def test_new_assessment_on_an_upload_survives_its_withdrawal(
    server: LiveServer, make_tenant
) -> None:
    world = await assessment_world(make_tenant, status="draft")
    admin = await person(org_of(world), "admin", "hq_admin")
    async with await signed_in(server, world, admin) as client:
        assert (await client.post(PAGE, {"text": own_framework()})).status_code == 303
        form_page = await client.get("/assessments/new")
        assert "own-check:1" in framework_options(form_page.text)
        created = await client.post(
            "/assessments/new",
            {
                "title": "On our own framework",
                "framework": "own-check:1",
                "due_date": (date.today() + timedelta(days=30)).isoformat(),
                "unit_ids": [str(world.units["DE"])],
                "target_governance": "4",
            },
        )
        assert created.status_code == 303, created.text
        assessment_id = int(created.headers["location"].split("/")[2].split("?")[0])
        async with tenant_transaction(world.tenant):
            found = await service.get_assessment(assessment_id)
            listed = await uploads.uploaded_frameworks()
        assert found is not None and found.framework_key == "own-check"
        # The assessment runs on the upload's own row (snapshots dedupe by SHA-256).
        assert found.framework_id == listed[0].id

        withdrawn = await client.post(f"{PAGE}/{listed[0].id}/withdraw")
        assert withdrawn.status_code == 303
        page = await client.get(withdrawn.headers["location"])
        assert "The framework is withdrawn" in page.text
        assert 'data-key="own-check"' not in page.text
        form_page = await client.get("/assessments/new")
        assert "own-check:1" not in framework_options(form_page.text)
        chosen_anyway = await client.post(
            "/assessments/new",
            {"title": "x", "framework": "own-check:1", "unit_ids": [str(world.units["DE"])]},
        )
        assert chosen_anyway.status_code == 422

        # The running assessment keeps working: overview, opening it.
        detail = await client.get(f"/assessments/{assessment_id}")
        assert detail.status_code == 200 and "Mini scalability check" in detail.text
        opened = await client.post(f"/assessments/{assessment_id}/status", {"action": "open"})
        assert opened.status_code == 303
        assert (await client.post(f"{PAGE}/999999/withdraw")).status_code == 404
    assert "assessment.framework.withdraw" in await audit_actions(world)
    async with tenant_transaction(world.tenant):
        assert (await service.get_assessment(assessment_id)).status == "open"  # type: ignore[union-attr]


async def test_non_runners_get_403(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, status="draft")
    builtin = registry.builtin_frameworks()[0]
    for role, unit in [("unit_lead", "EU"), ("contributor", "DE"), ("stakeholder", "HQ")]:
        someone = await person(org_of(world), role, role, unit)
        async with await signed_in(server, world, someone) as client:
            assert (await client.get(PAGE)).status_code == 403
            assert (await client.post(PAGE, {"text": own_framework()})).status_code == 403
            builtin_url = f"{PAGE}/builtin/{builtin.key}/{builtin.version}"
            assert (await client.get(builtin_url)).status_code == 403
            assert (await client.post(f"{PAGE}/1/withdraw")).status_code == 403
            listing = await client.get("/assessments")
            assert 'data-testid="frameworks-link"' not in listing.text
    async with tenant_transaction(world.tenant):
        assert await uploads.uploaded_frameworks() == []


async def test_other_tenants_never_see_an_upload(server: LiveServer, make_tenant) -> None:
    here = await assessment_world(make_tenant, status="draft")
    there = await assessment_world(make_tenant, prefix="oth", status="draft")
    async with await signed_in(server, there, await consultant(there.tenant)) as client:
        assert (
            await client.post(PAGE, {"text": own_framework(key="their-own")})
        ).status_code == 303
    async with tenant_transaction(there.tenant):
        (theirs,) = await uploads.uploaded_frameworks()
    admin = await person(org_of(here), "admin", "hq_admin")
    async with await signed_in(server, here, admin) as client:
        page = await client.get(PAGE)
        assert "their-own" not in page.text
        assert "their-own:1" not in framework_options((await client.get("/assessments/new")).text)
        assert (await client.get(f"{PAGE}/{theirs.id}/download")).status_code == 404
        assert (await client.post(f"{PAGE}/{theirs.id}/withdraw")).status_code == 404
        created = await client.post(
            "/assessments/new",
            {"title": "x", "framework": "their-own:1", "unit_ids": [str(here.units["DE"])]},
        )
        assert created.status_code == 422
    async with tenant_transaction(there.tenant):
        assert [u.id for u in await uploads.uploaded_frameworks()] == [theirs.id]


async def test_the_api_creates_an_assessment_on_an_upload(server: LiveServer, make_tenant) -> None:
    world = await assessment_world(make_tenant, prefix="upa")
    async with tenant_transaction(world.tenant):
        await uploads.upload_framework(own_framework("api-check", 3))
    async with await api_client(server, world, "hq_admin") as api:
        created = await api.post(
            "/api/v1/assessments",
            json={
                "title": "On our own framework",
                "framework_key": "api-check",
                "framework_version": 3,
                "unit_codes": ["DE"],
            },
        )
        assert created.status_code == 201, created.text
        assert (created.json()["framework_key"], created.json()["framework_version"]) == (
            "api-check",
            3,
        )
        unknown = await api.post(
            "/api/v1/assessments",
            json={
                "title": "x",
                "framework_key": "api-check",
                "framework_version": 9,
                "unit_codes": ["DE"],
            },
        )
        assert unknown.status_code == 422
