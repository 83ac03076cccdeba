"""``/assessments``: the list, a new assessment, and its overview with setup and lifecycle.

Runners (``run_assessments``: HQ admins, consultants) see and change everything here.
Everyone else sees, on the list, the assessments they answer and the results they may
read; every other route answers 403 to them (404 for drafts, which they may not know
of). Unknown ids and other tenants' ids answer 404. A closed assessment refuses every
change with 409 and the page or panel again, saying why.

htmx posts swap panels: the respondents panel after adding or removing someone, the
lifecycle panel when a step is refused, the whole overview after a step or a saved setup.
Without JavaScript the same forms post normally and redirect (303) or re-render the page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template

from scalemark.assessment import (
    framework_pages,
    invitations,
    maturity_targets,
    registry,
    rules,
    service,
    uploads,
)
from scalemark.assessment.access import known_assessment, runner_assessment
from scalemark.assessment.framework import Framework
from scalemark.assessment.framework_loader import FrameworkError
from scalemark.assessment.page import html_page
from scalemark.assessment.rules import AssessmentError
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n.locale import supported_locales
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import service as org_service
from scalemark.org.service import UnitNode
from scalemark.tenancy.resolver import resolve_tenant
from scalemark.web.htmx import is_partial_request, redirect

__all__ = [
    "AssessmentPages",
    "UnitTree",
    "available_frameworks",
    "offered_frameworks",
    "tenant_locales",
]

logger = logging.getLogger("scalemark.assessment")

_MOVED = {
    "open": "opened",
    "review": "in_review",
    "close": "closed",
    "reopen": "reopened",
    "back_to_review": "back_to_review",
}


def _flash(key: str) -> str | None:
    """Confirmation texts named by ``?done=<key>`` (after a redirect) or set directly."""
    texts = {
        "created": _("The assessment is created as a draft. Add respondents, then open it."),
        "saved": _("The setup is saved."),
        "opened": _("The assessment is open. Respondents who were not invited yet got an e-mail."),
        "in_review": _("The review has started. Answers can no longer change."),
        "closed": _("The assessment is closed and locked."),
        "reopened": _("The assessment is open for answers again."),
        "back_to_review": _("The assessment is back in review."),
        "added": _("The respondent is added."),
        "invited": _("The respondent is added and got an e-mail."),
        "removed": _("The respondent is removed."),
        "next_cycle": _("The next cycle is created as a draft, with the same setup."),
    }
    return texts.get(key)


async def tenant_locales() -> list[str]:
    """The tenant's languages, default first (call outside a tenant transaction)."""
    tenant = current_tenant()
    info = await resolve_tenant(tenant.slug)
    wanted = [tenant.default_locale, *(info.locales if info else [])]
    return [code for code in dict.fromkeys(wanted) if code in supported_locales()] or ["en"]


