"""The report document: content, German and French PDFs, translations, scope, logo.

Builds a small organisation on the built-in framework (HQ > 2 regions > 2 countries each,
two cycles, validations, comments, rollout stages, published starter KPIs; see
``support.report_world``), renders ``build_html`` with WeasyPrint and reads the PDF back
with ``pdftotext``.

Tests marked "catalog" check the report's own words in German and French: they pass once
the report's msgids are translated in ``locales/`` (the lead merges them centrally).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract

from scalemark import PROJECT_ROOT
from scalemark.assessment import registry, results, service
from scalemark.db import tenant_transaction
from scalemark.i18n import use_locale
from scalemark.i18n.formatting import format_decimal, format_percent
from scalemark.i18n.locale import translations_for
from scalemark.reports import content
from scalemark.reports.content import (
    build_html,
    collect,
    css_string,
    page_counter_css,
)
from scalemark.reports.document import chunks, initials, level_floor
from scalemark.reports.render import render_pdf
from support.assessments import assessment_world
from support.report_world import report_world

pytestmark = pytest.mark.timeout(300)

STATIC = (PROJECT_ROOT / "static").resolve()
TEMPLATES = PROJECT_ROOT / "templates" / "reports"
PYTHON_SOURCES = [
    PROJECT_ROOT / "src" / "scalemark" / "reports" / "content.py",
    PROJECT_ROOT / "src" / "scalemark" / "reports" / "document.py",
]
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)


# -- rendering helpers ---------------------------------------------------------------------


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    refused: tuple[str, ...]
    path: Path

    def text(self, first: int | None = None, last: int | None = None) -> str:
        """The PDF's text (pdftotext), optionally of some pages; whitespace collapsed."""
        command = ["pdftotext", "-enc", "UTF-8"]
        if first is not None:
            command += ["-f", str(first), "-l", str(last if last is not None else first)]
        done = subprocess.run(
            [*command, str(self.path), "-"], capture_output=True, check=True, timeout=60
        )
        return " ".join(done.stdout.decode("utf-8").replace("\xa0", " ").split())


def render(html: str, resources: dict[str, tuple[bytes, str]], path: Path) -> Rendered:
    """Render as the worker does (restricted fetcher, base URL static/), here in-process."""
    done = render_pdf(html, resources)
    path.write_bytes(done.pdf)
    return Rendered(done.pdf, done.page_count, done.refused, path)


@dataclass
class Spec:
    assessment_id: int
    scope_unit_id: int | None
    locale: str
    timezone: str = "Europe/Berlin"
    audience: str = "full"


async def small_world(make_tenant, name: str = "Nordwind Handelsgruppe"):
    tenant = await make_tenant("rep", name=name, locale="de")
    async with tenant_transaction(tenant):
        world = await report_world(countries_per_region=2, regions=2)
    return tenant, world


async def built(tenant: Any, spec: Spec) -> tuple[str, dict[str, tuple[bytes, str]]]:
    """The report's HTML and resources, built in ``tenant`` and the report's language."""
    async with tenant_transaction(tenant):
        with use_locale(spec.locale):
            return await build_html(spec)


async def overall_score(assessment_id: int, locale: str) -> str:
    """The organisation's validated overall score as the report must print it."""
    found = await results.load_results(await service.get_assessment(assessment_id))
    summary = found.summary(found.roots([u.id for u in found.units]))
    with use_locale(locale):
        return format_decimal(summary.overall.validated_score, 1)


# -- msgids --------------------------------------------------------------------------------


def report_msgids() -> list[tuple[str | None, tuple[str, ...]]]:
    """(context, ids) of every message the report's templates and modules use.

    ``ids`` is ``(msgid,)`` or ``(singular, plural)`` for ngettext.
    """
    found: list[tuple[str | None, tuple[str, ...]]] = []
    sources = [("jinja2.ext:babel_extract", p) for p in sorted(TEMPLATES.glob("*.html"))]
    sources += [("python", p) for p in PYTHON_SOURCES]
    for method, path in sources:
        with path.open("rb") as handle:
            for _line, message, _comments, context in extract(
                method, handle, options={"extensions": "jinja2.ext.i18n"}
            ):
                ids = tuple(m for m in (message if isinstance(message, tuple) else (message,)))
                found.append((context, tuple(m for m in ids if m)))
    return list(dict.fromkeys(found))


_PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|%%")


def _translations(locale: str, context: str | None, ids: tuple[str, ...]) -> list[str]:
    """Every translation the catalog of ``locale`` has for the message ([] when none)."""
    raw = getattr(translations_for(locale), "_catalog", {})
    key = ids[0] if context is None else f"{context}\x04{ids[0]}"
    if len(ids) == 1:
        return [raw[key]] if raw.get(key) else []
    forms = [raw.get((key, index)) for index in range(6)]
    return [form for form in forms if form]


def without_framework_texts(text: str, locale: str) -> str:
    """``text`` without the built-in framework's own titles, whose German versions borrow
    English words ("Change & Adoption") that must not count as untranslated."""
    framework = registry.latest_builtin("marketing-scalability")
    texts = [framework.title.get(locale), *(n.get(locale) for n in framework.level_names.values())]
    for dimension in framework.dimensions:
        texts.append(dimension.title.get(locale))
    for field in framework.tension_fields:
        texts += [field.title.get(locale), field.left.get(locale), field.right.get(locale)]
    for known in sorted(texts, key=len, reverse=True):
        text = text.replace(" ".join(known.split()), " ")
    return text


def english_leftovers(text: str, locale: str) -> list[str]:
    """Report msgids whose English words show up in ``text`` although the catalog of
    ``locale`` words them differently (or has no translation yet)."""
    text = without_framework_texts(text, locale)
    leftovers = []
    for context, ids in report_msgids():
        translated = _translations(locale, context, ids)
        if len(ids) == 1 and translated == [ids[0]]:
            continue  # the same in both languages ("KPI", "Dimension")
        for msgid in ids:
            for fragment in _PLACEHOLDER.split(msgid):
                words = " ".join(fragment.split()).strip(" .,:;·–()“”")
                if sum(c.isalpha() for c in words) < 3:
                    continue
                if any(words in t for t in translated):
                    continue
                if re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text):
                    leftovers.append(msgid)
                    break
    return leftovers


# -- pure helpers --------------------------------------------------------------------------


def test_page_counter_keeps_the_translations_word_order() -> None:
    assert page_counter_css("Seite %(page)s von %(pages)s") == (
        '"Seite " counter(page) " von " counter(pages)'
    )
    assert page_counter_css("%(page)s / %(pages)s") == 'counter(page) " / " counter(pages)'
    assert page_counter_css("") == '""'


