"""FAQ searches run on the event loop when they are quick, on a worker thread when not.

A lexical search of 2,000 entries takes 0.3-0.45 ms, and handing it to a worker thread
and back through the event loop cost 0.1-0.4 ms more (`bench.engine`: about a tenth of a
whole turn). A search that takes milliseconds (a big FAQ, a sentence
encoder) must not hold the loop, though: every other request would wait behind it. So
the runner keeps a moving average of how long searches take and runs the next one on
the loop only while that average is under half a millisecond and the text is short;
it keeps measuring either way, so it moves to the thread when the FAQ or its models
make searches slow and back when they are quick again. Both paths call the same
thread-safe `Matcher.search`: only where it runs differs, never what it returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from faq.matcher import Match, Matcher

# Searches whose moving average stays below this run on the loop: the loop is held no
# longer than a thread hop would have cost it in wake-ups and GIL hand-offs.
INLINE_BELOW_SECONDS = 0.0005
# Longer texts take longer to tokenize than the average says: they always use the thread.
INLINE_MAX_CHARS = 200
# Weight of the newest search in the moving average (about the last 10 searches count).
_SMOOTHING = 0.1


class SearchRunner:
    """Runs `Matcher.search` inline or on a worker thread, by how long searches take."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        """``clock``: seconds, for timing searches (a test gives its own)."""
        self._clock = clock
        # Start on the thread: nothing is known about this FAQ's searches yet.
        self._average = INLINE_BELOW_SECONDS

    @property
    def inline(self) -> bool:
        """Whether a short text's search would now run on the event loop."""
        return self._average < INLINE_BELOW_SECONDS

    async def search(
        self, matcher: Matcher, text: str, top_k: int, locale: str | None
    ) -> list[Match]:
        """`matcher.search(text, top_k, locale)`, on the loop or on a thread."""
        if self.inline and len(text) <= INLINE_MAX_CHARS:
            started = self._clock()
            matches = matcher.search(text, top_k, locale)
            self._observe(self._clock() - started)
            return matches
        return await asyncio.to_thread(self._timed, matcher, text, top_k, locale)

    def _timed(
        self, matcher: Matcher, text: str, top_k: int, locale: str | None
    ) -> list[Match]:
        started = self._clock()
        matches = matcher.search(text, top_k, locale)
        if len(text) <= INLINE_MAX_CHARS:  # long texts do not decide where short ones run
            self._observe(self._clock() - started)
        return matches

    def _observe(self, seconds: float) -> None:
        # A float assignment is atomic under the GIL: threads may race, never corrupt it.
        self._average += _SMOOTHING * (seconds - self._average)
