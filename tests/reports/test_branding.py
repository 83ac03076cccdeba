"""Report branding: who may change it, logo checks (type, size, safe SVG), accent contrast."""

from __future__ import annotations

import io

import asyncpg
import pytest
from PIL import Image

from scalemark.db import tenant_transaction
from scalemark.i18n.locale import use_locale
from scalemark.reports import branding
from scalemark.reports.branding import BrandingError
from support.assessment_results import ScoredWorld, scored_world
from support.identity import WebClient, shared_live_server
from support.report_pages import client_as
from support.server import LiveServer

pytestmark = pytest.mark.timeout(180)

CLEAN_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<defs><linearGradient id="g"><stop offset="0" stop-color="#123"/></linearGradient></defs>'
    b'<style>rect { fill: url(#g); }</style><rect width="10" height="10"/>'
    b'<use href="#g"/></svg>'
)
UNSAFE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "event": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
    "external link": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<image xlink:href="https://evil.example/x.png"/></svg>'
    ),
    "javascript link": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>'
    ),
    "css import": b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import "x.css";</style></svg>',
    "css url": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: url(http://x/y)"/></svg>'
    ),
    "foreign object": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>'
    ),
    "entity": (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&a;</text></svg>'
    ),
    "stylesheet instruction": (
        b'<?xml version="1.0"?><?xml-stylesheet href="https://x/y.css"?>'
        b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    ),
}


def png(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "#1f4fa3").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "#1f4fa3").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
async def server(db_pool: asyncpg.Pool) -> LiveServer:
    return await shared_live_server()


@pytest.fixture
async def world(make_tenant) -> ScoredWorld:
    return await scored_world(make_tenant, prefix="rbr", status="closed")


async def upload(client: WebClient, content: bytes, name: str, media_type: str):
    return await client.http.post(
        "/settings/branding/logo",
        data={"_csrf_token": await client.csrf()},
        files={"logo": (name, content, media_type)},
    )


async def test_only_the_headquarters_changes_the_branding(
    server: LiveServer, world: ScoredWorld
) -> None:
    for role, unit in (("contributor", "DE"), ("unit_lead", "EU"), ("stakeholder", "HQ")):
        async with await client_as(server, world.tenant, role, unit) as member:
            assert (await member.get("/settings/branding")).status_code == 403, role
            assert (await member.get("/settings/branding/logo")).status_code == 403, role
            refused = await member.post("/settings/branding/colour", {"accent_colour": "#123456"})
            assert refused.status_code == 403, role
            assert (await upload(member, png(), "l.png", "image/png")).status_code == 403
            assert (await member.post("/settings/branding/logo/remove")).status_code == 403
            assert 'data-testid="branding-link"' not in (await member.get("/reports")).text
    async with await client_as(server, world.tenant, "consultant") as consultant:
        assert (await consultant.get("/settings/branding")).status_code == 200
        assert 'data-testid="branding-link"' in (await consultant.get("/reports")).text
    async with tenant_transaction(world.tenant):
        assert await branding.get_branding() == branding.Branding()


async def test_logo_upload_preview_and_removal(server: LiveServer, world: ScoredWorld) -> None:
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        page = await admin.get("/settings/branding")
        assert page.status_code == 200 and 'data-testid="no-logo"' in page.text
        image = png()
        # The file name and the browser's type do not matter: the bytes decide.
        saved = await upload(admin, image, "logo.svg", "image/svg+xml")
        assert saved.status_code == 303
        assert saved.headers["location"] == "/settings/branding?saved=logo"
        page = await admin.get(saved.headers["location"])
        assert "The logo is saved." in page.text and 'data-testid="logo-image"' in page.text
        preview = await admin.get("/settings/branding/logo")
        assert preview.status_code == 200 and preview.content == image
        assert preview.headers["content-type"] == "image/png"
        assert "default-src 'none'" in preview.headers["content-security-policy"]
        assert (await upload(admin, jpeg(), "photo.jpg", "image/jpeg")).status_code == 303
        assert (await admin.get("/settings/branding/logo")).headers["content-type"] == "image/jpeg"
        assert (await upload(admin, CLEAN_SVG, "logo.svg", "image/svg+xml")).status_code == 303
        async with tenant_transaction(world.tenant):
            found = await branding.get_branding()
        assert found.logo == CLEAN_SVG and found.logo_media_type == "image/svg+xml"
        removed = await admin.post("/settings/branding/logo/remove")
        assert removed.headers["location"] == "/settings/branding?saved=removed"
        assert (await admin.get("/settings/branding/logo")).status_code == 404
    async with tenant_transaction(world.tenant) as conn:
        found = await branding.get_branding()
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_event WHERE object_type = 'branding' ORDER BY id"
            )
        ]
    assert not found.has_logo
    assert actions == ["branding.logo"] * 3 + ["branding.logo_remove"]


