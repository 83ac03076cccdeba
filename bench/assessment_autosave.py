"""Benchmark: answer autosave under load — 50 respondents saving at the same time.

Usage::

    .venv/bin/python bench/assessment_autosave.py --clients 50 --seconds 20
    .venv/bin/python bench/assessment_autosave.py --think-ms 0    # saturate: capacity

Uses its own database (``--database-url``, default ``BENCH_DATABASE_URL`` or
``postgresql://postgres@127.0.0.1:5432/scalemark_bench``, created when missing) and Redis
(``--redis-url``, default ``BENCH_REDIS_URL`` or ``redis://127.0.0.1:6379/12``). It
migrates and provisions the tenant ``bench-asm``: one unit per client, one open
assessment over all of them on the built-in framework (``--framework FILE`` for another
one; the test framework ``mini.yaml`` while the built-in one is missing or does not load)
and, per client, a person with an account and password, a contributor membership at their
unit and a respondent row for it.

Then it starts ``uvicorn scalemark.app:create_app``, signs every respondent in through
``POST /login``, opens their first section page (CSRF token and cookie, as a browser
does) and runs the clients concurrently for ``--seconds``. Each answers its unit's
questions section by section over its own keep-alive connection, as the answering page
does with htmx: ``POST /assessments/{id}/answer/{unit}/q/{key}`` carrying the whole
section form (htmx posts the enclosing form), ``HX-Request: true`` and the CSRF header,
and keeps the revisions the reply names for the next saves. Between saves a client
waits ``--think-ms`` (randomised ±50 %; default 1 s, which is a brisk person); with 0 the
clients saturate the server, so the figures show its capacity and queueing instead.

Prints p50/p95/max of the server time (``Server-Timing: app;dur=``) and of the
client-observed latency, saves per second and errors; the last line is JSON. Exits 1 on
any error or when the server-side p95 is above ``--target-ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _assessment import (
    add_framework_option,
    bench_framework,
    insert_assessment,
    insert_respondents,
)
from _common import (
    Connection,
    Timings,
    add_common_options,
    bench_parser,
    bench_services,
    bench_tenant,
    cookie_header,
    create_units,
    csrf_token,
    finish,
    process_cpu_s,
    serving,
    signed_in,
)

DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
SLUG = "bench-asm"
PASSWORD = "bench-password-0123"
EMAIL = "respondent{index:03d}@bench-autosave.example"
WARMUP_SAVES = 3
"""Unmeasured saves per client before the clock starts (connections, caches)."""
SIGN_IN_AT_ONCE = 8
"""Concurrent sign-ins (each verifies an Argon2 hash on the server)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--clients", type=int, default=50, help="concurrent respondents (50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds (20)")
    parser.add_argument(
        "--think-ms", type=float, default=1000.0, help="pause between a client's saves (1000)"
    )
    parser.add_argument("--target-ms", type=float, default=25.0, help="server-side p95 target (25)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the answers")
    add_framework_option(parser)
    add_common_options(parser, redis=DEFAULT_REDIS, keep="keep the tenant afterwards", app=True)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.think_ms < 0:
        parser.error("--clients and --seconds must be positive, --think-ms not negative")
    return args


# --------------------------------------------------------------------------- provisioning


@dataclass
class Respondent:
    """One bench respondent: the unit they answer for and, once signed in, their session."""

    email: str
    unit_id: int
    cookies: str = ""
    token: str = ""
    revisions: dict[str, int] = field(default_factory=dict)
    """Question key → the revision the next save is based on (as in the page's inputs)."""
    answers: dict[str, str] = field(default_factory=dict)
    """Question key → the radio value chosen (``"1"``–``"5"``, ``"na"``, ``"dk"``)."""


@dataclass
class World:
    """What the bench provisioned."""

    assessment_id: int
    framework: Any
    label: str
    respondents: list[Respondent]

    @property
    def first_section(self) -> str:
        """The first dimension: the page each client opens first."""
        return str(self.framework.dimensions[0].key)


async def provision(conn, clients: int, framework_file: Path | None) -> World:  # type: ignore[no-untyped-def]
    """The tenant, one unit per client, the open assessment and its respondents."""
    from scalemark.db import tenant_transaction
    from scalemark.identity.provisioning import ensure_member

    ref = await bench_tenant(conn, SLUG, "Bench Autosave Group")
    chosen = bench_framework(framework_file)
    async with tenant_transaction(ref) as tx:
        units = await create_units(clients)
        codes = sorted(units, key=units.__getitem__)
        assessment_id = await insert_assessment(
            tx, chosen, title="Autosave bench", status="open", unit_ids=sorted(units.values())
        )
        people = [Respondent(EMAIL.format(index=i), units[code]) for i, code in enumerate(codes)]
        await insert_respondents(tx, assessment_id, [(p.unit_id, p.email) for p in people])
    for person, code in zip(people, codes, strict=True):
        await ensure_member(
            person.email,
            tenant_slug=SLUG,
            role="contributor",
            unit_code=code,
            password=PASSWORD,
            name="Bench respondent",
        )
    return World(assessment_id, chosen.framework, chosen.label, people)


# --------------------------------------------------------------------------- the clients


def _input_values(page: str, suffix: str) -> dict[str, int]:
    """``<input name="<key><suffix>" value="<n>">`` of a page: key → n (any attribute order)."""
    found: dict[str, int] = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name = re.search(r'\bname="([^"]+)"', tag)
        value = re.search(r'\bvalue="(\d+)"', tag)
        if name and value and html.unescape(name[1]).endswith(suffix):
            found[html.unescape(name[1])[: -len(suffix)]] = int(value[1])
    return found


async def open_session(port: int, world: World, person: Respondent) -> None:
    """Sign in and open the first section page: cookies, CSRF token, stored revisions."""
    async with signed_in(port, SLUG, person.email, PASSWORD) as client:
        page = await client.get(
            f"/assessments/{world.assessment_id}/answer/{person.unit_id}/{world.first_section}"
        )
        token = csrf_token(page.text)
        if page.status_code != 200 or token is None:
            raise SystemExit(f"{person.email}: no answering page ({page.status_code})")
        person.token = token
        person.cookies = cookie_header(client)
        person.revisions.update(_input_values(page.text, ".revision"))


@dataclass
class Load:
    """What the clients measured together."""

    timings: Timings = field(default_factory=Timings)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    """Transport errors by exception name."""
    revision_from_reply: int = 0
    """Saves whose new revision the reply named (the rest were counted on)."""
    server_cpu_s: float | None = None
    """CPU seconds the server process used while measuring."""


class Client:
    """One respondent answering their unit's questions, section by section.

    Each save posts what htmx posts when a level is picked: the whole section form (the
    CSRF field, then per shown question its chosen answer, target, comment, evidence link
    and revision) to the question's autosave address, with htmx's headers. The revisions
    named in the reply (the question's and those of follow-ups shown or hidden) are kept
    for the next saves, as the page keeps them.
    """

    def __init__(self, port: int, world: World, person: Respondent, rng: random.Random) -> None:
        self.framework = world.framework
        self.person = person
        self.rng = rng
        self.connection = Connection(port)
        self.origin = f"http://{SLUG}.localhost:{port}"
        self.base = f"/assessments/{world.assessment_id}/answer/{person.unit_id}"
        self.headers = {
            "Host": f"{SLUG}.localhost:{port}",
            "Cookie": person.cookies,
            "Content-Type": "application/x-www-form-urlencoded",
            "HX-Request": "true",
            "X-CSRFToken": person.token,
        }
        self.section = 0
        self.turn = 0

    def _shown(self) -> set[str]:
        levels = {k: int(v) if v.isdigit() else None for k, v in self.person.answers.items()}
        return set(self.framework.visible(levels))

    def _next_question(self) -> tuple[Any, Any]:
        """The next shown question of the current section (then of the next section)."""
        shown = self._shown()
        dimensions = self.framework.dimensions
        for _ in range(len(dimensions) + 1):
            dimension = dimensions[self.section % len(dimensions)]
            keys = [q for q in dimension.questions if q.key in shown]
            if self.turn < len(keys):
                self.turn += 1
                return dimension, keys[self.turn - 1]
            self.section, self.turn = self.section + 1, 0
        raise RuntimeError("no question is shown")

    def _choice(self, question: Any) -> str:
        """An answer other than the current one: mostly a level, now and then n/a or d/k."""
        offered = [str(n) for n in range(1, 6)]
        if self.rng.random() < 0.05:
            offered = ["na"] * question.allow_not_applicable + ["dk"] * question.allow_dont_know
        current = self.person.answers.get(question.key)
        return self.rng.choice([v for v in offered if v != current] or ["3"])

    def _form(self, dimension: Any) -> list[tuple[str, str]]:
        """The section form's fields in page order (hidden questions have no controls)."""
        shown = self._shown()
        person = self.person
        fields = [("_csrf_token", person.token)]
        for question in dimension.questions:
            key = question.key
            if key not in shown:
                continue
            if key in person.answers:
                fields.append((f"{key}.answer", person.answers[key]))
            fields += [(f"{key}.target", ""), (f"{key}.comment", ""), (f"{key}.evidence", "")]
            fields.append((f"{key}.revision", str(person.revisions.get(key, 0))))
        return fields

    async def save(self, load: Load | None) -> None:
        """Pick an answer for the next question: one autosave request."""
        dimension, question = self._next_question()
        key, person = question.key, self.person
        before = person.answers.get(key)
        person.answers[key] = self._choice(question)  # the radio is checked, then posted
        body = urlencode(self._form(dimension)).encode()
        headers = {
            **self.headers,
            "HX-Current-URL": f"{self.origin}{self.base}/{dimension.key}",
            "HX-Target": f"qstatus-{key}",
            "HX-Trigger": f"question-{key}",
        }
        started = time.perf_counter()
        try:
            reply = await self.connection.request("POST", f"{self.base}/q/{key}", headers, body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.connection.close()
            if load is not None:
                load.failures[type(exc).__name__] += 1
            return
        elapsed = (time.perf_counter() - started) * 1000
        named = _input_values(reply.body.decode("utf-8", "replace"), ".revision")
        person.revisions.update(named)
        if reply.status != 200 and before is not None:
            person.answers[key] = before
        if load is not None:
            load.statuses[reply.status] += 1
            load.timings.add(elapsed, reply)
            if reply.status == 200 and key in named:
                load.revision_from_reply += 1

    async def run(self, load: Load, until: float, think_s: float) -> None:
        """Save until ``until`` (a ``perf_counter`` time); requests started before it count."""
        try:
            while time.perf_counter() < until:
                await self.save(load)
                if think_s:
                    await asyncio.sleep(think_s * self.rng.uniform(0.5, 1.5))
        finally:
            await self.connection.close()


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> dict:
    load = Load()
    async with bench_services(args, [SLUG]) as pool:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            world = await provision(conn, args.clients, args.framework)
        print(
            f"provisioned {SLUG} ({world.label}): {args.clients} units, respondents"
            f" and accounts, {len(list(world.framework.questions()))} questions"
            f" in {time.perf_counter() - started:.1f} s"
        )
        async with serving(app=args.app) as server:
            gate = asyncio.Semaphore(SIGN_IN_AT_ONCE)

            async def open_one(person: Respondent) -> None:
                async with gate:
                    await open_session(server.port, world, person)

            await asyncio.gather(*(open_one(p) for p in world.respondents))
            rng = random.Random(args.seed)
            clients = [
                Client(server.port, world, p, random.Random(rng.random()))
                for p in world.respondents
            ]
            for _ in range(WARMUP_SAVES):
                await asyncio.gather(*(c.save(None) for c in clients))
            cpu_before = process_cpu_s(server.process.pid)
            began = time.perf_counter()
            await asyncio.gather(
                *(c.run(load, began + args.seconds, args.think_ms / 1000) for c in clients)
            )
            elapsed = time.perf_counter() - began
            cpu_after = process_cpu_s(server.process.pid)
            if cpu_before is not None and cpu_after is not None:
                load.server_cpu_s = cpu_after - cpu_before
            log_tail = server.log_tail(20)
    return report(args, world, load, elapsed, log_tail)


def report(
    args: argparse.Namespace, world: World, load: Load, elapsed: float, log_tail: str
) -> dict:
    """Print the figures; the figures for the JSON line."""
    figures = load.timings.figures()
    saves = load.statuses[200]
    errors = sum(n for status, n in load.statuses.items() if status != 200)
    errors += sum(load.failures.values())
    server_p95 = figures["server"].get("p95_ms")
    missed = server_p95 is None or server_p95 > args.target_ms
    print(
        f"\n{args.clients} clients for {elapsed:.1f} s, think time {args.think_ms:.0f} ms:"
        f" {saves} saves ({saves / elapsed:.0f}/s), {errors} errors"
    )
    cpu_ms = None
    if load.server_cpu_s is not None and saves:
        cpu_ms = round(load.server_cpu_s * 1000 / saves, 2)
        print(f"server CPU per save: {cpu_ms:.2f} ms (one core: about {1000 / cpu_ms:.0f} saves/s)")
    print(f"{'':<8} {'p50 ms':>8} {'p95':>7} {'max':>7}")
    print(f"{'server':<8}{Timings.columns(figures['server'])}")
    print(f"{'client':<8}{Timings.columns(figures['client'])}")
    if errors:
        print(f"statuses {dict(load.statuses)}, transport errors {dict(load.failures)}")
        print(f"server log (last lines):\n{log_tail}")
    verdict = "MISSED" if missed else "met"
    print(f"target: server p95 < {args.target_ms:.0f} ms — {verdict}")
    return {
        "bench": "assessment_autosave",
        "framework": world.label,
        "clients": args.clients,
        "seconds": round(elapsed, 2),
        "think_ms": args.think_ms,
        "saves": saves,
        "saves_per_s": round(saves / elapsed, 1),
        "revision_from_reply": load.revision_from_reply,
        "server_cpu_ms_per_save": cpu_ms,
        **figures,
        "target_p95_ms": args.target_ms,
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "transport_errors": dict(load.failures),
        "errors": errors,
        "missed": missed,
    }


def main(argv: list[str] | None = None) -> int:
    return finish(run, parse_args(argv), "errors", "missed")


if __name__ == "__main__":
    sys.exit(main())
