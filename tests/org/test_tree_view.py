"""The tree window of big unit trees (plain functions, no database)."""

from __future__ import annotations

from scalemark.org.service import UnitNode
from scalemark.org.tree_view import ROW_BUDGET, ancestor_ids, tree_window


def node(unit_id: int, parent: UnitNode | None, children: int = 0) -> UnitNode:
    path = f"{parent.path if parent else '/'}{unit_id}/"
    return UnitNode(
        id=unit_id,
        code=f"U{unit_id}",
        name=f"Unit {unit_id}",
        kind="hq" if parent is None else "country",
        parent_id=parent.id if parent else None,
        path=path,
        depth=parent.depth + 1 if parent else 0,
        position=unit_id,
        locale="en",
        timezone="UTC",
        currency="EUR",
        archived=False,
        child_count=children,
    )


def big_tree() -> list[UnitNode]:
    """HQ → 5 regions → 10 countries each → 9 units each (506 units), depth first."""
    units = [hq := node(1, None, 5)]
    next_id = 2
    for _r in range(5):
        units.append(region := node(next_id, hq, 10))
        next_id += 1
        for _c in range(10):
            units.append(country := node(next_id, region, 9))
            next_id += 1
            for _u in range(9):
                units.append(node(next_id, country))
                next_id += 1
    return units


def test_top_levels_fit_the_budget_and_deeper_branches_are_counted() -> None:
    units = big_tree()
    window = tree_window(units, lambda u: u)
    assert len(window.rows) == 56 <= ROW_BUDGET  # HQ, regions, countries
    assert {u.depth for u in window.rows} == {0, 1, 2}
    countries = [u for u in units if u.depth == 2]
    assert window.hidden == {c.id: 9 for c in countries}
    assert window.focus is None and window.up is None and window.base_depth == 0


def test_focus_starts_at_a_unit_and_knows_the_level_above() -> None:
    units = big_tree()
    region = units[1]
    window = tree_window(units, lambda u: u, focus=region)
    assert window.rows[0] == region and len(window.rows) == 1 + 10  # 90 more do not fit
    assert all(u.path.startswith(region.path) for u in window.rows)
    assert window.hidden == {u.id: 9 for u in window.rows[1:]}
    assert window.up == units[0] and window.base_depth == 1 and window.focus == region


def test_reveal_opens_the_branch_down_to_a_deep_unit() -> None:
    units = big_tree()
    deep = units[-1]
    country = next(u for u in units if u.id == deep.parent_id)
    assert ancestor_ids(deep) == {1, country.parent_id, country.id}
    window = tree_window(units, lambda u: u, reveal=deep)
    assert deep in window.rows
    assert [u for u in window.rows if u.parent_id == country.id] == [
        u for u in units if u.parent_id == country.id
    ]
    assert country.id not in window.hidden and len(window.hidden) == 49
    # Rows keep the tree order: the country's units follow it.
    at = window.rows.index(country)
    assert all(u.parent_id == country.id for u in window.rows[at + 1 : at + 10])


def test_small_trees_are_shown_whole() -> None:
    units = big_tree()[:12]  # HQ, one region, its ten countries (no units loaded)
    window = tree_window(units, lambda u: u)
    assert window.rows == units
