"""Bytes to text: UTF-8, a byte-order mark, or a detected encoding; binary is refused."""

from __future__ import annotations

import codecs

from worker.ingest.formats.draft import UnreadableError

__all__ = ["BINARY_SAMPLE", "decode", "looks_binary"]

BINARY_SAMPLE = 8192

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> str:
    """The text of a file: UTF-8, a byte-order mark, or a detected encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_after_bom(data, bom, encoding)
    if looks_binary(data[:BINARY_SAMPLE]):
        raise UnreadableError("binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only for a file that is not UTF-8

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableError("unknown text encoding; save the file as UTF-8")
    return str(best)


def _decode_after_bom(data: bytes, bom: bytes, encoding: str) -> str:
    try:
        return data[len(bom) :].decode(encoding)
    except UnicodeDecodeError as error:
        at = len(bom) + error.start
        message = f"not valid {encoding.upper()} at byte {at}; save the file as UTF-8"
        raise UnreadableError(message) from None


# Every byte but the control characters that no text a person wrote holds.
_NOT_CONTROL = bytes(byte for byte in range(256) if byte >= 32 or byte in b"\t\n\r\f\v\x1b")


def looks_binary(sample: bytes) -> bool:
    """NUL bytes, or many control characters, are not in any text a person wrote."""
    if b"\x00" in sample:
        return True
    controls = len(sample.translate(None, _NOT_CONTROL))  # the control characters left
    return controls > max(2, len(sample) // 100)
