"""What is posted to a case topic for a driver's attachment: the item, its caption (a photographed
notice's fields included), and the exception for a picture staff must not get as it is."""

from __future__ import annotations

from dataclasses import dataclass

from notices.answer import for_staff
from notices.reading import from_json
from storage.models import Attachment


@dataclass(frozen=True)
class MediaItem:
    kind: str
    file_id: str | None
    mime_type: str | None
    latitude: float | None
    longitude: float | None
    caption: str
    attachment_id: int | None = None
    file_size: int | None = None


def media_item(attachment: Attachment, caption: str = "") -> MediaItem:
    """What to post for an attachment; a photographed notice carries its extracted fields in the caption."""
    a = attachment
    if a.notice_reading:
        reading = for_staff(from_json(a.notice_reading))
        caption = f"{caption}\n{reading}" if caption else reading
    return MediaItem(a.kind, a.file_id, a.mime_type, a.latitude, a.longitude, caption, a.id, a.file_size)


class ImageWithheld(Exception):
    """A picture staff must not get as it is (unreadable, so its GPS data cannot be removed) or at all (too
    large to read safely); a note goes in its place."""

    def __init__(self, staff_note: str, driver_note: str) -> None:
        super().__init__(staff_note)
        self.staff_note, self.driver_note = staff_note, driver_note
