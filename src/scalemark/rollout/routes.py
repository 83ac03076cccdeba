"""``/rollout``: the board (units × stages), a unit's rollout page and the gate criteria.

Everyone with a role sees the units of their part of the tree; moving a unit needs
``manage_governance`` at it (unit leads: their subtree), defining gates needs it at the
headquarters. Every unit named in a URL or form is checked on the server (unknown: 404,
outside the person's reach: 403).

Each stage's column shows its first :data:`PAGE_SIZE` cards and "Show N more" (htmx
appends the next page; without JavaScript ``?stage=N&page=P`` shows more); the counts and
the chart count every unit the filter lets through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from scalemark.charts.bar import bar_chart
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_date, format_number
from scalemark.identity.guards import member_required, principal_of
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Permission
from scalemark.org import editor as org_editor
from scalemark.org import service as org_service
from scalemark.org.rules import UNIT_KINDS
from scalemark.rollout import service
from scalemark.rollout.rules import (
    CRITERIA,
    FIRST_STAGE,
    LAST_STAGE,
    STAGES,
    GateCriterion,
    RolloutError,
    Stage,
    parse_gate_form,
    parse_stage,
    stage_of,
)
from scalemark.web.htmx import is_partial_request, redirect

__all__ = ["RolloutPages"]

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
VIEW = Permission.VIEW
MOVE = Permission.MANAGE_GOVERNANCE
PAGE_SIZE = 40
"""Cards a stage column shows at first; "Show N more" adds as many again."""
MAX_PAGE = 1000


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows: a subtree and a kind of unit (both optional)."""

    within: service.BoardUnit | None = None
    kind: str = ""

    def query(self) -> str:
        """The filter as a query string (``''`` when none)."""
        parts = []
        if self.within is not None:
            parts.append(f"within={self.within.id}")
        if self.kind:
            parts.append(f"kind={self.kind}")
        return "&".join(parts)

    def page_url(self, stage: int, page: int) -> str:
        """The board with ``page`` pages of cards in a stage's column, filter kept."""
        query = self.query()
        return f"/rollout?{query + '&' if query else ''}stage={stage}&page={page}"

    def applies(self, unit: service.BoardUnit) -> bool:
        """The unit is inside the chosen subtree and of the chosen kind."""
        return (self.within is None or unit.path.startswith(self.within.path)) and (
            not self.kind or unit.kind == self.kind
        )


def _visible_paths(principal: Principal) -> list[str]:
    return principal.scope_paths(VIEW)


async def _visible_units(principal: Principal) -> list[service.BoardUnit]:
    return await service.board_units(_visible_paths(principal))


def _unit_of(units: list[service.BoardUnit], unit_id: int) -> service.BoardUnit:
    found = next((u for u in units if u.id == unit_id), None)
    if found is None:
        raise PermissionDeniedException()
    return found


async def _known_unit(principal: Principal, unit_id: int) -> service.BoardUnit:
    """A unit the person may see: 404 when unknown or archived, 403 outside their reach."""
    node = await org_service.get_unit(unit_id)
    if node is None or node.archived:
        raise NotFoundException()
    if not principal.can(VIEW, node.path):
        raise PermissionDeniedException()
    return _unit_of(await service.board_units([node.path]), unit_id)


async def _filter(principal: Principal, units: list[service.BoardUnit], data: Any) -> BoardFilter:
    raw = str(data.get("within") or "").strip()
    within = None
    if raw:
        if not raw.isdigit():
            raise NotFoundException()
        unit_id = int(raw)
        within = next((u for u in units if u.id == unit_id), None)
        if within is None:
            await _known_unit(principal, unit_id)  # 404 or 403, whichever is true
            raise PermissionDeniedException()
    kind = str(data.get("kind") or "")
    return BoardFilter(within, kind if kind in UNIT_KINDS else "")


def _gate_lines(criteria: list[GateCriterion]) -> dict[int, list[GateCriterion]]:
    lines: dict[int, list[GateCriterion]] = {stage.number: [] for stage in STAGES}
    for item in criteria:
        lines[item.stage].append(item)
    return lines


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Card:
    """A unit on the board, with everything its card shows worked out once."""

    id: int
    code: str
    name: str
    kind: str
    stage: int
    since: str
    """``since <date>`` in the reader's language, or ``''`` when it never moved."""
    can_move: bool


