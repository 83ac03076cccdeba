"""Real arq workers for tests: in-process (burst mode) and as a separate process.

:func:`run_burst_worker` runs :data:`scalemark.worker.FUNCTIONS` in this process against the
test Redis until the queue is empty — with the report start-up (render processes,
recovery sweep) but on the test's own database pool. Monkeypatches of this process apply.

:class:`WorkerProcess` starts ``python -m arq scalemark.worker.WorkerSettings`` (the
production settings, same database and Redis) in its own process group, so a test can
SIGKILL the worker together with its render processes.

:func:`wait_for` polls a condition with a deadline (no fixed sleeps in tests).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from arq.connections import RedisSettings
from arq.worker import Worker

from scalemark import PROJECT_ROOT
from scalemark.reports import jobs as report_jobs
from scalemark.reports.render import RenderPool
from scalemark.worker import FUNCTIONS

__all__ = [
    "WorkerProcess",
    "redis_settings",
    "render_pool_fixture",
    "run_burst_worker",
    "wait_for",
]

T = TypeVar("T")


def redis_settings() -> RedisSettings:
    """The test Redis (``REDIS_URL`` as set by ``tests/conftest.py``)."""
    return RedisSettings.from_dsn(os.environ["REDIS_URL"])


@pytest.fixture(scope="session", name="render_pool")
def render_pool_fixture():
    """One render process for the whole session (spawning one costs about a second)."""
    pool = RenderPool(processes=1, tasks_per_process=50)
    yield pool
    pool.close(wait=False)


async def run_burst_worker(
    *,
    ctx: dict[str, Any] | None = None,
    startup: bool = True,
    max_tries: int | None = None,
    timeout_s: float = 60.0,
) -> Worker:
    """Run a worker in this process until the queue is empty; the finished worker.

    ``ctx`` seeds the job context (``report_renderer``: a shared :class:`RenderPool`,
    ``report_builder``, ``report_retry_base``). ``startup`` runs the report start-up
    (recovery sweep) first.
    """
    seeded = dict(ctx or {})
    if "report_renderer" in seeded:
        seeded["report_renderer_shared"] = True

    async def on_startup(job_ctx: dict[str, Any]) -> None:
        if startup:
            await report_jobs.start_reports(job_ctx, warm_up=False)

    async def on_shutdown(job_ctx: dict[str, Any]) -> None:
        await report_jobs.stop_reports(job_ctx)

    worker = Worker(
        functions=FUNCTIONS,  # type: ignore[arg-type]
        redis_settings=redis_settings(),
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        ctx=seeded,
        max_tries=max_tries or 5,
    )
    try:
        await asyncio.wait_for(worker.async_run(), timeout_s)
    finally:
        await worker.close()
    return worker


class WorkerProcess:
    """``python -m arq scalemark.worker.WorkerSettings`` in its own process group."""

    def __init__(self, env: dict[str, str] | None = None, *, burst: bool = False) -> None:
        fd, name = tempfile.mkstemp(prefix="scalemark-worker-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        command = [sys.executable, "-m", "arq", "scalemark.worker.WorkerSettings"]
        if burst:
            command.append("--burst")
        full_env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "REPORT_RENDER_PROCESSES": "1",
            **(env or {}),
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        """Still running."""
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its render processes (the whole process group)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's output."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


async def wait_for(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout_s: float = 30.0,
    interval_s: float = 0.1,
    message: str = "condition",
) -> T:
    """Poll ``condition`` until it returns something truthy; that value.

    Fails the test after ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {message}")
        await asyncio.sleep(interval_s)  # poll interval, bounded by the deadline
