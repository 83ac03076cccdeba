"""Pure scoring (no database): hand-checked examples and hypothesis properties.

The examples use one small framework, ``EXAMPLE``:

* ``process`` (dimension weight 2): ``p_plan`` (weight 2), ``p_brief`` (weight 1) and
  ``p_review`` (weight 1, shown only when ``p_plan`` is 3, 4 or 5);
* ``people`` (dimension weight 1): ``h_skills`` (weight 1), ``h_training`` (weight 3).

Expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scalemark.assessment.framework import (
    Condition,
    Dimension,
    Framework,
    Question,
    Text,
)
from scalemark.assessment.scoring import (
    AnswerValue,
    DimensionScore,
    Gap,
    QuestionStatus,
    UnitScore,
    change,
    gaps,
    position_mean,
    roll_up,
    score_questions,
    score_unit,
)

TEXT = Text({"en": "x"})
LEVEL_TEXTS = {level: TEXT for level in range(1, 6)}
NA = AnswerValue("na")
DK = AnswerValue("dk")

Responses = list[dict[str, AnswerValue]]


def lv(level: int) -> AnswerValue:
    """A level answer."""
    return AnswerValue("level", level)


def question(
    key: str, dimension: str, weight: float = 1.0, depends_on: Condition | None = None
) -> Question:
    return Question(
        key=key,
        dimension=dimension,
        text=TEXT,
        help=None,
        levels=LEVEL_TEXTS,
        weight=weight,
        depends_on=depends_on,
    )


def dimension(key: str, questions: Sequence[Question], weight: float = 1.0) -> Dimension:
    return Dimension(
        key=key,
        title=TEXT,
        description=TEXT,
        weight=weight,
        target=3,
        questions=tuple(questions),
        recommendations=LEVEL_TEXTS,
    )


def framework(*dimensions: Dimension) -> Framework:
    return Framework(
        key="test",
        version=1,
        languages=("en",),
        title=TEXT,
        description=TEXT,
        level_names=LEVEL_TEXTS,
        dimensions=tuple(dimensions),
    )


EXAMPLE = framework(
    dimension(
        "process",
        [
            question("p_plan", "process", weight=2),
            question("p_brief", "process"),
            question("p_review", "process", depends_on=Condition("p_plan", (3, 4, 5))),
        ],
        weight=2,
    ),
    dimension(
        "people",
        [question("h_skills", "people"), question("h_training", "people", weight=3)],
    ),
)


# --- answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "level"), [("level", None), ("level", 0), ("level", 6), ("maybe", None)]
)
def test_invalid_answers_are_refused(choice: str, level: int | None) -> None:
    with pytest.raises(ValueError):
        AnswerValue(choice, level)


def test_stored_answers_map_to_answer_values() -> None:
    assert AnswerValue.from_stored("level", 3) == lv(3)
    assert AnswerValue.from_stored("na", None) == NA
    assert AnswerValue.from_stored("dk", None) == DK
    # Only a comment saved, or a tension-field position: no answer to a question.
    assert AnswerValue.from_stored(None, None) is None
    assert AnswerValue.from_stored("position", None) is None


# --- score_unit: hand-checked -------------------------------------------------------------


def test_question_and_dimension_weights() -> None:
    one = {
        "p_plan": lv(4),
        "p_brief": lv(1),
        "p_review": lv(2),  # shown: p_plan is 4
        "h_skills": lv(4),
        "h_training": lv(2),
    }
    result = score_unit(EXAMPLE, [one])
    # process: (2·4 + 1·1 + 1·2) / (2 + 1 + 1) = 11 / 4
    assert result.dimensions["process"].score == pytest.approx(2.75)
    # people: (1·4 + 3·2) / (1 + 3) = 10 / 4
    assert result.dimensions["people"].score == pytest.approx(2.5)
    # overall: (2·2.75 + 1·2.5) / (2 + 1) = 8 / 3
    assert result.overall == pytest.approx(8 / 3)
    assert list(result.dimensions) == ["process", "people"]
    assert result.coverage == 1.0


def test_respondents_are_pooled() -> None:
    a = {"p_plan": lv(4), "p_brief": lv(2), "p_review": lv(3)}
    # B's p_review is hidden for B (p_plan 2 is not in 3..5): it does not count.
    b = {"p_plan": lv(2), "p_brief": lv(3), "p_review": lv(5)}
    c = {"p_plan": lv(3), "p_brief": DK, "p_review": NA}
    result = score_unit(EXAMPLE, [a, b, c])
    process = result.dimensions["process"]
    # p_plan (4 + 2 + 3) / 3 = 3; p_brief (2 + 3) / 2 = 2.5 (dk ignored);
    # p_review: A's 3 only (B hidden, C n/a) = 3.
    # process: (2·3 + 1·2.5 + 1·3) / 4 = 11.5 / 4
    assert process.score == pytest.approx(2.875)
    assert (process.answered, process.dont_know, process.not_applicable) == (3, 0, 0)
    assert process.questions == 3
    # spread: p_plan 4 - 2 = 2, p_brief 3 - 2 = 1, p_review has one level → (2 + 1) / 2
    assert process.spread == pytest.approx(1.5)
    # Nobody answered people: both questions shown, none counted.
    people = result.dimensions["people"]
    assert people == DimensionScore("people", None, 0, 0, 0, 2, None)
    assert people.coverage == 0.0
    assert result.overall == pytest.approx(2.875)


def test_not_applicable_and_dont_know() -> None:
    a = {"p_plan": lv(5), "p_brief": NA, "h_skills": NA, "h_training": DK}
    b = {"p_plan": lv(3), "p_brief": DK, "h_skills": NA, "h_training": NA}
    result = score_unit(EXAMPLE, [a, b])
    # people: h_skills everyone said n/a → not applicable; h_training nobody gave a level,
    # A said don't know → don't know. Coverage 0 / (2 - 1).
    people = result.dimensions["people"]
    assert people == DimensionScore("people", None, 0, 1, 1, 2, None)
    assert people.coverage == 0.0
    # process: p_plan (5 + 3) / 2 = 4; p_brief n/a + dk → don't know; p_review shown to
    # both (5 and 3 are in 3..5) but unanswered. Score 4, coverage 1 / 3.
    process = result.dimensions["process"]
    assert process == DimensionScore("process", 4.0, 1, 1, 0, 3, 2.0)
    assert process.coverage == pytest.approx(1 / 3)
    assert result.overall == 4.0


def test_hidden_conditional_question_does_not_count() -> None:
    # p_review was answered while p_plan was higher; p_plan is now 1, so it is hidden.
    a = {"p_plan": lv(1), "p_brief": lv(3), "p_review": lv(5)}
    process = score_unit(EXAMPLE, [a]).dimensions["process"]
    # (2·1 + 1·3) / 3 = 5 / 3; p_review is shown to nobody, so it is no question here.
    assert process.score == pytest.approx(5 / 3)
    assert (process.answered, process.questions, process.coverage) == (2, 2, 1.0)

    # A second respondent who sees p_review but leaves it open makes it a question.
    b = {"p_plan": lv(4)}
    process = score_unit(EXAMPLE, [a, b]).dimensions["process"]
    # p_plan (1 + 4) / 2 = 2.5; p_brief 3; p_review unanswered (A's 5 still hidden for A)
    # (2·2.5 + 1·3) / 3 = 8 / 3
    assert process.score == pytest.approx(8 / 3)
    assert (process.answered, process.questions) == (2, 3)
    assert process.coverage == pytest.approx(2 / 3)


def test_validated_answers_replace_the_pooled_ones() -> None:
    a = {"p_plan": lv(4), "p_brief": DK, "p_review": lv(1)}
    b = {"p_plan": lv(2), "p_brief": DK}
    self_assessed = score_unit(EXAMPLE, [a, b]).dimensions["process"]
    # p_plan (4 + 2) / 2 = 3, p_brief don't know, p_review 1 (A only):
    # (2·3 + 1·1) / 3 = 7 / 3
    assert self_assessed.score == pytest.approx(7 / 3)
    assert (self_assessed.answered, self_assessed.dont_know) == (2, 1)

    validated = {"p_plan": lv(5), "p_brief": lv(3), "p_review": NA}
    checked = score_unit(EXAMPLE, [a, b], validated).dimensions["process"]
    # p_plan 5, p_brief 3 (counts although respondents said don't know), p_review left out:
    # (2·5 + 1·3) / 3 = 13 / 3
    assert checked.score == pytest.approx(13 / 3)
    assert (checked.answered, checked.dont_know, checked.not_applicable) == (2, 0, 1)
    assert checked.coverage == 1.0
    # The spread is the respondents' disagreement: p_plan 4 - 2, whatever was validated.
    assert checked.spread == self_assessed.spread == 2.0

    questions = score_questions(EXAMPLE, [a, b], validated)
    assert questions["p_plan"].pooled == 3.0 and questions["p_plan"].level == 5.0
    assert questions["p_plan"].validated and questions["p_plan"].levels == (4, 2)
    assert questions["p_review"].status is QuestionStatus.NOT_APPLICABLE
    assert questions["p_brief"].dont_know == 2


def test_validated_answers_score_a_unit_without_respondents() -> None:
    validated = {"h_skills": lv(4), "p_review": lv(5)}
    result = score_unit(EXAMPLE, [], validated)
    # h_skills counts; p_review's condition (p_plan) has no validated level: not shown.
    assert result.dimensions["people"] == DimensionScore("people", 4.0, 1, 0, 0, 1, None)
    assert result.dimensions["process"].questions == 0
    assert result.dimensions["process"].coverage is None
    assert result.overall == 4.0


def test_nothing_answered_scores_nothing() -> None:
    result = score_unit(EXAMPLE, [])
    assert result.overall is None and result.coverage is None
    assert all(d.score is None and d.questions == 0 for d in result.dimensions.values())


def test_unknown_question_keys_are_ignored() -> None:
    a = {"p_plan": lv(2), "steering": DK, "gone": lv(5)}
    assert score_unit(EXAMPLE, [a]).overall == 2.0


# --- roll-up, gaps, change, positions: hand-checked ---------------------------------------


def test_roll_up_weighted_tree() -> None:
    #        1 (no own score)
    #      /   \
    #  2 (4, w1)  3 (2, w3)
    #     |        |
    #  4 (1, w1)  5 (no own score)
    parents = {1: None, 2: 1, 3: 1, 4: 2, 5: 3}
    own = {1: None, 2: 4.0, 3: 2.0, 4: 1.0, 5: None}
    weights = {2: 1.0, 3: 3.0}
    result = roll_up(parents, own, weights)
    assert result[5] is None
    assert result[4] == 1.0
    assert result[3] == 2.0  # own 2, child 5 has nothing
    assert result[2] == pytest.approx(2.5)  # (1·4 + 1·1) / 2
    assert result[1] == pytest.approx(2.125)  # (1·2.5 + 3·2) / 4


def test_roll_up_parent_outside_the_scope_is_a_root() -> None:
    assert roll_up({7: 99, 8: 7}, {8: 3.0}) == {7: 3.0, 8: 3.0}
    # Units with an own score but no parent entry are roots too.
    assert roll_up({}, {5: 2.0}) == {5: 2.0}


@pytest.mark.parametrize("parents", [{1: 2, 2: 1}, {1: 1}, {1: None, 2: 3, 3: 2}])
def test_roll_up_refuses_cycles(parents: dict[int, int | None]) -> None:
    with pytest.raises(ValueError, match="cycle"):
        roll_up(parents, {})


def test_roll_up_refuses_weights_that_are_not_positive() -> None:
    with pytest.raises(ValueError):
        roll_up({1: None}, {1: 3.0}, {1: 0.0})


def test_roll_up_handles_5000_units_deep_and_wide() -> None:
    n = 5000
    chain = roll_up({i: (i - 1 if i else None) for i in range(n)}, {n - 1: 4.5})
    assert set(chain.values()) == {4.5}
    star = roll_up({i: (0 if i else None) for i in range(n)}, {i: 1 + i % 5 for i in range(n)})
    assert star[0] == pytest.approx(3.0)


def test_gaps_largest_first_then_by_key() -> None:
    scores = {"a": 2.0, "b": 2.5, "c": None, "d": 4.0, "e": 3.0, "g": 3.0}
    targets = {"e": 4, "a": 3, "b": 4, "c": 3, "d": 3, "f": 3, "g": 3}
    assert gaps(scores, targets) == [
        Gap("b", 2.5, 4.0, 1.5),
        Gap("a", 2.0, 3.0, 1.0),
        Gap("e", 3.0, 4.0, 1.0),
    ]
    # Float noise is no gap: 0.1 + 0.2 is 0.30000000000000004.
    assert gaps({"x": (0.1 + 0.2) * 10}, {"x": 3}) == []


def test_change_against_the_previous_cycle() -> None:
    current = {"a": 3.5, "b": None, "c": 2.0}
    previous = {"a": 3.0, "b": 2.0, "d": 1.0}
    assert change(current, previous) == {"a": 0.5, "b": None, "c": None, "d": None}


def test_position_mean() -> None:
    assert position_mean([]) is None
    assert position_mean([0, 100, 50]) == 50.0
    assert position_mean([10, 25]) == 17.5
    with pytest.raises(ValueError):
        position_mean([101])


# --- hypothesis strategies ----------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None)

WEIGHTS = st.sampled_from([0.5, 1.0, 2.0, 3.0]) | st.floats(
    min_value=0.1, max_value=10, allow_nan=False, allow_infinity=False
)
LEVEL_ANSWERS = st.integers(1, 5).map(lv)
ANSWERS = st.one_of(LEVEL_ANSWERS, st.just(NA), st.just(DK))
VALIDATED_ANSWERS = st.one_of(LEVEL_ANSWERS, st.just(NA))
FACTORS = st.sampled_from([0.25, 0.5, 2.0, 3.0, 10.0]) | st.floats(
    min_value=0.01, max_value=100, allow_nan=False, allow_infinity=False
)


@st.composite
def frameworks(draw: st.DrawFn, conditional: bool) -> Framework:
    """1–3 dimensions of 1–4 questions; with ``conditional``, some depend on earlier ones."""
    earlier: list[str] = []
    dimensions = []
    for d in range(draw(st.integers(1, 3))):
        questions = []
        for _ in range(draw(st.integers(1, 4))):
            key = f"q{len(earlier)}"
            condition = None
            if conditional and earlier and draw(st.booleans()):
                levels = draw(st.sets(st.integers(1, 5), min_size=1, max_size=4))
                condition = Condition(draw(st.sampled_from(earlier)), tuple(sorted(levels)))
            questions.append(question(key, f"d{d}", draw(WEIGHTS), condition))
            earlier.append(key)
        dimensions.append(dimension(f"d{d}", questions, draw(WEIGHTS)))
    return framework(*dimensions)


def keys_of(fw: Framework) -> list[str]:
    return [q.key for q in fw.questions()]


@st.composite
def cases(
    draw: st.DrawFn, conditional: bool = True, with_validated: bool = True, respondents: int = 0
) -> tuple[Framework, Responses, dict[str, AnswerValue] | None]:
    """A framework, ``respondents``–4 respondents' answers and (maybe) validated answers."""
    fw = draw(frameworks(conditional))
    keys = st.sampled_from(keys_of(fw))
    responses = draw(
        st.lists(
            st.dictionaries(keys, ANSWERS, min_size=respondents and 1),
            min_size=respondents,
            max_size=4,
        )
    )
    validated = None
    if with_validated and draw(st.booleans()):
        validated = draw(st.dictionaries(keys, VALIDATED_ANSWERS))
    return fw, responses, validated


