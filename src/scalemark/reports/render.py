"""HTML → PDF with WeasyPrint, in a pool of recycled processes.

Rendering is CPU work of seconds: in the worker's event loop it would stall arq's polling
and health checks, so it runs in a :class:`concurrent.futures.ProcessPoolExecutor`
created once per worker process (:class:`RenderPool`). Its processes are started with
``spawn`` (a fresh interpreter: no copy of the worker's event loop, database pool or Redis
connections) and replaced after :data:`DEFAULT_TASKS_PER_PROCESS` renders, because a
long-lived WeasyPrint process keeps growing. WeasyPrint is imported only in those
processes (importing it takes about a second and a lot of memory).

Every render uses :class:`~scalemark.reports.fetcher.ReportURLFetcher`: only files under
``static/``, the render's named resources (``resource:logo``) and small inline images.
The document's base URL is the static directory, so ``reports/print.css`` and
``/static/reports/print.css`` both work. Fonts: the print CSS sets ``font-family`` on
``html`` and ``@page`` so margin boxes (page numbers) use it too.

Environment: ``REPORT_RENDER_PROCESSES`` (processes per worker, default 2),
``REPORT_RENDER_TASKS_PER_PROCESS`` (renders before a process is replaced, default 20).
``SCALEMARK_TEST_RENDER_DELAY`` (seconds) delays every render — only tests set it, to
catch a worker in the middle of a render.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_PROCESSES",
    "DEFAULT_TASKS_PER_PROCESS",
    "TEST_DELAY_ENV",
    "RenderError",
    "RenderPool",
    "RenderPoolBroken",
    "RenderedPdf",
    "render_pdf",
]

logger = logging.getLogger("scalemark.reports.render")

DEFAULT_PROCESSES = 2
"""Render processes per worker unless ``REPORT_RENDER_PROCESSES`` says otherwise."""
DEFAULT_TASKS_PER_PROCESS = 20
"""Renders before a process is replaced (``REPORT_RENDER_TASKS_PER_PROCESS``)."""
TEST_DELAY_ENV = "SCALEMARK_TEST_RENDER_DELAY"
"""Seconds every render waits before it starts; honoured only when set (tests)."""

Resources = Mapping[str, tuple[bytes, str]]


class RenderError(RuntimeError):
    """WeasyPrint could not render the document (a fault of the document, not transient)."""


class RenderPoolBroken(RuntimeError):
    """A render process died (killed, out of memory); the pool was replaced. Transient."""


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered document and what it cost."""

    pdf: bytes
    page_count: int
    seconds: float
    """Wall time of the render in its process."""
    cpu_seconds: float
    """CPU time of the render process for it (unlike wall time, not inflated by a busy
    machine)."""
    peak_rss_kib: int
    """Peak resident memory of the render process so far (``ru_maxrss``, KiB on Linux)."""
    refused: tuple[str, ...] = ()
    """URLs the fetcher refused (logged by the job)."""


def render_pdf(html: str, resources: Resources | None = None) -> RenderedPdf:
    """Render ``html`` to PDF in this process (the pool runs this in its processes).

    Relative URLs resolve against ``static/``; ``resource:<name>`` against ``resources``.
    Raises :class:`RenderError` when WeasyPrint fails.
    """
    from weasyprint import HTML

    from scalemark.reports.fetcher import ReportURLFetcher, static_base_url

    started, cpu_started = time.perf_counter(), time.process_time()
    fetcher = ReportURLFetcher(resources)
    try:
        document = HTML(string=html, base_url=static_base_url(), url_fetcher=fetcher).render(
            font_config=_font_config()
        )
        pdf = document.write_pdf(pdf_tags=True)
    except Exception as exc:  # WeasyPrint raises many kinds; all mean "this document"
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc
    assert pdf is not None
    return RenderedPdf(
        pdf=pdf,
        page_count=len(document.pages),
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        refused=tuple(fetcher.refused),
    )


_FONT_CONFIG: Any = None


def _font_config() -> Any:
    """This process's WeasyPrint font configuration, shared by its renders.

    Fonts of ``@font-face`` rules are registered once per process instead of once per
    render. They only ever come from ``static/`` (the fetcher refuses anything else), so
    documents of different tenants share nothing of their own through it.
    """
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        from weasyprint.text.fonts import FontConfiguration

        _FONT_CONFIG = FontConfiguration()
    return _FONT_CONFIG


def _warm() -> int:
    """Import WeasyPrint in a pool process (so the first real render does not pay it)."""
    import weasyprint  # noqa: F401

    return os.getpid()


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, "") or default))
    except ValueError:
        return default


class RenderPool:
    """The worker's render processes: ``await pool.render(html, resources)``."""

    def __init__(self, processes: int | None = None, tasks_per_process: int | None = None):
        self.processes = processes or _env_int("REPORT_RENDER_PROCESSES", DEFAULT_PROCESSES)
        self.tasks_per_process = tasks_per_process or _env_int(
            "REPORT_RENDER_TASKS_PER_PROCESS", DEFAULT_TASKS_PER_PROCESS
        )
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=self.tasks_per_process,
        )

    async def warm_up(self) -> None:
        """Start the processes and import WeasyPrint in them."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _warm) for _ in range(self.processes))
        )

    async def render(self, html: str, resources: Resources | None = None) -> RenderedPdf:
        """Render in a pool process; :class:`RenderPoolBroken` if a process died."""
        delay = os.environ.get(TEST_DELAY_ENV)
        if delay:
            await asyncio.sleep(float(delay))
        loop = asyncio.get_running_loop()
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, render_pdf, html, dict(resources or {}))
        except BrokenProcessPool as exc:
            logger.warning("render process died; starting a new pool: %s", exc)
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise RenderPoolBroken(str(exc)) from exc

    def close(self, wait: bool = True) -> None:
        """Stop the processes (``wait``: let running renders finish)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)