@dataclass(frozen=True)
class UnitTree:
    """Active units for the scope checkboxes: children by parent id, in display order."""

    units: list[UnitNode]
    children: dict[int | None, list[UnitNode]]

    @classmethod
    def of(cls, units: Sequence[UnitNode]) -> UnitTree:
        """Build from a depth-first list (a parent outside the list makes a top unit)."""
        present = {u.id for u in units}
        children: dict[int | None, list[UnitNode]] = {}
        for unit in units:
            parent = unit.parent_id if unit.parent_id in present else None
            children.setdefault(parent, []).append(unit)
        return cls(list(units), children)

    def subtree_ids(self, unit_id: int) -> list[int]:
        """The unit and everything below it."""
        found, stack = [], [unit_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(child.id for child in self.children.get(current, []))
        return found


@dataclass(frozen=True)
class RespondentRow:
    """A respondent with their progress, as the respondents panel lists them."""

    respondent: service.Respondent
    answered: int
    shown: int


@dataclass(frozen=True)
class UnitRespondents:
    """One unit in scope and who answers for it."""

    unit: service.ScopeUnit
    rows: list[RespondentRow]


def _require_runner(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    if not rules.can_run(principal):
        raise PermissionDeniedException()
    return principal


async def _runnable(request: Request[Any, Any, Any], assessment_id: int) -> service.Assessment:
    """The assessment for a runner: 404 unknown (or a draft to others), 403 not a runner."""
    return await runner_assessment(principal_of(request), assessment_id)


async def _form(request: Request[Any, Any, Any]) -> FormMultiDict:
    return await request.form()


def available_frameworks() -> list[Framework]:
    """The built-in frameworks; a broken file is logged, and none are offered."""
    try:
        return registry.builtin_frameworks()
    except FrameworkError:
        logger.exception("a built-in framework file is broken")
        return []


async def offered_frameworks() -> list[Framework]:
    """What a new assessment may run on: the built-ins, then this tenant's uploads."""
    return await uploads.offered_frameworks(available_frameworks())


def _framework_choice(frameworks: list[Framework], value: str) -> Framework | None:
    return next((f for f in frameworks if f"{f.key}:{f.version}" == value), None)


def _default_framework(frameworks: list[Framework]) -> Framework | None:
    """The newest version of the first framework key."""
    return registry.newest_version(frameworks, frameworks[0].key) if frameworks else None


async def _default_targets(framework: Framework | None) -> dict[str, float]:
    """HQ's maturity targets (governance setup), else the latest assessment's targets."""
    found = await service.latest_targets()
    if framework is not None:
        found.update(await maturity_targets.targets_for(framework.key))
    return found


def _target_text(value: float) -> str:
    return f"{value:g}"


def _setup_values(
    framework: Framework | None, targets: dict[str, float], **values: Any
) -> dict[str, Any]:
    """Form values with a target field for each dimension of ``framework``."""
    found: dict[str, Any] = {"title": "", "due_date": "", "unit_ids": set(), **values}
    if framework is not None:
        for dimension in framework.dimensions:
            key = f"target_{dimension.key}"
            if key not in found:
                found[key] = _target_text(targets.get(dimension.key, dimension.target))
    return found


def _posted_values(form: FormMultiDict, framework: Framework | None) -> dict[str, Any]:
    """What was posted, to re-render the form with the input kept."""
    values: dict[str, Any] = {
        "title": str(form.get("title") or ""),
        "due_date": str(form.get("due_date") or ""),
        "framework": str(form.get("framework") or ""),
        "unit_ids": {
            int(v) for v in form.getall("unit_ids", []) if str(v).isdigit() and len(str(v)) < 19
        },
    }
    if framework is not None:
        for dimension in framework.dimensions:
            key = f"target_{dimension.key}"
            raw = form.get(key)
            values[key] = str(raw) if raw is not None else _target_text(dimension.target)
    return values


def _parse(form: FormMultiDict, framework: Framework, *, today: date | None) -> rules.SetupValues:
    return rules.parse_setup(
        str(form.get("title") or ""),
        [str(v) for v in form.getall("unit_ids", [])],
        str(form.get("due_date") or ""),
        {
            d.key: str(form.get(f"target_{d.key}"))
            for d in framework.dimensions
            if form.get(f"target_{d.key}") is not None
        },
        [d.key for d in framework.dimensions],
        today=today,
    )


def _with_subtree(form: FormMultiDict, values: dict[str, Any], tree: UnitTree) -> bool:
    """ "Select with all sub-units" without JavaScript: tick them and show the form again."""
    raw = str(form.get("select_subtree") or "")
    if not raw.isdigit() or len(raw) > 18:
        return False
    unit_id = int(raw)
    if any(u.id == unit_id for u in tree.units):
        values["unit_ids"] = set(values["unit_ids"]) | set(tree.subtree_ids(unit_id))
    return True


def _setup_error(exc: AssessmentError) -> dict[str, str]:
    field = exc.field if exc.field != "weights" else "units"
    return {field: str(exc.message)}


async def _new_context(
    values: dict[str, Any], errors: dict[str, str] | None = None
) -> dict[str, Any]:
    frameworks = await offered_frameworks()
    chosen = _framework_choice(frameworks, values.get("framework", "")) or _default_framework(
        frameworks
    )
    if chosen is not None:
        values.setdefault("framework", f"{chosen.key}:{chosen.version}")
    return {
        "frameworks": frameworks,
        "framework": chosen,
        "tree": UnitTree.of(await org_service.whole_tree()),
        "values": values,
        "errors": errors or {},
        "mode": "new",
        "action": "/assessments/new",
    }


async def _respondent_units(
    assessment: service.Assessment, framework: Framework, tree_order: list[UnitNode]
) -> list[UnitRespondents]:
    units = await service.scope(assessment.id)
    order = {u.id: i for i, u in enumerate(tree_order)}
    units.sort(key=lambda u: (order.get(u.id, len(order)), u.path))
    people = await service.respondents(assessment.id)
    progress = await service.respondent_progress(assessment.id, framework)
    empty = service.RespondentProgress(0, sum(1 for _q in framework.questions()))
    grouped: dict[int, list[RespondentRow]] = {u.id: [] for u in units}
    for person in people:
        done = progress.get(person.id, empty)
        grouped.setdefault(person.unit_id, []).append(
            RespondentRow(person, done.answered, done.shown)
        )
    return [UnitRespondents(u, grouped.get(u.id, [])) for u in units]


async def _detail_context(
    assessment: service.Assessment,
    *,
    message: str | None = None,
    lifecycle_errors: dict[str, str] | None = None,
    lifecycle_values: dict[str, str] | None = None,
    setup_values: dict[str, Any] | None = None,
    setup_errors: dict[str, str] | None = None,
    respondent_errors: dict[str, str] | None = None,
    respondent_values: dict[str, str] | None = None,
    cycle_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the overview shows; each panel's errors and input come in separately."""
    framework = await service.framework_of(assessment.id)
    tree_units = await org_service.whole_tree()
    goals = await service.targets(assessment.id)
    by_unit = await _respondent_units(assessment, framework, tree_units)
    if setup_values is None:
        setup_values = _setup_values(
            framework,
            goals,
            title=assessment.title,
            due_date=assessment.due_date.isoformat() if assessment.due_date else "",
            unit_ids={entry.unit.id for entry in by_unit},
        )
    newest = _newest_version(framework)
    answered = await service.answered_units([assessment.id])
    return {
        "assessment": assessment,
        "framework": framework,
        "newer_framework": newest if newest.version > framework.version else None,
        "targets": goals,
        "events": await service.events(assessment.id),
        "moves": rules.moves_from(assessment.status),
        "by_unit": by_unit,
        "respondent_count": sum(len(entry.rows) for entry in by_unit),
        "answered_units": answered.get(assessment.id, 0),
        "locales": await tenant_locales(),
        "tree": UnitTree.of(tree_units),
        "previous": (
            await service.get_assessment(assessment.previous_id) if assessment.previous_id else None
        ),
        "next_cycle": await service.successor(assessment.id),
        "editable": assessment.status in rules.EDITABLE_STATUSES,
        "can_start_next": assessment.status in rules.NEXT_CYCLE_STATUSES,
        "message": message,
        "lifecycle_errors": lifecycle_errors or {},
        "lifecycle_values": lifecycle_values or {},
        "values": setup_values,
        "errors": setup_errors or {},
        "respondent_errors": respondent_errors or {},
        "respondent_values": respondent_values or {},
        "cycle_errors": cycle_errors or {},
        "mode": "edit",
        "action": f"/assessments/{assessment.id}/setup",
    }


def _newest_version(framework: Framework) -> Framework:
    """The newest built-in version of ``framework`` (itself when there is none)."""
    return registry.newest_version(available_frameworks(), framework.key) or framework


def _locked_message(assessment: service.Assessment) -> str:
    if assessment.locked:
        return _("This assessment is closed: nothing can change. Reopen it first, with a reason.")
    return _("The setup can only change while the assessment is a draft or open.")


async def _reload(assessment_id: int) -> service.Assessment:
    fresh = await service.get_assessment(assessment_id)
    if fresh is None:
        raise NotFoundException()
    return fresh


async def _locked_error(assessment_id: int) -> dict[str, str]:
    """The form error when a change is refused because the status moved on meanwhile."""
    return {"form": _locked_message(await _reload(assessment_id))}


@dataclass(frozen=True)
class ListEntry:
    """A line of the list: the assessment and what the reader can do with it."""

    assessment: service.Assessment
    framework_title: str
    answered_units: int
    units: list[str]
    """For respondents: the names of the units they answer for."""


async def _framework_titles(assessments: Sequence[service.Assessment]) -> dict[int, str]:
    """Framework label (``<title> (v<n>)``, reader's language) per framework snapshot id."""
    found = await service.frameworks_by_id([a.framework_id for a in assessments])
    return {framework_id: framework.label for framework_id, framework in found.items()}


async def _list_context(principal: Principal) -> dict[str, Any]:
    everything = await service.list_assessments()
    if not rules.can_run(principal):
        everything = [a for a in everything if a.status != "draft"]
    titles = await _framework_titles(everything)
    if rules.can_run(principal):
        answered = await service.answered_units([a.id for a in everything])
        return {
            "runner": True,
            "entries": [
                ListEntry(a, titles[a.framework_id], answered.get(a.id, 0), []) for a in everything
            ],
            "to_answer": [],
            "results": [],
        }
    mine = await service.respondents_for_email(principal.user.email)
    paths = await service.scope_paths([a.id for a in everything])
    names = {u.id: u for u in await org_service.whole_tree()}
    to_answer: list[ListEntry] = []
    for assessment in everything:
        if assessment.status != "open":
            continue
        units = [
            names[r.unit_id]
            for r in mine
            if r.assessment_id == assessment.id
            and r.unit_id in names
            and principal.can(Permission.VIEW, names[r.unit_id].path)
        ]
        if units:
            title = titles[assessment.framework_id]
            to_answer.append(ListEntry(assessment, title, 0, [u.name for u in units]))
    results = [
        ListEntry(a, titles[a.framework_id], 0, [])
        for a in everything
        if any(rules.can_see_results(principal, a.status, p) for p in paths.get(a.id, []))
    ]
    return {"runner": False, "entries": [], "to_answer": to_answer, "results": results}


class AssessmentPages(Controller):
    """The assessments list, creating one, and its overview (setup, respondents, lifecycle)."""

    path = "/assessments"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="assessments:list", media_type=MediaType.HTML)
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        """Runners: every assessment. Others: what they answer and results they may read."""
        context = await _list_context(principal_of(request))
        return html_page("assessment/list.html", context)

    @get("/new", name="assessments:new", media_type=MediaType.HTML)
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        """The form for a new assessment, targets prefilled from the latest one."""
        _require_runner(request)
        frameworks = await offered_frameworks()
        chosen = _default_framework(frameworks)
        values = _setup_values(chosen, await _default_targets(chosen))
        return html_page("assessment/new.html", await _new_context(values))

    @post("/new", name="assessments:create", media_type=MediaType.HTML, status_code=200)
    async def create(self, request: Request[Any, Any, Any]) -> Any:
        """Create a draft; mistakes come back (422) with the input kept."""
        _require_runner(request)
        form = await _form(request)
        frameworks = await offered_frameworks()
        framework = _framework_choice(frameworks, str(form.get("framework") or ""))
        values = _posted_values(form, framework or _default_framework(frameworks))
        context = await _new_context(values)
        if _with_subtree(form, values, context["tree"]):
            return _new_page(request, context, 200)
        if framework is None:
            context["errors"] = {"framework": _("Choose a framework from the list.")}
            return _new_page(request, context, 422)
        parsed = _parse(form, framework, today=date.today())
        if not parsed.errors:
            try:
                created = await service.create_assessment(
                    service.AssessmentSetup(
                        title=parsed.title,
                        unit_ids=parsed.unit_ids,
                        due_date=parsed.due_date,
                        targets=parsed.targets,
                    ),
                    framework,
                    await uploads.offered_source(framework),
                )
            except AssessmentError as exc:
                parsed.errors.update(_setup_error(exc))
            else:
                return redirect(request, f"/assessments/{created.id}?done=created")
        context["errors"] = parsed.errors
        return _new_page(request, context, 422)

    @get("/frameworks", name="assessments:frameworks", media_type=MediaType.HTML)
    async def frameworks(self, request: Request[Any, Any, Any]) -> Template:
        """Built-in and uploaded frameworks, with downloads and the upload form."""
        return await framework_pages.page(request, _require_runner(request))

    @post(
        "/frameworks",
        name="assessments:upload_framework",
        media_type=MediaType.HTML,
        status_code=200,
        request_max_body_size=framework_pages.UPLOAD_BODY_LIMIT,
    )
    async def upload_framework(self, request: Request[Any, Any, Any]) -> Any:
        """Upload a framework file or pasted text; mistakes come back (422) listed."""
        return await framework_pages.upload(request, _require_runner(request))

    @get("/frameworks/builtin/{key:str}/{version:int}", name="assessments:builtin_framework")
    async def builtin_framework(
        self, request: Request[Any, Any, Any], key: str, version: int
    ) -> Any:
        """A built-in framework's YAML file, as a download."""
        _require_runner(request)
        return framework_pages.builtin_download(key, version)

    @get("/frameworks/{framework_id:int}/download", name="assessments:uploaded_framework")
    async def uploaded_framework(self, request: Request[Any, Any, Any], framework_id: int) -> Any:
        """An uploaded framework's YAML, as a download (404 unknown or another tenant's)."""
        _require_runner(request)
        return await framework_pages.upload_download(framework_id)

    @post(
        "/frameworks/{framework_id:int}/withdraw",
        name="assessments:withdraw_framework",
        media_type=MediaType.HTML,
        status_code=200,
    )
    async def withdraw_framework(self, request: Request[Any, Any, Any], framework_id: int) -> Any:
        """Stop offering an upload for new assessments; running ones keep it."""
        _require_runner(request)
        return await framework_pages.withdraw(request, framework_id)

    @get("/{assessment_id:int}", name="assessments:detail", media_type=MediaType.HTML)
    async def detail(self, request: Request[Any, Any, Any], assessment_id: int) -> Any:
        """The overview for runners; respondents and readers are sent to their pages."""
        principal = principal_of(request)
        assessment = await known_assessment(principal, assessment_id)
        if not rules.can_run(principal):
            return await _elsewhere(principal, assessment)
        message = _flash(str(request.query_params.get("done") or ""))
        context = await _detail_context(assessment, message=message)
        return html_page("assessment/detail.html", context)

    @post(
        "/{assessment_id:int}/setup",
        name="assessments:setup",
        media_type=MediaType.HTML,
        status_code=200,
    )
    async def setup(self, request: Request[Any, Any, Any], assessment_id: int) -> Any:
        """Change title, due date, scope and targets (draft or open only; closed: 409)."""
        assessment = await _runnable(request, assessment_id)
        form = await _form(request)
        framework = await service.framework_of(assessment_id)
        values = _posted_values(form, framework)
        if assessment.status not in rules.EDITABLE_STATUSES:
            errors = {"form": _locked_message(assessment)}
            context = await _detail_context(assessment, setup_values=values, setup_errors=errors)
            return _setup_page(request, context, 409)
        tree = UnitTree.of(await org_service.whole_tree())
        if _with_subtree(form, values, tree):
            context = await _detail_context(assessment, setup_values=values)
            return _setup_page(request, context, 200)
        parsed = _parse(form, framework, today=None)
        status = 422
        if not parsed.errors:
            try:
                await service.update_setup(
                    assessment_id,
                    service.AssessmentSetup(
                        title=parsed.title,
                        unit_ids=parsed.unit_ids,
                        due_date=parsed.due_date,
                        targets=parsed.targets,
                        weights={u.id: u.weight for u in await service.scope(assessment_id)},
                    ),
                )
            except AssessmentError as exc:
                if exc.field == "status":
                    status = 409
                    parsed.errors.update(await _locked_error(assessment_id))
                else:
                    parsed.errors.update(_setup_error(exc))
            else:
                return await _after_change(request, assessment_id, "saved")
        fresh = await _reload(assessment_id)
        context = await _detail_context(fresh, setup_values=values, setup_errors=parsed.errors)
        return _setup_page(request, context, status)

    @post(
        "/{assessment_id:int}/status",
        name="assessments:status",
        media_type=MediaType.HTML,
        status_code=200,
    )
    async def status(self, request: Request[Any, Any, Any], assessment_id: int) -> Any:
        """A lifecycle step; reopening needs a reason. Opening mails the respondents."""
        await _runnable(request, assessment_id)
        form = await _form(request)
        action = str(form.get("action") or "")
        reason = str(form.get("reason") or "")
        try:
            await invitations.apply_action(assessment_id, action, reason)
        except AssessmentError as exc:
            fresh = await _reload(assessment_id)
            status = 422 if exc.field == "reason" else 409
            context = await _detail_context(
                fresh,
                lifecycle_errors={exc.field: str(exc.message)},
                lifecycle_values={"action": action, "reason": reason},
            )
            if is_partial_request(request):
                return html_page("assessment/_lifecycle.html", context, status)
            return html_page("assessment/detail.html", context, status)
        return await _after_change(request, assessment_id, _MOVED.get(action, "saved"))

    @post(
        "/{assessment_id:int}/respondents",
        name="assessments:add_respondent",
        media_type=MediaType.HTML,
        status_code=200,
    )
    async def add_respondent(self, request: Request[Any, Any, Any], assessment_id: int) -> Any:
        """Ask someone to answer for a unit; while open, they are mailed at once."""
        assessment = await _runnable(request, assessment_id)
        form = await _form(request)
        raw_unit = str(form.get("unit_id") or "")
        values = {
            "unit_id": raw_unit,
            "email": str(form.get("email") or "").strip(),
            "locale": str(form.get("locale") or ""),
        }
        status, errors = 422, {}
        if assessment.status not in rules.EDITABLE_STATUSES:
            status, errors = 409, {"form": _locked_message(assessment)}
        elif values["locale"] not in await tenant_locales():
            errors = {"locale": _("Choose a language from the list.")}
        elif not raw_unit.isdigit() or len(raw_unit) > 18:
            errors = {"form": _("This unit is not part of the assessment.")}
        else:
            try:
                added = await service.add_respondent(
                    assessment_id, int(raw_unit), values["email"], values["locale"]
                )
            except AssessmentError as exc:
                if exc.field == "status":
                    status = 409
                    errors = await _locked_error(assessment_id)
                else:
                    errors = {
                        exc.field if exc.field in ("email", "locale") else "form": str(exc.message)
                    }
            else:
                done = "added"
                if assessment.status == "open" and await invitations.invite_respondent(
                    assessment, added.id
                ):
                    done = "invited"
                return await _respondents_changed(request, assessment_id, done)
        fresh = await _reload(assessment_id)
        context = await _detail_context(fresh, respondent_errors=errors, respondent_values=values)
        return _respondents_page(request, context, status)

    @post(
        "/{assessment_id:int}/respondents/{respondent_id:int}/remove",
        name="assessments:remove_respondent",
        media_type=MediaType.HTML,
        status_code=200,
    )
    async def remove_respondent(
        self, request: Request[Any, Any, Any], assessment_id: int, respondent_id: int
    ) -> Any:
        """Take a respondent (and their answers) out while the setup is editable."""
        assessment = await _runnable(request, assessment_id)
        if await service.get_respondent(assessment_id, respondent_id) is None:
            raise NotFoundException()
        errors: dict[str, str] = {}
        if assessment.status not in rules.EDITABLE_STATUSES:
            errors = {"form": _locked_message(assessment)}
        else:
            try:
                await service.remove_respondent(assessment_id, respondent_id)
            except AssessmentError:
                errors = await _locked_error(assessment_id)
            else:
                return await _respondents_changed(request, assessment_id, "removed")
        fresh = await _reload(assessment_id)
        context = await _detail_context(fresh, respondent_errors=errors)
        return _respondents_page(request, context, 409)

    @post(
        "/{assessment_id:int}/next-cycle",
        name="assessments:next",
        media_type=MediaType.HTML,
        status_code=200,
    )
    async def next_cycle(self, request: Request[Any, Any, Any], assessment_id: int) -> Any:
        """A new draft with this one's scope, targets and respondents; opens it."""
        assessment = await _runnable(request, assessment_id)
        form = await _form(request)
        title = str(form.get("title") or "").strip() or assessment.title
        framework: Framework | None = None
        source = ""
        if form.get("newest_framework"):
            current = await service.framework_of(assessment_id)
            newest = _newest_version(current)
            if newest.version > current.version:
                framework, source = newest, registry.builtin_source(newest)
        try:
            created = await service.start_next_cycle(assessment_id, title, framework, source)
        except AssessmentError as exc:
            context = await _detail_context(
                assessment,
                cycle_errors={"form" if exc.field == "cycle" else exc.field: str(exc.message)},
            )
            return html_page(
                "assessment/detail.html", context, 409 if exc.field == "cycle" else 422
            )
        return redirect(request, f"/assessments/{created.id}?done=next_cycle")


async def _elsewhere(principal: Principal, assessment: service.Assessment) -> Any:
    """Where a non-runner goes from the overview: answering, the results, else 403."""
    if assessment.status == "open":
        mine = await service.respondents_for_email(principal.user.email, assessment.id)
        if mine:
            return Redirect(path=f"/assessments/{assessment.id}/answer", status_code=303)
    if assessment.status in rules.RESULT_STATUSES:
        paths = (await service.scope_paths([assessment.id])).get(assessment.id, [])
        if any(rules.can_see_results(principal, assessment.status, p) for p in paths):
            return Redirect(path=f"/assessments/{assessment.id}/results", status_code=303)
    raise PermissionDeniedException()


async def _after_change(request: Request[Any, Any, Any], assessment_id: int, done: str) -> Any:
    """A step or setup change worked: htmx gets the whole overview, others a redirect."""
    if not is_partial_request(request):
        return Redirect(path=f"/assessments/{assessment_id}?done={done}", status_code=303)
    context = await _detail_context(await _reload(assessment_id), message=_flash(done))
    return html_page(
        "assessment/_detail_body.html",
        context,
        200,
        **{"HX-Retarget": "#assessment-detail", "HX-Reswap": "outerHTML"},
    )


async def _respondents_changed(
    request: Request[Any, Any, Any], assessment_id: int, done: str
) -> Any:
    if not is_partial_request(request):
        return Redirect(
            path=f"/assessments/{assessment_id}?done={done}#respondents", status_code=303
        )
    context = await _detail_context(await _reload(assessment_id), message=_flash(done))
    context["respondent_message"] = context["message"]
    return html_page("assessment/_respondents.html", context)


def _panel_or_page(
    request: Request[Any, Any, Any],
    context: dict[str, Any],
    status: int,
    *,
    panel: str,
    target: str,
    page: str,
) -> Template:
    """htmx gets ``panel`` swapped over ``target``; without JavaScript, the whole ``page``."""
    if is_partial_request(request):
        return html_page(
            panel, context, status, **{"HX-Retarget": target, "HX-Reswap": "outerHTML"}
        )
    return html_page(page, context, status)


def _respondents_page(request: Request[Any, Any, Any], context: dict[str, Any], status: int) -> Any:
    return _panel_or_page(
        request,
        context,
        status,
        panel="assessment/_respondents.html",
        target="#respondents",
        page="assessment/detail.html",
    )


def _setup_page(request: Request[Any, Any, Any], context: dict[str, Any], status: int) -> Any:
    context["setup_open"] = True  # the whole page shows the setup unfolded
    return _panel_or_page(
        request,
        context,
        status,
        panel="assessment/_setup_form.html",
        target="#setup-form",
        page="assessment/detail.html",
    )


def _new_page(request: Request[Any, Any, Any], context: dict[str, Any], status: int) -> Any:
    return _panel_or_page(
        request,
        context,
        status,
        panel="assessment/_setup_form.html",
        target="#setup-form",
        page="assessment/new.html",
    )
