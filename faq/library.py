"""Hot-reloading holder of the current :class:`~faq.matcher.Matcher` for a FAQ directory.

Building an index is CPU-bound Python. In a thread it would still take the GIL from the
event loop in 5 ms slices, and some steps of a big build are single long C calls (loading
the tokenizer dictionary, large array operations) that hold it for 100 ms and more. So a
FAQ of at least ``process_min_entries`` entries is built in a separate, niced process that
stays up between reloads (:class:`BuildWorker`): it keeps a
:class:`~faq.build_cache.BuildCache`, so a hot reload re-analyses only the entries that
changed, and a cold build shares the analysis with a helper process
(:mod:`faq.analysis_pool`, :data:`BUILD_PROCESSES`). The matcher comes back as arrays in
1 MB messages that a thread here receives and unpacks in short steps
(:mod:`faq.chunked_pickle`), sharing the unchanged entries of the running matcher
(:mod:`faq.entry_pack`) and its tokenizer: at no point does the event loop wait on one
long C call or a garbage collection set off by the swap. Small FAQs are built in a thread
(with their own cache), which costs far less than a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from faq import chunked_pickle
from faq.analysis_pool import usable_cores
from faq.build_cache import BuildCache
from faq.glossary import Glossary, GlossaryError, load_glossary
from faq.loader import faq_files, faq_fingerprint, load_faq
from faq.matcher import Matcher
from faq.model import FaqError
from faq.semantic import SemanticConfig, SemanticModels

# Below this many entries (estimated from file sizes) a build in a thread takes well under
# a second and the loop keeps running; above it, a process is worth its start-up time.
PROCESS_MIN_ENTRIES = 1000
_BYTES_PER_ENTRY = 400  # a typical Japanese entry in YAML, for the estimate
# The build process analyses a cold build's texts with this many processes (itself and
# helpers, at most one per core): two halve the analysis, the bulk of a cold build; more
# would each load a tokenizer and compete with the server for the cores.
BUILD_PROCESSES = 2


def build_matcher(directory: Path, cache: BuildCache | None = None) -> Matcher:
    """Load a FAQ directory (entries and synonyms) and build its matcher; ``cache`` carries
    analyses over from the previous build of the same FAQ.

    Raises :class:`FaqError` listing every problem."""
    entries, synonyms = load_faq(directory)
    return Matcher.build(entries, synonyms=synonyms, cache=cache)


def _lower_priority() -> None:
    """Run the build process niced: on a busy or single-core machine the CPU then goes to
    the server first, and the build takes what is left."""
    if hasattr(os, "nice"):
        os.nice(10)


def _serve_builds(connection: Connection) -> None:
    """Main function of the build process: build each directory asked for, answering
    ``("ok", matcher state)`` or ``("error", exception)``, until asked to stop (``None``)
    or the parent goes away. The cache lives here, so unchanged entries are analysed
    once."""
    _lower_priority()
    cache = BuildCache(processes=min(BUILD_PROCESSES, usable_cores()))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply: tuple[str, object] = (
                "ok", build_matcher(Path(request), cache).__getstate__()
            )
        except (FaqError, OSError) as exc:
            reply = ("error", exc)
        chunked_pickle.send(connection, reply)


class BuildWorker:
    """The build process: started on first use, restarted if it died. Blocking; call
    :meth:`build` from a thread, one at a time."""

    def __init__(self) -> None:
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def build(self, directory: Path, previous: Matcher | None = None) -> Matcher:
        """The matcher of ``directory``, built in the worker process, sharing the
        unchanged entries of ``previous``."""
        with self._lock:
            connection = self._start()
            try:
                connection.send(str(directory))
                # received and unpickled here, in the calling thread, in short steps (see
                # faq.chunked_pickle), so the event loop's thread gets the GIL
                reply = chunked_pickle.receive(connection)
            except (EOFError, OSError):
                self._stop()
                raise RuntimeError("the FAQ build process died") from None
        assert isinstance(reply, tuple)
        status, payload = reply
        if status == "error":
            assert isinstance(payload, BaseException)
            raise payload
        assert isinstance(payload, dict)
        return Matcher.restore(payload, previous)

    def _start(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._connection:
            return self._connection
        self._stop()
        # spawn, not fork: the server process has threads, and a forked child of a
        # threaded process can inherit a lock held by a thread that no longer exists
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        # daemon: ends with the server even if nobody calls close()
        process = context.Process(
            target=_serve_builds, args=(child,), name="faq-build", daemon=True
        )
        process.start()
        child.close()
        self._process, self._connection = process, parent
        return parent

    def _stop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.send(None)
            except OSError:
                pass
            self._connection.close()
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._process = self._connection = None

    def close(self) -> None:
        """Stop the process (it is started again by the next :meth:`build`)."""
        with self._lock:
            self._stop()


def _estimated_entries(directory: Path) -> int:
    total = 0
    for file in faq_files(directory):
        try:
            total += file.stat().st_size
        except OSError:
            continue
    return total // _BYTES_PER_ENTRY


def _semantic_summary(matcher: Matcher) -> str:
    """``; semantic evidence: ...`` naming each source and how many texts it (re)computed,
    or nothing for a purely lexical matcher."""
    if not matcher.semantic:
        return ""
    parts = [f"{type(s).__name__} ({s.encoded} texts encoded)" for s in matcher.semantic]
    return "; semantic evidence: " + ", ".join(parts)


class FaqLibrary:
    """Holds the current Matcher for a directory; reloads on change; a broken edit keeps the
    last good one.

    Swapping is a single attribute assignment of an immutable Matcher, so readers on the
    event loop always see a complete index.
    """

    def __init__(
        self,
        directory: Path,
        logger: logging.Logger,
        *,
        process_min_entries: int = PROCESS_MIN_ENTRIES,
        semantic: SemanticConfig | None = None,
        defer_semantic: bool = False,
        glossary: Path | None = None,
    ) -> None:
        """``process_min_entries``: FAQs estimated at least this big are built in a
        separate process (0: always; a huge number: never). ``semantic``: opt-in models
        whose evidence is added (:mod:`faq.semantic`). They are loaded with the first FAQ,
        or, with ``defer_semantic``, after it: :meth:`load` then returns with the lexical
        matcher serving, and the models are attached in the background
        (:meth:`semantic_ready` waits for that), because encoding a big FAQ takes
        minutes that a server should not spend unable to answer. ``glossary``: the
        English-to-Japanese glossary file (:mod:`faq.glossary`) messages are read with,
        loaded with the first FAQ; one that cannot be read is logged and left out."""
        self._directory = directory
        self._semantic = semantic if semantic is not None else SemanticConfig()
        self._defer_semantic = defer_semantic
        self._glossary_path = glossary
        self._glossary: Glossary | None = None
        self._models: SemanticModels | None = None
        self._semantic_task: asyncio.Task[None] | None = None
        self._logger = logger
        self._process_min_entries = process_min_entries
        self._matcher: Matcher | None = None
        self._cache = BuildCache()  # for builds in a thread; the worker has its own
        self._worker = BuildWorker()
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

    async def _build(self) -> Matcher:
        if await asyncio.to_thread(_estimated_entries, self._directory) < (
            self._process_min_entries
        ):
            matcher = await asyncio.to_thread(build_matcher, self._directory, self._cache)
        else:
            matcher = await asyncio.to_thread(
                self._worker.build, self._directory, self._matcher
            )
            if self._matcher is not None:
                matcher.reuse_analyzer(self._matcher)
        if self._matcher is None:
            await asyncio.to_thread(matcher.warm_up)
        if self._glossary_path is not None and self._glossary is None:
            await self._load_glossary(self._glossary_path)
        matcher = matcher.with_glossary(self._glossary)
        if self._models is None and self._semantic.enabled and not self._defer_semantic:
            self._models = await asyncio.to_thread(self._semantic.load)
        if self._models is not None:
            matcher = await self._with_models(matcher, self._models)
        return matcher

    async def _load_glossary(self, path: Path) -> None:
        try:
            self._glossary = await asyncio.to_thread(load_glossary, path)
        except GlossaryError as exc:
            # English questions then go unbridged; the FAQ itself is fine
            self._logger.warning("FAQ glossary not loaded, English read as is: %s", exc)
            self._glossary_path = None
            return
        self._logger.info("FAQ glossary of %d English words loaded", len(self._glossary))

    async def _with_models(self, matcher: Matcher, models: SemanticModels) -> Matcher:
        # in the server process, where searches encode messages with the same models;
        # NumPy and the tokenizers leave the GIL to the loop while they work
        return await asyncio.to_thread(matcher.with_models, models, self._matcher)

    async def _attach_semantic(self) -> None:
        """Load the models and add their evidence to the serving matcher (deferred load).
        Reloads wait meanwhile; a failure is logged and the FAQ stays lexical."""
        async with self._lock:
            try:
                models = await asyncio.to_thread(self._semantic.load)
                matcher = await self._with_models(self.matcher, models)
            except Exception:  # whatever failed, the lexical FAQ serves on
                self._logger.exception("semantic models for the FAQ failed to load; "
                                       "matching stays lexical")
                return
            self._models, self._matcher = models, matcher
            self._logger.info("FAQ semantic evidence ready for %s%s", self._directory,
                              _semantic_summary(matcher))

    async def semantic_ready(self) -> None:
        """Wait until a deferred attachment of the semantic models has finished."""
        if self._semantic_task is not None:
            await asyncio.shield(self._semantic_task)

    async def close(self) -> None:
        """Stop the build process, if one was started, and a deferred attachment of the
        semantic models. The library can still reload afterwards (a new process is
        started)."""
        if self._semantic_task is not None and not self._semantic_task.done():
            self._semantic_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._semantic_task
        await asyncio.to_thread(self._worker.close)

    async def load(self) -> None:
        """First load. Raises :class:`FaqError` if the FAQ is broken (the server refuses
        to start rather than serving no answers)."""
        async with self._lock:
            fingerprint = await asyncio.to_thread(faq_fingerprint, self._directory)
            self._matcher = await self._build()
            self._fingerprint = fingerprint
            self._logger.info(
                "FAQ loaded from %s: %d entries%s", self._directory,
                len(self._matcher.entries), _semantic_summary(self._matcher),
            )
        if self._defer_semantic and self._semantic.enabled and self._models is None:
            self._semantic_task = asyncio.create_task(
                self._attach_semantic(), name="faq-semantic"
            )

    async def reload_if_changed(self) -> bool:
        """Rebuild if any FAQ file (or the synonyms file) changed; return True if a new
        matcher was swapped in.

        On a broken edit every problem is logged at ERROR as ``file:line: message`` and the
        previous matcher keeps serving. The broken fingerprint is remembered, so the same
        broken state is reported once, not on every poll.
        """
        async with self._lock:
            # off the loop: a directory on a slow or network disk can take a while to stat
            fingerprint = await asyncio.to_thread(faq_fingerprint, self._directory)
            if fingerprint == self._fingerprint:
                return False
            try:
                matcher = await self._build()
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
                "FAQ reloaded from %s: %d entries%s", self._directory, len(matcher.entries),
                _semantic_summary(matcher),
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
