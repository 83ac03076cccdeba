"""Pure scoring of assessments: plain functions over plain data, no web and no database.

How a unit is scored (see ``docs/assessment.md``):

* Every respondent of a unit answers each question with a level 1–5, "not applicable"
  (``na``) or "don't know" (``dk``). A question hidden for a respondent (its condition does
  not hold for that respondent's own levels) ignores whatever that respondent stored for it.
* Per question the respondents' levels are pooled by their mean; ``na`` and ``dk`` are
  ignored. A question where every respondent who answered said ``na`` is not applicable
  and leaves the dimension entirely; one where nobody gave a level but someone said
  ``dk`` counts as "don't know": it adds nothing to the score and lowers the coverage.
* The consultant's validated answer (level or ``na``) replaces the pooled value.
* A dimension's score is the weighted mean (question weights) of its counted questions;
  the unit's overall score the weighted mean (dimension weights) of its dimension scores.

:func:`roll_up` combines unit scores up the unit tree, :func:`gaps` compares scores with
targets, :func:`change` with the previous cycle, :func:`position_mean` pools tension-field
positions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scalemark.assessment.framework import LEVELS, Framework

__all__ = [
    "ANSWER_CHOICES",
    "AnswerValue",
    "DimensionScore",
    "Gap",
    "QuestionScore",
    "QuestionStatus",
    "UnitScore",
    "change",
    "gaps",
    "position_mean",
    "roll_up",
    "score_questions",
    "score_unit",
]

ANSWER_CHOICES = ("level", "na", "dk")
"""What an answer to a question can be: a level, not applicable, don't know."""

# Float noise (e.g. a pooled 2.9999999999999996 for an exact 3) must not show up as a gap.
_GAP_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AnswerValue:
    """One answer to one question: a level 1–5, not applicable or don't know."""

    choice: str
    """``"level"``, ``"na"`` (not applicable) or ``"dk"`` (don't know)."""
    level: int | None = None
    """1–5 when ``choice == "level"``; ignored otherwise."""

    def __post_init__(self) -> None:
        if self.choice not in ANSWER_CHOICES:
            raise ValueError(f"unknown answer choice {self.choice!r}")
        if self.choice == "level" and self.level not in LEVELS:
            raise ValueError(f"a level answer needs a level 1-5, not {self.level!r}")

    @property
    def counted_level(self) -> int | None:
        """The level when this answer gives one, else None."""
        return self.level if self.choice == "level" else None

    @classmethod
    def from_stored(cls, choice: str | None, level: int | None = None) -> AnswerValue | None:
        """The answer for a stored ``(choice, level)`` pair; None when it is no answer.

        A missing choice (only a comment saved) and tension-field positions are no answer
        to a question, so they give None and the caller can simply skip them.
        """
        if choice is None or choice not in ANSWER_CHOICES:
            return None
        return cls(choice, level if choice == "level" else None)


class QuestionStatus(StrEnum):
    """How one question of a unit enters its dimension score."""

    COUNTED = "counted"
    """It has a level (pooled or validated) and counts."""
    NOT_APPLICABLE = "not_applicable"
    """Judged not applicable: left out of the score and of the coverage."""
    DONT_KNOW = "dont_know"
    """Nobody gave a level, someone said don't know: no score, lowers the coverage."""
    UNANSWERED = "unanswered"
    """Shown but nobody answered it yet: no score, lowers the coverage."""


@dataclass(frozen=True)
class QuestionScore:
    """One visible question of a unit: the respondents' answers pooled (and validated)."""

    key: str
    dimension: str
    status: QuestionStatus
    level: float | None
    """The level that counts (validated, else the respondents' mean); None unless counted."""
    pooled: float | None
    """Mean of the respondents' levels, whatever the validation says; None without any."""
    levels: tuple[int, ...]
    """Levels the respondents gave (those it was shown to), in respondent order."""
    not_applicable: int
    """Respondents who said not applicable."""
    dont_know: int
    """Respondents who said don't know."""
    validated: bool
    """True when the consultant's validated answer decided it."""

    @property
    def spread(self) -> int | None:
        """Highest minus lowest respondent level; None with fewer than two levels."""
        if len(self.levels) < 2:
            return None
        return max(self.levels) - min(self.levels)


@dataclass(frozen=True)
class DimensionScore:
    """A dimension of one unit: its score and how much of it is known."""

    key: str
    score: float | None
    """Weighted mean level (1–5) of the counted questions; None when nothing counted."""
    answered: int
    """Visible questions with a counted level."""
    dont_know: int
    """Visible questions where nobody gave a level and someone said don't know."""
    not_applicable: int
    """Visible questions judged not applicable (left out)."""
    questions: int
    """Visible questions (shown to at least one respondent)."""
    spread: float | None
    """Mean, over questions with at least two levels, of highest minus lowest level."""

    @property
    def coverage(self) -> float | None:
        """Share of the applicable questions that have a level; None when there are none."""
        applicable = self.questions - self.not_applicable
        if applicable <= 0:
            return None
        return self.answered / applicable


