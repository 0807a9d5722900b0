"""A crash between a resolution's commit and its event leaves no survey row; the sweep
plans it later, once."""

from __future__ import annotations

from sqlalchemy import delete

from bot.models import Survey
from bot.texts import DEFAULT_TEXTS
from tests.channels.slack_desk import Desk
from tests.surveys.conftest import line_resolves, surveys, tick

JA = DEFAULT_TEXTS["ja"]


async def forget_the_plan(desk: Desk) -> None:
    """What a crash after the commit and before the event would have left."""
    async with desk.services.sessions() as s, s.begin():
        await s.exec(delete(Survey))  # type: ignore[call-overload]


async def test_the_sweep_plans_a_lost_survey_once_and_it_is_sent(desk: Desk) -> None:
    await line_resolves(desk)
    (planned,) = await surveys(desk)
    await forget_the_plan(desk)
    planner = desk.services.timers.planner
    # The event of a resolution this recent may still be on its way.
    desk.clock.advance(seconds=30)
    assert await planner.sweep() == 0
    desk.clock.advance(minutes=1)
    assert await planner.sweep() == 1
    assert await planner.sweep() == 0
    (swept,) = await surveys(desk)
    assert (swept.status, swept.kind, swept.due_at) == ("planned", planned.kind, planned.due_at)
    pushes_before = len(desk.line_api.pushes())
    desk.clock.advance(minutes=10)
    assert await tick(desk) == 1
    assert await tick(desk) == 0
    (push,) = desk.line_api.pushes()[pushes_before:]
    assert push.texts == [JA[f"survey_{planned.kind}_question"]]


async def test_the_sweep_leaves_old_resolutions_alone(desk: Desk) -> None:
    await line_resolves(desk)
    await forget_the_plan(desk)
    desk.clock.advance(days=1, minutes=1)
    assert await desk.services.timers.planner.sweep() == 0
    assert await surveys(desk) == []
