"""The errors a staff-edited data file can raise at start-up (each names the file and the entry)."""

from __future__ import annotations

from bureau.legal_kb import LegalDataError
from bureau.referrals import ReferralsFileError
from bureau.routing import RoutingTableError
from bureau.stations import StationDataError
from bureau.texts import TextCatalogueError
from bureau.warnings import WarningRulesError
from foundation.workdays import CalendarFileError

DATA_ERRORS = (
    LegalDataError,
    ReferralsFileError,
    RoutingTableError,
    StationDataError,
    TextCatalogueError,
    WarningRulesError,
    CalendarFileError,
)
