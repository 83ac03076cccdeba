"""Unit tree pages: the organisation home, lazy children and the full tree."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from scalemark.db.tenant_context import current_tenant
from scalemark.identity.guards import member_required
from scalemark.org import service
from scalemark.org.editor import kind_labels
from scalemark.org.rules import kind_count_label
from scalemark.web.htmx import page_or_partial

__all__ = ["UnitPages", "tenant_home"]


async def tenant_home(request: Request) -> Template:
    """The organisation and the top of its unit tree (HQ and its direct children)."""
    root = await service.root_unit()
    children = await service.children_of(root.id) if root else []
    counts = await _kind_counts()
    return Template(
        template_name="org/home.html",
        context={
            "tenant": current_tenant(),
            "root": root,
            "children": children,
            "kinds": await kind_labels(),
            "counts": counts,
            "kind_label": kind_count_label,
        },
    )


async def _kind_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in await service.whole_tree():
        counts[node.kind] = counts.get(node.kind, 0) + 1
    return counts


class UnitPages(Controller):
    """Browsing the unit tree."""

    path = "/units"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="units:tree")
    async def tree(self, request: Request) -> Template:
        """Every unit, indented, for people without JavaScript and for printing."""
        return Template(
            template_name="org/tree.html",
            context={
                "tenant": current_tenant(),
                "units": await service.whole_tree(),
                "kinds": await kind_labels(),
            },
        )

    @get("/{unit_id:int}/children", name="units:children")
    async def children(self, request: Request, unit_id: int) -> Template:
        """The children of a unit: a fragment for htmx, a page otherwise."""
        unit = await service.get_unit(unit_id)
        if unit is None or unit.archived:
            raise NotFoundException()
        return page_or_partial(
            request,
            "org/unit_children_page.html",
            "org/_children.html",
            {
                "tenant": current_tenant(),
                "unit": unit,
                "children": await service.children_of(unit_id),
                "kinds": await kind_labels(),
            },
        )