def shown_to(fw: Framework, response: Mapping[str, AnswerValue]) -> set[str]:
    return fw.visible({k: a.level for k, a in response.items() if a.choice == "level"})


def assert_same_scores(a: UnitScore, b: UnitScore) -> None:
    """Equal counts, and scores equal up to float rounding."""
    assert list(a.dimensions) == list(b.dimensions)
    for key, x in a.dimensions.items():
        y = b.dimensions[key]
        assert (x.answered, x.dont_know, x.not_applicable, x.questions) == (
            y.answered,
            y.dont_know,
            y.not_applicable,
            y.questions,
        )
        assert_close(x.score, y.score)
        assert_close(x.spread, y.spread)
    assert_close(a.overall, b.overall)


def assert_close(x: float | None, y: float | None) -> None:
    assert (x is None) == (y is None)
    if x is not None and y is not None:
        assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def not_lower(after: float | None, before: float | None) -> bool:
    """``after >= before``, where a score that was None stays None."""
    if before is None:
        return after is None
    return after is not None and after >= before


# --- properties of score_unit -------------------------------------------------------------


@PROPERTY
@given(cases())
def test_scores_stay_within_the_levels(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None],
) -> None:
    fw, responses, validated = case
    result = score_unit(fw, responses, validated)
    for dim in fw.dimensions:
        score = result.dimensions[dim.key]
        assert (score.score is None) == (score.answered == 0)
        if score.score is not None:
            assert 1 <= score.score <= 5
        assert score.answered + score.dont_know + score.not_applicable <= score.questions
        assert score.questions <= len(dim.questions)
        assert score.coverage is None or 0 <= score.coverage <= 1
        assert score.spread is None or 0 <= score.spread <= 4
    dimension_scores = [d.score for d in result.dimensions.values() if d.score is not None]
    if dimension_scores:
        assert result.overall is not None
        assert min(dimension_scores) <= result.overall <= max(dimension_scores)
    else:
        assert result.overall is None


