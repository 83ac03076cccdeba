"""The report renderer's URL fetcher: static files and named resources only.

Tested directly (:func:`resolve`, :class:`ReportURLFetcher`) and through a real render of
HTML that references forbidden URLs: the render succeeds without them and nothing is
fetched — no HTTP request reaches a local server, no file outside ``static/`` is read.
"""

from __future__ import annotations

import base64
import http.server
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from scalemark.reports.fetcher import (
    DATA_URL_MAX_BYTES,
    STATIC_DIR,
    ForbiddenURL,
    ReportURLFetcher,
    resolve,
    static_base_url,
)
from scalemark.reports.render import render_pdf

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
LEAK_CSS = 'h1::after { content: " LEAKED"; }'


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF (poppler's pdftotext)."""
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def static_tree(tmp_path: Path) -> Path:
    """A static directory with a file, a symlink out and a secret next to it."""
    static = tmp_path / "static"
    (static / "reports").mkdir(parents=True)
    (static / "reports" / "print.css").write_text("h1 { color: black; }")
    (tmp_path / "secret.txt").write_text("secret")
    (static / "reports" / "escape.css").symlink_to(tmp_path / "secret.txt")
    (static / "inside.css").symlink_to(static / "reports" / "print.css")
    return static


# --------------------------------------------------------------------------- resolve


def test_static_files_are_served(static_tree: Path) -> None:
    found = resolve(static_base_url(static_tree) + "reports/print.css", static_dir=static_tree)
    assert found.body == b"h1 { color: black; }"
    assert found.media_type == "text/css"
    # A symlink that stays inside static/ is fine.
    assert resolve((static_tree / "inside.css").as_uri(), static_dir=static_tree).body.startswith(
        b"h1"
    )


def test_web_style_static_paths_map_onto_the_static_directory() -> None:
    found = resolve("file:///static/reports/print.css")
    assert found.media_type == "text/css"
    assert found.body == (STATIC_DIR / "reports" / "print.css").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "reports/../../secret.txt",
        "reports/%2e%2e/%2e%2e/secret.txt",
        "reports/escape.css",  # symlink pointing outside
        "reports/missing.css",
        "reports/",  # a directory
    ],
)
def test_escapes_from_the_static_directory_are_refused(static_tree: Path, path: str) -> None:
    with pytest.raises(ForbiddenURL):
        resolve(static_base_url(static_tree) + path, static_dir=static_tree)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file:///static/../etc/passwd",
        "file://otherhost/work/static/reports/print.css",
        "http://127.0.0.1/x.css",
        "https://example.com/logo.png",
        "ftp://example.com/x",
        "gopher://example.com/",
        "data:text/html,<b>x</b>",
        "data:text/css,h1{color:red}",
        "resource:nothing-by-that-name",
        "reports/print.css",  # not absolute
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenURL):
        resolve(url, {"logo": (PNG_1PX, "image/png")})


def test_named_resources_and_small_inline_images_are_served() -> None:
    assert resolve("resource:logo", {"logo": (PNG_1PX, "image/png")}).body == PNG_1PX
    inline = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    assert resolve(inline).body == PNG_1PX
    svg = resolve("data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A//www.w3.org/2000/svg%22/%3E")
    assert svg.body.startswith(b"<svg")
    huge = "data:image/png;base64," + base64.b64encode(b"x" * (DATA_URL_MAX_BYTES + 1)).decode()
    with pytest.raises(ForbiddenURL):
        resolve(huge)


def test_the_weasyprint_fetcher_records_what_it_refuses() -> None:
    fetcher = ReportURLFetcher({"logo": (PNG_1PX, "image/png")})
    response = fetcher.fetch("resource:logo")
    assert response.read() == PNG_1PX and response.content_type == "image/png"
    with pytest.raises(ForbiddenURL):
        fetcher.fetch("https://example.com/x.png")
    assert fetcher.fetched == ["resource:logo"]
    assert fetcher.refused == ["https://example.com/x.png"]


# --------------------------------------------------------------------------- a real render


@pytest.fixture
def spy_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that serves the leak CSS and records every request."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = LEAK_CSS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_a_render_fetches_nothing_it_must_not(tmp_path: Path, spy_server) -> None:
    base, hits = spy_server
    secret_css = tmp_path / "secret.css"
    secret_css.write_text(LEAK_CSS)
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Fetcher test</title>
<link rel="stylesheet" href="{base}/remote.css">
<link rel="stylesheet" href="{secret_css.as_uri()}">
<link rel="stylesheet" href="../../{secret_css.relative_to("/")}">
<link rel="stylesheet" href="resource:served">
<style>@import url("{base}/imported.css"); html {{ font-family: "DejaVu Sans"; }}</style>
</head><body>
<h1>Fetcher heading</h1>
<img src="{base}/tracker.png" alt="">
<img src="file:///etc/hostname" alt="">
<img src="resource:logo" alt="logo">
<p style="background: url('{base}/bg.png')">Body text</p>
</body></html>"""
    rendered = render_pdf(
        html,
        {
            "logo": (PNG_1PX, "image/png"),
            "served": (b'h1::after { content: " SERVED"; }', "text/css"),
        },
    )
    text = pdf_text(rendered.pdf)
    assert "Fetcher heading" in text
    assert "SERVED" in text  # the named resource was used
    assert "LEAKED" not in text  # neither the remote nor the local-file stylesheet
    assert hits == []
    assert rendered.page_count == 1
    refused = " ".join(rendered.refused)
    for part in ("remote.css", "imported.css", "tracker.png", "bg.png", "secret.css", "hostname"):
        assert part in refused
    assert "resource:logo" not in refused


def test_web_fonts_are_served_decompressed_once() -> None:
    fonts = sorted((STATIC_DIR / "reports" / "fonts").glob("*.woff2"))
    if not fonts:
        pytest.skip("no web fonts under static/reports/fonts yet")
    first = resolve(fonts[0].as_uri())
    assert first.media_type in ("font/ttf", "font/otf")
    assert first.body[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true")
    # Converted once per process: the same bytes object comes back.
    assert resolve(fonts[0].as_uri()).body is first.body
