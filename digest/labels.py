"""Topic labels people can read: a short "place：matter" per group, without personal data or emoji, kept
for the same topic in later weeks (a name staff gave in the dashboard wins over the generated one).

A topic is matched by the rule that builds groups and matches ledger items: a group belongs to the topic
whose centroid its mean reaches the grouping threshold with (the average similarity of their members).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from digest.analysis import Group
from foundation.masks import scrub
from storage.models import DigestGroup, LedgerItem
from storage.web_models import TopicLabel

LABEL_CHARS = 24  # what a chart's axis and a table cell show without wrapping
_PLACEHOLDER = re.compile(r"〔[^〕]*〕")
# what foundation.logs.mask left of a plate (鲁K****), a phone (139****5678) or a long number (37…)
_MASKED = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]?[A-Za-z0-9]*\*{2,}[A-Za-z0-9]*|\d{2}…"
)
_SPACES = re.compile(r"\s+")
_EDGES = "，。！？!?,;；：:、…~～-—·*（）()[]【】「」\"'“”‘’ "
# joiners, variation selectors, keycaps and tags that make emoji sequences
_INVISIBLE = {0x200D, 0x20E3, 0xFE0E, 0xFE0F}


class LabelError(ValueError):
    """A name staff typed that cannot be a label (empty once emoji and personal data are removed)."""


def _is_emoji(char: str) -> bool:
    code = ord(char)
    if code in _INVISIBLE or 0xE0020 <= code <= 0xE007F or 0x1F3FB <= code <= 0x1F3FF:
        return True
    return unicodedata.category(char) in ("So", "Cs", "Co") or 0x1F000 <= code <= 0x1FAFF


def clean_label(text: str, limit: int = LABEL_CHARS) -> str:
    """`text` without emoji, phones, plates, ID numbers, e-mail addresses or long numbers, shortened."""
    text = _MASKED.sub("", _PLACEHOLDER.sub("", scrub(text)))
    text = "".join(" " if _is_emoji(c) or unicodedata.category(c).startswith("C") else c for c in text)
    text = _SPACES.sub(" ", text).strip(_EDGES)
    if len(text) > limit:
        text = text[: limit - 1].rstrip(_EDGES) + "…"
    return text


def generated_label(group: Group) -> str:
    """Place + matter from the digest's phrase (which already leads with a station named by most of the
    group), cleaned; a group whose phrase was nothing but personal data or emoji gets its station or unit."""
    place, _, matter = group.label.rpartition("：")
    matter = clean_label(matter)
    place = clean_label(place, 12)
    if not matter:
        fallback = [name for name, _ in group.stations[:1] + group.units[:1]]
        matter = f"{fallback[0]}相关投诉" if fallback else "未归类投诉"
        place = ""
    return clean_label(f"{place}：{matter}" if place else matter)


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def attach_topics(session: Session, groups: list[Group], week: str, threshold: float) -> None:
    """Give each text group its topic (an old one it matches, else a new one) and the topic's label."""
    topics = list(session.scalars(select(TopicLabel).order_by(TopicLabel.id)))
    centroids = np.stack([_vector(t.centroid) for t in topics]) if topics else None
    for group in groups:
        if group.photo_only:
            continue
        topic = None
        if centroids is not None:
            sims = centroids @ group.mean
            best = int(sims.argmax())
            topic = topics[best] if sims[best] >= threshold else None
        if topic is None:
            label = generated_label(group)
            topic = TopicLabel(label=label, generated=label, centroid=b"", weight=0, first_week=week, last_week=week)
            topic.centroid = np.zeros_like(group.mean, dtype=np.float32).tobytes()
            session.add(topic)
            topics.append(topic)
        merged = (_vector(topic.centroid) * topic.weight + group.mean * group.size) / (topic.weight + group.size)
        topic.centroid = np.asarray(merged, dtype=np.float32).tobytes()
        topic.weight += group.size
        topic.last_week = max(topic.last_week, week)
        centroids = np.stack([_vector(t.centroid) for t in topics])
        group.label = topic.label
        group.topic = topic
    session.flush()


def rename_topic(session: Session, topic_id: int, name: str, actor: str, now: datetime) -> TopicLabel:
    """Staff's name for a topic: shown from now on in every week's digest and on its ledger items."""
    topic = session.get(TopicLabel, topic_id)
    if topic is None:
        raise LabelError("没有这个问题分类。")
    label = clean_label(name)
    if not label:
        raise LabelError("名称不能为空（表情符号、电话、车牌等个人信息会被去掉）。")
    topic.label = label
    topic.renamed_by = actor[:64]
    topic.renamed_at = now
    session.execute(update(DigestGroup).where(DigestGroup.topic_id == topic.id).values(label=label))
    session.execute(update(LedgerItem).where(LedgerItem.topic_id == topic.id).values(title=label))
    return topic
