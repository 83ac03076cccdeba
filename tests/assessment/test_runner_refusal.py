"""The one rule behind every runner-only assessment route: 404 or 403, and for whom."""

from __future__ import annotations

import pytest

from scalemark.assessment.rules import runner_refusal
from scalemark.identity.principal import Principal
from scalemark.identity.roles import Grant
from scalemark.identity.users import User

USER = User(
    id=1,
    email="a@example.com",
    name="",
    locale=None,
    timezone="UTC",
    status="active",
    platform_role=None,
    has_password=True,
    last_login_at=None,
)
RUNNER = Principal(user=USER, grants=(Grant("hq_admin", 1, "/1/"),))
READER = Principal(user=USER, grants=(Grant("stakeholder", 1, "/1/"),))


@pytest.mark.parametrize(
    ("principal", "status", "refusal"),
    [
        (RUNNER, None, 404),
        (READER, None, 404),
        (RUNNER, "draft", None),
        (READER, "draft", 404),
        (RUNNER, "open", None),
        (READER, "open", 403),
        (READER, "closed", 403),
        (None, "open", 403),
    ],
)
def test_unknown_and_hidden_drafts_are_404_other_non_runners_403(
    principal: Principal | None, status: str | None, refusal: int | None
) -> None:
    assert runner_refusal(principal, status) == refusal
