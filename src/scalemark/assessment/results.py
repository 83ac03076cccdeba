"""Assessment results: cached scores per unit, roll-ups, heatmap, positions, gaps, cycles.

Scores are computed by the pure :mod:`scalemark.assessment.scoring` and cached per unit in
``assessment_score`` (``dimension_key = ''`` is the unit's overall score) and
``assessment_position``. Whatever changes a unit's answers or validations sets
``assessment_unit.scores_stale``; :func:`refresh_scores` recomputes exactly those units in
one transaction, so reading results costs one cheap query when nothing changed.

:func:`load_results` reads everything a results page or the API needs in one tenant
transaction and rolls the cached scores up the unit tree in Python (O(n) per dimension).
Two scores are kept apart everywhere: *self-assessed* (the respondents' answers pooled)
and *validated* (the consultant's validated level where one was set, the self-assessed
answer elsewhere). Gaps and cycle comparisons use the validated score.

Authorisation is the caller's job: pages and API decide which units a person may see and
pass only those to the read functions.
"""

from __future__ import annotations

import math
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from scalemark.assessment import registry, scoring
from scalemark.assessment.framework import Framework, Text
from scalemark.assessment.scoring import AnswerValue
from scalemark.assessment.service import Assessment, ScopeUnit, scope_unit_from_row
from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant

__all__ = [
    "OVERALL",
    "SCOPE_IN_TREE_ORDER",
    "Cell",
    "ChangeRow",
    "Column",
    "Comparison",
    "DimensionRow",
    "GapItem",
    "OwnScores",
    "PreviousCycle",
    "Results",
    "Rolled",
    "Summary",
    "bottom_up",
    "load_results",
    "refresh_scores",
    "roll_many",
    "scope_parents",
    "sum_many",
]

OVERALL = ""
"""``dimension_key`` of a unit's overall score."""

_UNSET = object()

HEATMAP_ALL_ROWS = 60
"""Up to this many units the heatmap shows them all; beyond, one level at a time."""


class Cell(NamedTuple):
    """The cached score of one unit in one dimension (or overall): its own answers only.

    A named tuple: thousands are built per results page, cheaply.
    """

    self_score: float | None
    """Respondents' answers pooled."""
    validated_score: float | None
    """Validated levels where set, the pooled answers elsewhere."""
    answered: int = 0
    dont_know: int = 0
    not_applicable: int = 0
    questions: int = 0
    spread: float | None = None

    @property
    def applicable(self) -> int:
        """Questions that count towards the coverage (not judged not applicable)."""
        return max(0, self.questions - self.not_applicable)


class DimensionRow(NamedTuple):
    """One line of a unit's result table (a dimension, or the overall score)."""

    key: str
    """Dimension key; ``''`` for the overall line."""
    title: str
    self_score: float | None
    validated_score: float | None
    target: float | None
    coverage: float | None
    """Share of the applicable questions with a level (don't know and unanswered lower it)."""
    dont_know: int

    @property
    def gap(self) -> float | None:
        """How far the validated score is below the target (0 when met, None without data)."""
        if self.validated_score is None or self.target is None:
            return None
        return max(0.0, self.target - self.validated_score)


@dataclass(frozen=True)
class Summary:
    """Results of one unit (or several units combined), rolled up over their subtrees."""

    unit_ids: tuple[int, ...]
    dimensions: tuple[DimensionRow, ...]
    overall: DimensionRow

    def validated(self) -> dict[str, float | None]:
        """Validated score per dimension key."""
        return {row.key: row.validated_score for row in self.dimensions}

    def self_assessed(self) -> dict[str, float | None]:
        """Self-assessed score per dimension key."""
        return {row.key: row.self_score for row in self.dimensions}


@dataclass(frozen=True)
class GapItem:
    """A dimension below its target, with what the framework recommends next."""

    dimension: str
    title: str
    score: float
    target: float
    size: float
    recommendation: str


@dataclass(frozen=True)
class ChangeRow:
    """A score now, in the previous cycle, and the change."""

    key: str
    """Dimension key, or a unit id as text for per-unit rows."""
    label: str
    current: float | None
    previous: float | None
    change: float | None


