"""Referrals for matters that are not ours: the channel to use instead (content/referrals.yml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class ReferralsFileError(ValueError):
    """content/referrals.yml is malformed."""


@dataclass(frozen=True)
class Referral:
    key: str
    channel: str
    reason: str


def load_referrals(path: Path) -> dict[str, Referral]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ReferralsFileError(f"{path}: {exc}") from exc
    found: dict[str, Referral] = {}
    for index, entry in enumerate(raw.get("referrals") or []):
        missing = {"key", "channel", "reason"} - set(entry or {})
        if missing:
            raise ReferralsFileError(f"{path}: referrals[{index}]: missing {', '.join(sorted(missing))}")
        key = str(entry["key"]).lower()
        if key in found:
            raise ReferralsFileError(f"{path}: referrals[{index}]: duplicate key {key!r}")
        found[key] = Referral(key, str(entry["channel"]), str(entry["reason"]))
    if not found:
        raise ReferralsFileError(f"{path}: no referrals")
    return found
