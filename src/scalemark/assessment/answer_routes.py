"""``/assessments/{id}/answer…``: where local teams answer the assessment for their unit.

- ``/answer`` lists the units the person answers for (straight to the unit when only one).
- ``/answer/{unit}`` is the overview: positioning sliders, the sections with progress and
  "continue where you left off".
- ``/answer/{unit}/{section}`` shows one dimension's questions. Every question autosaves
  through htmx (``POST …/q/{key}``, answered with its status, out-of-band progress and
  the follow-up questions whose visibility changed); without JavaScript the section's
  Save button posts the whole section. Both paths use :func:`answers.save_answer`.

Only respondents of the unit who can still ``view`` it get in (unknown ids: 404, others:
403), and each sees only their own answers. Answers change only while the assessment is
open; afterwards the pages are read-only and saves answer 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any

from babel import dates
from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.assessment import answers, service
from scalemark.assessment.answers import Answer, Progress, SaveResult, Seat
from scalemark.assessment.framework import Dimension, Framework, Question, TensionField
from scalemark.assessment.page import html_page
from scalemark.db import tenant_transaction
from scalemark.i18n import current_locale, ngettext
from scalemark.i18n import gettext as _
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["AnsweringPages", "QuestionView"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


async def _seat(principal: Principal, assessment_id: int, unit_id: int) -> Seat:
    try:
        return await answers.seat_for(principal, assessment_id, unit_id)
    except LookupError as exc:
        raise NotFoundException() from exc
    except PermissionError as exc:
        raise PermissionDeniedException() from exc


def _clock(moment: datetime | None, principal: Principal) -> str:
    """A save time in the reader's time zone: the time today, else date and time."""
    if moment is None:
        return ""
    try:
        zone = dates.get_timezone(principal.user.timezone or "UTC")
    except LookupError:
        zone = dates.get_timezone("UTC")
    local = moment.astimezone(zone)
    if local.date() == datetime.now(zone).date():
        return dates.format_time(local, "short", locale=current_locale())
    return dates.format_datetime(local, "short", locale=current_locale())


def _describe(framework: Framework, answer: Answer) -> str:
    """An answer in words, for the conflict notice."""
    if answer.choice == "level" and answer.level is not None:
        return _(
            "level %(level)s (%(name)s)",
            level=answer.level,
            name=framework.level_names[answer.level].get(),
        )
    if answer.choice == "na":
        return _("not applicable")
    if answer.choice == "dk":
        return _("don't know")
    if answer.choice == "position" and answer.position is not None:
        return _("position %(value)s of 100", value=answer.position)
    return _("no answer")


@dataclass
class Difference:
    """One line of a conflict: what is stored and what was refused."""

    label: str
    theirs: str
    mine: str


def _differences(framework: Framework, theirs: Answer, mine: Answer) -> list[Difference]:
    lines = [Difference(_("Answer"), _describe(framework, theirs), _describe(framework, mine))]
    if theirs.target_level != mine.target_level:
        lines.append(
            Difference(
                _("Target level"),
                str(theirs.target_level or _("none")),
                str(mine.target_level or _("none")),
            )
        )
    if theirs.comment != mine.comment:
        lines.append(
            Difference(_("Comment"), theirs.comment or _("none"), mine.comment or _("none"))
        )
    if theirs.evidence_url != mine.evidence_url:
        lines.append(
            Difference(
                _("Evidence link"), theirs.evidence_url or _("none"), mine.evidence_url or _("none")
            )
        )
    return lines


@dataclass
class QuestionView:
    """Everything one question block (or positioning slider) shows."""

    key: str
    question: Question | None
    tension: TensionField | None
    shown: Answer
    """The values in the controls (the stored answer, or input kept after a refusal)."""
    revision: int
    """The revision the controls are based on (sent back with the next save)."""
    visible: bool = True
    errors: Mapping[str, str] = field(default_factory=dict)
    state: str = ""
    """``""``, ``saved``, ``conflict``, ``invalid``, ``closed`` or ``theirs``."""
    message: str = ""
    note: str = ""
    """A second line of the status (follow-up questions shown or hidden)."""
    saved_at: str = ""
    conflict: list[Difference] = field(default_factory=list)
    conflict_at: str = ""
    theirs_revision: int = 0
    focus: bool = False
    """Put the focus into this block after an htmx swap (e.g. after "take theirs")."""


