"""A respondent's answers: who may answer where, load, autosave with conflicts, progress.

A respondent (an e-mail in ``assessment_respondent``) answers the questions and positions
the tension fields of one unit. Every answer row carries a ``revision``; a save names the
revision it was based on, and when someone else saved in between (another tab, another
device, a colleague sharing the respondent) the save is refused as a conflict. Refused
input is kept in ``assessment_answer_revision`` with ``conflicted = true`` next to every
saved revision, so nothing anybody typed is lost.

The save path is benchmarked: one access query (which also brings the respondent's
levels for conditions and progress), the framework from the in-process cache, a locked
read of the one answer and one write statement (answer, revision row and the unit's
``scores_stale`` flag) — all in one transaction.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from scalemark.assessment import registry
from scalemark.assessment.framework import LEVELS, Framework, TensionField
from scalemark.db import tenant_transaction
from scalemark.i18n import lazy_gettext as _l
from scalemark.identity.principal import Principal, current_principal
from scalemark.identity.roles import Permission

__all__ = [
    "CHOICES",
    "Answer",
    "AnswerError",
    "AnswerInput",
    "AnswersClosed",
    "Progress",
    "Revision",
    "SaveResult",
    "Seat",
    "SectionProgress",
    "answer_input",
    "find_seat",
    "history",
    "lenient_input",
    "load_answers",
    "progress",
    "respondent_seat",
    "save_answer",
    "seat_for",
    "seat_framework",
    "visible_questions",
]

CHOICES = ("level", "na", "dk")
"""Answers to a question: a level 1–5, not applicable, don't know (positions: ``position``)."""

COMMENT_LIMIT = 4000
URL_LIMIT = 2000


# --- who answers where ----------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    """One respondent's place in an assessment: the unit they answer for and its state."""

    assessment_id: int
    assessment_title: str
    status: str
    framework_id: int
    framework_sha256: str
    unit_id: int
    unit_code: str
    unit_name: str
    unit_path: str
    respondent_id: int
    email: str
    locale: str
    sheet: Mapping[str, tuple[str | None, int | None]]
    """What the respondent stored so far: question key → (choice, level)."""

    @property
    def can_change(self) -> bool:
        """Answers may change only while the assessment is open."""
        return self.status == "open"


_SEAT_SQL = """
SELECT a.title, a.status, a.framework_id, f.sha256,
       u.id AS unit_id, u.code, u.name, u.path,
       r.id AS respondent_id, r.email, r.locale,
       CASE WHEN r.id IS NULL THEN NULL ELSE ARRAY(
           SELECT ROW(x.question_key, x.choice, x.level)
           FROM assessment_answer x WHERE x.respondent_id = r.id
       ) END AS sheet
FROM assessment a
JOIN assessment_framework f ON f.id = a.framework_id
LEFT JOIN assessment_unit au ON au.assessment_id = a.id AND au.unit_id = $2
LEFT JOIN unit u ON u.id = au.unit_id
LEFT JOIN assessment_respondent r
       ON r.assessment_id = a.id AND r.unit_id = au.unit_id AND r.email = lower($3)
WHERE a.id = $1
"""


async def _seat(
    conn: Any, assessment_id: int, unit_id: int, email: str, *, drafts: bool = True
) -> Seat:
    """The respondent's seat; LookupError (unknown assessment, unit not in scope, or a
    draft when ``drafts`` is false) or PermissionError (not a respondent of that unit)."""
    row = await conn.fetchrow(_SEAT_SQL, assessment_id, unit_id, email)
    if row is None or row["unit_id"] is None or (row["status"] == "draft" and not drafts):
        raise LookupError((assessment_id, unit_id))
    if row["respondent_id"] is None:
        raise PermissionError((assessment_id, unit_id))
    return Seat(
        assessment_id=assessment_id,
        assessment_title=row["title"],
        status=row["status"],
        framework_id=row["framework_id"],
        framework_sha256=row["sha256"],
        unit_id=row["unit_id"],
        unit_code=row["code"],
        unit_name=row["name"],
        unit_path=row["path"],
        respondent_id=row["respondent_id"],
        email=row["email"],
        locale=row["locale"],
        sheet={key: (choice, level) for key, choice, level in row["sheet"] or ()},
    )


