"""Sign-in to the dashboard without passwords: one-time links and the sessions they open.

Only hashes of the tokens are stored, so a copy of the database opens no browser session. A link is
spent by the update that marks it used (compare-and-set), so two browsers racing with one link cannot
both get in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.web_models import WebLink, WebSession

ROLES = ("staff", "supervisor")


class LinkRefused(Exception):
    """A sign-in link that cannot be used; the message (Chinese) is shown on the page."""


class LinkUnknown(LinkRefused):
    """No such link was ever issued."""


class LinkExpired(LinkRefused):
    """The link is older than its lifetime."""


class LinkUsed(LinkRefused):
    """The link was used once already."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the dashboard."""

    telegram_user_id: int
    name: str | None
    role: str

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def label(self) -> str:
        """As the audit trail names staff (storage.desk.Actor.staff), marked as seen on the web."""
        return f"staff:{self.telegram_user_id}:{(self.name or '')[:32]}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, viewer: Viewer, now: datetime, lifetime: timedelta) -> str:
    """A new one-time token for `viewer`; returns the token (only its hash is stored)."""
    if viewer.role not in ROLES:
        raise ValueError(f"unknown role {viewer.role!r}")
    token = secrets.token_urlsafe(32)
    session.add(
        WebLink(
            token_hash=_hash(token),
            telegram_user_id=viewer.telegram_user_id,
            name=(viewer.name or "")[:64] or None,
            role=viewer.role,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def redeem_link(session: Session, token: str, now: datetime) -> Viewer:
    """Spend a link; raises LinkUnknown, LinkExpired or LinkUsed."""
    link = session.scalar(select(WebLink).where(WebLink.token_hash == _hash(token)))
    if link is None:
        raise LinkUnknown("登录链接无效。请在工作群发送 /web 获取新的链接。")
    if link.used_at is not None:
        raise LinkUsed("该登录链接已使用过，每个链接只能使用一次。请在工作群发送 /web 获取新的链接。")
    if link.expires_at <= now:
        raise LinkExpired("登录链接已过期。请在工作群发送 /web 获取新的链接。")
    spent = session.execute(
        update(WebLink).where(WebLink.id == link.id, WebLink.used_at.is_(None)).values(used_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if spent != 1:
        raise LinkUsed("该登录链接已使用过，每个链接只能使用一次。请在工作群发送 /web 获取新的链接。")
    return Viewer(link.telegram_user_id, link.name, link.role)


def open_session(session: Session, viewer: Viewer, now: datetime, lifetime: timedelta) -> str:
    """A session for `viewer`; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            telegram_user_id=viewer.telegram_user_id,
            name=viewer.name,
            role=viewer.role,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def viewer_of(session: Session, token: str, now: datetime) -> Viewer | None:
    """The viewer of a live session, or None (unknown or expired)."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is None or row.expires_at <= now:
        return None
    return Viewer(row.telegram_user_id, row.name, row.role)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def purge_expired(session: Session, now: datetime) -> int:
    """Drop expired links and sessions (run on each sign-in: they are few)."""
    links = session.execute(delete(WebLink).where(WebLink.expires_at <= now - timedelta(days=1))).rowcount  # type: ignore[attr-defined]
    sessions = session.execute(delete(WebSession).where(WebSession.expires_at <= now)).rowcount  # type: ignore[attr-defined]
    return int(links or 0) + int(sessions or 0)
