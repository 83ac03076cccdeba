"""Target rules without a database: inheritance down the tree and override bounds.

Hand-checked examples first, then hypothesis properties over random trees and bounds.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalemark.governance.kpi_rules import (
    KpiData,
    KpiError,
    format_kpi_value,
    parse_number,
    required_locales,
    validate_kpi,
)
from scalemark.governance.targets import (
    Bounds,
    allowed_range,
    ancestor_paths,
    check_override,
    effective_target,
    valid_period,
)
from scalemark.i18n import use_locale

D = Decimal

# HQ /1/ → DACH /1/2/ → DE /1/2/3/ → DE-RETAIL /1/2/3/4/ ; HQ → WEST /1/5/ → FR /1/5/6/
HQ, DACH, DE, RETAIL, WEST, FR = "/1/", "/1/2/", "/1/2/3/", "/1/2/3/4/", "/1/5/", "/1/5/6/"


# --- inheritance ---------------------------------------------------------------------------


def test_ancestor_paths_run_from_the_unit_up_to_the_root() -> None:
    assert ancestor_paths(RETAIL) == [RETAIL, DE, DACH, HQ]
    assert ancestor_paths(HQ) == [HQ]
    assert ancestor_paths("/") == []


def test_a_unit_without_a_target_inherits_the_nearest_ancestors() -> None:
    targets = {HQ: D(100), DACH: D(110)}
    assert effective_target(HQ, targets) == (D(100), HQ)
    assert effective_target(DACH, targets) == (D(110), DACH)
    assert effective_target(DE, targets) == (D(110), DACH)
    assert effective_target(RETAIL, targets) == (D(110), DACH)
    assert effective_target(WEST, targets) == (D(100), HQ)
    assert effective_target(FR, targets) == (D(100), HQ)


def test_a_units_own_target_wins_over_inherited_ones() -> None:
    targets = {HQ: D(100), DACH: D(110), RETAIL: D(95)}
    assert effective_target(RETAIL, targets) == (D(95), RETAIL)
    assert effective_target(DE, targets) == (D(110), DACH)


def test_no_target_anywhere_up_the_tree() -> None:
    assert effective_target(FR, {DACH: D(5)}) == (None, None)
    assert effective_target(FR, {}) == (None, None)


def test_sibling_paths_with_a_common_prefix_do_not_inherit() -> None:
    # /1/2/ is not an ancestor of /1/23/ although the strings share "/1/2".
    assert effective_target("/1/23/", {"/1/2/": D(7)}) == (None, None)


# --- bounds ---------------------------------------------------------------------------------


def test_override_within_the_allowed_deviation_is_accepted() -> None:
    bounds = Bounds(max_deviation_pct=D(20))
    assert allowed_range(D(100), bounds) == (D(80), D(120))
    for value in (D(80), D(100), D("119.99"), D(120)):
        assert check_override(D(100), value, bounds) is None


def test_override_outside_the_deviation_is_refused_with_the_range() -> None:
    bounds = Bounds(max_deviation_pct=D(20))
    with use_locale("en"):
        message = check_override(D(100), D(121), bounds)
    assert message is not None
    assert "80" in message and "120" in message and "20%" in message
    assert check_override(D(100), D("79.9"), bounds) is not None


def test_absolute_bounds() -> None:
    bounds = Bounds(min_value=D(0), max_value=D(100))
    assert check_override(D(50), D(0), bounds) is None
    assert check_override(D(50), D(100), bounds) is None
    with use_locale("en"):
        assert check_override(D(50), D(-1), bounds) == "The target must be at least 0."
        assert check_override(D(50), D(101), bounds) == "The target must be at most 100."


def test_absolute_and_relative_bounds_combine_to_the_narrower_range() -> None:
    bounds = Bounds(min_value=D(0), max_value=D(100), max_deviation_pct=D(50))
    assert allowed_range(D(80), bounds) == (D(40), D(100))
    assert check_override(D(80), D(100), bounds) is None
    assert check_override(D(80), D(39), bounds) is not None


def test_deviation_is_relative_to_the_size_of_a_negative_central_target() -> None:
    assert allowed_range(D(-50), Bounds(max_deviation_pct=D(10))) == (D(-55), D(-45))


def test_no_bounds_accept_anything() -> None:
    assert check_override(D(10), D(-1e9), Bounds()) is None
    assert check_override(None, D(5), Bounds()) is None


def test_deviation_without_a_central_target_is_refused() -> None:
    with use_locale("en"):
        message = check_override(None, D(5), Bounds(max_deviation_pct=D(10)))
    assert message is not None and "central target" in message


def test_zero_deviation_means_exactly_the_central_target() -> None:
    bounds = Bounds(max_deviation_pct=D(0))
    assert check_override(D(100), D(100), bounds) is None
    assert check_override(D(100), D("100.01"), bounds) is not None


def test_messages_are_translated_and_use_the_locales_numbers() -> None:
    bounds = Bounds(max_deviation_pct=D("12.5"))
    with use_locale("de"):
        message = check_override(D(1000), D(2000), bounds)
    assert message is not None
    assert "1.125" in message and "875" in message  # German grouping


def test_periods() -> None:
    for good in ("current", "2027", "2027-H1", "2027-Q4", "2027-01", "2027-12"):
        assert valid_period(good), good
    for bad in ("", "now", "27", "2027-Q5", "2027-13", "2027-1", "2027 ", "'; drop"):
        assert not valid_period(bad), bad


# --- definitions ----------------------------------------------------------------------------


def _data(**changes: object) -> KpiData:
    values: dict[str, object] = {
        "key": "cost_per_lead",
        "level": "central",
        "unit_of_measure": "currency",
        "direction": "lower",
        "owner_role": "hq_admin",
        "names": {"en": "Cost per lead", "de": "Kosten pro Lead", "fr": "Coût par lead"},
    }
    values.update(changes)
    return KpiData(**values)  # type: ignore[arg-type]


def test_a_central_kpi_needs_a_name_in_every_tenant_language() -> None:
    with use_locale("en"), pytest.raises(KpiError) as caught:
        validate_kpi(_data(names={"en": "Cost per lead"}), tenant_locales=["en", "de", "fr"])
    assert set(caught.value.errors) == {"name-de", "name-fr"}
    ok = validate_kpi(_data(key="  Cost_Per_Lead "), tenant_locales=["en", "de", "fr"])
    assert ok.key == "cost_per_lead"


def test_a_local_kpi_needs_the_default_and_its_units_language_only() -> None:
    assert required_locales(["en", "de", "fr"], "de") == ["en", "de"]
    assert required_locales(["en", "de", "fr"], "en") == ["en"]
    assert required_locales(["en", "de"], "it") == ["en"]
    data = _data(level="local", names={"en": "Store visits", "de": "Filialbesuche"})
    assert validate_kpi(data, tenant_locales=["en", "de", "fr"], scope_locale="de", is_local=True)


def test_a_local_kpi_cannot_be_of_the_central_level() -> None:
    with use_locale("en"), pytest.raises(KpiError) as caught:
        validate_kpi(_data(), tenant_locales=["en", "de", "fr"], scope_locale="de", is_local=True)
    assert set(caught.value.errors) == {"level"}


def test_every_field_error_is_reported_at_once() -> None:
    bad = _data(
        key="1bad",
        level="x",
        unit_of_measure="x",
        direction="x",
        owner_role="x",
        bounds=Bounds(min_value=D(5), max_value=D(1), max_deviation_pct=D(-1)),
    )
    with use_locale("en"), pytest.raises(KpiError) as caught:
        validate_kpi(bad, tenant_locales=["en", "de", "fr"])
    assert set(caught.value.errors) == {
        "key",
        "level",
        "unit_of_measure",
        "direction",
        "owner_role",
        "max_value",
        "max_deviation_pct",
    }


def test_numbers_are_read_in_the_users_locale() -> None:
    with use_locale("de"):
        assert parse_number("1.234,5") == D("1234.5")
        assert parse_number("12,5 %") == D("12.5")
        assert parse_number("12.5") == D("12.5")  # not 125
        assert parse_number("") is None
        with pytest.raises(ValueError):
            parse_number("zwölf")
    with use_locale("en"):
        assert parse_number("1,234.5") == D("1234.5")
        for bad in ("NaN", "Infinity", "1e20"):
            with pytest.raises(ValueError):
                parse_number(bad)


def test_values_are_formatted_per_unit_of_measure() -> None:
    with use_locale("de"):
        assert format_kpi_value(D("12.5"), "percent") == "12,5\xa0%"
        assert format_kpi_value(D(1234), "count") == "1.234"
        assert format_kpi_value(D("12.5"), "currency", "EUR") == "12,50\xa0€"
        assert format_kpi_value(None, "count") == "—"
    with use_locale("en"):
        assert format_kpi_value(D(1), "days") == "1 day"
        assert format_kpi_value(D(3), "days") == "3 days"


# --- properties -----------------------------------------------------------------------------

numbers = st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False)
percentages = st.decimals(min_value=0, max_value=200, places=1, allow_nan=False)


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[str], dict[str, Decimal]]:
    """A random tree as materialised paths, and targets at a random subset of its units."""
    paths = ["/1/"]
    for unit_id in range(2, draw(st.integers(min_value=1, max_value=25)) + 2):
        parent = draw(st.sampled_from(paths))
        paths.append(f"{parent}{unit_id}/")
    chosen = draw(st.lists(st.sampled_from(paths), unique=True))
    return paths, {path: draw(numbers) for path in chosen}


@given(trees())
@settings(max_examples=200)
def test_property_inheritance(tree: tuple[list[str], dict[str, Decimal]]) -> None:
    paths, targets = tree
    for path in paths:
        value, source = effective_target(path, targets)
        if path in targets:
            # A unit's own target holds there.
            assert (value, source) == (targets[path], path)
            continue
        parent = ancestor_paths(path)[1] if len(ancestor_paths(path)) > 1 else None
        if parent is None:
            assert (value, source) == (None, None)
        else:
            # Without its own target a unit gets exactly what its parent has.
            assert (value, source) == effective_target(parent, targets)
        if source is not None:
            # The source is an ancestor with a target, and none closer has one.
            assert path.startswith(source) and source in targets
            between = [p for p in ancestor_paths(path) if len(p) > len(source)]
            assert not any(p in targets for p in between)


@given(
    central=numbers,
    pct=st.one_of(st.none(), percentages),
    low=st.one_of(st.none(), numbers),
    high=st.one_of(st.none(), numbers),
    override=numbers,
)
@settings(max_examples=500)
def test_property_override_bounds(
    central: Decimal,
    pct: Decimal | None,
    low: Decimal | None,
    high: Decimal | None,
    override: Decimal,
) -> None:
    if low is not None and high is not None and low > high:
        low, high = high, low
    bounds = Bounds(min_value=low, max_value=high, max_deviation_pct=pct)
    lowest, highest = allowed_range(central, bounds)
    inside = (lowest is None or override >= lowest) and (highest is None or override <= highest)
    with use_locale("en"):
        message = check_override(central, override, bounds)
    # Accepted exactly when within bounds; refused with a message otherwise.
    assert (message is None) == inside
    if pct is not None:
        spread = abs(central) * pct / 100
        if message is None:
            assert abs(override - central) <= spread
        if (low is None or low <= central) and (high is None or central <= high):
            # The central target itself always fits when it fits the absolute bounds.
            assert check_override(central, central, bounds) is None


@given(central=numbers, pct=percentages)
def test_property_range_is_symmetric_around_the_central_target(
    central: Decimal, pct: Decimal
) -> None:
    low, high = allowed_range(central, Bounds(max_deviation_pct=pct))
    assert low is not None and high is not None
    assert low <= central <= high
    assert central - low == high - central
