"""Analysing a big batch of texts in the calling thread and in helper processes at once.

Tokenizing with SudachiPy and turning morphemes into features is CPU-bound Python: one
process uses one core, and a cold build of a 10,000-entry FAQ analyses some 40,000 texts.
:func:`analyze_in_parallel` cuts the texts into chunks that the calling thread and
``processes - 1`` helper processes take in turn, whoever is free taking the next, so a
helper that starts late or runs slowly on a busy machine holds nothing up. The calling
thread starts at once, so the helpers' start-up overlaps useful work. Batches are handed
back in chunk order: the result is the same, to the bit, as analysing in one process.

Helpers live for one call. They are started with :mod:`subprocess`, not
:mod:`multiprocessing` (the FAQ build process is a daemonic multiprocessing process, and
those may not have multiprocessing children), and speak the multiprocessing connection
protocol over a socket pair. Each loads its own SudachiPy dictionary; the dictionary file
is memory-mapped, so its pages are shared. A helper that dies or fails gives its chunk
back to the others; if all fail, the calling thread analyses everything itself.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from faq.analyzer import TextAnalyzer
from faq.feature_batch import FeatureBatch, TextKey, analyze_batch
from faq.synonyms import SynonymTable

# texts per chunk: big enough that a chunk's round trip (two pickles and a pipe) is a
# small part of its cost, small enough that the last chunks even out the processes
_MAX_CHUNK = 500
_MIN_CHUNK = 50
# how a helper starts: the faq package's parent directory goes on the path, so helpers
# work from a source checkout as from an installed package
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from faq.analysis_pool import serve; serve(int(sys.argv[1]))"
)
_READY = "ready"


def usable_cores() -> int:
    """How many cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class _Setup:
    """How the texts of this call are analysed."""

    loanwords: bool
    synonyms: SynonymTable


@dataclass(frozen=True)
class _Analyse:
    texts: Sequence[TextKey]


@dataclass(frozen=True)
class _Failure:
    message: str


def serve(fd: int) -> None:
    """Main function of a helper: analyse each chunk sent over the connection on ``fd``
    until asked to stop (``None``) or the caller goes away."""
    connection = Connection(fd)
    connection.send(_READY)
    analyzer = TextAnalyzer()
    synonyms = SynonymTable()
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if isinstance(request, _Setup):
            if analyzer.loanwords != request.loanwords:
                analyzer = TextAnalyzer(loanwords=request.loanwords)
            synonyms = request.synonyms
        elif isinstance(request, _Analyse):
            try:
                reply: FeatureBatch | _Failure = analyze_batch(analyzer, synonyms, request.texts)
            except Exception as exc:
                # the caller analyses the chunk itself (and hits the error there, if it is
                # not peculiar to this process); the traceback goes to the server's stderr
                traceback.print_exc()
                reply = _Failure(f"{type(exc).__name__}: {exc}")
            connection.send(reply)
        else:
            return


class _HelperFailed(Exception):
    pass