async def seat_for(principal: Principal, assessment_id: int, unit_id: int) -> Seat:
    """The signed-in person's seat (one query).

    Raises LookupError (404: unknown assessment, unit not in its scope, a draft for
    someone who does not run assessments) or PermissionError (403: not a respondent of
    the unit, or no longer allowed to ``view`` it).
    """
    runner = principal.can(Permission.RUN_ASSESSMENTS)
    async with tenant_transaction() as conn:
        seat = await _seat(conn, assessment_id, unit_id, principal.user.email, drafts=runner)
    if not principal.can(Permission.VIEW, seat.unit_path):
        raise PermissionError(seat.unit_id)
    return seat


async def respondent_seat(assessment_id: int, unit_id: int, email: str) -> Seat:
    """Any respondent's seat, for runners reading their answers (LookupError when none)."""
    async with tenant_transaction() as conn:
        try:
            return await _seat(conn, assessment_id, unit_id, email)
        except PermissionError as exc:
            raise LookupError(email) from exc


async def find_seat(principal: Principal, assessment_id: int) -> tuple[bool, list[Seat]]:
    """Whether the assessment exists for this person, and every unit they answer for in it.

    Units they may no longer ``view`` are left out.
    """
    async with tenant_transaction() as conn:
        status = await conn.fetchval("SELECT status FROM assessment WHERE id = $1", assessment_id)
        if status is None or (status == "draft" and not principal.can(Permission.RUN_ASSESSMENTS)):
            return False, []
        unit_ids = await conn.fetch(
            "SELECT r.unit_id FROM assessment_respondent r JOIN unit u ON u.id = r.unit_id"
            " WHERE r.assessment_id = $1 AND r.email = lower($2) ORDER BY u.path",
            assessment_id,
            principal.user.email,
        )
        seats = [
            await _seat(conn, assessment_id, r["unit_id"], principal.user.email) for r in unit_ids
        ]
    return True, [s for s in seats if principal.can(Permission.VIEW, s.unit_path)]


_frameworks: OrderedDict[str, Framework] = OrderedDict()


async def seat_framework(seat: Seat) -> Framework:
    """The seat's framework, without a query once this process has parsed it."""
    cached = _frameworks.get(seat.framework_sha256)
    if cached is not None:
        return cached
    async with tenant_transaction() as conn:
        framework = await registry.framework_for(conn, seat.framework_id)
    _frameworks[seat.framework_sha256] = framework
    while len(_frameworks) > 64:
        _frameworks.popitem(last=False)
    return framework


# --- answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A stored answer (``revision`` 0: nothing stored yet)."""

    question_key: str
    choice: str | None = None
    level: int | None = None
    target_level: int | None = None
    position: int | None = None
    comment: str = ""
    evidence_url: str = ""
    revision: int = 0
    updated_at: datetime | None = None

    @property
    def answered(self) -> bool:
        """Answered: a level, n/a, don't know, or a position on a tension field."""
        return self.choice is not None

    @property
    def counted_level(self) -> int | None:
        """The level when the answer gives one (conditions look at this)."""
        return self.level if self.choice == "level" else None

    @property
    def value(self) -> str:
        """The radio value of the answer: ``"1"``–``"5"``, ``"na"``, ``"dk"`` or ``""``."""
        if self.choice == "level":
            return str(self.level)
        return self.choice if self.choice in ("na", "dk") else ""

    def same_as(self, other: AnswerInput) -> bool:
        """True when ``other`` would store exactly this."""
        return (
            self.choice,
            self.level,
            self.target_level,
            self.position,
            self.comment,
            self.evidence_url,
        ) == (
            other.choice,
            other.level,
            other.target_level,
            other.position,
            other.comment,
            other.evidence_url,
        )


