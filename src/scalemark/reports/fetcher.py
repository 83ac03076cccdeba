"""The URL fetcher of the PDF renderer: our static files and the render's own resources.

WeasyPrint's default fetcher opens ``file://`` anywhere on the disk and any HTTP(S) or FTP
URL. A report is made from tenant data (answers, comments, evidence links, a logo), so
this fetcher allows only:

- files under the project's ``static/`` directory, addressed as ``file://`` URLs — the
  render's base URL is that directory, so ``reports/print.css`` works, and a web-style
  root path ``/static/reports/print.css`` (which resolves to ``file:///static/…``) is
  mapped onto it too. The path is resolved (symlinks followed) and must stay inside
  ``static/``: ``..`` escapes and symlinks pointing outside are refused;
- the render's named in-memory resources, ``resource:<name>`` (e.g. ``resource:logo``);
- ``data:`` URLs of images (PNG, JPEG, GIF, WebP, SVG) up to :data:`DATA_URL_MAX_BYTES`.
  Decision: they are allowed because they cannot reach the disk or the network (anything
  an inline SVG references goes through this fetcher again) and charts or icons may be
  inlined that way; the size cap bounds memory. Other ``data:`` types are refused.

WOFF and WOFF2 fonts under ``static/`` are served decompressed (converted once per process
and kept in memory): WeasyPrint would otherwise decompress every font on every render,
which cost more than half a second per document.

Everything else — ``http(s)``, ``ftp``, ``file://`` elsewhere, unknown schemes — raises
:class:`ForbiddenURL`. WeasyPrint reports that as a warning and renders the document
without the resource; the refused URLs are collected in :attr:`ReportURLFetcher.refused`.

:func:`resolve` is the pure rule (no WeasyPrint needed); :class:`ReportURLFetcher` plugs it
into WeasyPrint. This module is imported in the render processes only.
"""

from __future__ import annotations

import base64
import binascii
import io
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from scalemark import PROJECT_ROOT

__all__ = [
    "DATA_URL_MAX_BYTES",
    "DATA_URL_TYPES",
    "RESOURCE_SCHEME",
    "STATIC_DIR",
    "Fetched",
    "ForbiddenURL",
    "ReportURLFetcher",
    "resolve",
    "static_base_url",
]

STATIC_DIR = PROJECT_ROOT / "static"
"""The only directory the renderer reads files from."""
RESOURCE_SCHEME = "resource"
"""``resource:<name>`` addresses a named in-memory resource of the render."""
DATA_URL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})
"""Media types a ``data:`` URL may carry."""
DATA_URL_MAX_BYTES = 512 * 1024
"""Largest decoded ``data:`` URL."""

_WEB_STATIC_PREFIX = "/static/"
_EXTRA_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}


class ForbiddenURL(ValueError):
    """A URL the report renderer does not fetch."""


@dataclass(frozen=True)
class Fetched:
    """What a URL resolved to."""

    body: bytes
    media_type: str
    url: str
    """The URL relative URLs inside the resource resolve against."""


def static_base_url(static_dir: Path = STATIC_DIR) -> str:
    """``file://…/static/``: the base URL of a report's HTML."""
    return static_dir.resolve().as_uri() + "/"


def _media_type(path: Path) -> str:
    return _EXTRA_TYPES.get(path.suffix.lower()) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


@lru_cache(maxsize=32)
def _decompressed_font(path: Path, mtime_ns: int, size: int) -> tuple[bytes, str]:
    """A WOFF/WOFF2 file as plain TrueType/OpenType bytes (cached by path and stamp)."""
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(path.read_bytes()))
    media_type = "font/otf" if font.sfntVersion == "OTTO" else "font/ttf"
    font.flavor = None
    out = io.BytesIO()
    font.save(out)
    return out.getvalue(), media_type