@dataclass(frozen=True)
class Comparison:
    """Change since the previous cycle: per dimension of the selection, per unit overall."""

    previous_title: str
    previous_cycle: int
    dimensions: tuple[ChangeRow, ...]
    overall: ChangeRow
    units: tuple[ChangeRow, ...]


class Column:
    """One key's figures of :class:`Rolled`: unit id → figure (``get`` like a dict)."""

    __slots__ = ("index", "values")

    def __init__(self, values: dict[int, list[Any]], index: int | None) -> None:
        self.values = values
        self.index = index

    def get(self, unit_id: int, default: Any = None) -> Any:
        """The unit's figure, ``default`` when there is none."""
        row = self.values.get(unit_id)
        if row is None or self.index is None:
            return default
        value = row[self.index]
        return default if value is None else value

    def __getitem__(self, unit_id: int) -> Any:
        return self.values[unit_id][self.index] if self.index is not None else None


class Rolled:
    """Figures per unit, aligned with ``keys`` (dimension keys, then ``''``).

    ``rolled.get(key, unit_id)``, or ``rolled[key].get(unit_id)`` as with nested dicts.
    """

    __slots__ = ("index", "values")

    def __init__(self, keys: Sequence[str], values: dict[int, list[Any]]) -> None:
        self.index = {key: i for i, key in enumerate(keys)}
        self.values = values

    def get(self, key: str, unit_id: int, default: Any = None) -> Any:
        """The figure of ``unit_id`` for ``key``; ``default`` when there is none."""
        row = self.values.get(unit_id)
        i = self.index.get(key)
        if row is None or i is None:
            return default
        value = row[i]
        return default if value is None else value

    def __getitem__(self, key: str) -> Column:
        return Column(self.values, self.index.get(key))


class OwnScores(Mapping[int, Mapping[str, Cell]]):
    """Each unit's own cached cells by dimension key, built on first access per unit."""

    def __init__(self, keys: Sequence[str], figures: dict[int, tuple[list[Any], ...]]) -> None:
        self._keys = list(keys)
        self._figures = figures
        self._built: dict[int, dict[str, Cell]] = {}

    def __getitem__(self, unit_id: int) -> Mapping[str, Cell]:
        built = self._built.get(unit_id)
        if built is None:
            lists = self._figures[unit_id]
            built = self._built[unit_id] = {
                key: Cell(*(column[i] for column in lists)) for i, key in enumerate(self._keys)
            }
        return built

    def figures(self, unit_id: int) -> tuple[list[Any], ...] | None:
        """The unit's own figures as lists in key order, in the field order of :class:`Cell`."""
        return self._figures.get(unit_id)

    def __iter__(self) -> Iterator[int]:
        return iter(self._figures)

    def __len__(self) -> int:
        return len(self._figures)


@dataclass
class PreviousCycle:
    """The rolled-up validated scores of the previous cycle (for comparisons)."""

    assessment_id: int
    title: str
    cycle: int
    units: set[int]
    weights: dict[int, float]
    rolled: Rolled
    """Validated scores with their subtrees."""


