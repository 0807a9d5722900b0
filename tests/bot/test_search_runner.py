"""Where the engine's FAQ searches run: on the event loop while they are quick, on a
worker thread while they are slow or the text is long, with the same results either way.
Search time comes from a fake clock, so nothing here depends on this machine's speed."""

from __future__ import annotations

import threading

from bot.search_runner import INLINE_MAX_CHARS, SearchRunner
from faq.matcher import Match, Matcher
from tests.faq.support import entry


class _Recording(Matcher):
    """A matcher that notes the thread each search ran on."""

    threads: list[int]

    def search(self, text: str, top_k: int = 5, locale: str | None = None) -> list[Match]:
        self.threads.append(threading.get_ident())
        return super().search(text, top_k, locale)


class _Clock:
    """Each reading is `step` seconds after the last: every search takes `step`."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def _matcher() -> _Recording:
    matcher = _Recording.build([
        entry("fee", "送料はいくら", ("配送料",), "500円です。"),
        entry("hours", "営業時間", ("何時まで",), "18時までです。"),
    ])  # fmt: skip
    assert isinstance(matcher, _Recording)
    matcher.threads = []
    return matcher


def _ids(matches: list[Match]) -> list[tuple[str, float]]:
    return [(m.entry.id, m.score) for m in matches]


async def test_quick_searches_move_to_the_loop_and_slow_ones_back_to_a_thread() -> None:
    matcher, clock = _matcher(), _Clock(step=0.0001)
    runner = SearchRunner(clock)
    loop_thread = threading.get_ident()
    expected = _ids(matcher.search("送料", 8, "ja"))
    matcher.threads.clear()

    # nothing is known at first: the first search goes to a thread
    assert _ids(await runner.search(matcher, "送料", 8, "ja")) == expected
    assert matcher.threads[-1] != loop_thread
    # it took 0.1 ms: the next ones run on the loop, with the same answer
    for _ in range(3):
        assert _ids(await runner.search(matcher, "送料", 8, "ja")) == expected
        assert matcher.threads[-1] == loop_thread
    assert runner.inline

    # searches that take 5 ms (a big FAQ, an encoder) soon leave the loop
    clock.step = 0.005
    await runner.search(matcher, "送料", 8, "ja")
    assert not runner.inline
    assert _ids(await runner.search(matcher, "送料", 8, "ja")) == expected
    assert matcher.threads[-1] != loop_thread

    # and quick ones bring it back
    clock.step = 0.0001
    for _ in range(40):
        await runner.search(matcher, "送料", 8, "ja")
    assert runner.inline and matcher.threads[-1] == loop_thread


async def test_a_long_text_is_searched_on_a_thread_even_when_searches_are_quick() -> None:
    matcher = _matcher()
    runner = SearchRunner(_Clock(step=0.0001))
    for _ in range(3):
        await runner.search(matcher, "送料", 8, "ja")
    assert runner.inline
    long_text = "送料について" * (INLINE_MAX_CHARS // 6 + 1)
    await runner.search(matcher, long_text, 8, "ja")
    assert matcher.threads[-1] != threading.get_ident()
    assert runner.inline  # a long text's time says nothing about short ones
