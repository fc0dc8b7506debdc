"""The outcome of an IPHC batch call, shared by both backends.

The pure backend builds it from per-item lists.  The native backend keeps
what C wrote -- every output back to back in one buffer and the raw
``dm_lowpan_item`` records -- and builds the per-item lists only when they
are first read, so a caller that hands the outputs on as one buffer
(:meth:`Batch.buffer`, e.g. into ``pipeline.decode_batch``) never pays for
10,000 small byte strings.
"""

from __future__ import annotations

from array import array
from typing import Any

__all__ = ["Batch", "ITEM_WORDS"]

#: dm_lowpan_item: status, offset, length, header_length, err_offset, info (32 bits each)
ITEM_WORDS = 6
_STATUS, _OFFSET, _LENGTH, _HEADER_LENGTH, _ERR_OFFSET, _INFO = range(ITEM_WORDS)


class Batch:
    """Item by item: ``outputs[i]`` (None where item i failed),
    ``header_lengths[i]`` and ``infos[i]`` (0 where it failed), and
    ``failures``, the (index, status code, offset in the item) of the failed
    items in index order."""

    __slots__ = ("failures", "_outputs", "_header_lengths", "_infos", "_data", "_words")

    def __init__(
        self,
        outputs: list[bytes | None],
        header_lengths: list[int],
        infos: list[int],
        failures: list[tuple[int, int, int]],
    ) -> None:
        self._outputs: list[bytes | None] | None = outputs
        self._header_lengths: list[int] | None = header_lengths
        self._infos: list[int] | None = infos
        self.failures = failures
        self._data: memoryview | None = None
        self._words: Any = None

    @classmethod
    def from_records(cls, data: memoryview, words: memoryview, failures: list[tuple[int, int, int]]) -> Batch:
        """A batch over ``data`` (the outputs back to back, a failed item
        taking no room) and ``words`` (the dm_lowpan_item array as unsigned
        32-bit words, native byte order), both read-only views that the
        batch keeps."""
        self = object.__new__(cls)
        self._outputs = self._header_lengths = self._infos = None
        self.failures = failures
        self._data = data
        self._words = words
        return self

    def __len__(self) -> int:
        if self._words is not None:
            return len(self._words) // ITEM_WORDS
        return len(self._outputs or ())

    def _field(self, k: int) -> list[int]:
        return self._words[k::ITEM_WORDS].tolist()  # type: ignore[no-any-return]

    @property
    def outputs(self) -> list[bytes | None]:
        if self._outputs is None:
            assert self._data is not None
            data = self._data.tobytes()
            out: list[bytes | None] = [data[o : o + k] for o, k in zip(self._field(_OFFSET), self._field(_LENGTH))]
            for i, _, _ in self.failures:
                out[i] = None
            self._outputs = out
        return self._outputs

    @property
    def header_lengths(self) -> list[int]:
        if self._header_lengths is None:
            self._header_lengths = self._field(_HEADER_LENGTH)
        return self._header_lengths

    @property
    def infos(self) -> list[int]:
        if self._infos is None:
            self._infos = self._field(_INFO)
        return self._infos

    def buffer(self) -> tuple[bytes, array]:
        """The outputs back to back and the n + 1 offsets between them:
        item i's output is ``data[offsets[i]:offsets[i + 1]]``, empty where
        item i failed."""
        if self._words is not None:
            assert self._data is not None
            offsets = array("I", self._words[_OFFSET::ITEM_WORDS].tobytes())
            offsets.append(len(self._data))
            return self._data.tobytes(), offsets
        outputs = [b"" if o is None else o for o in self.outputs]
        offsets = array("I", [0])
        total = 0
        for o in outputs:
            total += len(o)
            offsets.append(total)
        return b"".join(outputs), offsets

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Batch):
            return NotImplemented
        return (self.outputs, self.header_lengths, self.infos, self.failures) == (
            other.outputs,
            other.header_lengths,
            other.infos,
            other.failures,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Batch({len(self)} items, {len(self.failures)} failed)"