@dataclass(frozen=True)
class UnitScore:
    """Every dimension of one unit (in framework order) and the overall score."""

    dimensions: Mapping[str, DimensionScore]
    overall: float | None
    """Weighted mean (dimension weights) of the dimension scores that exist."""

    @property
    def coverage(self) -> float | None:
        """Share of all applicable questions of the unit that have a level."""
        answered = sum(d.answered for d in self.dimensions.values())
        applicable = sum(d.questions - d.not_applicable for d in self.dimensions.values())
        if applicable <= 0:
            return None
        return answered / applicable


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    """Σ(w·v)/Σ(w) over ``(weight, value)`` pairs; None when there are none.

    Exact sums (``math.fsum``) keep the result independent of the order of the pairs, and
    the result is clamped to the values' range so rounding never leaves it (a mean of
    fives stays exactly 5).
    """
    pairs = list(pairs)
    total_weight = math.fsum(w for w, _ in pairs)
    if not pairs or total_weight <= 0:
        return None
    values = [v for _, v in pairs]
    mean = math.fsum(w * v for w, v in pairs) / total_weight
    return min(max(mean, min(values)), max(values))


def _mean(values: Sequence[float]) -> float | None:
    """The plain mean; None for no values."""
    if not values:
        return None
    mean = math.fsum(values) / len(values)
    return min(max(mean, min(values)), max(values))


def score_questions(
    framework: Framework,
    responses: Sequence[Mapping[str, AnswerValue]],
    validated: Mapping[str, AnswerValue] | None = None,
) -> dict[str, QuestionScore]:
    """Every visible question of a unit, pooled over its respondents, in framework order.

    ``responses`` holds one mapping per respondent (question key → answer); keys that are
    not questions of ``framework`` are ignored. A question is visible when it is shown to
    at least one respondent (by that respondent's own levels), or when the consultant
    validated it and it is shown given the validated levels (so a unit scored only by the
    consultant still gets scores). ``validated`` answers of choice ``"dk"`` are ignored.
    """
    validated = {k: v for k, v in (validated or {}).items() if v.choice != "dk"}
    shown_to = [
        framework.visible({key: answer.counted_level for key, answer in response.items()})
        for response in responses
    ]
    validated_levels = {key: answer.counted_level for key, answer in validated.items()}
    shown_to_consultant = framework.visible(validated_levels) & validated.keys()

    result: dict[str, QuestionScore] = {}
    for question in framework.questions():
        key = question.key
        if key not in shown_to_consultant and not any(key in shown for shown in shown_to):
            continue
        answers = [
            response[key]
            for response, shown in zip(responses, shown_to, strict=True)
            if key in shown and key in response
        ]
        levels = tuple(given for a in answers if (given := a.counted_level) is not None)
        not_applicable = sum(1 for a in answers if a.choice == "na")
        dont_know = sum(1 for a in answers if a.choice == "dk")
        pooled = _mean(levels)
        check = validated.get(key)

        level: float | None = None
        if check is not None and check.counted_level is not None:
            status, level = QuestionStatus.COUNTED, float(check.counted_level)
        elif check is not None:
            status = QuestionStatus.NOT_APPLICABLE
        elif pooled is not None:
            status, level = QuestionStatus.COUNTED, pooled
        elif dont_know:
            status = QuestionStatus.DONT_KNOW
        elif not_applicable:
            status = QuestionStatus.NOT_APPLICABLE
        else:
            status = QuestionStatus.UNANSWERED
        result[key] = QuestionScore(
            key=key,
            dimension=question.dimension,
            status=status,
            level=level,
            pooled=pooled,
            levels=levels,
            not_applicable=not_applicable,
            dont_know=dont_know,
            validated=check is not None,
        )
    return result