@dataclass(frozen=True)
class AnswerInput:
    """What a respondent submits for one question or tension field (already checked)."""

    choice: str | None = None
    level: int | None = None
    target_level: int | None = None
    position: int | None = None
    comment: str = ""
    evidence_url: str = ""
    keep: frozenset[str] = frozenset()
    """Fields left as stored (their input was invalid); see :func:`lenient_input`."""

    def over(self, stored: Answer | None) -> AnswerInput:
        """This input with the ``keep`` fields taken from ``stored`` (or left empty)."""
        if not self.keep:
            return self
        base = stored or Answer("")
        return AnswerInput(
            **{
                name: getattr(base if name in self.keep else self, name)
                for name in ("choice", "level", "target_level", "position", "comment")
            },
            evidence_url=base.evidence_url if "evidence_url" in self.keep else self.evidence_url,
        )

    def as_answer(self, key: str, revision: int = 0) -> Answer:
        """This input shown as an answer (e.g. the refused side of a conflict)."""
        return Answer(
            key,
            self.choice,
            self.level,
            self.target_level,
            self.position,
            self.comment,
            self.evidence_url,
            revision,
        )


class AnswerError(ValueError):
    """Input that breaks a rule; ``errors`` maps each field to a translated message."""

    def __init__(self, errors: Mapping[str, object]) -> None:
        super().__init__("; ".join(str(m) for m in errors.values()))
        self.errors = {field: str(message) for field, message in errors.items()}


class AnswersClosed(Exception):
    """The assessment is not open: answers can no longer change."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status

    @property
    def message(self) -> str:
        """Why the save was refused, in the reader's language."""
        if self.status == "closed":
            return str(_l("This assessment is closed: answers can no longer be changed."))
        if self.status == "in_review":
            return str(_l("This assessment is in review: answers can no longer be changed."))
        return str(_l("This assessment is not open for answers yet."))


def _int_or_none(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    return int(text)


def _check_url(raw: str) -> str:
    url = raw.strip()
    if not url:
        return ""
    if len(url) > URL_LIMIT:
        raise AnswerError({"evidence_url": _l("The link is too long (2,000 characters at most).")})
    parts = urlsplit(url)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in url)
    ):
        raise AnswerError(
            {
                "evidence_url": _l(
                    "Please enter a web address starting with https:// or http://,"
                    " for example https://intranet.example.com/standards."
                )
            }
        )
    return url