def raise_one_answer(
    responses: Responses, raisable: list[tuple[int, str]], data: st.DataObject
) -> tuple[str, Responses]:
    """Raise one drawn ``(respondent, key)`` of ``raisable`` to a drawn higher level.

    Returns the key and a copy of the responses with that answer raised.
    """
    assume(raisable)
    i, key = data.draw(st.sampled_from(raisable))
    old = responses[i][key].level
    assert old is not None
    raised = [dict(r) for r in responses]
    raised[i][key] = lv(data.draw(st.integers(old + 1, 5)))
    return key, raised


@PROPERTY
@given(cases(conditional=False, respondents=1), st.data())
def test_raising_a_level_never_lowers_a_score(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None], data: st.DataObject
) -> None:
    # Without conditions every question is visible, so raising a level changes no
    # visibility (see the next property for frameworks with conditions).
    fw, responses, validated = case
    raisable = [
        (i, key)
        for i, response in enumerate(responses)
        for key, answer in response.items()
        if answer.choice == "level" and answer.level is not None and answer.level < 5
    ]
    key, raised = raise_one_answer(responses, raisable, data)

    before = score_unit(fw, responses, validated)
    after = score_unit(fw, raised, validated)
    changed = fw.question(key).dimension
    assert not_lower(after.dimensions[changed].score, before.dimensions[changed].score)
    for other in fw.dimensions:
        if other.key != changed:
            assert after.dimensions[other.key] == before.dimensions[other.key]
    assert not_lower(after.overall, before.overall)


