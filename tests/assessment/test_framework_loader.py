"""The framework loader: a valid file becomes a Framework; every mistake names line and field.

Each error case is a small edit of the valid fixture ``fixtures/mini.yaml``; the expected
line is found from a marker in the edited text, so the cases survive edits elsewhere.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scalemark.assessment.framework import Condition
from scalemark.assessment.framework_loader import (
    FrameworkError,
    FrameworkIssue,
    load_file,
    load_text,
)

MINI = Path(__file__).parent / "fixtures" / "mini.yaml"
MINI_TEXT = MINI.read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = MINI_TEXT) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


Marker = str | tuple[str, int]
"""Text on exactly one line, or ``(text, n)``: the n-th line (from 1) containing it."""


def line_of(text: str, marker: Marker) -> int:
    """1-based line found by ``marker``."""
    needle, occurrence = (marker, 0) if isinstance(marker, str) else marker
    lines = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    if occurrence == 0:
        assert len(lines) == 1, f"{needle!r} is on lines {lines}"
        return lines[0]
    return lines[occurrence - 1]


def issues_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(FrameworkError) as caught:
        load_text(text, "mini.yaml")
    assert all(issue.source == "mini.yaml" for issue in caught.value.issues)
    return [(issue.line, issue.field, issue.message) for issue in caught.value.issues]


# -- a valid framework --------------------------------------------------------------------


def test_the_mini_framework_loads_with_texts_defaults_and_conditions() -> None:
    framework = load_file(MINI)
    assert framework.key == "mini-scalability"
    assert framework.version == 1
    assert framework.languages == ("en", "fr")
    assert framework.sha256 == hashlib.sha256(MINI.read_bytes()).hexdigest()
    assert framework.title.get("fr") == "Mini-diagnostic de scalabilité"
    assert framework.title.get("de") == "Mini scalability check"  # falls back to the first
    assert framework.title.default == "en"
    assert [framework.level_names[level].get("en") for level in range(1, 6)] == [
        "Ad hoc",
        "Repeatable",
        "Defined",
        "Managed",
        "Optimised",
    ]

    steering = framework.tension_fields[0]
    assert steering.key == "steering"
    assert (steering.left.get("en"), steering.right.get("fr")) == (
        "Central steering",
        "Exécution locale",
    )

    governance, execution = framework.dimensions
    assert (governance.key, governance.weight, governance.target) == ("governance", 1.0, 3)
    assert (execution.key, execution.weight, execution.target) == ("execution", 2.0, 4)
    assert sorted(governance.recommendations) == [1, 2, 3, 4, 5]
    assert governance.recommendation(3.7).get("en") == (
        "Review the standards with the units every year."
    )
    assert [q.key for q in framework.questions()] == [
        "gov_standards",
        "gov_roles",
        "gov_review",
        "exe_templates",
        "exe_tools",
    ]

    standards = framework.question("gov_standards")
    assert standards.dimension == "governance"
    assert standards.weight == 1.0  # default
    assert standards.allow_not_applicable and standards.allow_dont_know  # defaults
    assert standards.help is not None and standards.help.get("fr").startswith("Marque")
    assert standards.levels[5].get("en") == "Standards improved continuously with the units."
    assert framework.question("gov_roles").help is None
    assert not framework.question("gov_roles").allow_not_applicable
    assert not framework.question("gov_review").allow_dont_know
    assert framework.question("gov_review").depends_on == Condition("gov_standards", (2, 3, 4, 5))
    assert [q.weight for q in execution.questions] == [1.0, 2.0]


def test_visible_follows_the_condition() -> None:
    framework = load_file(MINI)
    always = {"gov_standards", "gov_roles", "exe_templates", "exe_tools"}
    assert framework.visible({}) == always
    assert framework.visible({"gov_standards": 1}) == always
    assert framework.visible({"gov_standards": None}) == always
    assert framework.visible({"gov_standards": 2}) == always | {"gov_review"}


def test_load_text_hashes_the_text_and_names_the_source_in_issues() -> None:
    framework = load_text(MINI_TEXT)
    assert framework.sha256 == hashlib.sha256(MINI_TEXT.encode()).hexdigest()
    assert load_text(MINI_TEXT + "\n# edited\n").sha256 != framework.sha256
    with pytest.raises(FrameworkError) as caught:
        load_text(edit("version: 1", "version: 0"))
    assert str(caught.value) == (
        f"<string>:{line_of(MINI_TEXT, 'version: 1')}: version: "
        "version must be 1 or greater, found 0"
    )


def test_an_issue_reads_file_line_field_message() -> None:
    issue = FrameworkIssue("v1.yaml", 42, "dimensions[1].questions[3].levels", "level 4 is missing")
    assert str(issue) == "v1.yaml:42: dimensions[1].questions[3].levels: level 4 is missing"
    assert (
        str(FrameworkIssue("v1.yaml", 1, "", "the file is empty")) == "v1.yaml:1: the file is empty"
    )


# -- one test per kind of mistake ----------------------------------------------------------

Q = "dimensions[0].questions"

CASES: list[tuple[object, ...]] = [
    # (name, old, new, marker of the expected line, field, message[, marker of {first}])
    (
        "unknown field",
        "    weight: 1\n    target: 3",
        "    wieght: 1\n    target: 3",
        "wieght",
        "dimensions[0].wieght",
        "unknown field (did you mean 'weight'?)",
    ),
    (
        "unknown top-level field",
        "version: 1\n",
        "version: 1\nauthor: me\n",
        "author",
        "author",
        "unknown field (allowed: id, version, languages, title, description, levels, "
        "dimensions, tension_fields)",
    ),
    (
        "missing field",
        '    title: {en: "Execution", fr: "Exécution"}\n',
        "",
        "- key: execution",
        "dimensions[1].title",
        "required field is missing",
    ),
    (
        "wrong type: integer",
        "version: 1",
        "version: one",
        "version: one",
        "version",
        "expected an integer, found the text 'one'",
    ),
    (
        "wrong type: boolean",
        "not_applicable: false",
        "not_applicable: nope",
        "not_applicable",
        f"{Q}[1].not_applicable",
        "expected true or false, found the text 'nope'",
    ),
    (
        "wrong type: text given as a plain string",
        'title: {en: "Steering", fr: "Pilotage"}',
        "title: Steering",
        "title: Steering",
        "tension_fields[0].title",
        "expected a text in every language, e.g. {en: ..., fr: ...}, found the text 'Steering'",
    ),
    (
        "wrong type: key given as a number",
        "key: exe_templates",
        "key: 2024",
        "key: 2024",
        "dimensions[1].questions[0].key",
        "expected text, found the integer 2024 (put it in quotes if you meant text)",
    ),
    (
        "bad id pattern",
        "id: mini-scalability",
        "id: Mini_Scalability",
        "id: Mini",
        "id",
        "'Mini_Scalability' is not a valid key: use 3-80 characters a-z, 0-9 and -",
    ),
    (
        "bad key pattern",
        "key: gov_roles",
        "key: Gov-Roles",
        "Gov-Roles",
        f"{Q}[1].key",
        "'Gov-Roles' is not a valid key: use 2-80 characters a-z, 0-9 and _",
    ),
    (
        "duplicate question key",
        "key: gov_roles",
        "key: gov_standards  # again",
        "# again",
        f"{Q}[1].key",
        "duplicate key 'gov_standards': already a question on line {first}",
        ("key: gov_standards", 1),
    ),
    (
        "duplicate dimension key",
        "- key: execution",
        "- key: governance  # again",
        "# again",
        "dimensions[1].key",
        "duplicate key 'governance': already a dimension on line {first}",
        ("- key: governance", 1),
    ),
    (
        "question key taken by a tension field",
        "key: exe_tools",
        "key: steering  # again",
        "# again",
        "dimensions[1].questions[1].key",
        "duplicate key 'steering': already a tension field on line {first}",
        ("key: steering", 1),
    ),
    (
        "duplicate key in the YAML itself",
        "version: 1\n",
        "version: 1\nversion: 2  # again\n",
        "# again",
        "version",
        "duplicate key 'version' (first on line {first})",
        "version: 1",
    ),
    (
        "missing language in a text",
        'title: {en: "Steering", fr: "Pilotage"}',
        'title: {en: "Steering"}',
        'title: {en: "Steering"}',
        "tension_fields[0].title",
        "language 'fr' is missing",
    ),
    (
        "language not in languages",
        'left: {en: "Central steering", fr: "Pilotage central"}',
        'left: {en: "Central steering", fr: "Pilotage central", de: "Zentral"}',
        "Zentral",
        "tension_fields[0].left",
        "language 'de' is not in languages (en, fr)",
    ),
    (
        "empty text",
        'right: {en: "Local execution", fr: "Exécution locale"}',
        'right: {en: "Local execution", fr: " "}',
        "Local execution",
        "tension_fields[0].right.fr",
        "the text is empty",
    ),
    (
        "language listed twice",
        "languages: [en, fr]",
        "languages: [en, fr, en]",
        "languages:",
        "languages[2]",
        "language 'en' is listed twice",
    ),
    (
        "invalid language code",
        "languages: [en, fr]",
        "languages: [en, french]",
        "languages:",
        "languages[1]",
        "'french' is not a language code (use ISO 639 codes such as en, de, fr)",
    ),
    (
        "no languages",
        "languages: [en, fr]",
        "languages: []",
        "languages:",
        "languages",
        "the list of language codes is empty",
    ),
    (
        "missing level",
        '  4: {en: "Managed", fr: "Piloté"}\n',
        "",
        ("levels:", 1),
        "levels",
        "level 4 is missing",
    ),
    (
        "level outside 1-5",
        '  5: {en: "Optimised", fr: "Optimisé"}\n',
        '  5: {en: "Optimised", fr: "Optimisé"}\n  6: {en: "Beyond", fr: "Au-delà"}\n',
        "Beyond",
        "levels",
        "level 6 is not one of the levels 1-5",
    ),
    (
        "level key that is no integer",
        '  5: {en: "Optimised", fr: "Optimisé"}\n',
        '  5: {en: "Optimised", fr: "Optimisé"}\n  top: {en: "Beyond", fr: "Au-delà"}\n',
        "Beyond",
        "levels",
        "levels are the integers 1-5, found the text 'top'",
    ),
    (
        "missing recommendation",
        '      5: {en: "Let units contribute new templates."'
        ', fr: "Laissez les unités proposer de nouveaux modèles."}\n',
        "",
        ("recommendations:", 2),
        "dimensions[1].recommendations",
        "level 5 is missing",
    ),
    (
        "weight of zero",
        "        weight: 2\n",
        "        weight: 0\n",
        "        weight: 0",
        "dimensions[1].questions[1].weight",
        "weight must be a number greater than 0, found 0",
    ),
    (
        "negative weight",
        "    weight: 2\n    target: 4",
        "    weight: -1.5\n    target: 4",
        "weight: -1.5",
        "dimensions[1].weight",
        "weight must be a number greater than 0, found -1.5",
    ),
    (
        "weight that is no number",
        "        weight: 1\n",
        "        weight: heavy\n",
        "weight: heavy",
        "dimensions[1].questions[0].weight",
        "expected a number greater than 0, found the text 'heavy'",
    ),
    (
        "target outside 1-5",
        "target: 4",
        "target: 6",
        "target: 6",
        "dimensions[1].target",
        "target must be a level from 1 to 5, found 6",
    ),
    (
        "fractional target",
        "target: 4",
        "target: 3.5",
        "target: 3.5",
        "dimensions[1].target",
        "expected an integer, found the number 3.5",
    ),
    (
        "depends_on an unknown question",
        "question: gov_standards",
        "question: gov_nothing",
        "question: gov_nothing",
        f"{Q}[2].depends_on.question",
        "'gov_nothing' is an unknown question",
    ),
    (
        "depends_on a later question",
        "question: gov_standards",
        "question: exe_tools",
        "question: exe_tools",
        f"{Q}[2].depends_on.question",
        "'exe_tools' comes later: a question may only depend on an earlier one",
    ),
    (
        "depends_on itself",
        "question: gov_standards",
        "question: gov_review",
        "question: gov_review",
        f"{Q}[2].depends_on.question",
        "'gov_review' is the question itself",
    ),
    (
        "depends_on a tension field",
        "question: gov_standards",
        "question: steering",
        "question: steering",
        f"{Q}[2].depends_on.question",
        "'steering' is a tension field, not a question",
    ),
    (
        "depends_on level outside 1-5",
        "levels: [2, 3, 4, 5]",
        "levels: [2, 6]",
        "levels: [2, 6]",
        f"{Q}[2].depends_on.levels[1]",
        "level 6 is outside 1-5",
    ),
    (
        "depends_on without levels",
        "levels: [2, 3, 4, 5]",
        "levels: []",
        "levels: []",
        f"{Q}[2].depends_on.levels",
        "name at least one level, e.g. [3, 4, 5]",
    ),
    (
        "depends_on missing its question",
        "          question: gov_standards\n",
        "",
        "depends_on:",
        f"{Q}[2].depends_on.question",
        "required field is missing",
    ),
    (
        "YAML syntax",
        "version: 1\n",
        "version: 1\n  oops: 1\n",
        "oops",
        "",
        "YAML syntax: mapping values are not allowed in this context",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "marker", "field", "message", "first"),
    [pytest.param(*case[1:6], case[6] if len(case) > 6 else None, id=case[0]) for case in CASES],
)
def test_each_kind_of_mistake_names_its_line_and_field(
    old: str, new: str, marker: Marker, field: str, message: str, first: Marker | None
) -> None:
    text = edit(old, new)
    if first is not None:
        message = message.format(first=line_of(text, first))
    assert issues_of(text) == [(line_of(text, marker), field, message)]


def test_every_mistake_is_reported_in_one_pass() -> None:
    text = edit("version: 1", "version: 0")
    text = edit("target: 4", "target: 9", text)
    text = edit("question: gov_standards", "question: exe_tools", text)
    text = edit('title: {en: "Steering", fr: "Pilotage"}', 'title: {en: "Steering"}', text)
    issues = issues_of(text)
    assert [field for _, field, _ in issues] == [
        "version",
        "tension_fields[0].title",
        f"{Q}[2].depends_on.question",
        "dimensions[1].target",
    ]
    assert [line for line, _, _ in issues] == sorted(line for line, _, _ in issues)


def test_files_that_are_no_framework_at_all() -> None:
    assert issues_of("") == [(1, "", "the file is empty")]
    assert issues_of("# only a comment\n") == [(1, "", "the file is empty")]
    [(line, field, message)] = issues_of("- id: x\n")
    assert (line, field) == (1, "")
    assert message.startswith("expected a mapping with the fields id, version, languages")
    [(line, field, message)] = issues_of(MINI_TEXT + "---\nid: other\n")
    assert (line, field) == (len(MINI_TEXT.splitlines()) + 1, "")
    assert message.startswith("YAML syntax: ")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "v1.yaml"
    path.write_bytes(b"id: abc\nversion: 1\ntitle: {en: \xff}\n")
    with pytest.raises(FrameworkError) as caught:
        load_file(path)
    assert str(caught.value) == f"{path}:3: the file is not valid UTF-8 text"


def test_values_yaml_would_misread_are_taken_as_written() -> None:
    # ``no`` is Norwegian, not false; ``Yes`` in a text is the word, not true.
    text = edit("languages: [en, fr]", "languages: [en, no]")
    text = text.replace("fr:", "no:")
    text = edit("Mini scalability check", "Yes", text)
    framework = load_text(text)
    assert framework.languages == ("en", "no")
    assert framework.title.get("en") == "Yes"
    assert framework.title.get("no") == "Mini-diagnostic de scalabilité"


def test_tension_fields_are_optional_and_conditions_may_cross_dimensions() -> None:
    start = MINI_TEXT.index("tension_fields:")
    end = MINI_TEXT.index("dimensions:")
    text = MINI_TEXT[:start] + MINI_TEXT[end:]
    text = edit(
        "        weight: 2\n        levels:",
        "        weight: 2\n        depends_on: {question: gov_roles, levels: [5, 3]}\n"
        "        levels:",
        text,
    )
    framework = load_text(text)
    assert framework.tension_fields == ()
    assert framework.question("exe_tools").depends_on == Condition("gov_roles", (3, 5))


def test_merge_keys_and_python_tags_are_refused() -> None:
    text = edit('title: {en: "Steering", fr: "Pilotage"}', 'title: &t {en: "Steering"}')
    text = edit('left: {en: "Central steering", fr: "Pilotage central"}', "left: {<<: *t}", text)
    line = line_of(text, "left:")
    assert (
        line,
        "tension_fields[0].left",
        "merge keys (<<) are not supported: write fields out",
    ) in (issues_of(text))
    [(_, field, message)] = issues_of(edit("id: mini-scalability", "id: !!python/name:os.system x"))
    assert field == "id"
    assert message.startswith("expected text, found a value tagged tag:yaml.org,2002:python/")