def _cards(principal: Principal, units: list[service.BoardUnit]) -> list[Card]:
    """Cards of units; dates are formatted once per day, not once per card."""
    zone = _zone(principal.user.timezone)
    days: dict[object, str] = {}
    cards = []
    for u in units:
        since = ""
        if u.since is not None:
            day = u.since.astimezone(zone).date()
            if day not in days:
                days[day] = _("since %(date)s", date=format_date(day, "short"))
            since = days[day]
        cards.append(
            Card(u.id, u.code, u.name, u.kind, u.stage, since, principal.can(MOVE, u.path))
        )
    return cards


@dataclass(frozen=True)
class Column:
    """One stage's column: its first cards, and how many more there are."""

    stage: Stage
    cards: list[Card]
    """The cards shown (the first ``page`` pages, or only that page for "Show more")."""
    total: int
    """Units in the stage (the filter applied)."""
    page: int
    """Pages of :data:`PAGE_SIZE` cards shown so far."""
    next_id: int | None
    """The first unit not shown yet (``None``: all are shown)."""

    @property
    def shown(self) -> int:
        """Cards shown from the top of the column."""
        return min(self.total, self.page * PAGE_SIZE)

    @property
    def more(self) -> int:
        """Cards the "Show more" control adds."""
        return min(PAGE_SIZE, self.total - self.shown)


