"""Framework YAML → :class:`~scalemark.assessment.framework.Framework`, with precise errors.

The file format is described in ``docs/assessment.md``. The YAML is composed into its node
tree (which keeps line marks) and walked field by field, so every mistake is reported with
its line and field path — ``dimensions[1].questions[3].levels`` (list indexes count from
0) — and as many mistakes as possible are reported in one pass. Nothing is built from a
file with any mistake: :func:`load_text` raises :class:`FrameworkError` listing them all.

Messages are for framework authors (developers and consultants running
``scalemark frameworks check``), so they are in English and not translated.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from babel import localedata
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scalemark.assessment.framework import (
    LEVELS,
    Condition,
    Dimension,
    Framework,
    Question,
    TensionField,
    Text,
)

__all__ = ["FrameworkError", "FrameworkIssue", "load_file", "load_text"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_ID_PATTERN = re.compile(r"[a-z0-9-]{3,80}")
_KEY_PATTERN = re.compile(r"[a-z0-9_]{2,80}")
_LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}")

_TAG = "tag:yaml.org,2002:"
# Plain scalars YAML reads as numbers, booleans or dates: in a text they mean the words
# as written (``{en: Yes, fr: Oui}``), so their source is taken as is.
_TEXT_LIKE_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "timestamp")}

_TOP_REQUIRED = ("id", "version", "languages", "title", "description", "levels", "dimensions")
_TOP_OPTIONAL = ("tension_fields",)
_TENSION_REQUIRED = ("key", "title", "description", "left", "right")
_DIMENSION_REQUIRED = ("key", "title", "description", "recommendations", "questions")
_DIMENSION_OPTIONAL = ("weight", "target")
_QUESTION_REQUIRED = ("key", "text", "levels")
_QUESTION_OPTIONAL = ("help", "weight", "not_applicable", "dont_know", "depends_on")
_CONDITION_REQUIRED = ("question", "levels")

DEFAULT_TARGET = 3
"""Target level of a dimension without ``target``."""


@dataclass(frozen=True)
class FrameworkIssue:
    """One mistake in a framework file."""

    source: str
    """File name (or another label of where the text came from)."""
    line: int
    """1-based line of the mistake."""
    field: str
    """Field path, e.g. ``dimensions[1].questions[3].levels``; empty for the whole file."""
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.source}:{self.line}: {self.field}: {self.message}"
        return f"{self.source}:{self.line}: {self.message}"


class FrameworkError(Exception):
    """A framework file with mistakes; ``issues`` lists every one found."""

    def __init__(self, issues: Sequence[FrameworkIssue]) -> None:
        self.issues: list[FrameworkIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def load_file(path: str | Path) -> Framework:
    """Load and validate the framework file at ``path`` (named by ``path`` in issues)."""
    source = str(path)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FrameworkError(
            [FrameworkIssue(source, line, "", "the file is not valid UTF-8 text")]
        ) from exc
    return load_text(text, source)


def load_text(text: str, source: str = "<string>") -> Framework:
    """Parse and validate framework YAML; raises :class:`FrameworkError` with every issue."""
    walker = _Walker(source)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        detail = exc.problem or "invalid YAML"
        if exc.context:
            detail = f"{detail} ({exc.context})"
        raise FrameworkError([FrameworkIssue(source, line, "", f"YAML syntax: {detail}")]) from exc
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        detail = f"{exc.reason} (character #x{exc.character:04x})"
        raise FrameworkError([FrameworkIssue(source, line, "", f"YAML syntax: {detail}")]) from exc
    except yaml.YAMLError as exc:
        raise FrameworkError([FrameworkIssue(source, 1, "", f"YAML syntax: {exc}")]) from exc
    if root is None:
        raise FrameworkError([FrameworkIssue(source, 1, "", "the file is empty")])
    framework = walker.framework(root, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if walker.issues or framework is None:
        raise FrameworkError(sorted(walker.issues, key=lambda issue: issue.line))
    return framework


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _describe(node: Node, value: Any = None, *, text_expected: bool = False) -> str:
    """What a node is, for "expected …, found …" messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag.removeprefix(_TAG)
    plain = not node.style and text_expected  # libyaml marks plain scalars with ""
    quote_hint = " (put it in quotes if you meant text)" if plain else ""
    if tag == "str":
        return f"the text {node.value!r}" if node.value else "an empty text"
    if tag == "null":
        return "nothing (null)"
    if tag == "bool":
        return f"the boolean {str(value).lower()}{quote_hint}"
    if tag == "int":
        return f"the integer {node.value}{quote_hint}"
    if tag == "float":
        return f"the number {node.value}{quote_hint}"
    if tag == "timestamp":
        return f"the date {node.value}{quote_hint}"
    return f"a value tagged {node.tag}"


