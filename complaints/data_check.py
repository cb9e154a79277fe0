"""The errors a staff-edited data file can raise at start-up (each names the file and the entry)."""

from __future__ import annotations

from complaints.legal_kb import LegalDataError
from complaints.referrals import ReferralsFileError
from complaints.routing import RoutingTableError
from complaints.stations import StationDataError
from complaints.warnings import WarningRulesError
from complaints.workdays import CalendarFileError

DATA_ERRORS = (
    LegalDataError,
    ReferralsFileError,
    RoutingTableError,
    StationDataError,
    WarningRulesError,
    CalendarFileError,
)
