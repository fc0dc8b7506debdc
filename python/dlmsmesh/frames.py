"""Frames as the pipeline and the batch codecs take them: one buffer and the offsets between
frames (what a receive loop keeps), or any sequence of byte strings."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import accumulate
from typing import Any, Union

__all__ = ["FrameBuffer", "FramesLike", "as_buffer", "retired_check"]

_MAX = 0xFFFFFFFF


class FrameBuffer:
    """Frames back to back in one buffer: frame i is
    ``data[offsets[i]:offsets[i + 1]]``.

    A receive loop appends datagrams as they come (:meth:`append`, or
    :meth:`recv_into` straight from a socket) and hands the whole buffer to
    :func:`~dlmsmesh.pipeline.decode_batch` without joining anything;
    :meth:`clear` starts the next batch in the same memory.
    """

    __slots__ = ("data", "offsets", "generation")

    def __init__(self, data: bytes | bytearray | memoryview = b"", offsets: Sequence[int] | None = None) -> None:
        self.data: Any = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        #: bumped by clear(): results decoded from the frames before it are retired
        self.generation = 0
        if offsets is None:
            offsets = [0, len(self.data)] if len(self.data) else [0]
        self.offsets = offsets if isinstance(offsets, array) and offsets.typecode == "I" else array("I", offsets)
        o = self.offsets
        if not o or o[0] != 0 or o[-1] != len(self.data) or any(a > b for a, b in zip(o, o[1:])):
            raise ValueError("offsets must rise from 0 to len(data)")

    @classmethod
    def join(cls, frames: Sequence[bytes | bytearray | memoryview]) -> FrameBuffer:
        """The frames of a sequence, copied into one buffer."""
        data = b"".join(frames)
        offsets = array("I", [0])
        offsets.extend(accumulate(map(len, frames)))
        return cls._trusted(data, offsets)

    @classmethod
    def _trusted(cls, data: Any, offsets: array[int]) -> FrameBuffer:
        if len(data) > _MAX:
            raise ValueError("a batch holds at most 4 GiB of frames")
        self = object.__new__(cls)
        self.data = data
        self.offsets = offsets
        self.generation = 0
        return self

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        if i < 0:
            i += len(self)
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]])

    def __repr__(self) -> str:
        return f"FrameBuffer({len(self)} frames, {len(self.data)} bytes)"

    def _growable(self) -> bytearray:
        if not isinstance(self.data, bytearray):
            self.data = bytearray(self.data)
        return self.data

    def append(self, frame: bytes | bytearray | memoryview) -> None:
        data = self._growable()
        data += frame
        if len(data) > _MAX:
            raise ValueError("a batch holds at most 4 GiB of frames")
        self.offsets.append(len(data))

    def recv_into(self, sock: Any, bufsize: int = 2048) -> int:
        """Receive one datagram from ``sock`` as the next frame; its length."""
        data = self._growable()
        start = len(data)
        data.extend(bytes(bufsize))
        n: int = 0
        try:
            with memoryview(data) as view:
                n = sock.recv_into(view[start:], bufsize)
        finally:
            del data[start + n :]
        self.offsets.append(start + n)
        return n

    def clear(self) -> None:
        """Drop every frame, keeping the memory (a result decoded from the
        frames before reads them no more: its accessors raise)."""
        self.generation += 1
        if isinstance(self.data, bytearray):
            del self.data[:]
        else:
            self.data = bytearray()
        del self.offsets[1:]


FramesLike = Union[FrameBuffer, Sequence[Union[bytes, bytearray, memoryview]]]


def retired_check(fb: FrameBuffer, then: Any = None) -> Any:
    """A check that raises once ``fb`` was cleared (and runs ``then``)."""
    gen = fb.generation

    def check() -> None:
        if fb.generation != gen:
            raise RuntimeError("this batch result was decoded from a FrameBuffer that has been cleared since")
        if then is not None:
            then()

    return check


def as_buffer(frames: FramesLike) -> FrameBuffer:
    """``frames`` as one buffer (copied only when it is not one already)."""
    if isinstance(frames, FrameBuffer):
        return frames
    return FrameBuffer.join(frames)
