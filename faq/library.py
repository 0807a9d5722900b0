"""Hot-reloading holder of the current :class:`~faq.matcher.Matcher` for a FAQ directory."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from faq.loader import faq_fingerprint, load_faq_dir
from faq.matcher import Matcher
from faq.model import FaqError


def _load_and_build(directory: Path) -> Matcher:
    return Matcher.build(load_faq_dir(directory))


class FaqLibrary:
    """Holds the current Matcher for a directory; reloads on change; a broken edit keeps the
    last good one.

    Swapping is a single attribute assignment of an immutable Matcher, so readers on the
    event loop always see a complete index.
    """

    def __init__(self, directory: Path, logger: logging.Logger) -> None:
        self._directory = directory
        self._logger = logger
        self._matcher: Matcher | None = None
        self._fingerprint: tuple[tuple[str, float, int], ...] | None = None
        self._lock = asyncio.Lock()

    @property
    def directory(self) -> Path:
        """The watched FAQ directory."""
        return self._directory

    @property
    def matcher(self) -> Matcher:
        """The current matcher; raises RuntimeError before the first successful load."""
        if self._matcher is None:
            raise RuntimeError(f"FAQ from {self._directory} has not been loaded yet")
        return self._matcher

    async def load(self) -> None:
        """First load. Raises :class:`FaqError` if the FAQ is broken (the server refuses
        to start rather than serving no answers)."""
        async with self._lock:
            fingerprint = faq_fingerprint(self._directory)
            self._matcher = await asyncio.to_thread(_load_and_build, self._directory)
            self._fingerprint = fingerprint
            self._logger.info(
                "FAQ loaded from %s: %d entries", self._directory, len(self._matcher.entries)
            )

    async def reload_if_changed(self) -> bool:
        """Rebuild if any FAQ file changed; return True if a new matcher was swapped in.

        On a broken edit every problem is logged at ERROR as ``file:line: message`` and the
        previous matcher keeps serving. The broken fingerprint is remembered, so the same
        broken state is reported once, not on every poll.
        """
        async with self._lock:
            fingerprint = faq_fingerprint(self._directory)
            if fingerprint == self._fingerprint:
                return False
            try:
                matcher = await asyncio.to_thread(_load_and_build, self._directory)
            except FaqError as exc:
                self._fingerprint = fingerprint
                self._logger.error(
                    "FAQ in %s has %d problem(s); keeping the previous version",
                    self._directory,
                    len(exc.problems),
                )
                for problem in exc.problems:
                    self._logger.error("%s", problem)
                return False
            self._matcher = matcher
            self._fingerprint = fingerprint
            self._logger.info(
                "FAQ reloaded from %s: %d entries", self._directory, len(matcher.entries)
            )
            return True

    async def watch(self, interval: float) -> None:
        """Poll for changes every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload_if_changed()
            except OSError:
                # a file vanishing mid-read is normal during an editor's save or a git
                # checkout; the next poll sees the settled state
                self._logger.warning("FAQ reload of %s failed; will retry", self._directory,
                                     exc_info=True)