async def test_bad_logos_are_refused_with_a_message(server: LiveServer, world: ScoredWorld) -> None:
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        await admin.post("/settings/branding/colour", {"accent_colour": "#0f7b6c"})
        cases = [
            (b"GIF89a" + b"\0" * 20, "logo.gif", "image/gif", "must be a PNG, JPEG or SVG"),
            (b"just some text", "logo.png", "image/png", "must be a PNG, JPEG or SVG"),
            (b"", "empty.png", "image/png", "Choose an image file to upload."),
            (
                png()[:16] + b"\0" * (1024 * 1024),
                "big.png",
                "image/png",
                "The logo is larger than 1 MB",
            ),
            (
                b"<svg xmlns='http://www.w3.org/2000/svg'><rect",
                "x.svg",
                "image/svg+xml",
                "cannot be read",
            ),
        ]
        cases += [
            (svg, f"{name}.svg", "image/svg+xml", "contains scripts or links to other files")
            for name, svg in UNSAFE_SVGS.items()
        ]
        for content, name, media_type, message in cases:
            refused = await upload(admin, content, name, media_type)
            assert refused.status_code == 422, name
            assert message in refused.text, (name, refused.text[:300])
            assert 'id="logo-error"' in refused.text and 'aria-invalid="true"' in refused.text
            # The rest of the page keeps what is saved.
            assert 'value="#0f7b6c"' in refused.text
    async with tenant_transaction(world.tenant):
        assert not (await branding.get_branding()).has_logo


async def test_the_accent_colour_needs_contrast(server: LiveServer, world: ScoredWorld) -> None:
    async with await client_as(server, world.tenant, "hq_admin") as admin:
        light = await admin.post("/settings/branding/colour", {"accent_colour": "#ffcc00"})
        assert light.status_code == 422
        assert "This colour is too light: its contrast with white is 1.5:1" in light.text
        assert 'value="#ffcc00"' in light.text and 'id="accent-error"' in light.text
        wrong = await admin.post("/settings/branding/colour", {"accent_colour": "blue"})
        assert wrong.status_code == 422
        assert "Enter the colour as # and six hexadecimal digits" in wrong.text
        assert 'value="blue"' in wrong.text
        saved = await admin.post("/settings/branding/colour", {"accent_colour": " 1F4FA3 "})
        assert saved.headers["location"] == "/settings/branding?saved=colour"
        page = await admin.get(saved.headers["location"])
        assert "The accent colour is saved." in page.text and 'value="#1f4fa3"' in page.text
        async with tenant_transaction(world.tenant):
            assert (await branding.get_branding()).accent_colour == "#1f4fa3"
        await admin.post("/settings/branding/colour", {"accent_colour": ""})
        async with tenant_transaction(world.tenant):
            assert (await branding.get_branding()).accent_colour is None


def test_rules() -> None:
    assert round(branding.contrast_ratio("#000000"), 1) == 21.0
    assert branding.contrast_ratio("#ffffff") == 1.0
    assert branding.contrast_ratio("#767676") >= 4.5 > branding.contrast_ratio("#777777")
    with use_locale("de"), pytest.raises(BrandingError) as refused:
        branding.parse_accent("#777777")
    assert "4,4:1" in str(refused.value.message)
    assert branding.parse_accent("#767676") == "#767676"
    with pytest.raises(BrandingError):
        branding.parse_accent("#777777")
    assert branding.sniff_media_type(png()) == "image/png"
    assert branding.sniff_media_type(jpeg()) == "image/jpeg"
    assert branding.sniff_media_type(b"\xef\xbb\xbf<svg/>") == "image/svg+xml"
    assert branding.check_logo(CLEAN_SVG) == "image/svg+xml"
    for svg in UNSAFE_SVGS.values():
        with pytest.raises(BrandingError):
            branding.check_svg(svg)
    with pytest.raises(BrandingError):
        branding.check_svg(b"<html xmlns='http://www.w3.org/1999/xhtml'/>")  # not an SVG
