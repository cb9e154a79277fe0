"""Small valid media files the simulated users send when a test gives no bytes of its own."""

from __future__ import annotations

import functools
import struct


@functools.cache
def default_jpeg() -> bytes:
    """An 8x8 mid-grey baseline JPEG (DC-only, one-symbol Huffman tables)."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", marker, len(body) + 2) + body

    single_code = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1 for symbol 0
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xFFDB, b"\x00" + b"\x01" * 64),
            segment(0xFFC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00"),
            segment(0xFFC4, b"\x00" + single_code),
            segment(0xFFC4, b"\x10" + single_code),
            segment(0xFFDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x3f\xff\xd9",  # DC diff 0 + EOB, padded with ones; then EOI
        ]
    )


@functools.cache
def default_ogg() -> bytes:
    """A 20 ms silent mono Ogg Opus stream (OpusHead, OpusTags, one audio page)."""

    def crc(data: bytes) -> int:
        value = 0
        for byte in data:
            value ^= byte << 24
            for _ in range(8):
                value = ((value << 1) ^ 0x04C11DB7 if value & 0x80000000 else value << 1) & 0xFFFFFFFF
        return value

    def page(packet: bytes, seq: int, granule: int, flags: int) -> bytes:
        header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x4C4F4341, seq, 0, 1)
        raw = header + bytes([len(packet)]) + packet
        return raw[:22] + struct.pack("<I", crc(raw)) + raw[26:]

    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 9) + b"local_api" + struct.pack("<I", 0)
    return page(head, 0, 0, 2) + page(tags, 1, 0, 0) + page(b"\xf8\xff\xfe", 2, 312 + 960, 4)