def _view(
    framework: Framework, key: str, answer: Answer | None, visible: bool = True
) -> QuestionView:
    stored = answer or Answer(key)
    tension = next((f for f in framework.tension_fields if f.key == key), None)
    question = None if tension is not None else framework.question(key)
    return QuestionView(key, question, tension, stored, stored.revision, visible)


def _raw_input(data: Mapping[str, str], key: str, is_position: bool) -> dict[str, object]:
    """The form fields of one question as :func:`answers.answer_input` arguments."""
    if is_position:
        return {"position": data.get(f"{key}.position", "")}
    picked = str(data.get(f"{key}.answer") or "")
    choice, level = ("level", picked) if picked.isdigit() else (picked, None)
    return {
        "choice": choice,
        "level": level,
        "target_level": data.get(f"{key}.target", ""),
        "comment": data.get(f"{key}.comment", ""),
        "evidence_url": data.get(f"{key}.evidence", ""),
    }


def _kept(key: str, raw: Mapping[str, object], is_position: bool) -> Answer:
    """What the respondent typed, shown back as is (also when it is invalid)."""
    if is_position:
        text = str(raw.get("position") or "")
        return Answer(
            key,
            "position" if text.isdigit() else None,
            position=int(text) if text.isdigit() else None,
        )
    level = str(raw.get("level") or "")
    target = str(raw.get("target_level") or "")
    return Answer(
        key,
        str(raw.get("choice") or "") or None,
        int(level) if level.isdigit() else None,
        int(target) if target.isdigit() else None,
        comment=str(raw.get("comment") or ""),
        evidence_url=str(raw.get("evidence_url") or ""),
    )


def _revision(data: Mapping[str, str], key: str) -> int:
    """The revision to save against: "keep mine" names theirs, else the form's own."""
    for name in (f"{key}.keep_mine", f"{key}.revision"):
        value = str(data.get(name) or "").strip()
        if value.isdigit():
            return int(value)
    return 0


@dataclass
class Outcome:
    """One question's save, as the pages show it."""

    view: QuestionView
    result: SaveResult | None
    status: int


async def _save_one(
    principal: Principal,
    seat: Seat,
    framework: Framework,
    key: str,
    data: Mapping[str, str],
) -> Outcome:
    """Save one question from form fields; never raises for the respondent's input."""
    is_position = any(f.key == key for f in framework.tension_fields)
    raw = _raw_input(data, key, is_position)
    based_on = _revision(data, key)
    view = _view(framework, key, _kept(key, raw, is_position))
    view.revision = based_on
    if not seat.can_change:
        view.state, view.message = "closed", answers.AnswersClosed(seat.status).message
        return Outcome(view, None, 409)
    entry, errors = answers.lenient_input(framework, key, **raw)
    result = await answers.save_answer(seat, key, entry, based_on)
    if result.conflict:
        assert result.refused is not None
        view.state = "conflict"
        view.conflict = _differences(framework, result.answer, result.refused)
        view.conflict_at = _clock(result.answer.updated_at, principal)
        view.theirs_revision = result.answer.revision
        return Outcome(view, result, 409)
    view.revision = result.answer.revision
    view.saved_at = _clock(result.answer.updated_at, principal)
    view.errors = errors
    if errors:
        view.state = "invalid"
        view.message = _("Not saved: %(problem)s", problem=next(iter(errors.values())))
        if result.answer.revision != based_on:
            view.message = _(
                "Saved at %(time)s, except: %(problem)s",
                time=view.saved_at,
                problem=next(iter(errors.values())),
            )
        return Outcome(view, result, 422)
    view.state = "saved"
    view.message = _("Saved at %(time)s", time=view.saved_at)
    if data.get(f"{key}.keep_mine"):
        view.focus = True
    return Outcome(view, result, 200)


def _section_views(
    framework: Framework,
    dimension: Dimension,
    stored: Mapping[str, Answer],
    visible: frozenset[str] | set[str],
    outcomes: Mapping[str, Outcome] | None = None,
) -> list[QuestionView]:
    views = []
    for question in dimension.questions:
        outcome = (outcomes or {}).get(question.key)
        if outcome is not None and outcome.status != 200:
            view = outcome.view
            view.visible = question.key in visible
        else:
            view = _view(framework, question.key, stored.get(question.key), question.key in visible)
        views.append(view)
    return views


