"""Pictures that attack the decoder, made without decoding anything."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _zeros_deflated(chunk: int, count: int) -> bytes:
    """A zlib stream of count × chunk zero bytes, compressed once and repeated (a full flush makes each
    block stand alone), so making it costs milliseconds, not the seconds of compressing it all."""
    packer = zlib.compressobj(9)
    zeros = b"\x00" * chunk
    head = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(count):
        checksum = zlib.adler32(zeros, checksum)
    final_empty_block = b"\x03\x00"
    return head + block * (count - 1) + final_empty_block + struct.pack(">I", checksum)


def png_bomb(side: int = 13_300) -> bytes:
    """A black RGB PNG of side × side pixels: under 1 MB on disk, side² × 3 bytes once decoded."""
    rows_per_chunk = 100 if side % 100 == 0 else 1
    body = _zeros_deflated((side * 3 + 1) * rows_per_chunk, side // rows_per_chunk)
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def heic_file() -> bytes:
    """The start of an iPhone HEIC photo (an ISO-BMFF `ftyp` box, brand heic): a picture Pillow cannot read."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + b"\x00" * 64