@dataclass
class Results:
    """Everything the result views need, for every unit in scope (filter before showing)."""

    assessment: Assessment
    framework: Framework
    units: list[ScopeUnit]
    """Units in scope, in tree order (depth first, siblings by position and name)."""
    parents: dict[int, int | None]
    """Each unit's parent in scope: its nearest ancestor in scope."""
    targets: dict[str, float]
    own: Mapping[int, Mapping[str, Cell]]
    """Cached own scores per unit and dimension key (``''`` overall)."""
    rolled_self: Rolled
    """Self-assessed scores, each unit with its subtree."""
    rolled_validated: Rolled
    """Validated scores, each unit with its subtree."""
    rolled_answered: Rolled
    rolled_applicable: Rolled
    rolled_dont_know: Rolled
    positions: dict[int, dict[str, tuple[float, int]]]
    """Unit id → tension field key → (mean position, number of respondents)."""
    validations: dict[int, int]
    """Unit id → number of validated questions."""
    previous: PreviousCycle | None = None
    by_id: dict[int, ScopeUnit] = field(default_factory=dict)
    children: dict[int | None, list[int]] = field(default_factory=dict)
    _overall_target: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._overall_target = _UNSET
        self.by_id = {u.id: u for u in self.units}
        children: dict[int | None, list[int]] = defaultdict(list)
        for unit in self.units:
            children[self.parents.get(unit.id)].append(unit.id)
        self.children = dict(children)

    # -- keys ---------------------------------------------------------------------------

    @property
    def dimension_keys(self) -> list[str]:
        """Dimension keys in framework order."""
        return [d.key for d in self.framework.dimensions]

    def overall_target(self) -> float | None:
        """The dimension targets averaged with the dimension weights."""
        if self._overall_target is not _UNSET:
            return self._overall_target  # type: ignore[return-value]
        pairs = [
            (d.weight, self.targets[d.key])
            for d in self.framework.dimensions
            if d.key in self.targets
        ]
        self._overall_target = _weighted_mean(pairs)
        return self._overall_target

    # -- selections ---------------------------------------------------------------------

    def roots(self, visible: Iterable[int]) -> list[int]:
        """Visible units whose parent in scope is not visible (the tops of what one sees)."""
        shown = set(visible)
        return [u.id for u in self.units if u.id in shown and self.parents.get(u.id) not in shown]

    def scope_children(self, unit_id: int | None) -> list[int]:
        """Units whose parent in scope is ``unit_id`` (None: the roots), in tree order."""
        return list(self.children.get(unit_id, ()))

    def heatmap_rows(
        self, visible: Iterable[int], selected: int | None, limit: int = HEATMAP_ALL_ROWS
    ) -> tuple[list[int], bool]:
        """Units to show as heatmap rows, and whether that is only a part of them.

        Up to ``limit`` visible units are all shown. Beyond that the selected unit and its
        children are shown (no selection: the tops and their children), each linking
        further down, at most ``limit`` rows.
        """
        shown = set(visible)
        ordered = [u.id for u in self.units if u.id in shown]
        if len(ordered) <= limit:
            return ordered, False
        rows: list[int] = []
        tops = [selected] if selected is not None else self.roots(shown)
        for top in tops:
            rows.append(top)
            rows.extend(c for c in self.scope_children(top) if c in shown)
        return rows[:limit], True

    # -- figures ------------------------------------------------------------------------

    def summary(self, unit_ids: Sequence[int]) -> Summary:
        """Rolled-up results of the units (several: combined with their weights)."""
        rows = [self._row(d.key, d.title, unit_ids) for d in self.framework.dimensions]
        overall = self._row(OVERALL, None, unit_ids)
        return Summary(tuple(unit_ids), tuple(rows), overall)

    def _row(self, key: str, title: Text | None, unit_ids: Sequence[int]) -> DimensionRow:
        weights = [self.by_id[u].weight for u in unit_ids]
        answered = sum(self.rolled_answered.get(key, u, 0) for u in unit_ids)
        applicable = sum(self.rolled_applicable.get(key, u, 0) for u in unit_ids)
        target = self.targets.get(key) if key != OVERALL else self.overall_target()
        return DimensionRow(
            key=key,
            title=title.get() if title is not None else "",
            self_score=_combine(self.rolled_self, key, unit_ids, weights),
            validated_score=_combine(self.rolled_validated, key, unit_ids, weights),
            target=target,
            coverage=answered / applicable if applicable else None,
            dont_know=sum(self.rolled_dont_know.get(key, u, 0) for u in unit_ids),
        )

    def unit_rows(self, unit_id: int, titles: Sequence[str]) -> list[DimensionRow]:
        """One unit's rolled-up rows (dimensions in framework order, then overall), fast.

        The same figures as :meth:`summary` of that unit alone, read straight from the
        rolled-up lists; ``titles`` are the dimension titles (looked up once by the caller).
        """
        keys = [*self.dimension_keys, OVERALL]
        width = len(keys)
        empty: list[Any] = [None] * width
        zeros: list[Any] = [0] * width
        mine_self = self.rolled_self.values.get(unit_id, empty)
        mine_valid = self.rolled_validated.values.get(unit_id, empty)
        answered = self.rolled_answered.values.get(unit_id, zeros)
        applicable = self.rolled_applicable.values.get(unit_id, zeros)
        dont_know = self.rolled_dont_know.values.get(unit_id, zeros)
        overall_target = self.overall_target()
        return [
            DimensionRow(
                key=key,
                title=titles[i] if i < len(titles) else "",
                self_score=mine_self[i],
                validated_score=mine_valid[i],
                target=self.targets.get(key) if key != OVERALL else overall_target,
                coverage=answered[i] / applicable[i] if applicable[i] else None,
                dont_know=dont_know[i],
            )
            for i, key in enumerate(keys)
        ]

    def gap_list(self, summary: Summary) -> list[GapItem]:
        """Dimensions below target (validated score), largest first, with recommendations."""
        found = scoring.gaps(summary.validated(), self.targets)
        items = []
        for gap in found:
            dimension = self.framework.dimension(gap.dimension)
            items.append(
                GapItem(
                    dimension=gap.dimension,
                    title=dimension.title.get(),
                    score=gap.score,
                    target=gap.target,
                    size=gap.size,
                    recommendation=dimension.recommendation(gap.score).get(),
                )
            )
        return items

    def tension_positions(
        self, unit_ids: Sequence[int]
    ) -> list[tuple[int, tuple[float | None, ...]]]:
        """Each unit's mean position per tension field (None: not placed on it).

        Units placed on no field at all are left out; the order of ``unit_ids`` is kept.
        """
        fields = self.framework.tension_fields
        found = []
        for unit_id in unit_ids:
            placed = self.positions.get(unit_id)
            if placed:
                found.append(
                    (unit_id, tuple(placed[f.key][0] if f.key in placed else None for f in fields))
                )
        return found

    def heatmap_values(self, unit_ids: Sequence[int]) -> list[list[float | None]]:
        """Validated scores (rolled up) per unit row and dimension column."""
        keys = self.dimension_keys
        rolled = self.rolled_validated
        return [[rolled.get(k, u) for k in keys] for u in unit_ids]

    def comparison(self, unit_ids: Sequence[int], rows: Sequence[int]) -> Comparison | None:
        """Change since the previous cycle for the selection and per unit in ``rows``."""
        previous = self.previous
        if previous is None:
            return None
        current = self.summary(unit_ids)
        in_previous = [u for u in unit_ids if u in previous.units]
        before = {
            key: _combine(
                previous.rolled,
                key,
                in_previous,
                [previous.weights.get(u, 1.0) for u in in_previous],
            )
            for key in [*self.dimension_keys, OVERALL]
        }
        now = {row.key: row.validated_score for row in (*current.dimensions, current.overall)}
        changes = scoring.change(now, before)
        dimensions = tuple(
            ChangeRow(row.key, row.title, now[row.key], before[row.key], changes[row.key])
            for row in current.dimensions
        )
        overall = ChangeRow(OVERALL, "", now[OVERALL], before[OVERALL], changes[OVERALL])
        units = []
        for unit_id in rows:
            value = self.rolled_validated.get(OVERALL, unit_id)
            old = previous.rolled.get(OVERALL, unit_id)
            delta = None if value is None or old is None else value - old
            units.append(ChangeRow(str(unit_id), self.by_id[unit_id].name, value, old, delta))
        return Comparison(previous.title, previous.cycle, dimensions, overall, tuple(units))


