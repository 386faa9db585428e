"""Authorization requests on a real store (CONTRACT.md §12): steps recorded as engine
events and folded into their tables in the same transaction, refusals recording
nothing, and a disassociation ending the partner's authorizations inside the ingest
batch that accepts it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from commands.authorizations import answer_authorization, list_authorizations, request_authorization
from commands.ingest import retry_rejections
from commands.resources import customer_resources
from engine.errors import Refused
from engine.mapper import decode_event, is_engine_topic
from tests.builders import associated, disassociated, usage
from tests.conftest import record

ASKED_AT = "2026-11-30T00:00:00Z"
LEFT_AT = "2026-12-02T03:04:05Z"  # the clock when the disassociation is ingested


def log(engine) -> list:
    with engine.ledger.recorder.read_transaction() as c:
        rows = engine.ledger.recorder.select_notifications_in(c, 0, 10_000)
    return [(row[0], decode_event(row[1], row[2])) for row in rows]


def engine_event_types(engine) -> list[str]:
    with engine.ledger.recorder.read_transaction() as c:
        rows = engine.ledger.recorder.select_notifications_in(c, 0, 10_000)
    return [decode_event(row[1], row[2]).LOG_TYPE for row in rows if is_engine_topic(row[1])]


def history(engine, authorization_id: str) -> list[tuple]:
    (found,) = [a for a in list_authorizations(engine).authorizations if a.id == authorization_id]
    return [(step.status, step.at, step.reason) for step in found.history]


def ask(engine, authorization_id: str, customer: str = "c-1", partner: str = "p-1", reseller: str | None = None):
    return request_authorization(
        engine, authorization_id=authorization_id, partner_id=partner, customer_id=customer, reseller=reseller
    )


class DisassociationContract:
    """A disassociation's effect on authorizations, on each backend."""

    __test__ = False

    @pytest.fixture
    def store_url(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @pytest.fixture
    def at(self, store_url, open_url):
        """An engine on this test's store whose clock reads the given time."""
        return lambda now: open_url(store_url, now=now)

    def test_a_disassociation_revokes_approved_and_rejects_pending_at_its_recorded_time(self, at):
        asking = at(ASKED_AT)
        record(
            asking,
            [
                associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00"),
                associated("c-2", "p-1", time="2026-10-01T00:00:00+08:00"),
            ],
        )
        ask(asking, "A-1")
        answer_authorization(asking, "A-1", "approve")
        ask(asking, "A-2")
        ask(asking, "A-3", customer="c-2")
        answer_authorization(asking, "A-3", "approve")

        record(at(LEFT_AT), [disassociated("c-1", "p-1", time="2026-12-01T00:00:00+08:00")])

        reader = at(LEFT_AT)
        left_at = "2026-12-02T03:04:05.000000Z"
        assert history(reader, "A-1")[-1] == ("revoked", left_at, "disassociated")
        assert history(reader, "A-2")[-1] == ("rejected", left_at, "disassociated")
        assert history(reader, "A-3")[-1] == ("approved", "2026-11-30T00:00:00.000000Z", None)  # another customer
        with pytest.raises(Refused) as refused:
            customer_resources(reader, "c-1", as_partner="p-1")
        assert refused.value.code == "not_authorized"

    def test_the_automatic_steps_follow_the_disassociation_in_the_log(self, at):
        asking = at(ASKED_AT)
        record(asking, [associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00")])
        ask(asking, "A-1")
        record(at(LEFT_AT), [disassociated("c-1", "p-1", time="2026-12-01T00:00:00+08:00"), usage("c-9")])
        entries = log(at(LEFT_AT))
        kinds = [event.LOG_TYPE or event.type for _id, event in entries]
        assert kinds[-3:] == ["customer.disassociated", "usage.recorded", "authorization.rejected"]
        assert entries[-1][1].recorded_at == entries[-3][1].recorded_at

    def test_a_customer_left_and_rejoined_and_left_in_one_batch_ends_each_request_once(self, at):
        asking = at(ASKED_AT)
        record(asking, [associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00")])
        ask(asking, "A-1")
        answer_authorization(asking, "A-1", "approve")
        record(
            at(LEFT_AT),
            [
                disassociated("c-1", "p-1", time="2026-12-01T00:00:00+08:00"),
                associated("c-1", "p-1", time="2026-12-01T01:00:00+08:00"),
                disassociated("c-1", "p-1", time="2026-12-01T02:00:00+08:00"),
            ],
        )
        assert [step[0] for step in history(at(LEFT_AT), "A-1")] == ["pending", "approved", "revoked"]
        assert engine_event_types(at(LEFT_AT)).count("authorization.revoked") == 1

    def test_a_disassociation_accepted_on_retry_ends_the_requests_too(self, at):
        asking = at(ASKED_AT)
        record(asking, [associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00")])
        ask(asking, "A-1")
        # The disassociation arrives before the association it ends: kept as rejected
        # (not_associated), and accepted by `rejected --retry` once the association is in.
        early = at(ASKED_AT)
        record(early, [disassociated("c-2", "p-1", time="2026-12-01T00:00:00+08:00", id="d-late")])
        record(early, [associated("c-2", "p-1", time="2026-10-01T00:00:00+08:00")])
        ask(early, "A-2", customer="c-2")
        counts = retry_rejections(at(LEFT_AT), None)
        assert counts.accepted == 1
        assert history(at(LEFT_AT), "A-2")[-1] == ("rejected", "2026-12-02T03:04:05.000000Z", "disassociated")
        assert history(at(LEFT_AT), "A-1")[-1][0] == "pending"  # c-1 is still associated


class TestOnSQLite(DisassociationContract):
    __test__ = True

    @pytest.fixture
    def store_url(self, tmp_path) -> str:
        return f"sqlite:///{tmp_path / 'billing.db'}"


@pytest.mark.postgres
class TestOnPostgres(DisassociationContract):
    __test__ = True

    @pytest.fixture
    def store_url(self, postgres_fresh_dsn) -> str:
        return postgres_fresh_dsn


# On one backend: the requests and answers themselves --------------------------------------


@pytest.fixture
def asking(open_store):
    engine = open_store(now=ASKED_AT)
    record(engine, [associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00", data={"indirect_partner_id": "r-1"})])
    return engine


def test_a_request_is_recorded_pending_and_listed(asking):
    made = ask(asking, "A-1", reseller="r-1")
    assert not made.repeated
    assert list_authorizations(asking).authorizations == [made.authorization]
    assert made.authorization.status == "pending" and made.authorization.indirect_partner_id == "r-1"
    assert engine_event_types(asking) == ["authorization.requested"]


def test_a_refused_request_records_nothing(asking):
    for reseller, code in ((None, "reseller_required"), ("r-2", "reseller_mismatch")):
        with pytest.raises(Refused) as refused:
            ask(asking, "A-1", reseller=reseller)
        assert refused.value.code == code
    assert engine_event_types(asking) == []
    assert list_authorizations(asking).authorizations == []


def test_a_repeat_prints_what_the_first_call_printed_and_records_nothing(asking):
    first = ask(asking, "A-1", reseller="r-1").authorization
    answer_authorization(asking, "A-1", "approve")
    again = ask(asking, "A-1", reseller="r-1")
    assert again.repeated and again.authorization == first
    assert engine_event_types(asking) == ["authorization.requested", "authorization.approved"]


def test_answers_print_the_whole_history_after_the_change(asking):
    ask(asking, "A-1", reseller="r-1")
    approved = answer_authorization(asking, "A-1", "approve").authorization
    revoked = answer_authorization(asking, "A-1", "revoke").authorization
    assert [s.status for s in approved.history] == ["pending", "approved"]
    assert revoked.status == "revoked" and [s.status for s in revoked.history] == ["pending", "approved", "revoked"]
    assert list_authorizations(asking, status="revoked").authorizations == [revoked]


def test_a_rejection_keeps_its_reason(asking):
    ask(asking, "A-1", reseller="r-1")
    rejected = answer_authorization(asking, "A-1", "reject", "we use another partner").authorization
    assert rejected.history[-1].reason == "we use another partner"


def test_the_list_filters_in_request_order(open_store):
    engine = open_store(now=ASKED_AT)
    record(engine, [associated(c, p, time="2026-10-01T00:00:00+08:00") for c, p in (("c-1", "p-1"), ("c-2", "p-2"))])
    for authorization_id, customer, partner in (("Z", "c-1", "p-1"), ("A", "c-2", "p-2"), ("M", "c-1", "p-1")):
        ask(engine, authorization_id, customer, partner)
    answer_authorization(engine, "M", "approve")
    assert [a.id for a in list_authorizations(engine).authorizations] == ["Z", "A", "M"]
    assert [a.id for a in list_authorizations(engine, partner_id="p-1").authorizations] == ["Z", "M"]
    assert [a.id for a in list_authorizations(engine, customer_id="c-2").authorizations] == ["A"]
    assert [a.id for a in list_authorizations(engine, status="pending").authorizations] == ["Z", "A"]


def test_the_partner_gate_passes_only_an_approved_authorization_naming_the_reseller(asking):
    record(asking, [usage("c-1", time="2026-10-05T00:00:00+08:00")])
    ask(asking, "A-1", reseller="r-1")
    for reseller in ("r-1", None):
        with pytest.raises(Refused):
            customer_resources(asking, "c-1", as_partner="p-1", reseller=reseller)
    answer_authorization(asking, "A-1", "approve")
    gated = customer_resources(asking, "c-1", as_partner="p-1", reseller="r-1")
    assert gated == customer_resources(asking, "c-1")
    assert len(gated.resources) == 1
    for partner, reseller in (("p-1", None), ("p-1", "r-2"), ("p-2", "r-1")):
        with pytest.raises(Refused) as refused:
            customer_resources(asking, "c-1", as_partner=partner, reseller=reseller)
        assert refused.value.code == "not_authorized"
