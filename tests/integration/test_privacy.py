"""Retention and privacy requests on a real database: what is pseudonymised, what is deleted, what is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bureau.deps import Deps
from storage import conversations as convs
from storage import desk
from storage.cases import NewCase, create_case
from storage.inbox import store_updates
from storage.models import (
    Attachment,
    Case,
    CaseKind,
    CaseState,
    Conversation,
    InboundUpdate,
    Message,
    Reporter,
    ReporterIdentity,
    UpdateStatus,
)
from storage.privacy import apply_retention, erase_reporter, export_reporter, reporter_of_case

FILED = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)
CLERK = desk.Actor.staff(5001, "张科员")
PERSONAL = "我是张师傅，车牌粤B12345，电话13812345678，身份证44010619900101123X，在河口收费站被多收了20元"


def _file(deps: Deps, user_id: int, at: datetime, text: str = PERSONAL) -> tuple[int, int]:
    """A driver's message with a photo and a location, and the complaint filed from it; (case id, reporter id)."""
    with deps.sessions.begin() as session:
        person = convs.TelegramPerson(user_id, user_id, "张师傅", "zhang_shifu")
        conversation = convs.conversation_for(session, person)
        conversation.last_inbound_at = at
        message, _ = convs.store_inbound(
            session, conversation, update_id=user_id * 10, kind="photo", text=text, telegram_message_id=1, at=at
        )
        message.created_at = at
        convs.store_attachment(session, message, kind="photo", file_id="AgAC-photo", file_unique_id="u1")
        store_updates(session, [{"update_id": user_id * 10, "message": {"chat": {"id": user_id}, "text": text}}])
        new = NewCase(
            CaseKind.complaint,
            "局政策法规科",
            "收费",
            conversation.reporter_id,
            conversation.id,
            text,
            {"description": text, "plate": "粤B12345", "place": "河口收费站"},
        )
        case = create_case(session, new, deps.calendar, at)
        session.execute(
            Attachment.__table__.update().where(Attachment.message_id == message.id).values(case_id=case.id)
        )
        return case.id, conversation.reporter_id


def _close(deps: Deps, case_id: int, at: datetime) -> None:
    with deps.sessions.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        desk.answer(session, case, "经核查，多收的20元已退还至粤B12345车主。", CLERK, at)
        desk.close(session, case, CLERK, deps.calendar, at)


def test_closed_cases_are_pseudonymised_after_the_period_and_the_identity_goes(deps: Deps) -> None:
    case_id, reporter_id = _file(deps, 4101, FILED)
    _close(deps, case_id, FILED + timedelta(days=3))
    with deps.sessions.begin() as session:
        session.execute(InboundUpdate.__table__.update().values(status=UpdateStatus.done, received_at=FILED))
    # one day before the period ends nothing changes
    with deps.sessions.begin() as session:
        early = apply_retention(session, FILED + timedelta(days=3 + 364), days=365)
    assert early.cases == [] and early.identities == 0
    with deps.sessions.begin() as session:
        report = apply_retention(session, FILED + timedelta(days=3 + 366), days=365)
    assert report.cases and report.identities == 1 and report.forget_senders
    with deps.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.pseudonymised_at is not None
        stored = " ".join([case.summary, str(case.fields), case.answer_text or ""])
        for secret in ("粤B12345", "13812345678", "44010619900101123X"):
            assert secret not in stored
        assert "河口收费站" in case.summary and case.fields["plate"] == "〔已匿名化〕"
        # the record of the case is kept: number, state, unit, answer's substance
        assert case.state is CaseState.closed and "已退还" in (case.answer_text or "")
        texts = " ".join(t or "" for t in session.scalars(select(Message.text)))
        assert "13812345678" not in texts and "粤B12345" not in texts
        assert session.scalars(select(Attachment.file_id)).all() == [None]
        assert (
            session.scalar(select(func.count(ReporterIdentity.id)).where(ReporterIdentity.reporter_id == reporter_id))
            == 0
        )
        payloads = session.scalars(select(InboundUpdate.payload)).all()
        assert all("13812345678" not in str(p) for p in payloads)
        assert session.get(Reporter, reporter_id) is not None  # the pseudonym stays for the statistics
    # running again finds nothing more to do
    with deps.sessions.begin() as session:
        again = apply_retention(session, FILED + timedelta(days=3 + 367), days=365)
    assert again.cases == [] and again.identities == 0


def test_open_cases_and_recent_ones_keep_their_data(deps: Deps) -> None:
    old_case, _ = _file(deps, 4102, FILED)
    _close(deps, old_case, FILED + timedelta(days=1))
    recent_case, _ = _file(deps, 4103, FILED + timedelta(days=300))
    _close(deps, recent_case, FILED + timedelta(days=301))
    open_case, _ = _file(deps, 4104, FILED)  # never closed
    with deps.sessions.begin() as session:
        report = apply_retention(session, FILED + timedelta(days=400), days=365)
    with deps.sessions() as session:
        numbers = {session.get(Case, i).number: i for i in (old_case, recent_case, open_case)}  # type: ignore[union-attr]
        assert [numbers[n] for n in report.cases] == [old_case]
        assert "粤B12345" in session.get(Case, recent_case).summary  # type: ignore[union-attr]
        assert "粤B12345" in session.get(Case, open_case).summary  # type: ignore[union-attr]
        identities = session.scalars(select(ReporterIdentity.telegram_user_id)).all()
        assert sorted(identities) == [4103, 4104]