def _weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    pairs = list(pairs)
    total = math.fsum(w for w, _ in pairs)
    if not pairs or total <= 0:
        return None
    return math.fsum(w * v for w, v in pairs) / total


def _combine(
    values: Rolled, key: str, unit_ids: Sequence[int], weights: Sequence[float]
) -> float | None:
    """One unit's value, or the weighted mean of several units' values."""
    if len(unit_ids) == 1:
        return values.get(key, unit_ids[0])  # type: ignore[no-any-return]
    return _weighted_mean(
        (w, v)
        for u, w in zip(unit_ids, weights, strict=True)
        if (v := values.get(key, u)) is not None
    )


def scope_parents(units: Sequence[ScopeUnit]) -> dict[int, int | None]:
    """Each unit's parent in scope: the nearest ancestor (by path) that is in scope too."""
    in_scope = {u.id for u in units}
    parents: dict[int, int | None] = {}
    for unit in units:
        ancestors = [int(part) for part in unit.path.strip("/").split("/") if part]
        parents[unit.id] = next(
            (a for a in reversed(ancestors) if a != unit.id and a in in_scope), None
        )
    return parents


# -- refresh --------------------------------------------------------------------------------


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.2f}")


def _score_cells(
    framework: Framework,
    responses: Sequence[Mapping[str, AnswerValue]],
    validated: Mapping[str, AnswerValue],
) -> dict[str, Cell]:
    """Cells per dimension key and overall from one unit's answers and validations."""
    own = scoring.score_unit(framework, responses, None)
    checked = scoring.score_unit(framework, responses, validated) if validated else own
    cells: dict[str, Cell] = {}
    for key, dim in own.dimensions.items():
        cells[key] = Cell(
            self_score=dim.score,
            validated_score=checked.dimensions[key].score,
            answered=dim.answered,
            dont_know=dim.dont_know,
            not_applicable=dim.not_applicable,
            questions=dim.questions,
            spread=dim.spread,
        )
    spreads = [d.spread for d in own.dimensions.values() if d.spread is not None]
    cells[OVERALL] = Cell(
        self_score=own.overall,
        validated_score=checked.overall,
        answered=sum(d.answered for d in own.dimensions.values()),
        dont_know=sum(d.dont_know for d in own.dimensions.values()),
        not_applicable=sum(d.not_applicable for d in own.dimensions.values()),
        questions=sum(d.questions for d in own.dimensions.values()),
        spread=math.fsum(spreads) / len(spreads) if spreads else None,
    )
    return cells