def _sections(framework: Framework, progress: Progress) -> list[dict[str, Any]]:
    return [{"dimension": d, "progress": progress.sections[d.key]} for d in framework.dimensions]


async def _page_context(
    request: Request[Any, Any, Any], seat: Seat, framework: Framework
) -> dict[str, Any]:
    assessment = await service.get_assessment(seat.assessment_id)
    if assessment is None:
        raise NotFoundException()
    progress = answers.progress(framework, seat.sheet)
    notice = "" if seat.can_change else answers.AnswersClosed(seat.status).message
    return {
        "assessment": assessment,
        "seat": seat,
        "framework": framework,
        "progress": progress,
        "sections": _sections(framework, progress),
        "readonly": not seat.can_change,
        "notice": notice,
        "base": f"/assessments/{seat.assessment_id}/answer/{seat.unit_id}",
        "is_respondent": True,
        "level_names": framework.level_names,
        "saved_message": _("Your answers are saved.") if request.query_params.get("saved") else "",
    }


def _dimension(framework: Framework, section: str) -> Dimension:
    try:
        return framework.dimension(section)
    except KeyError as exc:
        raise NotFoundException() from exc


async def _section_page(
    request: Request[Any, Any, Any],
    seat: Seat,
    framework: Framework,
    dimension: Dimension,
    *,
    outcomes: Mapping[str, Outcome] | None = None,
    status: int = 200,
) -> Template:
    context = await _page_context(request, seat, framework)
    stored = await answers.load_answers(seat)
    keys = [d.key for d in framework.dimensions]
    index = keys.index(dimension.key)
    context.update(
        dimension=dimension,
        questions=_section_views(
            framework, dimension, stored, context["progress"].visible, outcomes
        ),
        previous=framework.dimensions[index - 1] if index > 0 else None,
        following=framework.dimensions[index + 1] if index + 1 < len(keys) else None,
        section_number=index + 1,
        section_count=len(keys),
    )
    return html_page("assessment/answer_section.html", context, status)


def _oob_context(
    framework: Framework,
    seat: Seat,
    key: str,
    outcome: Outcome,
    stored_after: Mapping[str, Answer] | None,
) -> dict[str, Any]:
    """Progress and the follow-up questions of the same section whose visibility changed."""
    result = outcome.result
    sheet = result.sheet if result is not None and result.sheet is not None else seat.sheet
    before = answers.visible_questions(framework, seat.sheet)
    after = answers.visible_questions(framework, sheet)
    progress = answers.progress(framework, sheet)
    question = outcome.view.question
    changed: list[QuestionView] = []
    if question is not None and stored_after is not None:
        section = framework.dimension(question.dimension)
        for other in section.questions:
            if other.key != key and (other.key in before) != (other.key in after):
                changed.append(
                    _view(framework, other.key, stored_after.get(other.key), other.key in after)
                )
    shown = sum(1 for v in changed if v.visible)
    hidden = len(changed) - shown
    view = outcome.view
    notes = []
    if shown:
        notes.append(
            ngettext(
                "A follow-up question is shown now.",
                "%(num)s follow-up questions are shown now.",
                shown,
            )
        )
    if hidden:
        notes.append(
            ngettext(
                "A follow-up question is hidden now; its answer is kept but does not count.",
                "%(num)s follow-up questions are hidden now; their answers are kept but do not"
                " count.",
                hidden,
            )
        )
    if view.state in ("saved", "invalid"):
        view.note = " ".join(notes)
    return {
        "view": view,
        "progress": progress,
        "section_key": question.dimension if question is not None else "positioning",
        "dependents": changed,
    }


