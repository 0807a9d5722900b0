"""Sentence vectors kept on disk by content hash, so that a restart does not encode again.

Encoding a 10,000-entry English FAQ with the sentence encoder takes minutes on a small
machine; a restart, a deploy or a second replica would otherwise spend them again before
the server answers with encoder evidence. A vector depends only on the model and the
text, so the cache is keyed by both: one file pair per model (its fingerprint, a hash of
its files, in the name) holding a digest per text and the vector rows.

The files hold the vectors of the FAQ last built, so they do not grow with every edit;
they are replaced atomically (written aside, then renamed), so replicas sharing the
directory read either the old or the new pair, never half of one. A pair that does not
read back (a crash mid-write of an older version, a disk error, another model) is
ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faq.encoder import Float32Array

_DIGEST_BYTES = 16  # blake2b-128: collisions are out of reach for any FAQ's texts
_MAGIC = b"helpdesk-vectors-1\n"


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_DIGEST_BYTES).digest()


@dataclass(frozen=True)
class VectorCache:
    """The cache directory (``HELPDESK_FAQ_CACHE_DIR``)."""

    directory: Path
    logger: logging.Logger

    def _path(self, fingerprint: str) -> Path:
        return self.directory / f"vectors-{fingerprint}.bin"

    def load(self, fingerprint: str, dimensions: int) -> dict[bytes, Float32Array]:
        """The cached vector of each text digest for this model (empty when none)."""
        path = self._path(fingerprint)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self.logger.warning("FAQ vector cache not read: %s", exc)
            return {}
        header = len(_MAGIC) + 8
        if not data.startswith(_MAGIC) or len(data) < header:
            self.logger.warning("FAQ vector cache %s is not ours; it will be rewritten", path)
            return {}
        count = int.from_bytes(data[len(_MAGIC) : header], "little")
        row = dimensions * 4
        if len(data) != header + count * (_DIGEST_BYTES + row):
            self.logger.warning("FAQ vector cache %s is damaged; it will be rewritten", path)
            return {}
        keys = data[header : header + count * _DIGEST_BYTES]
        vectors = np.frombuffer(
            data, dtype="<f4", count=count * dimensions, offset=header + count * _DIGEST_BYTES
        ).reshape(count, dimensions)
        return {
            keys[i * _DIGEST_BYTES : (i + 1) * _DIGEST_BYTES]: vectors[i] for i in range(count)
        }

    def save(self, fingerprint: str, digests: Sequence[bytes], vectors: Float32Array) -> None:
        """Replace this model's file with these texts' vectors (best effort: a cache that
        cannot be written is logged, and the server goes on)."""
        path = self._path(fingerprint)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as out:
                out.write(_MAGIC + len(digests).to_bytes(8, "little"))
                out.write(b"".join(digests))
                out.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
            partial.replace(path)
        except OSError as exc:
            self.logger.warning("FAQ vector cache not written: %s", exc)
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
