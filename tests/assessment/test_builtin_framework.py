"""The built-in Marketing Scalability Framework: shape, translations and conditions.

The loader already checks the format (fields, keys, levels, languages present). These tests
hold the shipped content to its editorial contract: a questionnaire of 35-45 questions in
dimensions of at least four, the three tension fields of the whitepaper, every text
translated into every language (not just copied from English), and conditions that point
at earlier questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import scalemark.assessment
from scalemark.assessment.framework import LEVELS, Framework, Text
from scalemark.assessment.framework_loader import load_file

FRAMEWORK_FILE = (
    Path(scalemark.assessment.__file__).parent / "frameworks" / "marketing-scalability" / "v1.yaml"
)
LANGUAGES = ("en", "de", "fr", "es", "it")

SAME_IN_EVERY_LANGUAGE = {"Ad hoc", "Standardisation"}
"""English texts that may stay unchanged in a translation (loanwords, or the same word
in French)."""

PLACEHOLDERS = ("TODO", "TBD", "FIXME", "XXX")
"""Marks of an unfinished translation (case-sensitive: Spanish "todo" is a word)."""


@pytest.fixture(scope="module")
def framework() -> Framework:
    return load_file(FRAMEWORK_FILE)


def texts(framework: Framework) -> Iterator[tuple[str, Text]]:
    """Every text of the framework with a readable path, e.g. ``governance.gov_x.levels.3``."""
    yield "title", framework.title
    yield "description", framework.description
    for level, name in framework.level_names.items():
        yield f"levels.{level}", name
    for field in framework.tension_fields:
        for part in ("title", "description", "left", "right"):
            yield f"tension_fields.{field.key}.{part}", getattr(field, part)
    for dimension in framework.dimensions:
        yield f"{dimension.key}.title", dimension.title
        yield f"{dimension.key}.description", dimension.description
        for level, recommendation in dimension.recommendations.items():
            yield f"{dimension.key}.recommendations.{level}", recommendation
        for question in dimension.questions:
            path = f"{dimension.key}.{question.key}"
            yield f"{path}.text", question.text
            if question.help is not None:
                yield f"{path}.help", question.help
            for level, descriptor in question.levels.items():
                yield f"{path}.levels.{level}", descriptor


def test_identity_and_languages(framework: Framework) -> None:
    assert (framework.key, framework.version) == ("marketing-scalability", 1)
    assert framework.languages == LANGUAGES


def test_questionnaire_size(framework: Framework) -> None:
    questions = list(framework.questions())
    assert 35 <= len(questions) <= 45, f"{len(questions)} questions"
    thin = {d.key: len(d.questions) for d in framework.dimensions if len(d.questions) < 4}
    assert not thin, f"dimensions with fewer than 4 questions: {thin}"


def test_three_tension_fields(framework: Framework) -> None:
    assert [field.key for field in framework.tension_fields] == [
        "steering",
        "standardisation",
        "transparency",
    ]


def test_targets_and_recommendations_cover_every_level(framework: Framework) -> None:
    for dimension in framework.dimensions:
        assert dimension.target in LEVELS
        assert tuple(dimension.recommendations) == LEVELS, dimension.key


def test_every_text_is_in_every_language(framework: Framework) -> None:
    problems = []
    for path, text in texts(framework):
        for lang in LANGUAGES:
            value = text.values.get(lang, "")
            if not value.strip():
                problems.append(f"{path}: {lang} is missing or empty")
            elif any(mark in value for mark in PLACEHOLDERS):
                problems.append(f"{path}: {lang} looks like a placeholder: {value!r}")
    assert not problems, "\n".join(problems)


def test_translations_differ_from_english(framework: Framework) -> None:
    copied = []
    for path, text in texts(framework):
        english = text.values.get("en", "")
        if english in SAME_IN_EVERY_LANGUAGE:
            continue
        for lang in LANGUAGES[1:]:
            if text.values.get(lang, "").strip().casefold() == english.strip().casefold():
                copied.append(f"{path}: {lang} is the English text {english!r}")
    assert not copied, "\n".join(copied)


def test_level_descriptors_of_a_question_are_distinct(framework: Framework) -> None:
    for question in framework.questions():
        for lang in LANGUAGES:
            descriptors = [question.levels[level].values.get(lang) for level in LEVELS]
            assert len(set(descriptors)) == len(LEVELS), f"{question.key} ({lang})"


def test_every_condition_names_an_earlier_question(framework: Framework) -> None:
    order = [question.key for question in framework.questions()]
    conditional = [q for q in framework.questions() if q.depends_on is not None]
    assert 2 <= len(conditional) <= 4
    for question in conditional:
        condition = question.depends_on
        assert condition is not None
        assert framework.has_question(condition.question), question.key
        assert order.index(condition.question) < order.index(question.key), question.key
        assert condition.levels and set(condition.levels) <= set(LEVELS), question.key
        # A condition that every answer satisfies would be no condition at all.
        assert set(condition.levels) != set(LEVELS), question.key