@PROPERTY
@given(cases(respondents=1), st.data())
def test_with_conditions_raising_a_level_nothing_depends_on_never_lowers_a_score(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None], data: st.DataObject
) -> None:
    fw, responses, validated = case
    conditions = {q.depends_on.question for q in fw.questions() if q.depends_on is not None}
    raisable = [
        (i, key)
        for i, response in enumerate(responses)
        for key, answer in response.items()
        if key not in conditions
        and key in shown_to(fw, response)
        and answer.level is not None
        and answer.level < 5
    ]
    key, raised = raise_one_answer(responses, raisable, data)

    before = score_unit(fw, responses, validated)
    after = score_unit(fw, raised, validated)
    changed = fw.question(key).dimension
    assert not_lower(after.dimensions[changed].score, before.dimensions[changed].score)
    assert not_lower(after.overall, before.overall)


@PROPERTY
@given(cases(with_validated=False), st.data())
def test_answers_to_hidden_questions_do_not_count(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None], data: st.DataObject
) -> None:
    fw, responses, _ = case
    # Replace every answer a respondent cannot see by something else (or nothing): hidden
    # answers never show or hide other questions, so nothing may change.
    rewritten = []
    for response in responses:
        shown = shown_to(fw, response)
        kept = {k: a for k, a in response.items() if k in shown}
        for key in keys_of(fw):
            if key not in shown and data.draw(st.booleans()):
                kept[key] = data.draw(ANSWERS)
        rewritten.append(kept)
    result = score_unit(fw, responses)
    assert score_unit(fw, rewritten) == result

    # A question counts as a question when it is shown to at least one respondent.
    shown_to_anyone = set().union(*(shown_to(fw, r) for r in responses))
    for dim in fw.dimensions:
        expected = sum(1 for q in dim.questions if q.key in shown_to_anyone)
        assert result.dimensions[dim.key].questions == expected


