"""Long-lived dependencies of a process (database, calendar, routing), built once at its edge."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bureau.legal_kb import LegalKb, load_kb
from bureau.referrals import Referral, load_referrals
from bureau.routing import RoutingTable, load_routing
from bureau.stations import Directory, load_stations
from bureau.warnings import WarningRules, load_warnings
from foundation.settings import Settings, load_settings
from foundation.workdays import WorkCalendar, load_calendar
from storage.db import make_engine, make_session_factory


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    calendar: WorkCalendar
    routing: RoutingTable
    warnings: WarningRules
    referrals: dict[str, Referral]
    legal: LegalKb
    stations: Directory


def build_deps(settings: Settings) -> Deps:
    """Check the staff-edited data files and open the database; raises on a bad file."""
    data = settings.content_dir
    referrals = load_referrals(data / "referrals.yml")
    legal = load_kb(data / "legal", data / "legal_texts", set(referrals), settings.embedding_cache)
    engine = make_engine(settings.database_url)
    return Deps(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        calendar=load_calendar(settings.timezone, data / "holidays_override.yml"),
        routing=load_routing(data / "routing.yml", settings.embedding_cache, set(referrals)),
        warnings=load_warnings(data / "warnings.yml"),
        referrals=referrals,
        legal=legal,
        stations=load_stations(data / "stations.yml"),
    )


def embed_knowledge(settings: Settings) -> None:
    """Fill the embedding cache for the legal knowledge base and the routing examples (a start-up step).

    They are embedded on first use otherwise: after staff change the knowledge base, the first driver's question
    would wait a minute or more for 3,000 phrasings and time out. With the cache filled this reads files."""
    data = settings.content_dir
    referrals = set(load_referrals(data / "referrals.yml"))
    load_kb(data / "legal", data / "legal_texts", referrals, settings.embedding_cache).embed_entries()
    load_routing(data / "routing.yml", settings.embedding_cache, referrals).embed_examples()


@cache
def process_deps() -> Deps:
    """The dependencies of this process, built on first use (the action server has no main())."""
    return build_deps(load_settings())
