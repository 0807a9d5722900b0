"""Who may act on cases from Slack: `/helpdesk`, the case buttons and thread replies count
only in the handoff channel and only from agents (the agent user group's members, or
without one the handoff channel's members); everyone else is told why, privately, and
nothing happens. On SQLite and PostgreSQL, against a fake Slack Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from bot.models import Conversation, ConversationStatus
from channels.slack.agent_access import AGENTS_UNKNOWN, not_an_agent, wrong_channel
from channels.slack.render import CLAIM, RESOLVE, TRANSCRIPT
from tests.channels.slack_desk import CHANNEL, ClientMaker, Desk, ServerMaker, make_desk
from tests.channels.test_slack import line_asks_for_a_person
from tests.conftest import Database
from tests.fakes.clock import ManualClock

GROUP = "S0AGENTS1"
ELSEWHERE = "C0RANDOM99"
CUSTOMER_SAID = "オペレーター"  # what the LINE customer wrote, shown to agents only


@pytest.fixture
async def group_desk(
    aiohttp_client: ClientMaker, aiohttp_server: ServerMaker, database: Database, faq_dir: Path
) -> AsyncIterator[Desk]:
    desk = await make_desk(
        aiohttp_client, aiohttp_server, database, faq_dir, ManualClock(),
        HELPDESK_SLACK_AGENT_USERGROUP=GROUP,
    )  # fmt: skip
    desk.slack.usergroups[GROUP] = ["UALICE"]
    yield desk
    await desk.client.close()


async def untouched(desk: Desk, conversation_id: int) -> bool:
    """Nobody claimed, answered or closed the case, and it is still waiting."""
    handoff = await desk.handoff(conversation_id)
    async with desk.services.sessions() as s:
        conversation = await s.get(Conversation, conversation_id)
    assert conversation is not None
    return (
        handoff.agent_ref is None
        and handoff.first_response_at is None
        and handoff.closed_at is None
        and conversation.status == ConversationStatus.WAITING
    )


async def test_the_command_outside_the_handoff_channel_is_refused(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    for text in ("queue", f"resolve #{conversation_id}", "stats", "help"):
        answer = await desk.command(text, "UALICE", channel=ELSEWHERE)
        assert answer == wrong_channel(CHANNEL), text
    assert await untouched(desk, conversation_id)
    # The same agent in the handoff channel can.
    assert (await desk.command("queue", "UALICE")).startswith("*1 waiting*")


async def test_buttons_outside_the_handoff_channel_do_nothing(desk: Desk) -> None:
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    told_customer = desk.line_api.all_texts()
    for action in (CLAIM, RESOLVE, TRANSCRIPT):
        r = await desk.click(action, conversation_id, root.ts, "UALICE", channel=ELSEWHERE)
        assert r.status == 200
    await desk.settle()
    assert await untouched(desk, conversation_id)
    assert desk.line_api.all_texts() == told_customer
    refusals = desk.slack.ephemerals("UALICE")
    assert [c.text for c in refusals] == [wrong_channel(CHANNEL)] * 3
    assert all(c.args["channel"] == ELSEWHERE for c in refusals)
    # Nothing the customer wrote was shown outside the handoff channel.
    assert not [c for c in desk.slack.calls if c.args.get("channel") == ELSEWHERE
                and CUSTOMER_SAID in c.all_text()]  # fmt: skip


async def test_without_a_group_someone_not_in_the_channel_is_refused(desk: Desk) -> None:
    """Someone previewing a public handoff channel sees the buttons but is no member."""
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    told_customer = desk.line_api.all_texts()
    await desk.click(CLAIM, conversation_id, root.ts, "UVISITOR")
    await desk.click(RESOLVE, conversation_id, root.ts, "UVISITOR")
    assert await desk.command(f"resolve #{conversation_id}", "UVISITOR") == not_an_agent(
        CHANNEL, None
    )
    await desk.settle()
    assert await untouched(desk, conversation_id)
    assert desk.line_api.all_texts() == told_customer
    assert [c.text for c in desk.slack.ephemerals("UVISITOR")] == [not_an_agent(CHANNEL, None)] * 2
    # A member claims it.
    await desk.click(CLAIM, conversation_id, root.ts, "UBOB")
    await desk.settle()
    assert (await desk.handoff(conversation_id)).agent_ref == "UBOB"


async def test_channel_members_are_read_page_by_page(desk: Desk) -> None:
    desk.slack.page_size = 2
    desk.slack.channel_members[CHANNEL] = ["U0001", "U0002", "U0003", "U0004", "UZOE"]
    assert await desk.command("queue", "UZOE") == "No one is waiting. :tada:"
    pages = desk.slack.method("conversations.members")
    assert len(pages) == 3
    assert [p.args.get("cursor") for p in pages] == [None, "2", "4"]


async def test_with_a_group_only_its_members_act(group_desk: Desk) -> None:
    desk = group_desk
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    told_customer = desk.line_api.all_texts()
    refused = not_an_agent(CHANNEL, GROUP)
    # UBOB is in the channel but not in the group.
    assert await desk.command("queue", "UBOB") == refused
    assert await desk.command(f"resolve #{conversation_id}", "UBOB") == refused
    await desk.click(CLAIM, conversation_id, root.ts, "UBOB")
    await desk.click(TRANSCRIPT, conversation_id, root.ts, "UBOB")
    await desk.reply("UBOB", "代わりに返信します", root.ts)
    await desk.settle()
    assert await untouched(desk, conversation_id)
    assert desk.line_api.all_texts() == told_customer
    texts = [c.text for c in desk.slack.ephemerals("UBOB")]
    assert texts == [refused, refused, f"{refused} Your reply was not sent to the customer."]
    assert f"<!subteam^{GROUP}>" in refused
    # The group member does all of it.
    await desk.reply("UALICE", "担当します", root.ts)
    await desk.settle()
    assert desk.line_api.all_texts()[-1] == "担当します"
    answer = await desk.command(f"resolve #{conversation_id}", "UALICE")
    assert answer == f"Case #{conversation_id} is resolved; the customer was told."
    assert (await desk.handoff(conversation_id)).closed_at is not None


async def test_members_are_read_once_a_minute(group_desk: Desk) -> None:
    desk = group_desk
    await line_asks_for_a_person(desk)
    for _ in range(5):
        assert (await desk.command("queue", "UALICE")).startswith("*1 waiting*")
    assert len(desk.slack.method("usergroups.users.list")) == 1
    assert desk.slack.method("usergroups.users.list")[0].args["usergroup"] == GROUP
    # Taken out of the group: still in for the rest of the minute, then out.
    desk.slack.usergroups[GROUP] = ["UBOB"]
    desk.clock.advance(seconds=30)
    assert (await desk.command("queue", "UALICE")).startswith("*1 waiting*")
    desk.clock.advance(seconds=31)
    assert await desk.command("queue", "UALICE") == not_an_agent(CHANNEL, GROUP)
    assert (await desk.command("queue", "UBOB")).startswith("*1 waiting*")
    assert len(desk.slack.method("usergroups.users.list")) == 2


async def test_when_slack_cannot_say_who_the_agents_are_nothing_is_done(
    group_desk: Desk,
) -> None:
    desk = group_desk
    conversation_id = await line_asks_for_a_person(desk)
    root = desk.root_of(conversation_id)
    assert root.ts is not None
    desk.slack.directory_down = True
    assert await desk.command(f"resolve #{conversation_id}", "UALICE") == AGENTS_UNKNOWN
    await desk.click(CLAIM, conversation_id, root.ts, "UALICE")
    await desk.settle()
    assert await untouched(desk, conversation_id)
    assert desk.slack.ephemerals("UALICE")[-1].text == AGENTS_UNKNOWN
    # Back up: the next try works, nothing was remembered from the failure.
    desk.slack.directory_down = False
    await desk.click(CLAIM, conversation_id, root.ts, "UALICE")
    await desk.settle()
    assert (await desk.handoff(conversation_id)).agent_ref == "UALICE"


async def test_a_short_outage_uses_the_last_known_members(group_desk: Desk) -> None:
    desk = group_desk
    await line_asks_for_a_person(desk)
    assert (await desk.command("queue", "UALICE")).startswith("*1 waiting*")
    desk.slack.directory_down = True
    desk.clock.advance(minutes=10)
    assert (await desk.command("queue", "UALICE")).startswith("*1 waiting*")
    assert await desk.command("queue", "UBOB") == not_an_agent(CHANNEL, GROUP)
    desk.clock.advance(minutes=6)  # 16 minutes since the last answer: too old to trust
    assert await desk.command("queue", "UALICE") == AGENTS_UNKNOWN


def test_a_group_that_is_no_id_is_a_settings_error() -> None:
    for bad in ("@support", "support-team", "s0agents1", "S01"):
        with pytest.raises(SettingsError) as raised:
            Settings.from_env(
                {
                    "SLACK_SIGNING_SECRET": "x" * 32,
                    "SLACK_BOT_TOKEN": "xoxb-1",
                    "SLACK_HANDOFF_CHANNEL": CHANNEL,
                    "HELPDESK_SLACK_AGENT_USERGROUP": bad,
                }
            )
        assert "HELPDESK_SLACK_AGENT_USERGROUP" in str(raised.value), bad