def test_css_strings_cannot_break_out() -> None:
    assert css_string('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    value = css_string("x</style><script>")
    assert "<" not in value and ">" not in value


def test_initials_are_unique_per_unit() -> None:
    assert initials(["anna.berg@x.example", "anna.brandt@x.example", "bo@y.example"]) == [
        "AB",
        "AB2",
        "BO",
    ]


def test_chunks_are_even_and_levels_round_down() -> None:
    assert [len(c) for c in chunks(list(range(40)), 26)] == [20, 20]
    assert [len(c) for c in chunks(list(range(26)), 26)] == [26]
    assert chunks([], 26) == []
    assert [level_floor(v) for v in (None, 0.4, 1.0, 2.99, 3.0, 5.0)] == [None, 1, 1, 2, 3, 5]


# -- documents -----------------------------------------------------------------------------


@needs_pdftotext
async def test_german_full_report(make_tenant, tmp_path: Path) -> None:
    tenant, world = await small_world(make_tenant)
    html, resources = await built(tenant, Spec(world.assessment.id, None, "de"))
    async with tenant_transaction(tenant):
        score = await overall_score(world.assessment.id, "de")
    assert '<html lang="de">' in html
    assert resources == {}  # no logo: the cover sets the organisation's name instead
    rendered = render(html, resources, tmp_path / "de.pdf")
    text = rendered.text()

    # The stylesheet, fonts and charts load through the restricted fetcher: nothing refused.
    assert rendered.refused == ()

    assert rendered.pages > 15
    assert "Nordwind Handelsgruppe" in text
    assert "Marketing-Skalierbarkeit 2026" in text
    # Framework texts in German; numbers and percentages in German format.
    for heading in ("Governance-Ebene", "Daten & Integration", "Change & Adoption", "Im Aufbau"):
        assert heading in text
    assert re.search(rf"(?<![\d,]){re.escape(score)}(?![\d,])", text)
    assert "," in score
    with use_locale("de"):
        assert format_percent(1) in text or re.search(r"\d+ %", text)
    # The appendix: respondents by initials with their comments and evidence links.
    assert "anna.berg@de.example.com" in text
    assert "https://wiki.example.com/marketing/" in text
    assert "Im Workshop mit dem Team anhand der Unterlagen bestätigt." in text
    # Every region and country is listed in the units compared.
    for name in ("Region DACH", "Deutschland", "Österreich", "Region Westeuropa", "Belgien"):
        assert name in text


@needs_pdftotext
async def test_table_of_contents_points_at_the_right_pages(make_tenant, tmp_path: Path) -> None:
    tenant, world = await small_world(make_tenant)
    async with tenant_transaction(tenant):
        with use_locale("de"):
            html, resources = await build_html(Spec(world.assessment.id, None, "de"))
            document, _branding = await collect(Spec(world.assessment.id, None, "de"))
    rendered = render(html, resources, tmp_path / "toc.pdf")
    contents = rendered.text(2)
    for view in document.dimensions:
        match = re.search(rf"{re.escape(view.number)} {re.escape(view.title)} (\d+)", contents)
        assert match, view.title
        page = int(match.group(1))
        assert view.title in rendered.text(page)


@needs_pdftotext
async def test_french_board_summary(make_tenant, tmp_path: Path) -> None:
    tenant, world = await small_world(make_tenant)
    html, resources = await built(
        tenant, Spec(world.assessment.id, None, "fr", "Europe/Paris", "board")
    )
    async with tenant_transaction(tenant):
        score = await overall_score(world.assessment.id, "fr")
    assert '<html lang="fr">' in html
    rendered = render(html, resources, tmp_path / "fr.pdf")
    text = rendered.text()
    assert 5 <= rendered.pages <= 10
    assert "Référentiel de scalabilité marketing" in text
    assert "Niveau de gouvernance" in text
    assert re.search(rf"(?<![\d,]){re.escape(score)}(?![\d,])", text)
    # The board summary has no appendix: no answers, comments or e-mail addresses.
    assert "anna.berg@de.example.com" not in text
    assert "Im Workshop" not in text


async def test_scope_is_one_units_subtree(make_tenant) -> None:
    tenant, world = await small_world(make_tenant)
    region = world.units["DACH"]
    async with tenant_transaction(tenant):
        with use_locale("de"):
            document, _branding = await collect(Spec(world.assessment.id, region, "de"))
            html, _resources = await build_html(Spec(world.assessment.id, region, "de"))
    expected = {world.units[c] for c in ("DACH", "DE", "AT")}
    assert set(document.facts.scope_ids) == expected
    assert document.facts.scope_is_unit and document.facts.scope_name == "Region DACH"
    assert [line.name for line in document.units] == ["Region DACH", "Deutschland", "Österreich"]
    assert {sheet.name for sheet in document.unit_sheets} == {"Deutschland", "Österreich"}
    assert "Belgien" not in html and "Region Westeuropa" not in html
    # Central KPIs hold everywhere.
    assert document.facts.kpis and document.facts.kpi_version == 1


async def test_one_unit_has_no_comparison_chapters(make_tenant) -> None:
    tenant, world = await small_world(make_tenant)
    country = world.units["AT"]
    async with tenant_transaction(tenant):
        with use_locale("de"):
            document, _branding = await collect(Spec(world.assessment.id, country, "de"))
    assert document.facts.scope_ids == [country]
    assert document.chapter("heatmap") is None and document.chapter("units") is None
    assert [c.number for c in document.chapters][:3] == ["1", "2", "3"]
    # Chapter numbers of the dimensions follow the chapters that are left.
    dimensions = document.chapter("dimensions")
    assert dimensions is not None
    assert document.dimensions[0].number == f"{dimensions.number}.1"


@needs_pdftotext
async def test_assessment_without_answers(make_tenant, tmp_path: Path) -> None:
    world = await assessment_world(make_tenant, prefix="rep0", status="draft")
    async with tenant_transaction(world.tenant):
        with use_locale("en"):
            html, resources = await build_html(Spec(world.assessment.id, None, "en"))
            board, _ = await build_html(Spec(world.assessment.id, None, "en", audience="board"))
    text = render(html, resources, tmp_path / "empty.pdf").text()
    assert "There are no answers yet" in text
    assert "Preliminary results" in text
    assert render(board, {}, tmp_path / "empty-board.pdf").pages >= 3


def _png(width: int = 4, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    rows = b"".join(b"\x00" + b"\x12\x3f\x6d" * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_logo_accent_and_escaping(make_tenant, tmp_path: Path) -> None:
    from scalemark.reports import branding

    tenant, world = await small_world(make_tenant, name='Müller & Söhne "Nord" <AG>')
    logo = _png()
    async with tenant_transaction(tenant):
        await branding.save_logo(logo)
        await branding.save_accent("#7a1f3d")
        with use_locale("de"):
            html, resources = await build_html(
                Spec(world.assessment.id, None, "de", audience="board")
            )
    assert resources == {"logo": (logo, "image/png")}
    assert 'src="resource:logo"' in html
    assert "--accent: #7a1f3d" in html
    assert "Müller &amp; Söhne &#34;Nord&#34; &lt;AG&gt;" in html
    assert "<AG>" not in html
    rendered = render(html, resources, tmp_path / "logo.pdf")
    assert rendered.refused == ()
    assert b"/Subtype /Image" in rendered.pdf


def test_static_resources_exist() -> None:
    stylesheet = STATIC / content.STYLESHEET
    assert stylesheet.is_file()
    for font in re.findall(r'url\("([^"]+)"\)', stylesheet.read_text(encoding="utf-8")):
        assert (stylesheet.parent / font).is_file(), font


# -- translations (need the report's msgids in the catalogs) -------------------------------


@needs_pdftotext
async def test_catalog_german_report_has_no_english_left(make_tenant, tmp_path: Path) -> None:
    tenant, world = await small_world(make_tenant)
    html, resources = await built(tenant, Spec(world.assessment.id, None, "de"))
    rendered = render(html, resources, tmp_path / "de-words.pdf")
    text = rendered.text()
    for heading in (
        "Inhalt",
        "Zusammenfassung",
        "Reifegradprofil",
        "Dimensionen im Detail",
        "Einheiten im Vergleich",
        "Anhang: Antworten je Einheit",
    ):
        assert heading in text
    total = rendered.pages
    assert f"Seite 2 von {total}" in rendered.text(2)
    assert f"Seite {total} von {total}" in rendered.text(total)
    assert english_leftovers(text, "de") == []


@needs_pdftotext
async def test_catalog_french_board_has_no_english_left(make_tenant, tmp_path: Path) -> None:
    tenant, world = await small_world(make_tenant)
    spec = Spec(world.assessment.id, None, "fr", "Europe/Paris", "board")
    html, resources = await built(tenant, spec)
    rendered = render(html, resources, tmp_path / "fr-words.pdf")
    text = rendered.text()
    for heading in ("Sommaire", "Synthèse", "Profil de maturité", "Synthèse pour la direction"):
        assert heading in text
    assert f"Page 2 sur {rendered.pages}" in rendered.text(2)
    assert english_leftovers(text, "fr") == []