async def refresh_scores(assessment_id: int) -> int:
    """Recompute the cached scores of the units marked stale; the number of units done.

    One tenant transaction: the stale units are locked (a concurrent refresh waits and
    then finds nothing left to do), all their answers and validations are read in two
    queries, scores and positions are replaced with one statement each, and the flag is
    cleared. A save that marks a unit stale meanwhile waits for the lock and leaves the
    flag set for the next refresh.
    """
    async with tenant_transaction() as conn:
        stale = [
            r["unit_id"]
            for r in await conn.fetch(
                "SELECT unit_id FROM assessment_unit WHERE assessment_id = $1 AND scores_stale"
                " ORDER BY unit_id FOR UPDATE",
                assessment_id,
            )
        ]
        if not stale:
            return 0
        framework = await registry.assessment_framework(conn, assessment_id)
        answers = await conn.fetch(
            "SELECT r.unit_id, r.id AS respondent_id, a.question_key, a.choice, a.level,"
            " a.position FROM assessment_respondent r"
            " JOIN assessment_answer a ON a.respondent_id = r.id"
            " WHERE r.assessment_id = $1 AND r.unit_id = ANY($2::bigint[])"
            " ORDER BY r.unit_id, r.id",
            assessment_id,
            stale,
        )
        checks = await conn.fetch(
            "SELECT unit_id, question_key, choice, level FROM assessment_validation"
            " WHERE assessment_id = $1 AND unit_id = ANY($2::bigint[])",
            assessment_id,
            stale,
        )
        responses: dict[int, dict[int, dict[str, AnswerValue]]] = defaultdict(dict)
        placed: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        fields = {f.key for f in framework.tension_fields}
        for row in answers:
            per_person = responses[row["unit_id"]].setdefault(row["respondent_id"], {})
            if row["choice"] == "position":
                if row["question_key"] in fields and row["position"] is not None:
                    placed[row["unit_id"]][row["question_key"]].append(row["position"])
                continue
            if not framework.has_question(row["question_key"]):
                continue
            value = AnswerValue.from_stored(row["choice"], row["level"])
            if value is not None:
                per_person[row["question_key"]] = value
        validated: dict[int, dict[str, AnswerValue]] = defaultdict(dict)
        for row in checks:
            value = AnswerValue.from_stored(row["choice"], row["level"])
            if value is not None and framework.has_question(row["question_key"]):
                validated[row["unit_id"]][row["question_key"]] = value

        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [])
        places: tuple[list[Any], ...] = ([], [], [], [])
        for unit_id in stale:
            cells = _score_cells(
                framework, list(responses[unit_id].values()), validated.get(unit_id, {})
            )
            for key, cell in cells.items():
                for column, value in zip(
                    columns,
                    (
                        unit_id,
                        key,
                        _decimal(cell.self_score),
                        _decimal(cell.validated_score),
                        cell.answered,
                        cell.dont_know,
                        cell.not_applicable,
                        cell.questions,
                        _decimal(cell.spread),
                    ),
                    strict=True,
                ):
                    column.append(value)
            for key, given in placed.get(unit_id, {}).items():
                mean = scoring.position_mean(given)
                if mean is None:
                    continue
                for column, value in zip(
                    places, (unit_id, key, _decimal(mean), len(given)), strict=True
                ):
                    column.append(value)

        await conn.execute(
            "DELETE FROM assessment_score WHERE assessment_id = $1 AND unit_id = ANY($2::bigint[])",
            assessment_id,
            stale,
        )
        await conn.execute(
            "DELETE FROM assessment_position"
            " WHERE assessment_id = $1 AND unit_id = ANY($2::bigint[])",
            assessment_id,
            stale,
        )
        await conn.execute(
            "INSERT INTO assessment_score (assessment_id, unit_id, dimension_key, self_score,"
            " validated_score, answered, dont_know, not_applicable, questions, spread)"
            " SELECT $1, * FROM unnest($2::bigint[], $3::varchar[], $4::numeric[],"
            " $5::numeric[], $6::int[], $7::int[], $8::int[], $9::int[], $10::numeric[])",
            assessment_id,
            *columns,
        )
        if places[0]:
            await conn.execute(
                "INSERT INTO assessment_position (assessment_id, unit_id, field_key, position,"
                " respondents) SELECT $1, * FROM unnest($2::bigint[], $3::varchar[],"
                " $4::numeric[], $5::int[])",
                assessment_id,
                *places,
            )
        await conn.execute(
            "UPDATE assessment_unit SET scores_stale = false"
            " WHERE assessment_id = $1 AND unit_id = ANY($2::bigint[])",
            assessment_id,
            stale,
        )
    return len(stale)


