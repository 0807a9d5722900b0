"""Index building blocks: string packing in groups, the feature table, the radix order,
and sending big objects in chunks."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from multiprocessing.connection import Connection

import numpy as np
import pytest

from faq import chunked_pickle
from faq.index import FeatureTable, SparseIndex, StringPack, stable_order


def test_string_pack_round_trips_any_strings_in_groups() -> None:
    big = "送" * (StringPack.GROUP_BYTES // 2)  # 1.5 groups of UTF-8 on its own
    strings = ["", "送料", "a\0b", big, "😀", "", big, "改行\nあり", "x" * 10]
    packed = StringPack.pack(strings)
    assert StringPack.unpack(packed) == strings
    assert len(packed.group_sizes) > 2 and packed.group_sizes.sum() == len(strings)
    assert packed.group_bytes.sum() == len(packed.data)
    assert StringPack.unpack(StringPack.pack([])) == []
    assert StringPack.unpack(StringPack.pack([""])) == [""]


def test_feature_table_round_trip() -> None:
    ids = {f"w:{i}語": i for i in range(50_000)}
    ids["r:あ\0い"] = 50_000
    assert FeatureTable.unpack(FeatureTable.pack(ids)) == ids
    assert FeatureTable.unpack(FeatureTable.pack({})) == {}


@pytest.mark.parametrize("bound", [1, 7, 1 << 16, (1 << 16) + 1, 300_000, 1 << 32, (1 << 40)])
def test_stable_order_is_a_stable_argsort(bound: int) -> None:
    keys = np.random.default_rng(bound).integers(0, bound, 5000)
    assert np.array_equal(stable_order(keys, bound), np.argsort(keys, kind="stable"))
    assert len(stable_order(keys[:0], bound)) == 0


def test_sparse_index_keeps_the_callers_document_order_within_a_feature() -> None:
    # feature ids above 2**16 take the two-pass radix order
    docs = np.array([3, 1, 2, 0, 1])
    features = np.array([70_000, 70_000, 5, 70_000, 5])
    index = SparseIndex(docs, features, np.array([1.0, 2.0, 3.0, 4.0, 0.5]),
                        size=4, features=70_001)
    assert index.scores([(70_000, 1.0)]).tolist() == [4.0, 2.0, 0.0, 1.0]
    assert index.scores([(5, 2.0), (70_000, 1.0)]).tolist() == [4.0, 3.0, 6.0, 1.0]


class _Recording:
    """The sending end of a pipe that notes the size of every message."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.sizes: list[int] = []

    def send(self, obj: object) -> None:
        self.sizes.append(len(pickle.dumps(obj)))
        self._connection.send(obj)

    def send_bytes(self, data: memoryview) -> None:
        self.sizes.append(data.nbytes)
        self._connection.send_bytes(data)


def test_chunked_pickle_sends_arrays_out_of_band_in_small_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chunked_pickle, "CHUNK_BYTES", 4096)
    weights = np.arange(100_000, dtype=np.float64) / 7
    ids = np.arange(30_000, dtype=np.int32)[::-1].copy()
    payload = {
        "weights": weights,
        "ids": ids,
        "names": StringPack.pack(f"語{i}" for i in range(20_000)),
        "small": ("ok", 1),
    }
    sending, receiving = multiprocessing.Pipe()
    recorder = _Recording(sending)
    sender = threading.Thread(target=chunked_pickle.send, args=(recorder, payload))
    sender.start()
    received = chunked_pickle.receive(receiving)
    sender.join()
    assert isinstance(received, dict) and received.keys() == payload.keys()
    assert np.array_equal(received["weights"], weights)
    assert np.array_equal(received["ids"], ids)
    assert StringPack.unpack(received["names"]) == [f"語{i}" for i in range(20_000)]
    assert received["small"] == ("ok", 1)
    assert max(recorder.sizes) <= 4096
    assert sum(recorder.sizes) > weights.nbytes  # the data did travel
