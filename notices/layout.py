"""OCR boxes put back into reading order: rows top to bottom, boxes on one row left to right."""

from __future__ import annotations

from notices.ocr import OcrLine

MIN_SCORE = 0.8  # a line read with less confidence is left out rather than guessed from


def rows(lines: list[OcrLine]) -> list[str]:
    """The page's rows of text; boxes whose tops lie within half a line of each other share a row."""
    kept = sorted((line for line in lines if line.score >= MIN_SCORE and line.text.strip()), key=lambda line: line.top)
    grouped: list[list[OcrLine]] = []
    for line in kept:
        if grouped and abs(line.top - grouped[-1][0].top) < max(line.height, grouped[-1][0].height) / 2:
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return ["".join(part.text for part in sorted(row, key=lambda box: box.left)) for row in grouped]


def confidence(lines: list[OcrLine]) -> float:
    """The mean score of the lines read (0 when nothing was read)."""
    return sum(line.score for line in lines) / len(lines) if lines else 0.0
