"""Running retention and privacy requests against our database and Rasa's tracker store together."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bureau.archive_retention import scrub_archives, scrub_digests_of
from bureau.deps import Deps
from storage.models import Reporter
from storage.privacy import PrivacyReport, apply_retention, erase_reporter, export_reporter
from storage.rasa_tracker import forget, tracker_store_url, trim

logger = logging.getLogger(__name__)


def run_in_transaction(deps: Deps, change: Callable[[Session], PrivacyReport], dry_run: bool = False) -> PrivacyReport:
    """Apply `change`; Rasa's trackers of forgotten people are deleted before our commit, so a failure
    there leaves everything to the next run (deleting a tracker twice is harmless)."""
    with deps.sessions() as session:
        report = change(session)
        if dry_run:
            session.rollback()
            return report
        url = tracker_store_url(deps.settings.rasa_tracker_store_url, deps.settings.rasa_tracker_db)
        forget(url, report.forget_senders)
        session.commit()
    return report


def run_retention(deps: Deps, now: datetime, dry_run: bool = False) -> PrivacyReport:
    days = deps.settings.retention_days

    def retain(session: Session) -> PrivacyReport:
        report = apply_retention(session, now, days)
        report.archives = scrub_archives(session, now - timedelta(days=days))
        return report

    report = run_in_transaction(deps, retain, dry_run)
    if not dry_run:  # the history of drivers who stay active: their earlier sessions beyond the period
        url = tracker_store_url(deps.settings.rasa_tracker_store_url, deps.settings.rasa_tracker_db)
        report.tracker_events = trim(url, now - timedelta(days=days))
    logger.info(
        "Retention (%d days)%s: %d cases pseudonymised, %d identities deleted, %d messages and %d files cleaned, "
        "%d imported complaints, digests and ledger items scrubbed, %d old Rasa events deleted",
        days,
        " dry run" if dry_run else "",
        len(report.cases),
        report.identities,
        report.messages,
        report.attachments,
        report.archives,
        report.tracker_events,
    )
    return report


def erase_person(deps: Deps, reporter_id: int, now: datetime) -> PrivacyReport:
    """A deletion request (from the driver, from staff, or from the shell), with Rasa's copy included."""

    def erase(session: Session) -> PrivacyReport:
        reporter = session.get(Reporter, reporter_id)
        if reporter is None:
            return PrivacyReport()
        report = erase_reporter(session, reporter, now)
        report.archives += scrub_digests_of(session, reporter_id)
        return report

    return run_in_transaction(deps, erase)


def export_person(deps: Deps, reporter_id: int) -> bytes | None:
    """Everything stored about a person as a UTF-8 JSON document (None if they are not known)."""
    with deps.sessions.begin() as session:
        reporter = session.get(Reporter, reporter_id)
        if reporter is None:
            return None
        data = export_reporter(session, reporter, deps.settings.timezone)
    return json.dumps(data, ensure_ascii=False, indent=2).encode()
