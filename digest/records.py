"""Complaint records: what the digest groups, stored when a complaint arrives (bot) or is imported."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation import embedding
from storage.models import Case, ComplaintRecord

logger = logging.getLogger(__name__)

BOT_CHANNEL = "机器人"
PHOTO_ONLY_TEXT = ""


def reporter_pseudonym(kind: str, value: str, key: bytes) -> str:
    """A keyed hash of a phone, plate or name from an imported row: the same person counts once, and the
    digest never holds the value itself."""
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}:{digest[:24]}"


def try_embed(texts: list[str]) -> list[bytes | None]:
    """Embeddings as stored bytes; None for empty texts, and for all when the model fails (the weekly job
    fills the gaps, so a failure here never loses the complaint)."""
    try:
        vectors = embedding.embed(texts)
    except Exception:  # the model is a native library: any failure is logged and left to the backfill
        logger.exception("Could not embed %d complaint text(s); the digest job will retry", len(texts))
        return [None] * len(texts)
    return [embedding.to_bytes(v) if text.strip() else None for v, text in zip(vectors, texts, strict=True)]


def record_case(session: Session, case: Case, station: str | None, has_photo: bool) -> ComplaintRecord:
    """The record of a complaint case filed with the bot (in the case's own transaction)."""
    text = case.summary.strip()
    [vector] = try_embed([text])
    record = ComplaintRecord(
        dedup_key=f"case:{case.id}",
        source="bot",
        case_id=case.id,
        channel=BOT_CHANNEL,
        external_id=case.number,
        text=text,
        has_photo=has_photo,
        received_at=case.created_at,
        station=station,
        category=case.category,
        unit=case.unit,
        reporter_key=f"r:{case.reporter_id}",
        embedding=vector,
        embedding_model=embedding.MODEL if vector is not None else None,
    )
    session.add(record)
    return record


def embed_missing(session: Session, start: datetime, end: datetime, batch: int = 256) -> int:
    """Embed the records of [start, end) stored without a vector (the model failed when they arrived);
    returns how many."""
    query = select(ComplaintRecord).where(
        ComplaintRecord.received_at >= start,
        ComplaintRecord.received_at < end,
        ComplaintRecord.embedding.is_(None),
        ComplaintRecord.text != PHOTO_ONLY_TEXT,
    )
    missing = list(session.scalars(query))
    done = 0
    for first in range(0, len(missing), batch):
        chunk = missing[first : first + batch]
        vectors = embedding.embed([r.text for r in chunk])
        for record, vector in zip(chunk, vectors, strict=True):
            record.embedding = embedding.to_bytes(vector)
            record.embedding_model = embedding.MODEL
            done += 1
    return done
