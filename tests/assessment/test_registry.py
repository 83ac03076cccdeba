"""The framework registry: built-in files, snapshots per tenant, ``framework_for`` and the CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalemark.assessment import registry
from scalemark.assessment.framework_loader import FrameworkError, load_file, load_text
from scalemark.cli import main
from scalemark.db import tenant_transaction

MINI = Path(__file__).parent / "fixtures" / "mini.yaml"
MINI_TEXT = MINI.read_text(encoding="utf-8")


@pytest.fixture
def builtin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty built-in directory in place of the real one (the cache is reset around)."""
    monkeypatch.setattr(registry, "FRAMEWORKS_DIR", tmp_path)
    registry._builtins.cache_clear()
    yield tmp_path
    registry._builtins.cache_clear()


def add_builtin(directory: Path, key: str, version: int, text: str) -> None:
    (directory / key).mkdir(exist_ok=True)
    (directory / key / f"v{version}.yaml").write_text(text, encoding="utf-8")


# -- built-in frameworks -------------------------------------------------------------------


def test_builtins_are_listed_by_key_and_version(builtin_dir: Path) -> None:
    assert registry.builtin_frameworks() == []
    registry._builtins.cache_clear()
    add_builtin(builtin_dir, "mini-scalability", 1, MINI_TEXT)
    v2 = MINI_TEXT.replace("version: 1", "version: 2")
    add_builtin(builtin_dir, "mini-scalability", 2, v2)
    (builtin_dir / "mini-scalability" / "notes.yaml").write_text("not a framework")

    frameworks = registry.builtin_frameworks()
    assert [(f.key, f.version) for f in frameworks] == [
        ("mini-scalability", 1),
        ("mini-scalability", 2),
    ]
    assert registry.builtin_frameworks()[0] is frameworks[0]  # loaded once
    assert registry.builtin("mini-scalability", 1).version == 1
    assert registry.latest_builtin("mini-scalability").version == 2
    assert registry.builtin_source(frameworks[1]) == v2
    assert frameworks[1].sha256 == hashlib.sha256(v2.encode()).hexdigest()
    with pytest.raises(KeyError):
        registry.builtin("mini-scalability", 3)
    with pytest.raises(KeyError):
        registry.latest_builtin("unknown")


def test_a_builtin_must_live_under_its_key_and_version(builtin_dir: Path) -> None:
    add_builtin(builtin_dir, "other-name", 1, MINI_TEXT)
    with pytest.raises(FrameworkError) as caught:
        registry.builtin_frameworks()
    assert str(caught.value) == (
        f"{builtin_dir.name}/other-name/v1.yaml:1: id: the file declares mini-scalability v1;"
        " its path says other-name v1"
    )


def test_the_shipped_builtins_load() -> None:
    registry._builtins.cache_clear()
    for framework in registry.builtin_frameworks():
        assert registry.latest_builtin(framework.key).version >= framework.version
        source = registry.builtin_source(framework)
        assert hashlib.sha256(source.encode()).hexdigest() == framework.sha256


# -- snapshots -----------------------------------------------------------------------------


async def test_snapshot_stores_a_source_once_and_framework_for_reads_it(make_tenant) -> None:
    tenant = await make_tenant("fw")
    framework = load_text(MINI_TEXT)
    edited_text = MINI_TEXT + "\n# typo fixed\n"
    edited = load_text(edited_text)
    async with tenant_transaction(tenant) as conn:
        first = await registry.snapshot(conn, framework, MINI_TEXT)
        again = await registry.snapshot(conn, framework, MINI_TEXT)
        other = await registry.snapshot(conn, edited, edited_text)
        row = await conn.fetchrow(
            "SELECT framework_key, version, sha256, source FROM assessment_framework WHERE id = $1",
            first,
        )
    assert first == again != other
    assert dict(row) == {
        "framework_key": "mini-scalability",
        "version": 1,
        "sha256": framework.sha256,
        "source": MINI_TEXT,
    }

    registry._parsed.clear()  # as in a fresh process: the source is parsed once
    async with tenant_transaction(tenant) as conn:
        loaded = await registry.framework_for(conn, first)
        assert await registry.framework_for(conn, first) is loaded
        assert (await registry.framework_for(conn, other)).sha256 == edited.sha256
        with pytest.raises(LookupError):
            await registry.framework_for(conn, other + 1000)
    assert loaded.sha256 == framework.sha256
    assert [q.key for q in loaded.questions()] == [q.key for q in framework.questions()]


async def test_snapshots_are_per_tenant(make_tenant) -> None:
    first_tenant = await make_tenant("fw")
    second_tenant = await make_tenant("fw")
    framework = load_text(MINI_TEXT)
    async with tenant_transaction(first_tenant) as conn:
        await registry.snapshot(conn, framework, MINI_TEXT)
        await registry.snapshot(conn, load_text(MINI_TEXT + "#\n"), MINI_TEXT + "#\n")
    async with tenant_transaction(second_tenant) as conn:
        assert await registry.snapshot(conn, framework, MINI_TEXT) == 1
        assert await conn.fetchval("SELECT count(*) FROM assessment_framework") == 1


async def test_snapshot_refuses_a_source_the_framework_was_not_loaded_from(make_tenant) -> None:
    tenant = await make_tenant("fw")
    async with tenant_transaction(tenant) as conn:
        with pytest.raises(ValueError):
            await registry.snapshot(conn, load_text(MINI_TEXT), MINI_TEXT + "\n")


# -- the command line ----------------------------------------------------------------------


def test_cli_check_reports_ok_or_every_issue(tmp_path: Path) -> None:
    broken = tmp_path / "v1.yaml"
    broken.write_text(
        MINI_TEXT.replace("version: 1", "version: 0").replace("target: 4", "target: 9"),
        encoding="utf-8",
    )
    runner = CliRunner()

    ok = runner.invoke(main, ["frameworks", "check", str(MINI)])
    assert ok.exit_code == 0, ok.output
    assert ok.output == "OK mini-scalability v1: 2 dimensions, 5 questions\n"

    failed = runner.invoke(main, ["frameworks", "check", str(MINI), str(broken)])
    assert failed.exit_code == 1
    lines = failed.output.splitlines()
    assert lines[0] == "OK mini-scalability v1: 2 dimensions, 5 questions"
    assert lines[1].startswith(f"{broken}:5: version: version must be 1 or greater")
    assert lines[2].startswith(f"{broken}:") and "dimensions[1].target" in lines[2]
    assert len(lines) == 3

    missing = runner.invoke(main, ["frameworks", "check", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2


def test_cli_lists_the_builtins(builtin_dir: Path) -> None:
    add_builtin(builtin_dir, "mini-scalability", 1, MINI_TEXT)
    result = CliRunner().invoke(main, ["frameworks", "list"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "mini-scalability v1  Mini scalability check  (2 dimensions, 5 questions, en, fr)\n"
    )


def test_newest_versions_per_key() -> None:
    base = load_file(MINI)
    older = replace(base, version=1)
    newer = replace(base, version=3)
    other = replace(base, key="other-check", version=2)
    listed = [older, other, newer]
    assert registry.newest_version(listed, base.key) is newer
    assert registry.newest_version(listed, "missing") is None
    assert registry.newest_versions(listed) == [newer, other]
    assert base.has_dimension("governance") and not base.has_dimension("nope")
