"""Send a big object (a built matcher) over a connection so that the receiving thread
never holds the GIL for long.

``Connection.recv()`` unpickles in one C call, which holds the GIL from start to end:
for a 10,000-entry index (some 60 MB of arrays) that stalled the server's event loop
thread for 70-130 ms. Here the object is pickled with protocol 5 and its buffers (numpy
arrays) out of band: the pickle proper is small, and each buffer travels as a series of
messages of at most :data:`CHUNK_BYTES`, read into a preallocated ``bytearray`` one at a
time; between two messages the thread is back in Python, where the event loop's thread
gets the GIL at the usual switch interval. Unpickling then wraps the received buffers
without copying them. (Strings are not out-of-band buffers; objects that hold much text
should pickle it as arrays, as :class:`faq.index.StringPack` does.)
"""

from __future__ import annotations

import pickle
from multiprocessing.connection import Connection

# at ~1 GB/s a copy of this size holds the GIL for about a millisecond
CHUNK_BYTES = 1 << 20


def send(connection: Connection, obj: object) -> None:
    """Send ``obj`` for :func:`receive`."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    connection.send((len(head), [view.nbytes for view in views]))
    for data in (memoryview(head), *views):
        for start in range(0, data.nbytes, CHUNK_BYTES):
            connection.send_bytes(data[start : start + CHUNK_BYTES])


def receive(connection: Connection) -> object:
    """An object sent by :func:`send`."""
    head_size, sizes = connection.recv()
    head = bytearray(head_size)
    buffers = [bytearray(size) for size in sizes]
    for target in (head, *buffers):
        for start in range(0, len(target), CHUNK_BYTES):
            connection.recv_bytes_into(target, start)
    return pickle.loads(head, buffers=buffers)