def answer_input(
    framework: Framework,
    key: str,
    *,
    choice: object = None,
    level: object = None,
    target_level: object = None,
    position: object = None,
    comment: object = "",
    evidence_url: object = "",
) -> AnswerInput:
    """Check raw input for question (or tension field) ``key``; AnswerError lists every fault.

    ``choice`` is ``level``/``na``/``dk`` (``position`` for a tension field) or empty for
    "not answered"; ``level`` goes with ``level``, ``position`` (0–100) with ``position``.
    Raises KeyError when ``key`` is neither a question nor a tension field.
    """
    errors: dict[str, object] = {}
    field = _tension_field(framework, key)
    if field is not None:
        try:
            spot = _int_or_none(position)
        except (TypeError, ValueError):
            spot = None
            errors["position"] = _l("The position must be a whole number from 0 to 100.")
        if spot is not None and not 0 <= spot <= 100:
            errors["position"] = _l("The position must be a whole number from 0 to 100.")
        if choice not in (None, "", "position"):
            errors["choice"] = _l("A tension field is answered with a position.")
        if errors:
            raise AnswerError(errors)
        return AnswerInput(choice="position" if spot is not None else None, position=spot)

    question = framework.question(key)
    picked = str(choice or "") or None
    chosen_level: int | None = None
    if picked not in (None, *CHOICES):
        errors["choice"] = _l("Please choose one of the offered answers.")
    elif picked == "na" and not question.allow_not_applicable:
        errors["choice"] = _l('"Not applicable" is not offered for this question.')
    elif picked == "dk" and not question.allow_dont_know:
        errors["choice"] = _l('"Don\'t know" is not offered for this question.')
    elif picked == "level":
        try:
            chosen_level = _int_or_none(level)
        except (TypeError, ValueError):
            chosen_level = None
        if chosen_level not in LEVELS:
            errors["level"] = _l("Please choose a level from 1 to 5.")
    try:
        target = _int_or_none(target_level)
    except (TypeError, ValueError):
        target = -1
    if target is not None and target not in LEVELS:
        errors["target_level"] = _l("The target level must be from 1 to 5.")
    text = "" if comment is None else str(comment)
    if len(text) > COMMENT_LIMIT:
        errors["comment"] = _l("The comment is too long (4,000 characters at most).")
    url = ""
    try:
        url = _check_url("" if evidence_url is None else str(evidence_url))
    except AnswerError as exc:
        errors.update(exc.errors)
    if errors:
        raise AnswerError(errors)
    return AnswerInput(
        choice=picked,
        level=chosen_level if picked == "level" else None,
        target_level=target,
        comment=text.strip(),
        evidence_url=url,
    )


def lenient_input(
    framework: Framework, key: str, **raw: object
) -> tuple[AnswerInput, dict[str, str]]:
    """Like :func:`answer_input`, but invalid fields are kept as stored instead of refusing all.

    Returns the input (its ``keep`` names the refused fields) and the messages per field,
    so a respondent who mistypes a link still gets the level they chose saved.
    """
    try:
        return answer_input(framework, key, **raw), {}  # type: ignore[arg-type]
    except AnswerError as exc:
        errors = exc.errors
    keep = set(errors)
    if keep & {"choice", "level"}:
        keep |= {"choice", "level"}
    cleaned = {name: value for name, value in raw.items() if name not in keep}
    data = answer_input(framework, key, **cleaned)  # type: ignore[arg-type]
    return replace(data, keep=frozenset(keep)), errors


def _tension_field(framework: Framework, key: str) -> TensionField | None:
    return next((f for f in framework.tension_fields if f.key == key), None)


_ANSWER_COLUMNS = (
    "question_key, choice, level, target_level, position, comment, evidence_url,"
    " revision, updated_at"
)


def _answer(row: Any) -> Answer:
    return Answer(
        question_key=row["question_key"],
        choice=row["choice"],
        level=row["level"],
        target_level=row["target_level"],
        position=row["position"],
        comment=row["comment"],
        evidence_url=row["evidence_url"],
        revision=row["revision"],
        updated_at=row["updated_at"],
    )


async def load_answers(seat: Seat) -> dict[str, Answer]:
    """Everything the respondent stored, by question (or tension field) key."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            f"SELECT {_ANSWER_COLUMNS} FROM assessment_answer WHERE respondent_id = $1",
            seat.respondent_id,
        )
    return {r["question_key"]: _answer(r) for r in rows}


@dataclass(frozen=True)
class SaveResult:
    """What a save did."""

    saved: bool
    """True when the input is stored now (also when it equalled the stored answer)."""
    answer: Answer
    """The stored answer after the save (on a conflict: theirs, the one that stays)."""
    refused: Answer | None = None
    """On a conflict: the input that was not saved (kept in the revision table)."""
    sheet: Mapping[str, tuple[str | None, int | None]] | None = None
    """The respondent's (choice, level) per key after the save."""

    @property
    def conflict(self) -> bool:
        """Someone saved this answer since the page was loaded; the input was refused."""
        return self.refused is not None