# -- reading --------------------------------------------------------------------------------

# Units in scope in the tree's display order: depth first, siblings by position and name
# (as the unit tree shows them; sorting by path would put /1/12/ before /1/2/).
SCOPE_IN_TREE_ORDER = (
    "WITH RECURSIVE ranked AS (SELECT id, parent_id, row_number() OVER"
    " (PARTITION BY parent_id ORDER BY position, name, id) AS rank FROM unit),"
    " ordered AS (SELECT id, ARRAY[rank] AS key FROM ranked WHERE parent_id IS NULL"
    " UNION ALL SELECT r.id, o.key || r.rank FROM ranked r JOIN ordered o ON r.parent_id = o.id)"
    " SELECT u.id, u.code, u.name, u.kind, u.path, u.depth, u.parent_id, u.locale, au.weight"
    " FROM assessment_unit au JOIN unit u ON u.id = au.unit_id JOIN ordered o ON o.id = u.id"
    " WHERE au.assessment_id = $1 ORDER BY o.key"
)


# Every cached figure of every unit as arrays in the order of ``$2`` (the keys), one row
# per unit: 500 rows of arrays decode far faster than 5,500 rows of numbers.
_FIGURES = (
    "SELECT s.unit_id, array_agg(s.self_score::float8 ORDER BY k.i),"
    " array_agg(s.validated_score::float8 ORDER BY k.i), array_agg(s.answered ORDER BY k.i),"
    " array_agg(s.dont_know ORDER BY k.i), array_agg(s.not_applicable ORDER BY k.i),"
    " array_agg(s.questions ORDER BY k.i), array_agg(s.spread::float8 ORDER BY k.i)"
    " FROM assessment_score s JOIN unnest($2::varchar[]) WITH ORDINALITY AS k(key, i)"
    " ON k.key = s.dimension_key WHERE s.assessment_id = $1 GROUP BY s.unit_id"
)


def bottom_up(units: Sequence[ScopeUnit]) -> list[int]:
    """Unit ids with every unit before its ancestors (deepest first)."""
    return [u.id for u in sorted(units, key=lambda u: -u.depth)]