@PROPERTY
@given(cases(), st.permutations(range(4)))
def test_order_of_respondents_does_not_matter(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None], order: list[int]
) -> None:
    fw, responses, validated = case
    shuffled = [responses[i] for i in order if i < len(responses)]
    assert score_unit(fw, shuffled, validated) == score_unit(fw, responses, validated)


@PROPERTY
@given(cases(), st.lists(FACTORS, min_size=3, max_size=3), FACTORS)
def test_scaling_weights_uniformly_changes_nothing(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None],
    question_factors: list[float],
    dimension_factor: float,
) -> None:
    fw, responses, validated = case
    # Each dimension's question weights by its own factor, all dimension weights by one.
    scaled = framework(
        *(
            dimension(
                dim.key,
                [
                    question(q.key, q.dimension, q.weight * question_factors[n], q.depends_on)
                    for q in dim.questions
                ],
                dim.weight * dimension_factor,
            )
            for n, dim in enumerate(fw.dimensions)
        )
    )
    assert_same_scores(
        score_unit(scaled, responses, validated), score_unit(fw, responses, validated)
    )


@PROPERTY
@given(cases(), st.data())
def test_adding_dont_know_never_changes_a_score(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None], data: st.DataObject
) -> None:
    fw, responses, validated = case
    # Some respondents add "don't know" where they had no answer; maybe a new respondent
    # who knows nothing joins.
    more = [
        {**{k: DK for k in keys_of(fw) if k not in r and data.draw(st.booleans())}, **r}
        for r in responses
    ]
    if data.draw(st.booleans()):
        more.append(dict.fromkeys(keys_of(fw), DK))
    before = score_unit(fw, responses, validated)
    after = score_unit(fw, more, validated)
    for key, dim in before.dimensions.items():
        assert after.dimensions[key].score == dim.score
        assert after.dimensions[key].answered == dim.answered
        assert after.dimensions[key].dont_know >= dim.dont_know
        old, new = dim.coverage, after.dimensions[key].coverage
        if old is not None:
            assert new is not None and new <= old
    assert after.overall == before.overall
    if before.coverage is not None:
        assert after.coverage is not None and after.coverage <= before.coverage


