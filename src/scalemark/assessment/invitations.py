"""E-mails asking respondents to answer, each in the respondent's own language.

When an assessment opens, every respondent not yet invited gets one mail; a respondent
added while it is open gets theirs at once. Someone who can already see the unit gets a
"please answer" mail with the link to ``/assessments/{id}/answer``. Someone without
access gets an identity invitation (role ``contributor`` at the unit) instead: its mail
lets them join, and they answer from there — never two mails for one respondent.

``invited_at`` is claimed in the same transaction that sends the mail, so a respondent is
mailed exactly once even when two requests open the same assessment at the same time.
"""

from __future__ import annotations

import logging

from scalemark.assessment import results, service
from scalemark.db import tenant_transaction
from scalemark.db.tenant_context import current_tenant
from scalemark.i18n import gettext as _
from scalemark.i18n.formatting import format_date
from scalemark.i18n.locale import use_locale
from scalemark.identity import audit
from scalemark.identity import invitations as identity_invitations
from scalemark.identity.memberships import grants_for
from scalemark.identity.principal import current_principal
from scalemark.identity.roles import Permission, allows
from scalemark.identity.users import UserError, get_user_by_email
from scalemark.mail import MailMessage, send_mail
from scalemark.settings import get_settings

__all__ = ["RESPONDENT_ROLE", "apply_action", "invite_pending", "invite_respondent"]

logger = logging.getLogger("scalemark.assessment")

RESPONDENT_ROLE = "contributor"
"""Role given through the invitation to people who have no access to their unit yet."""


async def _has_access(email: str, unit_path: str) -> bool:
    """The person has an active account that may see the unit."""
    user = await get_user_by_email(email)
    if user is None or not user.active:
        return False
    grants = await grants_for(user.id, user.platform_role)
    return allows(grants, Permission.VIEW, unit_path)


def _answer_mail(
    respondent: service.Respondent, assessment: service.Assessment, unit_name: str
) -> MailMessage:
    """The "please answer" mail, rendered in the current locale."""
    tenant = current_tenant()
    link = get_settings().public_url(tenant.slug, f"/assessments/{assessment.id}/answer")
    details = {"org": tenant.name, "title": assessment.title, "unit": unit_name, "link": link}
    if assessment.due_date is not None:
        body = _(
            "Hello,\n\n%(org)s asks you to answer the assessment “%(title)s” for %(unit)s"
            " by %(due)s. Your answers are saved as you go; you can come back at any"
            " time:\n\n%(link)s\n",
            due=format_date(assessment.due_date, "long"),
            **details,
        )
    else:
        body = _(
            "Hello,\n\n%(org)s asks you to answer the assessment “%(title)s” for %(unit)s."
            " Your answers are saved as you go; you can come back at any time:\n\n%(link)s\n",
            **details,
        )
    return MailMessage(
        to=respondent.email,
        subject=_("Please answer the assessment “%(title)s”", title=assessment.title),
        body=body,
    )


async def invite_respondent(assessment: service.Assessment, respondent_id: int) -> bool:
    """Mail one respondent unless they were invited before; True when a mail went out."""
    async with tenant_transaction() as conn:
        row = await conn.fetchrow(
            "SELECT r.email, r.invited_at, u.name, u.path FROM assessment_respondent r"
            " JOIN unit u ON u.id = r.unit_id WHERE r.id = $1 AND r.assessment_id = $2",
            respondent_id,
            assessment.id,
        )
    if row is None or row["invited_at"] is not None:
        return False
    # Read outside the transaction below: access lives partly in shared tables.
    has_access = await _has_access(row["email"], row["path"])
    async with tenant_transaction() as conn:
        respondent = await service.claim_invitation(conn, respondent_id)
        if respondent is None:
            return False
        details = {"email": respondent.email, "unit_id": respondent.unit_id}
        if has_access:
            with use_locale(respondent.locale):
                message = _answer_mail(respondent, assessment, row["name"])
            await send_mail(message, tenant_id=current_tenant().id)
            await audit.record(
                "assessment.respondent.invite",
                object_type="assessment",
                object_id=assessment.id,
                after={**details, "via": "mail"},
            )
            return True
        principal = current_principal()
        try:
            await identity_invitations.create_invitation(
                respondent.email,
                RESPONDENT_ROLE,
                respondent.unit_id,
                invited_by=principal.user.id if principal else None,
                locale=respondent.locale,
            )
        except UserError:
            # The address passed the respondent check, so the unit vanished meanwhile:
            # leave the respondent uninvited rather than failing the lifecycle step.
            logger.warning("no invitation for respondent %s", respondent_id, exc_info=True)
            await conn.execute(
                "UPDATE assessment_respondent SET invited_at = NULL WHERE id = $1", respondent_id
            )
            return False
        await audit.record(
            "assessment.respondent.invite",
            object_type="assessment",
            object_id=assessment.id,
            after={**details, "via": "invitation"},
        )
    return True


async def invite_pending(assessment_id: int) -> int:
    """Mail every respondent of an open assessment not yet invited; returns how many."""
    assessment = await service.get_assessment(assessment_id)
    if assessment is None or assessment.status != "open":
        return 0
    sent = 0
    for respondent in await service.respondents(assessment_id):
        if respondent.invited_at is None and await invite_respondent(assessment, respondent.id):
            sent += 1
    return sent


async def apply_action(assessment_id: int, action: str, reason: str = "") -> service.Assessment:
    """A lifecycle step and what follows it.

    Open afterwards: pending invitations go out. In review or closed: the cached scores
    are brought up to date now, so the first look at the results (and the rollout gates)
    does not pay for recomputing every unit.
    """
    changed = await service.change_status(assessment_id, action, reason)
    if changed.status == "open":
        await invite_pending(assessment_id)
    elif changed.status in ("in_review", "closed"):
        await results.refresh_scores(assessment_id)
    return changed
