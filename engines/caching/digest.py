"""Content keys for numpy arrays: the cache keys of every engine's caches (style codes, encodings, labels).

Every array is hashed by content (shape, dtype, bytes; blake2b), so edits made in place are always seen.
Hashing a 1024x1024 photo costs a few milliseconds per render, so arrays that cannot change are hashed
once: read-only all the way down to an immutable buffer, which is what ``np.asarray(PIL.Image)`` gives.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

MEMO_SIZE = 128


def is_frozen(array: np.ndarray) -> bool:
    """True when no one can change the array's values in place (read-only down to a ``bytes`` buffer)."""
    node = array
    while isinstance(node, np.ndarray):
        if node.flags.writeable:
            return False
        node = node.base
    return isinstance(node, bytes)


def content_digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{array.shape}{array.dtype.str}".encode())
    h.update(memoryview(array).cast("B"))
    return h.hexdigest()


class Fingerprints:
    """``key(*arrays)``: one string for a tuple of arrays (None allowed), memoised for frozen arrays."""

    def __init__(self) -> None:
        # id -> (array, digest); holding the array keeps its id from being reused by another object.
        self._memo: OrderedDict[int, tuple[np.ndarray, str]] = OrderedDict()

    def digest(self, array: np.ndarray | None) -> str:
        if array is None:
            return "none"
        entry = self._memo.get(id(array))
        if entry is not None and entry[0] is array:
            self._memo.move_to_end(id(array))
            return entry[1]
        array_np = np.asarray(array)
        digest = content_digest(array_np)
        if array_np is array and is_frozen(array_np):
            self._memo[id(array)] = (array, digest)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return digest

    def key(self, *arrays: np.ndarray | None) -> str:
        return "/".join(self.digest(a) for a in arrays)

    def clear(self) -> None:
        self._memo.clear()


def array_digest(*arrays: np.ndarray | None, extra: object = None) -> str:
    """One key for several arrays' contents (dtype, shape and bytes) plus ``extra``."""
    digest = hashlib.blake2b(repr(extra).encode(), digest_size=16)
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()
