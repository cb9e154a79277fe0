"""Secrets: the key kept on disk when none is configured, placeholders, and signed Rasa sender ids."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

# every secret in deploy/env.example says "replace-with-…"; the last is the old embedded PSEUDONYM_KEY
PLACEHOLDER_MARK = "replace-with"
OLD_DEFAULT_KEY = "transport-complaints"
OWNER_BYTES = 16


class SecretFileError(OSError):
    """The key file exists but cannot be used (unreadable, empty, or open to other users)."""


def is_placeholder(value: str) -> bool:
    """A value copied from deploy/env.example unchanged, or the key once embedded in the code."""
    return PLACEHOLDER_MARK in value.lower() or value == OLD_DEFAULT_KEY


def kept_key(path: Path) -> str:
    """The key in `path`, made on first use (64 hex characters, readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path.with_suffix(f".{os.getpid()}.tmp"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            os.link(path.with_suffix(f".{os.getpid()}.tmp"), path)  # two processes starting at once: one wins
        except FileExistsError:
            pass
        finally:
            path.with_suffix(f".{os.getpid()}.tmp").unlink()
    if path.stat().st_mode & 0o077:
        raise SecretFileError(f"{path} is readable by other users; chmod 600 it")
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise SecretFileError(f"{path} is empty; delete it to have a new key made (only if nothing was hashed yet)")
    return key


def owner_token(key: bytes, sender: str) -> str:
    """Proof, sent with each message to Rasa, that the bot gave this sender id (actions check it)."""
    return hmac.new(key, b"rasa-sender:" + sender.encode(), hashlib.sha256).hexdigest()[: OWNER_BYTES * 2]


def owner_matches(key: bytes, sender: str, token: object) -> bool:
    return isinstance(token, str) and hmac.compare_digest(owner_token(key, sender), token)


def derived_token(secret: str, purpose: str) -> str:
    """A second secret derived from a configured one, for one purpose (e.g. the action server's token)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()