def roll_many(
    order: Sequence[int],
    parents: Mapping[int, int | None],
    weights: Mapping[int, float],
    own: Mapping[int, Sequence[float | None]],
    width: int,
) -> dict[int, list[float | None]]:
    """:func:`scoring.roll_up` for ``width`` scores per unit at once, in one pass.

    ``order`` lists every unit before its parent in scope (:func:`bottom_up`); ``own``
    holds each unit's own scores (a list of ``width``, None where missing). A unit's
    rolled-up score is the weighted mean of its own score (its weight) and its children's
    rolled-up scores (their weights), leaving out the missing ones — the rule of
    :func:`scoring.roll_up`, without walking the tree once per dimension.
    """
    sums = {u: [0.0] * width for u in order}
    totals = {u: [0.0] * width for u in order}
    rolled: dict[int, list[float | None]] = {}
    span = range(width)
    for unit in order:
        weight = float(weights.get(unit, 1.0))
        total, count = sums[unit], totals[unit]
        mine = own.get(unit)
        if mine is not None:
            for i in span:
                value = mine[i]
                if value is not None:
                    total[i] += weight * value
                    count[i] += weight
        values: list[float | None] = [total[i] / count[i] if count[i] > 0 else None for i in span]
        rolled[unit] = values
        parent = parents.get(unit)
        if parent is not None and parent in sums:
            upper, upper_count = sums[parent], totals[parent]
            for i in span:
                value = values[i]
                if value is not None:
                    upper[i] += weight * value
                    upper_count[i] += weight
    return rolled


def sum_many(
    order: Sequence[int],
    parents: Mapping[int, int | None],
    own: Mapping[int, Sequence[int]],
    width: int,
) -> dict[int, list[int]]:
    """Each unit's own counts plus those of every unit below it (``order``: bottom up)."""
    totals = {u: list(own.get(u, [0] * width)) for u in order}
    span = range(width)
    for unit in order:
        parent = parents.get(unit)
        if parent is not None and parent in totals:
            upper, mine = totals[parent], totals[unit]
            for i in span:
                upper[i] += mine[i]
    return totals


async def _previous(conn: Any, previous_id: int) -> PreviousCycle | None:
    head = await conn.fetchrow(
        "SELECT id, title, cycle, framework_id FROM assessment WHERE id = $1", previous_id
    )
    if head is None:
        return None
    units = [scope_unit_from_row(r) for r in await conn.fetch(SCOPE_IN_TREE_ORDER, previous_id)]
    parents = scope_parents(units)
    weights = {u.id: u.weight for u in units}
    framework = await registry.framework_for(conn, head["framework_id"])
    keys = [*(d.key for d in framework.dimensions), OVERALL]
    width = len(keys)
    own: dict[int, list[float | None]] = {
        r[0]: r[1]
        for r in await conn.fetch(
            "SELECT s.unit_id, array_agg(s.validated_score::float8 ORDER BY k.i)"
            " FROM assessment_score s JOIN unnest($2::varchar[]) WITH ORDINALITY AS k(key, i)"
            " ON k.key = s.dimension_key WHERE s.assessment_id = $1 GROUP BY s.unit_id",
            previous_id,
            keys,
        )
        if len(r[1]) == width
    }
    rolled = roll_many(bottom_up(units), parents, weights, own, width)
    return PreviousCycle(
        assessment_id=head["id"],
        title=head["title"],
        cycle=head["cycle"],
        units={u.id for u in units},
        weights=weights,
        rolled=Rolled(keys, rolled),
    )


# What results are computed from, in one cheap statement: per table the number of rows
# read and the count, sum and newest of their row versions (xmin). Any insert, update or
# delete among them changes the figures, so equal fingerprints mean equal inputs and a
# computed Results can be reused. Rows this very transaction wrote carry its own,
# uncommitted xid: then (first column not null) nothing is reused or kept.
_VERSIONS = (
    "count(*)::text || '/' || coalesce(sum({x}::text::bigint), 0)::text"
    " || '/' || coalesce(max({x}::text::bigint), 0)::text"
)
_FINGERPRINT = (
    "SELECT pg_current_xact_id_if_assigned()::text,"
    f" (SELECT {_VERSIONS.format(x='xmin')} FROM assessment_score"
    "  WHERE assessment_id = ANY($1::bigint[])),"
    f" (SELECT {_VERSIONS.format(x='au.xmin')} || '/' || {_VERSIONS.format(x='u.xmin')}"
    "  FROM assessment_unit au JOIN unit u ON u.id = au.unit_id"
    "  WHERE au.assessment_id = ANY($1::bigint[])),"
    f" (SELECT {_VERSIONS.format(x='xmin')} FROM assessment_position WHERE assessment_id = $2),"
    f" (SELECT {_VERSIONS.format(x='xmin')} FROM assessment_target WHERE assessment_id = $2),"
    f" (SELECT {_VERSIONS.format(x='xmin')} FROM assessment_validation WHERE assessment_id = $2),"
    f" (SELECT {_VERSIONS.format(x='xmin')} FROM assessment WHERE id = ANY($1::bigint[]))"
)
_CACHE: OrderedDict[tuple[Any, ...], Results] = OrderedDict()
_CACHE_SIZE = 16
"""Computed results kept per process (a 500-unit assessment is about a megabyte)."""