_WRITE_TAIL = """
), rev AS (
    INSERT INTO assessment_answer_revision (answer_id, revision, choice, level, target_level,
        position, comment, evidence_url, updated_by, updated_at)
    SELECT id, revision, choice, level, target_level, position, comment, evidence_url,
        updated_by, updated_at FROM saved
), stale AS (
    UPDATE assessment_unit SET scores_stale = true
    WHERE assessment_id = $10 AND unit_id = $11 AND EXISTS (SELECT 1 FROM saved)
)
SELECT question_key, choice, level, target_level, position, comment, evidence_url,
    revision, updated_at FROM saved
"""

_INSERT_SQL = (
    """
WITH saved AS (
    INSERT INTO assessment_answer (respondent_id, question_key, choice, level, target_level,
        position, comment, evidence_url, revision, updated_by)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)
    ON CONFLICT (respondent_id, question_key) DO NOTHING
    RETURNING *
"""
    + _WRITE_TAIL
)

_UPDATE_SQL = (
    """
WITH saved AS (
    UPDATE assessment_answer SET choice = $3, level = $4, target_level = $5, position = $6,
        comment = $7, evidence_url = $8, revision = revision + 1, updated_by = $9,
        updated_at = now()
    WHERE respondent_id = $1 AND question_key = $2
    RETURNING *
"""
    + _WRITE_TAIL
)


async def save_answer(seat: Seat, key: str, data: AnswerInput, based_on: int) -> SaveResult:
    """Store ``data`` for ``key`` if nobody saved it since revision ``based_on``.

    ``based_on`` is the revision the respondent's form was loaded at (0: no answer then).
    A stale save is refused (``SaveResult.conflict``) and its input kept as a conflicted
    revision; a stale save that equals the stored answer simply counts as saved. Every
    real save bumps the revision, appends a revision row and marks the unit's scores
    stale, in one transaction. Raises AnswersClosed unless the assessment is open.
    """
    if not seat.can_change:
        raise AnswersClosed(seat.status)
    principal = current_principal()
    user_id = principal.user.id if principal else None
    async with tenant_transaction() as conn:
        stored_row = await conn.fetchrow(
            f"SELECT id, {_ANSWER_COLUMNS} FROM assessment_answer"
            " WHERE respondent_id = $1 AND question_key = $2 FOR UPDATE",
            seat.respondent_id,
            key,
        )
        stored = _answer(stored_row) if stored_row is not None else None
        data = data.over(stored)
        values = (
            data.choice,
            data.level,
            data.target_level,
            data.position,
            data.comment,
            data.evidence_url,
            user_id,
        )
        if stored is not None and stored.revision != based_on:
            return await _refuse_stale(conn, seat, key, data, based_on, values, stored_row)
        if stored is not None and stored.same_as(data):
            return SaveResult(True, stored, sheet=seat.sheet)
        sql = _UPDATE_SQL if stored is not None else _INSERT_SQL
        row = await conn.fetchrow(
            sql, seat.respondent_id, key, *values, seat.assessment_id, seat.unit_id
        )
        if row is None:
            # Another save created the answer between our read and our insert: a conflict.
            return await _lost_race(conn, seat, key, data, based_on, values)
    saved = _answer(row)
    sheet = dict(seat.sheet)
    sheet[key] = (saved.choice, saved.level)
    return SaveResult(True, saved, sheet=sheet)


async def _lost_race(
    conn: Any, seat: Seat, key: str, data: AnswerInput, based_on: int, values: tuple[Any, ...]
) -> SaveResult:
    row = await conn.fetchrow(
        f"SELECT id, {_ANSWER_COLUMNS} FROM assessment_answer"
        " WHERE respondent_id = $1 AND question_key = $2",
        seat.respondent_id,
        key,
    )
    return await _refuse_stale(conn, seat, key, data, based_on, values, row)