class _Helper:
    """One helper process and the caller's end of its connection."""

    def __init__(self) -> None:
        parent, child = multiprocessing.Pipe()
        root = str(Path(__file__).resolve().parent.parent)
        self._process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(child.fileno()), root],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        child.close()
        self._connection = parent
        self.ready = threading.Event()

    def wait_ready(self) -> None:
        if self._connection.recv() != _READY:
            raise _HelperFailed("unexpected greeting")
        self.ready.set()

    def setup(self, loanwords: bool, synonyms: SynonymTable) -> None:
        self._connection.send(_Setup(loanwords, synonyms))

    def analyse(self, texts: Sequence[TextKey]) -> FeatureBatch:
        self._connection.send(_Analyse(texts))
        reply = self._connection.recv()
        if not isinstance(reply, FeatureBatch):
            raise _HelperFailed(reply.message if isinstance(reply, _Failure) else "bad reply")
        return reply

    def kill(self) -> None:
        """End the process now (it holds no work)."""
        self._process.kill()

    def stop(self) -> None:
        """Ask the process to end, and reap it."""
        try:
            self._connection.send(None)
        except OSError:
            pass
        self._connection.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class _Chunks:
    """The chunks of one call: each handed out once (given back if its helper failed),
    results collected until taken in order."""

    def __init__(self, count: int) -> None:
        self._changed = threading.Condition()
        self._count = count
        self._next = 0
        self._returned: list[int] = []
        self._results: dict[int, FeatureBatch] = {}
        self._closed = False

    def take(self) -> int | None:
        """The next chunk to analyse, or None when there is none left to hand out."""
        with self._changed:
            if self._closed:
                return None
            if self._returned:
                return self._returned.pop()
            if self._next < self._count:
                self._next += 1
                return self._next - 1
            return None

    def give_back(self, index: int) -> None:
        with self._changed:
            self._returned.append(index)
            self._changed.notify_all()

    def deliver(self, index: int, batch: FeatureBatch) -> None:
        with self._changed:
            self._results[index] = batch
            self._changed.notify_all()

    def wait(self, index: int) -> None:
        """Until chunk ``index`` is analysed or a chunk was given back."""
        with self._changed:
            self._changed.wait_for(lambda: index in self._results or bool(self._returned))

    def pop(self, index: int) -> FeatureBatch | None:
        with self._changed:
            return self._results.pop(index, None)

    def close(self) -> None:
        """Hand out nothing more."""
        with self._changed:
            self._closed = True


def _feed(
    helper: _Helper,
    chunks: _Chunks,
    pieces: list[Sequence[TextKey]],
    loanwords: bool,
    synonyms: SynonymTable,
) -> None:
    """Thread body: give the helper chunks until none are left."""
    try:
        helper.wait_ready()
        helper.setup(loanwords, synonyms)
        while (index := chunks.take()) is not None:
            try:
                batch = helper.analyse(pieces[index])
            except BaseException:
                chunks.give_back(index)
                raise
            chunks.deliver(index, batch)
    except (EOFError, OSError, _HelperFailed):
        pass  # the helper died or failed: the others (at least the caller) do its share
    finally:
        helper.stop()


def analyze_in_parallel(
    analyzer: TextAnalyzer,
    synonyms: SynonymTable,
    texts: Sequence[TextKey],
    processes: int,
) -> Generator[tuple[Sequence[TextKey], FeatureBatch], None, None]:
    """Consecutive pieces of ``texts`` with their analysis, in order, analysed by this
    thread (with ``analyzer``) and ``processes - 1`` helper processes. Closing the
    generator early stops the helpers."""
    size = max(_MIN_CHUNK, min(_MAX_CHUNK, -(-len(texts) // (4 * processes))))
    pieces = [texts[i : i + size] for i in range(0, len(texts), size)]
    chunks = _Chunks(len(pieces))
    helpers: list[_Helper] = []
    feeders: list[threading.Thread] = []
    try:
        for _ in range(processes - 1):
            try:
                helper = _Helper()
            except OSError:
                break  # no interpreter to start (an embedded Python): analyse here alone
            helpers.append(helper)
            feeder = threading.Thread(
                target=_feed,
                args=(helper, chunks, pieces, analyzer.loanwords, synonyms),
                name="faq-analysis-feeder",
                daemon=True,
            )
            feeder.start()
            feeders.append(feeder)
        done = 0
        while done < len(pieces):
            index = chunks.take()
            if index is not None:
                chunks.deliver(index, analyze_batch(analyzer, synonyms, pieces[index]))
            else:
                chunks.wait(done)
            while (batch := chunks.pop(done)) is not None:
                yield pieces[done], batch
                done += 1
    finally:
        chunks.close()
        for helper in helpers:
            if not helper.ready.is_set():
                helper.kill()  # still starting: it has no chunk, and waiting buys nothing
        for feeder in feeders:
            feeder.join()
        for helper in helpers[len(feeders) :]:
            helper.stop()  # its feeder never started