async def load_results(assessment: Assessment) -> Results:
    """Fresh results of an assessment for every unit in scope (one tenant transaction).

    Stale scores are refreshed first. Results computed earlier in this process from the
    very same rows (same fingerprint, same tenant) are reused instead of being read and
    rolled up again; treat the returned object as read-only.
    """
    async with tenant_transaction() as conn:
        await refresh_scores(assessment.id)
        if assessment.previous_id is not None:
            await refresh_scores(assessment.previous_id)
        read = [assessment.id] + ([assessment.previous_id] if assessment.previous_id else [])
        own_xid, *versions = await conn.fetchrow(_FINGERPRINT, read, assessment.id)
        if own_xid is not None:  # this transaction changed rows: compute, keep nothing
            return await _compute(conn, assessment)
        key = (current_tenant().schema, assessment, tuple(versions))
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
        found = await _compute(conn, assessment)
    _CACHE[key] = found
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return found


async def _compute(conn: Any, assessment: Assessment) -> Results:
    """Read the cached scores and everything around them, and roll them up."""
    framework = await registry.framework_for(conn, assessment.framework_id)
    units = [scope_unit_from_row(r) for r in await conn.fetch(SCOPE_IN_TREE_ORDER, assessment.id)]
    goals = {
        r["dimension_key"]: float(r["level"])
        for r in await conn.fetch(
            "SELECT dimension_key, level FROM assessment_target WHERE assessment_id = $1",
            assessment.id,
        )
    }
    keys = [*(d.key for d in framework.dimensions), OVERALL]
    rows = await conn.fetch(_FIGURES, assessment.id, keys)
    positions: dict[int, dict[str, tuple[float, int]]] = defaultdict(dict)
    for r in await conn.fetch(
        "SELECT unit_id, field_key, position::float8, respondents FROM assessment_position"
        " WHERE assessment_id = $1",
        assessment.id,
    ):
        positions[r[0]][r[1]] = (r[2], r[3])
    validations = {
        r["unit_id"]: r["n"]
        for r in await conn.fetch(
            "SELECT unit_id, count(*) AS n FROM assessment_validation"
            " WHERE assessment_id = $1 GROUP BY unit_id",
            assessment.id,
        )
    }
    previous = (
        await _previous(conn, assessment.previous_id)
        if assessment.previous_id is not None
        else None
    )

    width = len(keys)
    # Per unit: self, validated, answered, don't know, not applicable, questions, spread
    # (the fields of Cell), then the applicable questions for the coverage.
    figures: dict[int, tuple[list[Any], ...]] = {}
    for r in rows:
        if len(r[1]) != width:  # not refreshed in full: treat as unscored
            continue
        figures[r[0]] = (
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            [max(0, q - n) for q, n in zip(r[6], r[5], strict=True)],
        )

    parents = scope_parents(units)
    weights = {u.id: u.weight for u in units}
    order = bottom_up(units)

    def rolled(slot: int) -> Rolled:
        own_values = {u: lists[slot] for u, lists in figures.items()}
        return Rolled(keys, roll_many(order, parents, weights, own_values, width))

    def summed(slot: int) -> Rolled:
        own_counts = {u: lists[slot] for u, lists in figures.items()}
        return Rolled(keys, sum_many(order, parents, own_counts, width))  # type: ignore[arg-type]

    return Results(
        assessment=assessment,
        framework=framework,
        units=units,
        parents=parents,
        targets=goals,
        own=OwnScores(keys, {u: lists[:7] for u, lists in figures.items()}),
        rolled_self=rolled(0),
        rolled_validated=rolled(1),
        rolled_answered=summed(2),
        rolled_applicable=summed(7),
        rolled_dont_know=summed(3),
        positions=dict(positions),
        validations=validations,
        previous=previous,
    )