def _static_file(url: str, static_dir: Path) -> Fetched:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ForbiddenURL(f"file URL on another host: {url}")
    raw_path = unquote(parts.path)
    root = static_dir.resolve()
    requested = Path(raw_path)
    if not requested.is_absolute():
        raise ForbiddenURL(f"relative file URL: {url}")
    if requested.is_relative_to(root):
        candidate = requested
    elif raw_path.startswith(_WEB_STATIC_PREFIX):
        candidate = root / raw_path[len(_WEB_STATIC_PREFIX) :]
    else:
        raise ForbiddenURL(f"file outside the static directory: {url}")
    try:
        # strict: the file must exist; symlinks are followed, so the check below sees
        # where a link really points.
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise ForbiddenURL(f"no such static file: {url}") from exc
    if not real.is_relative_to(root) or not real.is_file():
        raise ForbiddenURL(f"file outside the static directory: {url}")
    if real.suffix.lower() in (".woff", ".woff2"):
        stamp = real.stat()
        body, media_type = _decompressed_font(real, stamp.st_mtime_ns, stamp.st_size)
        return Fetched(body, media_type, real.as_uri())
    return Fetched(real.read_bytes(), _media_type(real), real.as_uri())


def _data_url(url: str) -> Fetched:
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise ForbiddenURL("malformed data URL")
    params = [p.strip() for p in header.split(";")]
    media_type = (params[0] or "text/plain").lower()
    if media_type not in DATA_URL_TYPES:
        raise ForbiddenURL(f"data URL of type {media_type} is not allowed")
    # Decoded size is at most 3/4 of base64 text: refuse early without decoding.
    if len(payload) > DATA_URL_MAX_BYTES * 2:
        raise ForbiddenURL("data URL too large")
    try:
        if "base64" in (p.lower() for p in params[1:]):
            body = base64.b64decode(unquote(payload), validate=False)
        else:
            body = unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as exc:
        raise ForbiddenURL("malformed data URL") from exc
    if len(body) > DATA_URL_MAX_BYTES:
        raise ForbiddenURL("data URL too large")
    return Fetched(body, media_type, "data:")


def resolve(
    url: str,
    resources: Mapping[str, tuple[bytes, str]] | None = None,
    static_dir: Path = STATIC_DIR,
) -> Fetched:
    """The content of ``url`` under the report rules; :class:`ForbiddenURL` otherwise.

    ``resources`` maps a name to ``(bytes, media type)``, addressed as ``resource:<name>``.
    """
    scheme, colon, rest = url.partition(":")
    if not colon:
        raise ForbiddenURL(f"not an absolute URL: {url}")
    scheme = scheme.lower()
    if scheme == RESOURCE_SCHEME:
        name = rest.split("?", 1)[0].split("#", 1)[0]
        found = (resources or {}).get(name)
        if found is None:
            raise ForbiddenURL(f"no render resource named {name!r}")
        return Fetched(found[0], found[1], url)
    if scheme == "file":
        return _static_file(url, static_dir)
    if scheme == "data":
        return _data_url(url)
    raise ForbiddenURL(f"{scheme} URLs are not fetched in reports: {url}")


class ReportURLFetcher(URLFetcher):
    """WeasyPrint's fetcher restricted to :func:`resolve`; refusals are recorded."""

    def __init__(
        self,
        resources: Mapping[str, tuple[bytes, str]] | None = None,
        static_dir: Path = STATIC_DIR,
    ) -> None:
        # fail_on_errors=False: a refused URL is a warning, the document still renders.
        super().__init__(allowed_protocols=(), fail_on_errors=False)
        self.resources = dict(resources or {})
        self.static_dir = static_dir
        self.fetched: list[str] = []
        """URLs served, in order."""
        self.refused: list[str] = []
        """URLs refused, in order (``data:`` URLs shortened)."""

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        """Serve ``url`` from the allowed sources or raise :class:`ForbiddenURL`."""
        shown = url if not url.startswith("data:") else url[:40] + "…"
        try:
            found = resolve(url, self.resources, self.static_dir)
        except ForbiddenURL:
            self.refused.append(shown)
            raise
        self.fetched.append(shown)
        headers_out = {"Content-Type": found.media_type}
        return URLFetcherResponse(found.url, found.body, headers_out)
