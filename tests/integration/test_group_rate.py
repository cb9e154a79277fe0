"""Two bot workers together post at most the staff group's limit a minute (counted in the shared database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bureau.deps import Deps
from storage.group_rate import forget_old, take_slot

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
GROUP, OTHER = -1001, -1002


def test_the_twenty_first_post_in_a_minute_waits_whoever_sends_it(deps: Deps) -> None:
    waits = []
    for n in range(21):  # two workers taking turns: the count is the database's, not theirs
        with deps.sessions.begin() as session:
            waits.append(take_slot(session, GROUP, 20, NOW + timedelta(seconds=n)))
    assert waits[:20] == [0.0] * 20
    assert 39 <= waits[20] <= 40  # the first post of the minute leaves the window 60 s after it was made
    with deps.sessions.begin() as session:
        assert take_slot(session, OTHER, 20, NOW) == 0.0  # another group has its own minute
        assert take_slot(session, GROUP, 20, NOW + timedelta(seconds=61)) == 0.0
        assert forget_old(session, NOW + timedelta(seconds=61)) >= 1