def score_unit(
    framework: Framework,
    responses: Sequence[Mapping[str, AnswerValue]],
    validated: Mapping[str, AnswerValue] | None = None,
) -> UnitScore:
    """Scores of one unit per dimension and overall from its respondents' answers.

    ``responses``: one mapping per respondent of the unit (question key → answer);
    ``validated``: the consultant's validated answers (level or not applicable), which
    replace the pooled answer of their question. Without ``validated`` this is the
    self-assessed score.
    """
    by_dimension: dict[str, list[QuestionScore]] = defaultdict(list)
    for scored in score_questions(framework, responses, validated).values():
        by_dimension[scored.dimension].append(scored)

    dimensions: dict[str, DimensionScore] = {}
    for dimension in framework.dimensions:
        scored_questions = by_dimension.get(dimension.key, [])
        counted = [q for q in scored_questions if q.status is QuestionStatus.COUNTED]
        spreads = [q.spread for q in scored_questions if q.spread is not None]
        dimensions[dimension.key] = DimensionScore(
            key=dimension.key,
            score=_weighted_mean(
                (framework.question(q.key).weight, q.level) for q in counted if q.level is not None
            ),
            answered=len(counted),
            dont_know=sum(1 for q in scored_questions if q.status is QuestionStatus.DONT_KNOW),
            not_applicable=sum(
                1 for q in scored_questions if q.status is QuestionStatus.NOT_APPLICABLE
            ),
            questions=len(scored_questions),
            spread=math.fsum(spreads) / len(spreads) if spreads else None,
        )
    overall = _weighted_mean(
        (dimension.weight, score)
        for dimension in framework.dimensions
        if (score := dimensions[dimension.key].score) is not None
    )
    return UnitScore(dimensions=dimensions, overall=overall)


def roll_up(
    parents: Mapping[int, int | None],
    own: Mapping[int, float | None],
    weights: Mapping[int, float] | None = None,
) -> dict[int, float | None]:
    """Scores rolled up a unit tree: each unit with everything below it.

    ``parents`` maps unit id → parent id; None, or a parent that is not a key, makes the
    unit a root of this scope. ``own`` holds each unit's own score (missing: None);
    units only in ``own`` are roots too. A unit's rolled-up score is the weighted mean of
    its own score (with its weight) and its children's rolled-up scores (each with that
    child's weight), leaving out the ones that are None; None when nothing is left.
    ``weights`` default to 1 and must be > 0. Runs in O(n) without recursion; raises
    ValueError on a cycle.
    """
    weights = weights or {}
    units = list(parents)
    units.extend(unit for unit in own if unit not in parents)
    children: dict[int, list[int]] = defaultdict(list)
    roots: list[int] = []
    for unit in units:
        parent = parents.get(unit)
        if parent is not None and parent in parents:
            children[parent].append(unit)
        else:
            roots.append(unit)
        if float(weights.get(unit, 1.0)) <= 0:
            raise ValueError(f"the weight of unit {unit} must be > 0")

    # Breadth-first from the roots: every parent comes before its children, so the
    # reversed order handles children first. Units never reached sit on a cycle.
    order = list(roots)
    for unit in order:
        order.extend(children.get(unit, ()))
    if len(order) != len(units):
        raise ValueError("the unit tree has a cycle")

    rolled: dict[int, float | None] = {}
    for unit in reversed(order):
        contributions: list[tuple[float, float]] = []
        own_score = own.get(unit)
        if own_score is not None:
            contributions.append((float(weights.get(unit, 1.0)), float(own_score)))
        for child in children.get(unit, ()):
            child_score = rolled[child]
            if child_score is not None:
                contributions.append((float(weights.get(child, 1.0)), child_score))
        rolled[unit] = _weighted_mean(contributions)
    return {unit: rolled[unit] for unit in units}


@dataclass(frozen=True)
class Gap:
    """A dimension whose score is below its target."""

    dimension: str
    score: float
    target: float
    size: float
    """``target - score`` (> 0)."""


def gaps(scores: Mapping[str, float | None], targets: Mapping[str, float]) -> list[Gap]:
    """Dimensions scoring below their target, largest gap first (ties by key).

    Dimensions without a score or without a target have no gap.
    """
    found = [
        Gap(dimension=key, score=float(score), target=float(target), size=size)
        for key, target in targets.items()
        if (score := scores.get(key)) is not None
        and (size := float(target) - float(score)) > _GAP_TOLERANCE
    ]
    return sorted(found, key=lambda gap: (-gap.size, gap.dimension))


def change(
    current: Mapping[str, float | None], previous: Mapping[str, float | None]
) -> dict[str, float | None]:
    """Per key (of either mapping) ``current - previous``; None when either is missing."""
    keys = list(current)
    keys.extend(key for key in previous if key not in current)
    result: dict[str, float | None] = {}
    for key in keys:
        now, before = current.get(key), previous.get(key)
        result[key] = None if now is None or before is None else float(now) - float(before)
    return result


def position_mean(positions: Sequence[int]) -> float | None:
    """Mean tension-field position (0 = left pole … 100 = right pole); None without any."""
    for position in positions:
        if not 0 <= position <= 100:
            raise ValueError(f"a position must be 0-100, not {position!r}")
    return _mean([float(p) for p in positions])