_INVALID = object()
"""A scalar that could not be constructed (its issue is already recorded)."""


@dataclass
class _Reference:
    """A ``depends_on.question`` to resolve once every question key is known."""

    question: str
    owner: str
    owner_index: int
    path: str
    line: int


class _Walker:
    """Walks a composed framework document, collecting issues as it goes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[FrameworkIssue] = []
        self.languages: tuple[str, ...] | None = None
        self.constructor = SafeConstructor()
        # Questions and tension fields share one namespace: answers store either by key.
        self.answer_keys: dict[str, tuple[str, int]] = {}
        self.question_order: dict[str, int] = {}
        self.question_count = 0
        self.dimension_keys: dict[str, int] = {}
        self.references: list[_Reference] = []

    # -- issues and scalars -------------------------------------------------------------

    def issue(self, line: int, path: str, message: str) -> None:
        self.issues.append(FrameworkIssue(self.source, line, path, message))

    def scalar(self, node: Node, path: str, line: int) -> Any:
        """The Python value of a scalar node, or ``_INVALID`` (issue recorded)."""
        if not isinstance(node, ScalarNode):
            return _INVALID
        try:
            return self.constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            self.issue(line, path, f"cannot read the value: {exc.problem}")
        # Implicit types can fail past the resolver, e.g. the "date" 2024-13-45.
        except (ValueError, TypeError, OverflowError) as exc:
            self.issue(line, path, f"cannot read the value {node.value!r}: {exc}")
        return _INVALID

    def wrong_type(
        self, node: Node, path: str, line: int, expected: str, *, text_expected: bool = False
    ) -> None:
        value = None
        if isinstance(node, ScalarNode):
            try:
                value = self.constructor.construct_object(node, deep=True)
            except (ConstructorError, ValueError, TypeError, OverflowError):
                value = None
        found = _describe(node, value, text_expected=text_expected)
        self.issue(line, path, f"expected {expected}, found {found}")

    def string(self, node: Node, path: str, line: int) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == f"{_TAG}str":
            return str(node.value)
        self.wrong_type(node, path, line, "text", text_expected=True)
        return None

    def integer(self, node: Node, path: str, line: int) -> int | None:
        value = self.scalar(node, path, line)
        if value is _INVALID or isinstance(value, bool) or not isinstance(value, int):
            if value is not _INVALID or not isinstance(node, ScalarNode):
                self.wrong_type(node, path, line, "an integer")
            return None
        return value

    def boolean(self, node: Node, path: str, line: int) -> bool | None:
        value = self.scalar(node, path, line)
        if not isinstance(value, bool):
            if value is not _INVALID or not isinstance(node, ScalarNode):
                self.wrong_type(node, path, line, "true or false")
            return None
        return value

    def weight(self, node: Node, path: str, line: int) -> float | None:
        value = self.scalar(node, path, line)
        if isinstance(value, bool) or not isinstance(value, int | float):
            if value is not _INVALID or not isinstance(node, ScalarNode):
                self.wrong_type(node, path, line, "a number greater than 0")
            return None
        if not math.isfinite(value) or value <= 0:
            self.issue(line, path, f"weight must be a number greater than 0, found {node.value}")
            return None
        return float(value)

    def key(self, node: Node, path: str, line: int, pattern: re.Pattern[str], rule: str) -> str:
        """A key matching ``pattern``; returns "" when invalid (issue recorded)."""
        value = self.string(node, path, line)
        if value is None:
            return ""
        if not pattern.fullmatch(value):
            self.issue(line, path, f"{value!r} is not a valid key: {rule}")
            return ""
        return value

    # -- containers ----------------------------------------------------------------------

    def entries(self, node: Node, path: str, line: int, expected: str) -> list[tuple[Node, Node]]:
        """Key/value node pairs of a mapping, without (and reporting) duplicate keys."""
        if not isinstance(node, MappingNode):
            self.wrong_type(node, path, line, expected)
            return []
        seen: dict[Any, int] = {}
        pairs: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            key_line = _line(key_node)
            if not isinstance(key_node, ScalarNode):
                self.issue(key_line, path, f"keys must be names, found {_describe(key_node)}")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.issue(key_line, path, "merge keys (<<) are not supported: write fields out")
                continue
            identity = (key_node.tag, key_node.value)
            if identity in seen:
                self.issue(
                    key_line,
                    _join(path, str(key_node.value)),
                    f"duplicate key {key_node.value!r} (first on line {seen[identity]})",
                )
                continue
            seen[identity] = key_line
            pairs.append((key_node, value_node))
        return pairs

    def fields(
        self,
        node: Node,
        path: str,
        line: int,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> dict[str, tuple[Node, int]]:
        """Known fields of a mapping as ``name → (value node, line)``; reports the rest."""
        allowed = (*required, *optional)
        found: dict[str, tuple[Node, int]] = {}
        expected = "a mapping with the fields " + ", ".join(allowed)
        pairs = self.entries(node, path, line, expected)
        if not isinstance(node, MappingNode):
            return found
        for key_node, value_node in pairs:
            name = str(key_node.value)
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
                self.issue(_line(key_node), _join(path, name), f"unknown field ({hint})")
                continue
            found[name] = (value_node, _line(key_node))
        for name in required:
            if name not in found:
                self.issue(line, _join(path, name), "required field is missing")
        return found

    def items(
        self, node: Node, path: str, line: int, what: str, *, may_be_empty: bool = False
    ) -> list[tuple[Node, str, int]]:
        """Items of a (non-empty) list as ``(node, path, line)``."""
        if not isinstance(node, SequenceNode):
            self.wrong_type(node, path, line, f"a list of {what}")
            return []
        if not node.value and not may_be_empty:
            self.issue(line, path, f"the list of {what} is empty")
        return [(item, f"{path}[{index}]", _line(item)) for index, item in enumerate(node.value)]

    # -- texts and levels ----------------------------------------------------------------

    def text(self, node: Node, path: str, line: int) -> Text | None:
        """A text in every language of the framework."""
        example = ", ".join(f"{lang}: ..." for lang in self.languages or ("en", "de"))
        pairs = self.entries(node, path, line, f"a text in every language, e.g. {{{example}}}")
        if not isinstance(node, MappingNode):
            return None
        values: dict[str, str] = {}
        complete = True
        for key_node, value_node in pairs:
            lang = str(key_node.value)
            if self.languages is not None and lang not in self.languages:
                listed = ", ".join(self.languages)
                self.issue(
                    _line(key_node), path, f"language {lang!r} is not in languages ({listed})"
                )
                complete = False
                continue
            value = self.text_value(value_node, _join(path, lang), _line(value_node))
            if value is None:
                complete = False
            else:
                values[lang] = value
        if self.languages is None:
            return None
        for lang in self.languages:
            if lang not in {str(key.value) for key, _ in pairs}:
                self.issue(line, path, f"language {lang!r} is missing")
                complete = False
        if not complete:
            return None
        return Text({lang: values[lang] for lang in self.languages}, default=self.languages[0])

    def text_value(self, node: Node, path: str, line: int) -> str | None:
        if isinstance(node, ScalarNode) and node.tag in _TEXT_LIKE_TAGS:
            if node.value.strip():
                return str(node.value)
            self.issue(line, path, "the text is empty")
            return None
        if isinstance(node, ScalarNode) and node.tag == f"{_TAG}null":
            self.issue(line, path, "the text is empty")
            return None
        self.wrong_type(node, path, line, "text")
        return None

    def levels(self, node: Node, path: str, line: int) -> dict[int, Text] | None:
        """One text per level 1–5, no other levels."""
        pairs = self.entries(node, path, line, "a mapping of the levels 1-5 to texts")
        if not isinstance(node, MappingNode):
            return None
        texts: dict[int, Text | None] = {}
        for key_node, value_node in pairs:
            key_line = _line(key_node)
            level = self.scalar(key_node, path, key_line)
            if isinstance(level, bool) or not isinstance(level, int):
                if level is not _INVALID:
                    self.issue(
                        key_line,
                        path,
                        f"levels are the integers 1-5, found {_describe(key_node, level)}",
                    )
                continue
            if level not in LEVELS:
                self.issue(key_line, path, f"level {level} is not one of the levels 1-5")
                continue
            if level in texts:
                self.issue(key_line, path, f"level {level} is given twice")
                continue
            texts[level] = self.text(value_node, f"{path}.{level}", key_line)
        for level in LEVELS:
            if level not in texts:
                self.issue(line, path, f"level {level} is missing")
        if len(texts) != len(LEVELS) or any(text is None for text in texts.values()):
            return None
        return {level: text for level, text in sorted(texts.items()) if text is not None}

    # -- the document --------------------------------------------------------------------

    def framework(self, root: Node, sha256: str) -> Framework | None:
        fields = self.fields(root, "", _line(root), _TOP_REQUIRED, _TOP_OPTIONAL)
        if not isinstance(root, MappingNode):
            return None

        def field(name: str) -> tuple[Node, str, int] | None:
            if name not in fields:
                return None
            node, line = fields[name]
            return node, name, line

        key = version = None
        if (found := field("id")) is not None:
            key = self.key(*found, _ID_PATTERN, "use 3-80 characters a-z, 0-9 and -") or None
        if (found := field("version")) is not None:
            version = self.integer(*found)
            if version is not None and version < 1:
                self.issue(found[2], "version", f"version must be 1 or greater, found {version}")
                version = None
        if (found := field("languages")) is not None:
            self.languages = self.language_list(*found)
        title = self.text(*found) if (found := field("title")) else None
        description = self.text(*found) if (found := field("description")) else None
        level_names = self.levels(*found) if (found := field("levels")) else None
        tension_fields: list[TensionField | None] = []
        if (found := field("tension_fields")) is not None:
            items = self.items(*found, "tension fields", may_be_empty=True)
            tension_fields = [self.tension_field(*item) for item in items]
        dimensions: list[Dimension | None] = []
        if (found := field("dimensions")) is not None:
            dimensions = [self.dimension(*item) for item in self.items(*found, "dimensions")]
        self.resolve_references()

        if (
            self.issues
            or key is None
            or version is None
            or self.languages is None
            or title is None
            or description is None
            or level_names is None
        ):
            return None
        return Framework(
            key=key,
            version=version,
            languages=self.languages,
            title=title,
            description=description,
            level_names=level_names,
            dimensions=tuple(d for d in dimensions if d is not None),
            tension_fields=tuple(t for t in tension_fields if t is not None),
            sha256=sha256,
        )

    def language_list(self, node: Node, path: str, line: int) -> tuple[str, ...] | None:
        """The framework's languages; None (texts are then not checked for them) if invalid."""
        before = len(self.issues)
        languages: list[str] = []
        for item, item_path, item_line in self.items(node, path, line, "language codes"):
            # A plain scalar's source, not its YAML value: ``no`` (Norwegian) is no boolean.
            code = str(item.value) if isinstance(item, ScalarNode) else None
            if code is None or item.tag == f"{_TAG}null":
                self.wrong_type(item, item_path, item_line, "a language code such as en")
            elif not (_LANGUAGE_PATTERN.fullmatch(code) and localedata.exists(code)):
                self.issue(
                    item_line,
                    item_path,
                    f"{code!r} is not a language code (use ISO 639 codes such as en, de, fr)",
                )
            elif code in languages:
                self.issue(item_line, item_path, f"language {code!r} is listed twice")
            else:
                languages.append(code)
        if len(self.issues) > before or not languages:
            return None
        return tuple(languages)

    def unique_answer_key(self, key: str, kind: str, path: str, line: int) -> bool:
        """Record a question or tension-field key; False (issue recorded) when taken."""
        if key in self.answer_keys:
            first_kind, first_line = self.answer_keys[key]
            self.issue(
                line, path, f"duplicate key {key!r}: already a {first_kind} on line {first_line}"
            )
            return False
        self.answer_keys[key] = (kind, line)
        return True

    def tension_field(self, node: Node, path: str, line: int) -> TensionField | None:
        fields = self.fields(node, path, line, _TENSION_REQUIRED)
        key = ""
        if "key" in fields:
            key_node, key_line = fields["key"]
            key_path = _join(path, "key")
            key = self.key(key_node, key_path, key_line, _KEY_PATTERN, _KEY_RULE)
            if key and not self.unique_answer_key(key, "tension field", key_path, key_line):
                key = ""
        texts = {
            name: self.text(value, _join(path, name), value_line)
            for name, (value, value_line) in fields.items()
            if name != "key"
        }
        if not key or any(texts.get(name) is None for name in _TENSION_REQUIRED[1:]):
            return None
        return TensionField(
            key=key,
            title=_some(texts["title"]),
            description=_some(texts["description"]),
            left=_some(texts["left"]),
            right=_some(texts["right"]),
        )

    def dimension(self, node: Node, path: str, line: int) -> Dimension | None:
        fields = self.fields(node, path, line, _DIMENSION_REQUIRED, _DIMENSION_OPTIONAL)

        def at(name: str) -> tuple[Node, str, int]:
            value, value_line = fields[name]
            return value, _join(path, name), value_line

        key = ""
        if "key" in fields:
            key = self.key(*at("key"), _KEY_PATTERN, _KEY_RULE)
            if key and key in self.dimension_keys:
                first = self.dimension_keys[key]
                self.issue(
                    at("key")[2],
                    at("key")[1],
                    f"duplicate key {key!r}: already a dimension on line {first}",
                )
                key = ""
            elif key:
                self.dimension_keys[key] = at("key")[2]
        title = self.text(*at("title")) if "title" in fields else None
        description = self.text(*at("description")) if "description" in fields else None
        weight: float | None = 1.0
        if "weight" in fields:
            weight = self.weight(*at("weight"))
        target: int | None = DEFAULT_TARGET
        if "target" in fields:
            target = self.integer(*at("target"))
            if target is not None and target not in LEVELS:
                self.issue(
                    at("target")[2],
                    at("target")[1],
                    f"target must be a level from 1 to 5, found {target}",
                )
                target = None
        recommendations = (
            self.levels(*at("recommendations")) if "recommendations" in fields else None
        )
        questions: list[Question | None] = []
        if "questions" in fields:
            questions = [
                self.question(*item, key) for item in self.items(*at("questions"), "questions")
            ]
        if (
            not key
            or title is None
            or description is None
            or weight is None
            or target is None
            or recommendations is None
            or not questions
            or any(q is None for q in questions)
        ):
            return None
        return Dimension(
            key=key,
            title=title,
            description=description,
            weight=weight,
            target=target,
            questions=tuple(q for q in questions if q is not None),
            recommendations=recommendations,
        )

    def question(self, node: Node, path: str, line: int, dimension: str) -> Question | None:
        fields = self.fields(node, path, line, _QUESTION_REQUIRED, _QUESTION_OPTIONAL)
        index = self.question_count
        self.question_count += 1

        def at(name: str) -> tuple[Node, str, int]:
            value, value_line = fields[name]
            return value, _join(path, name), value_line

        key = ""
        if "key" in fields:
            key = self.key(*at("key"), _KEY_PATTERN, _KEY_RULE)
            if key and self.unique_answer_key(key, "question", at("key")[1], at("key")[2]):
                self.question_order[key] = index
            else:
                key = ""
        text = self.text(*at("text")) if "text" in fields else None
        help_text = self.text(*at("help")) if "help" in fields else None
        levels = self.levels(*at("levels")) if "levels" in fields else None
        weight: float | None = 1.0
        if "weight" in fields:
            weight = self.weight(*at("weight"))
        allow_na = self.boolean(*at("not_applicable")) if "not_applicable" in fields else True
        allow_dk = self.boolean(*at("dont_know")) if "dont_know" in fields else True
        condition: Condition | None = None
        condition_ok = True
        if "depends_on" in fields:
            condition = self.condition(*at("depends_on"), key, index)
            condition_ok = condition is not None
        if (
            not key
            or text is None
            or ("help" in fields and help_text is None)
            or levels is None
            or weight is None
            or allow_na is None
            or allow_dk is None
            or not condition_ok
        ):
            return None
        return Question(
            key=key,
            dimension=dimension,
            text=text,
            help=help_text,
            levels=levels,
            weight=weight,
            allow_not_applicable=allow_na,
            allow_dont_know=allow_dk,
            depends_on=condition,
        )

    def condition(
        self, node: Node, path: str, line: int, owner: str, owner_index: int
    ) -> Condition | None:
        fields = self.fields(node, path, line, _CONDITION_REQUIRED)
        question = None
        if "question" in fields:
            value, value_line = fields["question"]
            question_path = _join(path, "question")
            question = self.string(value, question_path, value_line)
            if question is not None:
                self.references.append(
                    _Reference(question, owner, owner_index, question_path, value_line)
                )
        levels: list[int] = []
        levels_ok = "levels" in fields
        if "levels" in fields:
            value, value_line = fields["levels"]
            levels_path = _join(path, "levels")
            items = self.items(value, levels_path, value_line, "levels", may_be_empty=True)
            levels_ok = bool(items)
            if isinstance(value, SequenceNode) and not items:
                self.issue(value_line, levels_path, "name at least one level, e.g. [3, 4, 5]")
            for item, item_path, item_line in items:
                level = self.integer(item, item_path, item_line)
                if level is None:
                    levels_ok = False
                elif level not in LEVELS:
                    self.issue(item_line, item_path, f"level {level} is outside 1-5")
                    levels_ok = False
                elif level in levels:
                    self.issue(item_line, item_path, f"level {level} is listed twice")
                    levels_ok = False
                else:
                    levels.append(level)
        if question is None or not levels_ok:
            return None
        return Condition(question=question, levels=tuple(sorted(levels)))

    def resolve_references(self) -> None:
        """Check every ``depends_on.question`` names an earlier question."""
        for ref in self.references:
            if ref.question == ref.owner:
                self.issue(ref.line, ref.path, f"{ref.question!r} is the question itself")
            elif ref.question not in self.question_order:
                kind = self.answer_keys.get(ref.question, ("",))[0]
                what = f"a {kind}, not a question" if kind else "an unknown question"
                self.issue(ref.line, ref.path, f"{ref.question!r} is {what}")
            elif self.question_order[ref.question] > ref.owner_index:
                self.issue(
                    ref.line,
                    ref.path,
                    f"{ref.question!r} comes later: a question may only depend on an earlier one",
                )


_KEY_RULE = "use 2-80 characters a-z, 0-9 and _"


def _some(text: Text | None) -> Text:
    assert text is not None
    return text
