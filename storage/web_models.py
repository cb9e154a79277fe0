"""What the dashboard adds (web/): topic labels staff rename, one-time sign-in links sent by the bot and
the sessions they open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.clock import utcnow
from storage.models import Base


class TopicLabel(Base):
    """A recurring issue's short name (place + matter), kept across weeks: each week's group and the ledger
    item of the same topic show it, and a name staff gave in the dashboard replaces the generated one."""

    __tablename__ = "topic_labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    generated: Mapped[str] = mapped_column(String(64))  # what the digest proposed the first time
    centroid: Mapped[bytes] = mapped_column(LargeBinary)  # the topic's mean in the digest's centred space
    weight: Mapped[int] = mapped_column(Integer, default=0)  # complaints the centroid is the mean of
    renamed_by: Mapped[str | None] = mapped_column(String(64))
    renamed_at: Mapped[datetime | None] = mapped_column()
    first_week: Mapped[str] = mapped_column(String(8))
    last_week: Mapped[str] = mapped_column(String(8))


class WebLink(Base):
    """A one-time sign-in link to the dashboard, sent to a staff member's private chat (stored hashed)."""

    __tablename__ = "web_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # staff or supervisor
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class WebSession(Base):
    """A signed-in browser; the cookie holds the token, the database its hash."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
