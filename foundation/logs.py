"""Logging set up once in the entry point, with personal data masked in every record."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from foundation.masks import PLATE, mask_phones

LONG_NUMBER = re.compile(r"(?<![\d-])\d{7,}(?!\d)")
BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
URL_SECRET = re.compile(r"((?:token|secret|password)=)[^&\s\"']+", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def mask(text: str) -> str:
    """Mask secrets (bot token, tokens in URLs, database passwords), plates, phones and long ids
    (Telegram user/chat ids) in a log line."""
    text = BOT_TOKEN.sub("<bot-token>", text)
    text = URL_SECRET.sub(r"\1***", text)
    text = URL_PASSWORD.sub(r"\1***@", text)
    text = mask_phones(text)  # before plates: an ID card number ends like a plate
    text = PLATE.sub(r"\1****", text)
    return LONG_NUMBER.sub(lambda m: m.group(0)[:2] + "…", text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter("[bot    ] %(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def quiet_console(log_file: Path) -> None:
    """During the terminal chat: only warnings on screen, everything in `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(logging.WARNING)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(MaskingFormatter("[bot    ] %(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(to_file)
