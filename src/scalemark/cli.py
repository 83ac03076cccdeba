"""The ``scalemark`` command."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scalemark.settings import get_settings

__all__ = ["main"]

T = TypeVar("T")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from a click command."""
    return asyncio.run(factory())  # type: ignore[arg-type]


async def _with_db(body: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``body(conn)`` with the ORM pool open and one raw connection from it."""
    from scalemark.db import close_pool, get_engine, start_pool

    await start_pool()
    try:
        pool = get_engine().pool
        assert pool is not None
        async with pool.acquire() as conn:
            return await body(conn)
    finally:
        await close_pool()


@click.group()
def main() -> None:
    """Scalemark: scale marketing across multi-unit organisations."""


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=int, default=None, help="Defaults to $PORT or 8000.")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int | None, workers: int, reload: bool) -> None:
    """Run the web server."""
    import uvicorn

    uvicorn.run(
        "scalemark.app:create_app",
        factory=True,
        host=host,
        port=port or get_settings().port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        log_level="info",
    )


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run the background job worker (arq)."""
    from arq.worker import run_worker

    from scalemark.worker import WorkerSettings

    run_worker(WorkerSettings, burst=burst)  # type: ignore[arg-type]


@main.command()
@click.option("--check", is_flag=True, help="List pending work; exit 1 if there is any.")
@click.option("--concurrency", type=int, default=None, help="Schemas migrated at once.")
def migrate(check: bool, concurrency: int | None) -> None:
    """Bring the shared schema and every tenant schema up to date."""
    from scalemark.db.migrations import connect, migrate_all, plan

    async def go() -> int:
        pool = await connect(size=(concurrency or get_settings().migrate_concurrency) + 1)
        try:
            if check:
                pending = await plan(pool)
                for m in pending.shared:
                    click.echo(f"shared: {m.version:04d}_{m.name}")
                for schema, items in pending.tenants.items():
                    names = ", ".join(f"{m.version:04d}_{m.name}" for m in items)
                    click.echo(f"{schema}: {names}")
                click.echo(
                    f"{len(pending.shared)} shared migration(s), {len(pending.tenants)} of "
                    f"{pending.tenant_count} tenant schema(s) pending"
                )
                return 1 if not pending.empty else 0

            def progress(done: int, total: int, schema: str, error: str | None) -> None:
                if error:
                    click.echo(f"  FAILED {schema}: {error}", err=True)
                if done == total or done % max(1, total // 20) == 0:
                    click.echo(f"  tenants {done}/{total}")

            report = await migrate_all(pool, concurrency=concurrency, progress=progress)
            click.echo(
                f"shared: {report.shared_applied} applied; tenants: {report.schemas_migrated} "
                f"migrated, {len(report.failures)} failed ({report.seconds:.2f} s)"
            )
            for schema, error in report.failures.items():
                click.echo(
                    f"failed: {schema}: {error} — rerun `scalemark migrate` to finish", err=True
                )
            return 1 if report.failures else 0
        finally:
            await pool.close()

    sys.exit(run(go))


@main.group()
def tenants() -> None:
    """Create, apply, list and drop tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--locale", "locale", default="en", show_default=True)
def tenants_create(slug: str, name: str, locale: str) -> None:
    """Provision a tenant: schema, role, tables, registry row — all or nothing."""
    from scalemark.tenancy.provisioning import TenantExistsError, create_tenant
    from scalemark.tenancy.slugs import InvalidSlugError

    if locale not in get_settings().locales:
        raise click.BadParameter(
            f"choose one of {', '.join(get_settings().locales)}", param_hint="--locale"
        )
    try:
        run(lambda: _with_db(lambda conn: create_tenant(conn, slug, name, default_locale=locale)))
    except (InvalidSlugError, TenantExistsError, ValueError) as exc:
        raise click.ClickException(
            str(exc) if not isinstance(exc, TenantExistsError) else f"tenant {slug} exists"
        ) from exc
    click.echo(f"created tenant {slug}")


@tenants.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def tenants_apply(path: Path) -> None:
    """Create or update a tenant to match a blueprint file (idempotent)."""
    from scalemark.tenancy.blueprints import BlueprintError, apply_blueprint, load_blueprint

    try:
        blueprint = load_blueprint(path)
    except BlueprintError as exc:
        raise click.ClickException(str(exc)) from exc
    result = run(lambda: _with_db(lambda conn: apply_blueprint(conn, blueprint)))
    if not result.changed:
        click.echo(f"{blueprint.slug}: up to date")
        return
    click.echo(
        f"{blueprint.slug}: {'created tenant, ' if result.created_tenant else ''}"
        f"{len(result.created)} created, {len(result.updated)} updated, {len(result.moved)} moved, "
        f"{len(result.archived)} archived, {len(result.restored)} restored"
    )


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True)
def tenants_list(as_json: bool) -> None:
    """List tenants."""
    from scalemark.tenancy.registry import list_tenants

    async def go() -> list[Any]:
        from scalemark.db import close_pool, start_pool

        await start_pool()
        try:
            return await list_tenants()
        finally:
            await close_pool()

    items = run(go)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "slug": t.slug,
                        "name": t.name,
                        "schema": t.schema,
                        "status": t.status,
                        "default_locale": t.default_locale,
                        "locales": t.locales,
                        "created_at": t.created_at.isoformat(),
                    }
                    for t in items
                ],
                indent=2,
            )
        )
        return
    for t in items:
        click.echo(f"{t.slug:<24} {t.status:<10} {t.default_locale:<4} {t.name}")


@tenants.command("drop")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm: this deletes all of the tenant's data.")
def tenants_drop(slug: str, yes: bool) -> None:
    """Remove a tenant completely: schema, role and registry row."""
    from scalemark.tenancy.provisioning import drop_tenant
    from scalemark.tenancy.slugs import InvalidSlugError

    if not yes:
        raise click.UsageError("dropping deletes every record of the tenant; add --yes")
    try:
        dropped = run(lambda: _with_db(lambda conn: drop_tenant(conn, slug)))
    except InvalidSlugError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"dropped tenant {slug}" if dropped else f"no tenant {slug}; nothing left behind")


@main.group()
def users() -> None:
    """Create accounts."""


@users.command("create")
@click.argument("email")
@click.option("--tenant", "tenant_slug", help="Organisation the user joins.")
@click.option(
    "--role", type=click.Choice(["hq_admin", "unit_lead", "contributor", "it_owner", "stakeholder"])
)
@click.option("--unit", "unit_code", help="Unit code of the role (default: the HQ).")
@click.option("--platform-role", type=click.Choice(["consultant", "platform_admin"]))
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(
    email: str,
    tenant_slug: str | None,
    role: str | None,
    unit_code: str | None,
    platform_role: str | None,
    name: str,
    password_stdin: bool,
) -> None:
    """Create a user, optionally with a role in a tenant; without a password, invite by e-mail."""
    from scalemark.identity.provisioning import UserSetupError, create_cli_user

    if bool(tenant_slug) != bool(role):
        raise click.UsageError("--tenant and --role go together")
    if not tenant_slug and not platform_role:
        raise click.UsageError("give --tenant/--role or --platform-role")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        message = run(
            lambda: _with_db(
                lambda conn: create_cli_user(
                    email,
                    name=name,
                    password=password,
                    tenant_slug=tenant_slug,
                    role=role,
                    unit_code=unit_code,
                    platform_role=platform_role,
                )
            )
        )
    except UserSetupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(message)


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--user", "email", required=True)
@click.option("--name", default="CLI")
def tokens_create(tenant_slug: str, email: str, name: str) -> None:
    """Create an API token and print it once (it is stored hashed)."""
    from scalemark.identity.provisioning import UserSetupError, create_cli_token

    try:
        secret = run(lambda: _with_db(lambda conn: create_cli_token(tenant_slug, email, name)))
    except UserSetupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(secret)


@main.group()
def frameworks() -> None:
    """Check and list assessment frameworks."""


@frameworks.command("check")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def frameworks_check(files: tuple[Path, ...]) -> None:
    """Validate framework files; print every mistake with its line and field."""
    from scalemark.assessment.framework_loader import FrameworkError, load_file

    failed = False
    for path in files:
        try:
            framework = load_file(path)
        except FrameworkError as exc:
            failed = True
            for issue in exc.issues:
                click.echo(str(issue))
            continue
        questions = sum(1 for _ in framework.questions())
        click.echo(
            f"OK {framework.key} v{framework.version}: "
            f"{len(framework.dimensions)} dimensions, {questions} questions"
        )
    if failed:
        sys.exit(1)


@frameworks.command("list")
def frameworks_list() -> None:
    """List the built-in frameworks."""
    from scalemark.assessment.framework_loader import FrameworkError
    from scalemark.assessment.registry import builtin_frameworks

    try:
        builtins = builtin_frameworks()
    except FrameworkError as exc:
        click.echo(str(exc))
        sys.exit(1)
    for framework in builtins:
        questions = sum(1 for _ in framework.questions())
        click.echo(
            f"{framework.key} v{framework.version}  {framework.title.get(framework.languages[0])}"
            f"  ({len(framework.dimensions)} dimensions, {questions} questions,"
            f" {', '.join(framework.languages)})"
        )


@main.command()
@click.option("--port", type=int, default=None)
def dev(port: int | None) -> None:
    """Development: services, migrations, the demo tenant, web and worker together."""
    from scalemark.devrun import run_dev

    run_dev(port=port)


if __name__ == "__main__":
    main()
