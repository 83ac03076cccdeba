"""Accessibility checks with axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA).

axe-core comes from ``tests/e2e/node_modules`` (``npm ci --prefix tests/e2e``); it is
injected into the page under test and run there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from playwright.async_api import Page

from support import PROJECT_ROOT

__all__ = ["AXE_PATH", "WCAG_TAGS", "assert_accessible", "format_violations", "run_axe"]

AXE_PATH = PROJECT_ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

_RUN = """async ([context, options]) => {
  const result = await window.axe.run(context || document, options);
  return {
    url: result.url,
    violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({
        target: n.target,
        html: n.html,
        summary: n.failureSummary,
      })),
    })),
  };
}"""


async def _inject(page: Page) -> None:
    if await page.evaluate("typeof window.axe !== 'undefined'"):
        return
    if not AXE_PATH.exists():
        pytest.fail(
            f"axe-core is missing at {AXE_PATH}: run `npm ci --prefix tests/e2e`", pytrace=False
        )
    await page.add_script_tag(path=str(AXE_PATH))


async def run_axe(
    page: Page,
    *,
    include: str | None = None,
    tags: Sequence[str] = WCAG_TAGS,
    disable_rules: Iterable[str] = (),
) -> dict[str, Any]:
    """Run axe on the page (or on the element matching ``include``) and return its result."""
    await _inject(page)
    options: dict[str, Any] = {
        "runOnly": {"type": "tag", "values": list(tags)},
        "resultTypes": ["violations"],
    }
    disabled = list(disable_rules)
    if disabled:
        options["rules"] = {rule: {"enabled": False} for rule in disabled}
    context = {"include": [[include]]} if include else None
    result: dict[str, Any] = await page.evaluate(_RUN, [context, options])
    return result


def format_violations(violations: list[dict[str, Any]], max_nodes: int = 5) -> str:
    """One block per rule: id, impact, help and the offending elements' selectors."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}]: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:max_nodes]:
            target = " ".join(" >>> ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"    {target}: {node['html'][:160]}")
            summary = (node.get("summary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"      {summary[:300]}")
        if len(v["nodes"]) > max_nodes:
            lines.append(f"    … and {len(v['nodes']) - max_nodes} more")
    return "\n".join(lines)


async def assert_accessible(
    page: Page,
    *,
    include: str | None = None,
    tags: Sequence[str] = WCAG_TAGS,
    disable_rules: Iterable[str] = (),
) -> None:
    """Fail with a readable list when axe finds any violation."""
    result = await run_axe(page, include=include, tags=tags, disable_rules=disable_rules)
    violations = result["violations"]
    if violations:
        rules = ", ".join(v["id"] for v in violations)
        pytest.fail(
            f"{len(violations)} accessibility violation(s) on {result['url']}: {rules}\n"
            + format_violations(violations),
            pytrace=False,
        )
