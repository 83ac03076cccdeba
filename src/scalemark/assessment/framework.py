"""An assessment framework as the rest of the code sees it: plain, frozen data.

Frameworks are YAML files (see ``docs/assessment.md`` for the format) turned into these
objects by :mod:`scalemark.assessment.framework_loader`. Every text is a
:class:`Text`: one string per language, looked up in the reader's language with a
fallback to the framework's default language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from scalemark.i18n.locale import current_locale

__all__ = [
    "LEVELS",
    "Condition",
    "Dimension",
    "Framework",
    "Question",
    "TensionField",
    "Text",
]

LEVELS = (1, 2, 3, 4, 5)
"""The maturity levels every question is answered on."""


@dataclass(frozen=True)
class Text:
    """A text in every language of its framework."""

    values: Mapping[str, str]
    """Language code → text."""
    default: str = "en"
    """Language used when the reader's language is missing."""

    def get(self, locale: str | None = None) -> str:
        """The text in ``locale`` (default: the current one), else the default language."""
        lang = locale or current_locale()
        return self.values.get(lang) or self.values.get(self.default, "")

    def __str__(self) -> str:
        return self.get()


@dataclass(frozen=True)
class Condition:
    """Show a question only when an earlier question was answered with one of ``levels``."""

    question: str
    """Key of the question this one depends on (always an earlier one)."""
    levels: tuple[int, ...]
    """Levels of that answer that show this question; any other answer hides it."""

    def holds(self, level: int | None) -> bool:
        """True when an answer at ``level`` (None: unanswered, n/a or don't know) shows it."""
        return level is not None and level in self.levels


@dataclass(frozen=True)
class Question:
    """One question, answered with a maturity level 1–5 (or n/a, don't know)."""

    key: str
    """Unique in the framework; stored with every answer."""
    dimension: str
    """Key of the dimension it belongs to."""
    text: Text
    """The question itself."""
    help: Text | None
    """Optional explanation shown under the question."""
    levels: Mapping[int, Text]
    """Descriptor per level 1–5: what the organisation looks like at that level."""
    weight: float = 1.0
    """Weight inside its dimension (> 0)."""
    allow_not_applicable: bool = True
    """Offer "not applicable" (ignored by scoring)."""
    allow_dont_know: bool = True
    """Offer "don't know" (ignored by scoring, reported as coverage)."""
    depends_on: Condition | None = None
    """Shown only when this holds; hidden answers do not count."""


@dataclass(frozen=True)
class Dimension:
    """A section of the questionnaire and an axis of the results."""

    key: str
    title: Text
    description: Text
    weight: float
    """Weight in the overall score (> 0)."""
    target: int
    """Default target level for new assessments (1–5)."""
    questions: tuple[Question, ...]
    recommendations: Mapping[int, Text]
    """What a unit at this level (1–5) should do next."""

    def recommendation(self, score: float) -> Text:
        """The recommendation for a (fractional) score: its level rounded down, 1–5."""
        level = min(5, max(1, int(score)))
        return self.recommendations[level]


@dataclass(frozen=True)
class TensionField:
    """A positioning slider between two poles (0 = left pole, 100 = right pole)."""

    key: str
    title: Text
    description: Text
    left: Text
    right: Text


@dataclass(frozen=True)
class Framework:
    """A versioned framework: dimensions, questions, levels and recommendations."""

    key: str
    """Identifier, e.g. ``marketing-scalability``."""
    version: int
    """Version; a new version is a new file and never changes running assessments."""
    languages: tuple[str, ...]
    """Languages every text is given in; the first is the default."""
    title: Text
    description: Text
    level_names: Mapping[int, Text]
    """Generic name per maturity level 1–5 (e.g. "Ad hoc" … "Optimised")."""
    dimensions: tuple[Dimension, ...]
    tension_fields: tuple[TensionField, ...] = ()
    sha256: str = ""
    """Digest of the source file (identifies a snapshot)."""
    _questions: dict[str, Question] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for dimension in self.dimensions:
            for question in dimension.questions:
                self._questions[question.key] = question

    @property
    def label(self) -> str:
        """``<title> (v<version>)`` in the current language."""
        return f"{self.title.get()} (v{self.version})"

    def question(self, key: str) -> Question:
        """The question with ``key`` (KeyError when unknown)."""
        return self._questions[key]

    def has_question(self, key: str) -> bool:
        """True when ``key`` names a question of this framework."""
        return key in self._questions

    def questions(self) -> Iterator[Question]:
        """Every question, in questionnaire order."""
        for dimension in self.dimensions:
            yield from dimension.questions

    def has_dimension(self, key: str) -> bool:
        """True when ``key`` names a dimension of this framework."""
        return any(dimension.key == key for dimension in self.dimensions)

    def dimension(self, key: str) -> Dimension:
        """The dimension with ``key`` (KeyError when unknown)."""
        for dimension in self.dimensions:
            if dimension.key == key:
                return dimension
        raise KeyError(key)

    def visible(self, levels: Mapping[str, int | None]) -> set[str]:
        """Keys of the questions shown, given the levels answered so far.

        A question whose condition's question is itself hidden is hidden too.
        """
        shown: set[str] = set()
        for question in self.questions():
            cond = question.depends_on
            if cond is None or (cond.question in shown and cond.holds(levels.get(cond.question))):
                shown.add(question.key)
        return shown
