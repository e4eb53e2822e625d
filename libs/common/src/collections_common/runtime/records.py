"""Reading Kafka record batches so that no record's bytes can stop a consumer.

aiokafka decodes every header name as strict UTF-8 while it reads a fetched batch: one record
whose header name is other bytes makes every ``getmany`` raise, before the runner sees a record,
and the partition never moves again. ``install`` makes the consumer read batches through
``LenientRecords``: the fast (compiled) reader as before, and, only for a batch it cannot decode,
a second pass that keeps such a name's bytes (as ``surrogateescape`` text, which encodes back to
the same bytes). The record then reaches the runner like any other: applied if it is a valid
event, dead-lettered otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, SupportsIndex

from aiokafka.consumer import fetcher
from aiokafka.record.default_records import DefaultRecordBatch, _DefaultRecordBatchPy
from aiokafka.record.memory_records import _MemoryRecordsPy

_MAGIC_OFFSET = 16  # struct ">qii": base offset, length, partition leader epoch


class _LenientBytes(bytearray):
    """A buffer whose slices decode bytes that are not UTF-8 with ``surrogateescape``."""

    def __getitem__(self, index: Any) -> Any:
        item = super().__getitem__(index)
        return _LenientBytes(item) if isinstance(index, slice) else item

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self).decode(encoding, "surrogateescape")


class _LenientBatch(_DefaultRecordBatchPy):  # type: ignore[misc]
    """aiokafka's pure-Python batch reader over a lenient buffer."""

    def __init__(self, buffer: memoryview) -> None:
        super().__init__(buffer)
        self._buffer: bytearray = _LenientBytes(buffer)

    def _maybe_uncompress(self) -> None:
        super()._maybe_uncompress()
        if not isinstance(self._buffer, _LenientBytes):
            self._buffer = _LenientBytes(self._buffer)


class _Batch:
    """A v2 record batch read by the compiled reader, re-read leniently if it fails to decode."""

    def __init__(self, raw: memoryview) -> None:
        self._raw = raw
        self._fast = DefaultRecordBatch(raw)
        self._records: Iterator[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fast, name)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._records is None:
            self._records = self._read()
        return next(self._records)

    def _read(self) -> Iterator[Any]:
        read = 0
        try:
            for record in self._fast:
                read += 1
                yield record
        except UnicodeDecodeError:
            for index, record in enumerate(_LenientBatch(self._raw)):
                if index >= read:
                    yield record


class LenientRecords(_MemoryRecordsPy):  # type: ignore[misc]
    """The records of one fetched partition, batch by batch (see the module docstring)."""

    def next_batch(self, *args: SupportsIndex) -> Any:
        raw = self._next_slice
        if raw is not None and len(raw) > _MAGIC_OFFSET and raw[_MAGIC_OFFSET] >= 2:
            self._cache_next()
            return _Batch(raw)
        return super().next_batch(*args)


def install() -> None:
    """Make aiokafka's consumers read fetched records with ``LenientRecords``."""
    fetcher.MemoryRecords = LenientRecords  # type: ignore[misc]