class AnsweringPages(Controller):
    """A respondent's answering pages: units, overview, sections and autosave."""

    path = "/assessments/{assessment_id:int}/answer"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="answers:units", media_type=MediaType.HTML)
    async def units(self, request: Request[Any, Any, Any], assessment_id: int) -> Any:
        """The units the person answers for; straight to the unit when there is one."""
        principal = principal_of(request)
        exists, seats = await answers.find_seat(principal, assessment_id)
        if not exists:
            raise NotFoundException()
        if not seats:
            raise PermissionDeniedException()
        if len(seats) == 1:
            return redirect(request, f"/assessments/{assessment_id}/answer/{seats[0].unit_id}")
        assessment = await service.get_assessment(assessment_id)
        framework = await answers.seat_framework(seats[0])
        entries = [
            {"seat": s, "progress": answers.progress(framework, s.sheet).overall} for s in seats
        ]
        return html_page(
            "assessment/answer_units.html",
            {"assessment": assessment, "entries": entries, "is_respondent": True},
        )

    @get("/{unit_id:int}", name="answers:overview", media_type=MediaType.HTML)
    async def overview(
        self, request: Request[Any, Any, Any], assessment_id: int, unit_id: int
    ) -> Template:
        """Positioning, the sections with their progress, and where to continue."""
        principal = principal_of(request)
        seat = await _seat(principal, assessment_id, unit_id)
        framework = await answers.seat_framework(seat)
        return await self._overview(request, seat, framework)

    async def _overview(
        self,
        request: Request[Any, Any, Any],
        seat: Seat,
        framework: Framework,
        *,
        outcomes: Mapping[str, Outcome] | None = None,
        status: int = 200,
    ) -> Template:
        context = await _page_context(request, seat, framework)
        stored = await answers.load_answers(seat)
        positions = []
        for tension in framework.tension_fields:
            outcome = (outcomes or {}).get(tension.key)
            if outcome is not None and outcome.status != 200:
                positions.append(outcome.view)
            else:
                positions.append(_view(framework, tension.key, stored.get(tension.key)))
        context["positions"] = positions
        return html_page("assessment/answer_overview.html", context, status)

    @post("/{unit_id:int}", name="answers:positions", media_type=MediaType.HTML)
    async def save_positions(
        self, request: Request[Any, Any, Any], assessment_id: int, unit_id: int, data: Form
    ) -> Any:
        """Without JavaScript: save the positioning sliders the respondent moved."""
        principal = principal_of(request)
        async with tenant_transaction():
            seat = await _seat(principal, assessment_id, unit_id)
            framework = await answers.seat_framework(seat)
            if not seat.can_change:
                return await self._overview(request, seat, framework, status=409)
            outcomes: dict[str, Outcome] = {}
            for tension in framework.tension_fields:
                key = tension.key
                value = str(data.get(f"{key}.position") or "")
                # A slider nobody moved says nothing (its unset state shows 50).
                untouched = value == str(data.get(f"{key}.initial") or "")
                if data.get(f"{key}.keep_mine"):
                    untouched = False
                if not value or untouched or data.get("take_theirs") == key:
                    continue
                outcome = await _save_one(principal, seat, framework, key, data)
                outcomes[key] = outcome
                if outcome.result is not None and outcome.result.sheet is not None:
                    seat = replace(seat, sheet=outcome.result.sheet)
        status = max((o.status for o in outcomes.values()), default=200)
        if status != 200:
            return await self._overview(request, seat, framework, outcomes=outcomes, status=status)
        return redirect(request, f"/assessments/{assessment_id}/answer/{unit_id}?saved=1")

    @get("/{unit_id:int}/{section:str}", name="answers:section", media_type=MediaType.HTML)
    async def section(
        self, request: Request[Any, Any, Any], assessment_id: int, unit_id: int, section: str
    ) -> Template:
        """One dimension's questions, each saving itself as the respondent answers."""
        principal = principal_of(request)
        seat = await _seat(principal, assessment_id, unit_id)
        framework = await answers.seat_framework(seat)
        return await _section_page(request, seat, framework, _dimension(framework, section))

    @post("/{unit_id:int}/{section:str}", name="answers:section_save", media_type=MediaType.HTML)
    async def save_section(
        self,
        request: Request[Any, Any, Any],
        assessment_id: int,
        unit_id: int,
        section: str,
        data: Form,
    ) -> Any:
        """Without JavaScript: save every shown question of the section, then come back.

        Questions with a mistake or a conflict come back (422/409) with the input kept;
        the others are saved. "Take theirs" leaves that question as stored.
        """
        principal = principal_of(request)
        seat = await _seat(principal, assessment_id, unit_id)
        framework = await answers.seat_framework(seat)
        dimension = _dimension(framework, section)
        if not seat.can_change:
            return await _section_page(request, seat, framework, dimension, status=409)
        take_theirs = str(data.get("take_theirs") or "")
        outcomes: dict[str, Outcome] = {}
        async with tenant_transaction():
            for question in dimension.questions:
                if question.key == take_theirs or f"{question.key}.revision" not in data:
                    continue
                if question.key not in answers.visible_questions(framework, seat.sheet):
                    continue
                outcome = await _save_one(principal, seat, framework, question.key, data)
                outcomes[question.key] = outcome
                if outcome.result is not None and outcome.result.sheet is not None:
                    seat = replace(seat, sheet=outcome.result.sheet)
        status = max((o.status for o in outcomes.values()), default=200)
        if status != 200:
            return await _section_page(
                request, seat, framework, dimension, outcomes=outcomes, status=status
            )
        return redirect(
            request, f"/assessments/{assessment_id}/answer/{unit_id}/{dimension.key}?saved=1"
        )

    @post("/{unit_id:int}/q/{key:str}", name="answers:autosave", media_type=MediaType.HTML)
    async def autosave(
        self,
        request: Request[Any, Any, Any],
        assessment_id: int,
        unit_id: int,
        key: str,
        data: Form,
    ) -> Any:
        """Save one question (htmx): its status, progress and changed follow-ups come back.

        Conflicts answer 409 and invalid input 422; both are swapped into the question's
        status (``HX-Retarget``/``HX-Reswap`` name the place explicitly).
        """
        principal = principal_of(request)
        async with tenant_transaction():
            seat = await _seat(principal, assessment_id, unit_id)
            framework = await answers.seat_framework(seat)
            if not framework.has_question(key) and not any(
                f.key == key for f in framework.tension_fields
            ):
                raise NotFoundException()
            outcome = await _save_one(principal, seat, framework, key, data)
        if not is_partial_request(request):
            question = outcome.view.question
            where = f"/{question.dimension}" if question is not None else ""
            return redirect(request, f"/assessments/{assessment_id}/answer/{unit_id}{where}")
        stored_after = None
        if outcome.view.question is not None and outcome.status in (200, 422):
            before = answers.visible_questions(framework, seat.sheet)
            sheet = outcome.result.sheet if outcome.result and outcome.result.sheet else seat.sheet
            if before != answers.visible_questions(framework, sheet):
                stored_after = await answers.load_answers(seat)
        context = _oob_context(framework, seat, key, outcome, stored_after)
        context.update(
            base=f"/assessments/{assessment_id}/answer/{unit_id}",
            framework=framework,
            level_names=framework.level_names,
            readonly=False,
        )
        return html_page(
            "assessment/_answer_saved.html",
            context,
            outcome.status,
            **{"HX-Retarget": f"#qstatus-{key}", "HX-Reswap": "innerHTML"},
        )

    @get("/{unit_id:int}/q/{key:str}", name="answers:question", media_type=MediaType.HTML)
    async def question(
        self, request: Request[Any, Any, Any], assessment_id: int, unit_id: int, key: str
    ) -> Any:
        """One question block (or positioning slider) as stored: "take theirs" after a conflict."""
        principal = principal_of(request)
        seat = await _seat(principal, assessment_id, unit_id)
        framework = await answers.seat_framework(seat)
        is_position = any(f.key == key for f in framework.tension_fields)
        if not is_position and not framework.has_question(key):
            raise NotFoundException()
        base = f"/assessments/{assessment_id}/answer/{unit_id}"
        if not is_partial_request(request):
            where = "" if is_position else f"/{framework.question(key).dimension}"
            return redirect(request, f"{base}{where}#question-{key}")
        stored = await answers.load_answers(seat)
        visible = is_position or key in answers.visible_questions(framework, seat.sheet)
        view = _view(framework, key, stored.get(key), visible)
        if request.query_params.get("theirs"):
            view.state = "theirs"
            view.message = _("The answer saved elsewhere is shown now.")
            view.focus = True
        return html_page(
            "assessment/_answer_position.html"
            if is_position
            else "assessment/_answer_question.html",
            {
                "q": view,
                "base": base,
                "framework": framework,
                "level_names": framework.level_names,
                "readonly": not seat.can_change,
            },
        )
