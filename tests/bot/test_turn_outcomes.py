"""What the engine did with each message, as counted in `helpdesk_inbound_messages_total`."""

from __future__ import annotations

from pathlib import Path

from faq.decision import Thresholds
from tests.bot.conftest import Harness, make_harness
from tests.conftest import Database


def outcomes(h: Harness) -> dict[str, float]:
    """decision label -> count, for the harness's "memory" channel."""
    counts: dict[str, float] = {}
    for family in h.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "helpdesk_inbound_messages_total":
                assert sample.labels["channel"] == "memory"
                counts[sample.labels["decision"]] = sample.value
    return counts


async def test_each_kind_of_turn_is_counted_once(harness: Harness) -> None:
    await harness.say("こんにちは")
    await harness.say("パスワード忘れた", event_id="ev-1")
    await harness.say("パスワード忘れた", event_id="ev-1")  # a redelivery: not a new message
    await harness.say(postback="helpful:yes:password-reset")
    await harness.say(postback="rm -rf")
    await harness.say("オペレーター")
    await harness.say("まだですか")
    assert outcomes(harness) == {
        "small_talk": 1,
        "answer": 1,
        "resolved": 1,
        "unknown_button": 1,
        "handoff": 1,
        "during_handoff": 1,
    }


async def test_choices_and_the_chosen_answer(database: Database, faq_dir: Path) -> None:
    # An answer threshold above 1 can never be met, so every match becomes a choice.
    async for h in make_harness(database, faq_dir, Thresholds(answer=1.01, suggest=0.0)):
        offer = (await h.say("パスワード忘れた")).replies[0]
        await h.say(postback=offer.buttons[0].postback)
        assert outcomes(h) == {"suggest": 1, "answer": 1}
