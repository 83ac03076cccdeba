"""Rollout rules as plain functions: gate evaluation, stage transitions, gate forms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scalemark.rollout.rules import (
    STAGES,
    CriterionStatus,
    GateCriterion,
    RolloutError,
    UnitFacts,
    check_move,
    evaluate_gate,
    parse_gate_form,
    parse_stage,
    stage_counts,
)

MATURITY_3 = GateCriterion(3, "assessment_maturity_at_least", Decimal("3.00"))
ADOPTION_60 = GateCriterion(3, "adoption_at_least", Decimal("60.00"))
SIGNOFF_3 = GateCriterion(3, "manual_signoff")
SIGNOFF_4 = GateCriterion(4, "manual_signoff")


def test_five_stages_follow_the_whitepaper() -> None:
    assert [s.number for s in STAGES] == [1, 2, 3, 4, 5]
    assert str(STAGES[0].title) == "Central governance defined"
    assert str(STAGES[2].short) == "Pilot"
    assert str(STAGES[4].title) == "Continuous extension and optimisation"


def test_gate_without_criteria_is_open() -> None:
    gate = evaluate_gate(3, [SIGNOFF_4], UnitFacts())
    assert gate.results == () and gate.met and not gate.needs_signoff


def test_data_criteria_without_data_need_a_signoff() -> None:
    gate = evaluate_gate(3, [MATURITY_3, ADOPTION_60], UnitFacts())
    assert [r.status for r in gate.results] == [CriterionStatus.NO_DATA] * 2
    assert not gate.met and gate.needs_signoff


@pytest.mark.parametrize(
    ("facts", "statuses", "met"),
    [
        (UnitFacts(maturity=3.0, adoption=60.0), ["met", "met"], True),
        (UnitFacts(maturity=3.4, adoption=75.5), ["met", "met"], True),
        (UnitFacts(maturity=2.9, adoption=80.0), ["not_met", "met"], False),
        (UnitFacts(maturity=4.0, adoption=None), ["met", "no_data"], False),
    ],
)
def test_data_criteria_compare_with_thresholds(
    facts: UnitFacts, statuses: list[str], met: bool
) -> None:
    gate = evaluate_gate(3, [MATURITY_3, ADOPTION_60], facts)
    assert [r.status.value for r in gate.results] == statuses
    assert gate.met is met


def test_manual_signoff_criterion_is_never_met_by_data() -> None:
    gate = evaluate_gate(3, [SIGNOFF_3], UnitFacts(maturity=5, adoption=100))
    assert gate.results[0].status is CriterionStatus.SIGNOFF and not gate.met


def test_forward_move_with_gate_met_needs_nothing_else() -> None:
    gate = evaluate_gate(2, [], UnitFacts())
    decision = check_move(1, 2, gate, note="", sign_off=False)
    assert (decision.from_stage, decision.to_stage, decision.signed_off) == (1, 2, False)


def test_forward_move_with_gate_not_met_needs_signoff_and_note() -> None:
    gate = evaluate_gate(3, [MATURITY_3], UnitFacts())
    with pytest.raises(RolloutError) as no_signoff:
        check_move(2, 3, gate, note="looks fine", sign_off=False)
    assert no_signoff.value.field == "sign_off"
    with pytest.raises(RolloutError) as no_note:
        check_move(2, 3, gate, note="   ", sign_off=True)
    assert no_note.value.field == "note"
    decision = check_move(2, 3, gate, note="  Pilot agreed by the board  ", sign_off=True)
    assert decision.signed_off and decision.note == "Pilot agreed by the board"


def test_transitions_go_one_stage_forward_or_back_with_a_note() -> None:
    with pytest.raises(RolloutError) as skip:
        check_move(1, 3, None, note="", sign_off=True)
    assert skip.value.field == "to_stage"
    with pytest.raises(RolloutError) as same:
        check_move(2, 2, None, note="", sign_off=False)
    assert same.value.field == "to_stage"
    with pytest.raises(RolloutError) as silent_back:
        check_move(4, 2, None, note="", sign_off=False)
    assert silent_back.value.field == "note"
    back = check_move(4, 2, None, note="Pilot failed", sign_off=False)
    assert (back.to_stage, back.signed_off) == (2, False)
    with pytest.raises(RolloutError):
        check_move(5, 6, None, note="", sign_off=False)
    with pytest.raises(RolloutError) as long_note:
        check_move(1, 2, None, note="x" * 2001, sign_off=False)
    assert long_note.value.field == "note"


@pytest.mark.parametrize("raw", ["0", "6", "", "two", None, "2.5"])
def test_parse_stage_refuses_anything_but_1_to_5(raw: object) -> None:
    with pytest.raises(RolloutError):
        parse_stage(raw)


def test_parse_stage_accepts_numbers() -> None:
    assert parse_stage(" 3 ") == 3 and parse_stage(5) == 5


def test_gate_form_reads_thresholds_and_signoffs() -> None:
    criteria, errors = parse_gate_form(
        {"maturity_3": "2,5", "adoption_4": "60", "signoff_3": "1", "maturity_2": " "}
    )
    assert errors == {}
    assert set(criteria) == {
        GateCriterion(3, "assessment_maturity_at_least", Decimal("2.50")),
        GateCriterion(4, "adoption_at_least", Decimal("60.00")),
        GateCriterion(3, "manual_signoff"),
    }


def test_gate_form_refuses_out_of_range_values() -> None:
    criteria, errors = parse_gate_form(
        {"maturity_3": "7", "adoption_4": "101", "adoption_5": "lots", "maturity_2": "-1"}
    )
    assert criteria == []
    assert set(errors) == {"maturity_3", "adoption_4", "adoption_5", "maturity_2"}
    assert str(errors["maturity_3"]) == "Enter a maturity level from 0 to 5."
    assert str(errors["adoption_4"]) == "Enter a percentage from 0 to 100."


def test_stage_counts_include_empty_stages() -> None:
    assert stage_counts([1, 1, 3, 5]) == {1: 2, 2: 0, 3: 1, 4: 0, 5: 1}
    assert stage_counts([]) == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
