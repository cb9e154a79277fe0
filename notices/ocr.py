"""Text lines from a photo, read offline on the CPU by RapidOCR (PP-OCR's Chinese models inside the wheel)."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1280  # printed text of a phone photo stays legible; reading time grows with the pixels


class UnreadableImage(ValueError):
    """The bytes are not an image that can be opened."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    top: float
    left: float
    height: float


class OcrEngine(Protocol):
    name: str

    def lines(self, image: Image.Image) -> list[OcrLine]: ...


def open_photo(data: bytes) -> Image.Image:
    """The photo upright (EXIF orientation applied), RGB, no larger than MAX_SIDE."""
    try:
        with Image.open(io.BytesIO(data)) as original:
            upright = ImageOps.exif_transpose(original).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnreadableImage(str(exc)) from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    return upright


class RapidOcr:
    """RapidOCR on ONNX Runtime; the models load on first use, once per process."""

    name = "RapidOCR (PP-OCRv4, ONNX Runtime)"

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._engine: Any = None
        self._loading = threading.Lock()

    def _loaded(self) -> Any:
        with self._loading:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR  # heavy: imported when the first photo arrives

                self._engine = RapidOCR(intra_op_num_threads=self._threads, inter_op_num_threads=1)
            return self._engine

    def lines(self, image: Image.Image) -> list[OcrLine]:
        result, _elapsed = self._loaded()(np.asarray(image))
        found: list[OcrLine] = []
        for box, text, score in result or []:
            ys = [point[1] for point in box]
            xs = [point[0] for point in box]
            found.append(OcrLine(str(text), float(score), min(ys), min(xs), max(ys) - min(ys)))
        return found