def _column(
    principal: Principal, stage: Stage, units: list[service.BoardUnit], page: int, *, only: bool
) -> Column:
    """A stage's column with ``page`` pages of cards (``only``: just that page's cards)."""
    if not only:  # a page past the end shows the whole column
        page = max(1, min(page, -(-len(units) // PAGE_SIZE)))
    end = page * PAGE_SIZE
    start = end - PAGE_SIZE if only else 0
    next_id = units[end].id if end < len(units) else None
    return Column(stage, _cards(principal, units[start:end]), len(units), page, next_id)


def _paging(query: Any) -> tuple[int, int] | None:
    """``stage`` and ``page`` of a "Show more" link (``None`` when there are none)."""
    raw_stage, raw_page = str(query.get("stage") or ""), str(query.get("page") or "1")
    if not raw_stage.isdigit() or not raw_page.isdigit():
        return None
    stage = int(raw_stage)
    if not FIRST_STAGE <= stage <= LAST_STAGE:
        return None
    return stage, min(max(int(raw_page), 1), MAX_PAGE)


def _by_stage(
    units: list[service.BoardUnit], board_filter: BoardFilter
) -> dict[int, list[service.BoardUnit]]:
    """The units the filter lets through, per stage, in tree order."""
    columns: dict[int, list[service.BoardUnit]] = {stage.number: [] for stage in STAGES}
    for u in units:
        if board_filter.applies(u):
            columns[u.stage].append(u)
    return columns


async def _board_context(
    principal: Principal,
    units: list[service.BoardUnit],
    board_filter: BoardFilter,
    *,
    message: str | None = None,
    focus_id: int | None = None,
    paging: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The whole board: every stage counts all units (the filter applied), each column
    shows its first :data:`PAGE_SIZE` cards, ``paging`` (stage, pages) more in one column
    and enough in another to show the card of ``focus_id`` (a unit just moved)."""
    by_stage = _by_stage(units, board_filter)
    pages = dict([paging]) if paging else {}
    for number, column in by_stage.items():
        at = next((i for i, u in enumerate(column) if u.id == focus_id), None)
        if at is not None:
            pages[number] = max(pages.get(number, 1), at // PAGE_SIZE + 1)
    counts = {number: len(column) for number, column in by_stage.items()}
    chart = bar_chart(
        [(f"{s.number} · {s.short}", counts[s.number]) for s in STAGES],
        title=_("Units per rollout stage"),
        chart_id="stage-chart",
        value_format=lambda v: format_number(int(v)),
    )
    kinds = await org_editor.kind_labels()
    parents = {u.parent_id for u in units}
    present_kinds = {u.kind for u in units}
    return {
        "tenant": current_tenant(),
        "stages": STAGES,
        "columns": {
            stage.number: _column(
                principal, stage, by_stage[stage.number], pages.get(stage.number, 1), only=False
            )
            for stage in STAGES
        },
        "counts": counts,
        "total": sum(counts.values()),
        "chart": chart,
        "kinds": kinds,
        "used_kinds": [k for k in kinds if k in present_kinds],
        "groups": [u for u in units if u.id in parents],
        "board_filter": board_filter,
        "gates": _gate_lines(await service.gates()),
        "criteria": CRITERIA,
        "can_edit_gates": _is_central(principal, units),
        "message": message,
        "focus_id": focus_id,
    }


def _is_central(principal: Principal, units: list[service.BoardUnit]) -> bool:
    root = next((u for u in units if u.parent_id is None), None)
    return root is not None and principal.can(MOVE, root.path)


def _html(name: str, context: dict[str, Any], status: int = 200, **headers: str) -> Template:
    return Template(
        template_name=name,
        context=context,
        status_code=status,
        media_type=MediaType.HTML,
        headers=headers or None,
    )


async def _move_context(
    principal: Principal,
    unit: service.BoardUnit,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    back: str = "unit",
    board_filter: BoardFilter | None = None,
) -> dict[str, Any]:
    next_stage = unit.stage + 1 if unit.stage < LAST_STAGE else None
    gate = await service.gate_for(unit.id, next_stage) if next_stage else None
    targets = [s for s in STAGES if s.number < unit.stage or s.number == next_stage]
    default = str(next_stage or (unit.stage - 1))
    return {
        "tenant": current_tenant(),
        "unit": unit,
        "stage": stage_of(unit.stage),
        "stages": STAGES,
        "targets": targets,
        "next_stage": next_stage,
        "gate": gate,
        "criteria": CRITERIA,
        "values": values or {"to_stage": default, "note": ""},
        "errors": errors or {},
        "back": back,
        "board_filter": board_filter or BoardFilter(),
        "can_move": principal.can(MOVE, unit.path),
    }


class RolloutPages(Controller):
    """The rollout board, one unit's rollout, and the gates between stages."""

    path = "/rollout"
    guards = [member_required]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    @get("/", name="rollout:board", media_type=MediaType.HTML)
    async def board(self, request: Request[Any, Any, Any]) -> Template:
        """Units × stages for the signed-in person's part of the tree.

        ``within`` and ``kind`` filter; ``stage`` and ``page`` show more cards of a column
        (htmx: only that page's cards); ``moved`` or ``card`` name a unit whose card must
        be on screen.
        """
        principal = principal_of(request)
        units = await _visible_units(principal)
        board_filter = await _filter(principal, units, request.query_params)
        message, focus = None, None
        moved = request.query_params.get("moved") or ""
        if moved.isdigit():
            unit = next((u for u in units if u.id == int(moved)), None)
            if unit is not None:
                message = _(
                    "%(name)s is now in stage %(number)s: %(stage)s.",
                    name=unit.name,
                    number=unit.stage,
                    stage=str(stage_of(unit.stage).short),
                )
                focus = unit.id
        card = request.query_params.get("card") or ""
        if focus is None and card.isdigit():
            focus = int(card)  # back from a unit: its card is shown (and focused) again
        paging = _paging(request.query_params)
        if paging and is_partial_request(request):
            # "Show more" in one column: only the next page of its cards.
            stage, page = paging
            column = _column(
                principal,
                stage_of(stage),
                _by_stage(units, board_filter)[stage],
                page,
                only=True,
            )
            fragment = {
                "column": column,
                "board_filter": board_filter,
                "kinds": await org_editor.kind_labels(),
                "focus_id": column.cards[0].id if column.cards else None,
            }
            return _html("rollout/_more_cards.html", fragment)
        context = await _board_context(
            principal, units, board_filter, message=message, focus_id=focus, paging=paging
        )
        if is_partial_request(request):
            return _html("rollout/_board.html", context)
        return _html("rollout/board.html", context)

    @get("/units/{unit_id:int}", name="rollout:unit", media_type=MediaType.HTML)
    async def unit(self, request: Request[Any, Any, Any], unit_id: int) -> Template:
        """A unit's stage, the next gate, the move form and the history of moves.

        htmx asks for the move form only (it opens inside the unit's card on the board).
        """
        principal = principal_of(request)
        unit = await _known_unit(principal, unit_id)
        if is_partial_request(request):
            if not principal.can(MOVE, unit.path):
                raise PermissionDeniedException()
            units = await _visible_units(principal)
            board_filter = await _filter(principal, units, request.query_params)
            context = await _move_context(principal, unit, back="board", board_filter=board_filter)
            return _html("rollout/_move_form.html", context)
        context = await _move_context(principal, unit)
        context["history"] = await service.history(unit.id)
        context["moved"] = bool(request.query_params.get("moved"))
        return _html("rollout/unit.html", context)

    @post("/units/{unit_id:int}/move", name="rollout:move", media_type=MediaType.HTML)
    async def move(self, request: Request[Any, Any, Any], unit_id: int, data: Form) -> Any:
        """Move a unit to another stage (gate met, or signed off with a note)."""
        principal = principal_of(request)
        unit = await _known_unit(principal, unit_id)
        if not principal.can(MOVE, unit.path):
            raise PermissionDeniedException()
        back = "board" if data.get("back") == "board" else "unit"
        units = await _visible_units(principal)
        board_filter = await _filter(principal, units, data)
        errors: dict[str, str] = {}
        try:
            to_stage = parse_stage(data.get("to_stage"))
            expected = (
                parse_stage(data.get("from_stage"), "to_stage") if data.get("from_stage") else None
            )
            await service.move_unit(
                unit.id,
                to_stage,
                note=data.get("note") or "",
                sign_off=bool(data.get("sign_off")),
                expected_from=expected,
            )
        except RolloutError as exc:
            errors = {
                exc.field if exc.field in {"to_stage", "note", "sign_off"} else "form": str(
                    exc.message
                )
            }
        if errors:
            fresh = await _known_unit(principal, unit_id)
            context = await _move_context(
                principal,
                fresh,
                values=dict(data),
                errors=errors,
                back=back,
                board_filter=board_filter,
            )
            if is_partial_request(request):
                return _html(
                    "rollout/_move_form.html",
                    context,
                    422,
                    **{"HX-Retarget": f"#move-slot-{unit.id}", "HX-Reswap": "innerHTML"},
                )
            context["history"] = await service.history(unit.id)
            context["moved"] = False
            return _html("rollout/unit.html", context, 422)
        if back == "board":
            if is_partial_request(request):
                fresh_units = await _visible_units(principal)
                moved = _unit_of(fresh_units, unit.id)
                message = _(
                    "%(name)s is now in stage %(number)s: %(stage)s.",
                    name=moved.name,
                    number=moved.stage,
                    stage=str(stage_of(moved.stage).short),
                )
                context = await _board_context(
                    principal, fresh_units, board_filter, message=message, focus_id=unit.id
                )
                return _html("rollout/_board.html", context)
            query = board_filter.query()
            return redirect(request, f"/rollout?moved={unit.id}{'&' + query if query else ''}")
        return redirect(request, f"/rollout/units/{unit.id}?moved=1")

    @get("/gates", name="rollout:gates", media_type=MediaType.HTML)
    async def gates(self, request: Request[Any, Any, Any]) -> Template:
        """Gate criteria per stage (HQ edits; everyone else reads)."""
        principal = principal_of(request)
        units = await _visible_units(principal)
        criteria = await service.gates()
        values: dict[str, str] = {}
        for item in criteria:
            if item.criterion == "manual_signoff":
                values[f"signoff_{item.stage}"] = "1"
            else:
                prefix = "maturity" if item.criterion.startswith("assessment") else "adoption"
                values[f"{prefix}_{item.stage}"] = service.threshold_text(item.threshold)
        context = {
            "tenant": current_tenant(),
            "stages": STAGES,
            "values": values,
            "errors": {},
            "can_edit": _is_central(principal, units),
            "message": _("The gates are saved.") if request.query_params.get("saved") else None,
        }
        return _html("rollout/gates.html", context)

    @post("/gates", name="rollout:gates_save", media_type=MediaType.HTML)
    async def save_gates(self, request: Request[Any, Any, Any], data: Form) -> Any:
        """Replace every stage's gate criteria."""
        principal = principal_of(request)
        root = await org_service.root_unit()
        if root is None or not principal.can(MOVE, root.path):
            raise PermissionDeniedException()
        criteria, errors = parse_gate_form(data)
        if errors:
            context = {
                "tenant": current_tenant(),
                "stages": STAGES,
                "values": dict(data),
                "errors": {k: str(v) for k, v in errors.items()},
                "can_edit": True,
                "message": None,
            }
            return _html("rollout/gates.html", context, 422)
        await service.replace_gates(criteria)
        return redirect(request, "/rollout/gates?saved=1")