async def _refuse_stale(
    conn: Any,
    seat: Seat,
    key: str,
    data: AnswerInput,
    based_on: int,
    values: tuple[Any, ...],
    stored_row: Any,
) -> SaveResult:
    """A save based on an older revision than ``stored_row``: refused, its input kept.

    A stale save equal to the stored answer counts as saved; any other is kept as a
    conflicted revision, so nothing typed is lost.
    """
    stored = _answer(stored_row)
    if stored.same_as(data):
        return SaveResult(True, stored, sheet=seat.sheet)
    await conn.execute(
        "INSERT INTO assessment_answer_revision (answer_id, revision, choice, level,"
        " target_level, position, comment, evidence_url, updated_by, conflicted)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true)",
        stored_row["id"],
        based_on,
        *values,
    )
    return SaveResult(False, stored, refused=data.as_answer(key, based_on), sheet=seat.sheet)


@dataclass(frozen=True)
class Revision:
    """One saved (or refused) version of an answer."""

    revision: int
    choice: str | None
    level: int | None
    target_level: int | None
    position: int | None
    comment: str
    evidence_url: str
    conflicted: bool
    updated_at: datetime


async def history(seat: Seat, key: str) -> list[Revision]:
    """Every saved and every refused version of one answer, oldest first."""
    async with tenant_transaction() as conn:
        rows = await conn.fetch(
            "SELECT v.revision, v.choice, v.level, v.target_level, v.position, v.comment,"
            " v.evidence_url, v.conflicted, v.updated_at FROM assessment_answer_revision v"
            " JOIN assessment_answer a ON a.id = v.answer_id"
            " WHERE a.respondent_id = $1 AND a.question_key = $2 ORDER BY v.id",
            seat.respondent_id,
            key,
        )
    return [Revision(**dict(r)) for r in rows]


# --- conditions and progress ---------------------------------------------------------------


def visible_questions(
    framework: Framework, sheet: Mapping[str, tuple[str | None, int | None]]
) -> set[str]:
    """Keys of the questions shown for these answers (conditions hold)."""
    return framework.visible(
        {key: (level if choice == "level" else None) for key, (choice, level) in sheet.items()}
    )


@dataclass(frozen=True)
class SectionProgress:
    """Answered out of shown questions in one section (or overall)."""

    key: str
    answered: int
    total: int

    @property
    def done(self) -> bool:
        """Every shown question is answered."""
        return self.answered >= self.total

    @property
    def percent(self) -> int:
        """Share answered, 0–100 (a section without questions counts as complete)."""
        return 100 if self.total == 0 else round(100 * self.answered / self.total)


@dataclass(frozen=True)
class Progress:
    """Progress per dimension, of the positioning, and overall."""

    sections: Mapping[str, SectionProgress]
    positioning: SectionProgress
    overall: SectionProgress
    visible: frozenset[str]

    @property
    def resume_at(self) -> str | None:
        """The first dimension with unanswered questions (None: every one is complete)."""
        return next((key for key, p in self.sections.items() if not p.done), None)


def progress(framework: Framework, sheet: Mapping[str, tuple[str | None, int | None]]) -> Progress:
    """Counts for the progress bars; hidden questions count nowhere."""
    shown = visible_questions(framework, sheet)
    answered = {key for key, (choice, _) in sheet.items() if choice is not None}
    sections: dict[str, SectionProgress] = {}
    for dimension in framework.dimensions:
        keys = [q.key for q in dimension.questions if q.key in shown]
        sections[dimension.key] = SectionProgress(
            dimension.key, sum(1 for k in keys if k in answered), len(keys)
        )
    fields = [f.key for f in framework.tension_fields]
    positioning = SectionProgress(
        "positioning",
        sum(1 for k in fields if sheet.get(k, (None, None))[0] == "position"),
        len(fields),
    )
    overall = SectionProgress(
        "overall",
        sum(p.answered for p in sections.values()) + positioning.answered,
        sum(p.total for p in sections.values()) + positioning.total,
    )
    return Progress(sections, positioning, overall, frozenset(shown))