@PROPERTY
@given(cases(conditional=False, respondents=1), st.data())
def test_dont_know_scores_like_no_answer_but_lowers_coverage(
    case: tuple[Framework, Responses, dict[str, AnswerValue] | None], data: st.DataObject
) -> None:
    fw, responses, validated = case
    validated = validated or {}
    answered = sorted({k for r in responses for k, a in r.items() if a.choice == "level"})
    assume(answered and set(answered) - validated.keys())
    key = data.draw(st.sampled_from([k for k in answered if k not in validated]))
    # Everyone who gave a level on `key` says "don't know" instead, or drops the answer.
    as_dont_know = [{k: (DK if k == key else a) for k, a in r.items()} for r in responses]
    dropped = [{k: a for k, a in r.items() if k != key} for r in responses]

    before = score_unit(fw, responses, validated)
    with_dont_know = score_unit(fw, as_dont_know, validated)
    assert_close(with_dont_know.overall, score_unit(fw, dropped, validated).overall)

    dim = fw.question(key).dimension
    old, new = before.dimensions[dim], with_dont_know.dimensions[dim]
    assert new.answered == old.answered - 1
    assert new.dont_know == old.dont_know + 1
    assert old.coverage is not None and new.coverage is not None
    assert new.coverage < old.coverage