def test_a_deletion_request_waits_for_open_cases_then_completes(deps: Deps) -> None:
    closed_case, reporter_id = _file(deps, 4105, FILED)
    _close(deps, closed_case, FILED + timedelta(days=1))
    with deps.sessions.begin() as session:
        conversation = session.scalars(select(Conversation).where(Conversation.reporter_id == reporter_id)).one()
        new = NewCase(
            CaseKind.complaint, "局政策法规科", "收费", reporter_id, conversation.id, "又被多收费 13812345678", {}
        )
        open_id = create_case(session, new, deps.calendar, FILED + timedelta(days=10)).id
    now = FILED + timedelta(days=12)
    with deps.sessions.begin() as session:
        reporter = session.get(Reporter, reporter_id)
        assert reporter is not None
        report = erase_reporter(session, reporter, now)
    assert report.kept_open and report.identities == 0 and len(report.cases) == 1
    with deps.sessions() as session:
        assert session.get(Reporter, reporter_id).erase_requested_at is not None  # type: ignore[union-attr]
        assert "13812345678" in session.get(Case, open_id).summary  # type: ignore[union-attr]
        assert "粤B12345" not in session.get(Case, closed_case).summary  # type: ignore[union-attr]
    _close(deps, open_id, now + timedelta(days=2))
    with deps.sessions.begin() as session:  # the daily job completes the request, whatever the period
        done = apply_retention(session, now + timedelta(days=3), days=365)
    assert done.identities == 1
    with deps.sessions() as session:
        assert "13812345678" not in session.get(Case, open_id).summary  # type: ignore[union-attr]
        assert session.scalar(select(func.count(ReporterIdentity.id))) == 0


def test_an_export_holds_what_is_stored_about_the_person(deps: Deps) -> None:
    case_id, _ = _file(deps, 4106, FILED)
    with deps.sessions() as session:
        number = session.get(Case, case_id).number  # type: ignore[union-attr]
        reporter = reporter_of_case(session, number.lower())
        assert reporter is not None
        data = export_reporter(session, reporter, deps.settings.timezone)
    assert data["identity"]["telegram_user_id"] == 4106 and data["identity"]["username"] == "zhang_shifu"
    assert [c["number"] for c in data["cases"]] == [number]
    assert data["cases"][0]["fields"]["plate"] == "粤B12345"
    assert any(m["text"] == PERSONAL for m in data["messages"])
    assert data["attachments"][0]["kind"] == "photo"


CHATLESS = [
    # the driver blocks the bot (Telegram sends it with the chat, but a malformed one may miss it)
    {"update_id": 9001, "my_chat_member": {"from": {"id": 4301, "first_name": "张师傅"}, "date": 1}},
    # a reaction counted anonymously, and one from the driver
    {"update_id": 9002, "message_reaction_count": {"date": 1, "reactions": []}},
    {"update_id": 9003, "message_reaction": {"user": {"id": 4301, "first_name": "张师傅"}, "date": 1}},
    # not an update at all
    {"update_id": 9004, "unknown": {"text": "张师傅 13812345678", "from": {"id": 4301}}},
]


def _chatless_updates(deps: Deps, at: datetime) -> None:
    with deps.sessions.begin() as session:
        store_updates(session, CHATLESS)
        session.execute(
            InboundUpdate.__table__.update()
            .where(InboundUpdate.update_id >= 9001)
            .values(status=UpdateStatus.done, received_at=at, chat_id=None)
        )


def _chatless_payloads(deps: Deps) -> list[dict]:
    with deps.sessions() as session:
        return list(session.scalars(select(InboundUpdate.payload).where(InboundUpdate.update_id >= 9001)))


def test_updates_without_a_chat_are_slimmed_by_the_retention_job(deps: Deps) -> None:
    _chatless_updates(deps, FILED)
    with deps.sessions.begin() as session:
        report = apply_retention(session, FILED + timedelta(days=31), days=365)
    assert report.raw_updates == len(CHATLESS)
    assert _chatless_payloads(deps) == [{}] * len(CHATLESS)


def test_an_erasure_takes_the_persons_updates_without_a_chat(deps: Deps) -> None:
    case_id, reporter_id = _file(deps, 4301, FILED)
    _close(deps, case_id, FILED + timedelta(days=1))
    _chatless_updates(deps, FILED + timedelta(days=2))  # recent: the retention job would keep them a month
    with deps.sessions.begin() as session:
        reporter = session.get(Reporter, reporter_id)
        assert reporter is not None
        erase_reporter(session, reporter, FILED + timedelta(days=3))
    left = _chatless_payloads(deps)
    assert all("4301" not in str(p) and "13812345678" not in str(p) for p in left)
    assert {"update_id": 9002, "message_reaction_count": {"date": 1, "reactions": []}} in left  # nobody's
