"""Logging set up once in the entry point, with personal data masked in every record."""

from __future__ import annotations

import logging
import re
from pathlib import Path

PLATE = re.compile(
    r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Za-z])[·.\s-]?[A-Za-z0-9]{4,6}"
)
PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
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
    text = PLATE.sub(r"\1****", text)
    text = PHONE.sub(r"\1****\2", text)
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