# --- properties of roll_up ----------------------------------------------------------------

SCORES = st.floats(min_value=1, max_value=5, allow_nan=False)


@st.composite
def forests(
    draw: st.DrawFn,
) -> tuple[dict[int, int | None], dict[int, float | None], dict[int, float]]:
    """Up to 30 units in trees, listed in random order, some parents outside the scope."""
    n = draw(st.integers(1, 30))
    ids = draw(st.permutations(range(100, 100 + n)))
    parent_of: dict[int, int | None] = {}
    for i, unit in enumerate(ids):
        if i == 0 or draw(st.integers(0, 3)) == 0:
            parent_of[unit] = draw(st.sampled_from([None, 999]))
        else:
            parent_of[unit] = ids[draw(st.integers(0, i - 1))]
    listed = draw(st.permutations(ids))
    parents = {unit: parent_of[unit] for unit in listed}
    own = {unit: draw(st.none() | SCORES) for unit in ids}
    weights = {unit: draw(WEIGHTS) for unit in ids}
    return parents, own, weights


def subtree(parents: Mapping[int, int | None], unit: int) -> set[int]:
    found, todo = {unit}, [unit]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                todo.append(child)
    return found


@PROPERTY
@given(forests())
def test_roll_up_stays_between_the_scores_it_combines(
    forest: tuple[dict[int, int | None], dict[int, float | None], dict[int, float]],
) -> None:
    parents, own, weights = forest
    result = roll_up(parents, own, weights)
    assert set(result) == set(parents)
    for unit in parents:
        below = [s for u in subtree(parents, unit) if (s := own[u]) is not None]
        rolled = result[unit]
        if not below:
            assert rolled is None
            continue
        assert rolled is not None and min(below) <= rolled <= max(below)
        # …and between its own score and its children's rolled-up scores.
        direct = [own[unit]] + [result[c] for c, p in parents.items() if p == unit]
        present = [s for s in direct if s is not None]
        assert min(present) <= rolled <= max(present)


@PROPERTY
@given(forests(), SCORES, WEIGHTS, WEIGHTS)
def test_roll_up_of_a_single_child_equals_the_child(
    forest: tuple[dict[int, int | None], dict[int, float | None], dict[int, float]],
    score: float,
    parent_weight: float,
    child_weight: float,
) -> None:
    parents, own, weights = forest
    # A new root above one of the roots, without a score of its own.
    child = next(u for u, p in parents.items() if p is None or p not in parents)
    result = roll_up(
        {**parents, child: 1, 1: None}, {**own, 1: None}, {**weights, 1: parent_weight}
    )
    assert result[1] == result[child] == roll_up(parents, own, weights)[child]
    # A chain of units without scores over one scored leaf: all equal the leaf.
    chain = roll_up({1: None, 2: 1, 3: 2}, {3: score}, {1: parent_weight, 2: child_weight})
    assert chain == {1: score, 2: score, 3: score}


@PROPERTY
@given(forests(), FACTORS)
def test_roll_up_scaling_weights_uniformly_changes_nothing(
    forest: tuple[dict[int, int | None], dict[int, float | None], dict[int, float]],
    factor: float,
) -> None:
    parents, own, weights = forest
    scaled = roll_up(parents, own, {u: w * factor for u, w in weights.items()})
    for unit, rolled in roll_up(parents, own, weights).items():
        assert_close(scaled[unit], rolled)


@PROPERTY
@given(st.lists(st.integers(0, 100), max_size=20))
def test_position_mean_stays_between_the_positions(positions: list[int]) -> None:
    mean = position_mean(positions)
    if not positions:
        assert mean is None
    else:
        assert mean is not None and min(positions) <= mean <= max(positions)
