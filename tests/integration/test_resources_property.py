"""The resource list (CONTRACT.md §12) equals a plain recomputation from the usage
events sent, for random usage of random resources around month boundaries, with and
without `product_id`/`region`, in several offsets and fractions of a second, over
every period and none (Hypothesis; each example on a fresh in-memory store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.resources import customer_resources
from tests.builders import associated, order_paid, usage
from tests.conftest import record

PERIODS = ("2026-09", "2026-10", "2026-11")
# The first instants of October and November in Shanghai.
BOUNDARIES = (datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))
OFFSETS_MINUTES = (0, 480, -300, 345)
FRACTIONS = ("", "5", "50", "120", "000", "123456789")
SHANGHAI = ZoneInfo("Asia/Shanghai")
EIGHT, MINOR = Decimal("0.00000001"), Decimal("0.01")


@st.composite
def sent_usage(draw, number: int) -> dict:
    """One usage as sent, with what the recomputation needs beside it."""
    if draw(st.booleans()):  # one of eight instants, each written two ways: ties to break
        seconds, fraction = draw(st.sampled_from((-1, 0))), draw(st.sampled_from(("", "000", "5", "50")))
    else:
        seconds, fraction = draw(st.integers(-3 * 86400, 3 * 86400)), draw(st.sampled_from(FRACTIONS))
    moment = draw(st.sampled_from(BOUNDARIES)) + timedelta(seconds=seconds)
    offset = timezone(timedelta(minutes=draw(st.sampled_from(OFFSETS_MINUTES))))
    local = moment.astimezone(offset)
    time = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + local.strftime("%z")
    time = time[:-2] + ":" + time[-2:]
    quantity = Decimal(draw(st.integers(0, 10**9))).scaleb(-draw(st.integers(0, 8)))
    unit_price = Decimal(draw(st.integers(0, 10**9))).scaleb(-draw(st.integers(0, 8)))
    extra = {}
    for field, values in (("product_id", ("s3.large", "s3.small")), ("region", ("cn-north-4", "ap-southeast-1"))):
        choice = draw(st.sampled_from((None, "null", *values)))
        if choice is not None:
            extra[field] = None if choice == "null" else choice
    return {
        "event": usage(
            "c-1",
            quantity=f"{quantity:f}",
            unit_price=f"{unit_price:f}",
            id=f"u-{number}",
            service_type=draw(st.sampled_from(("ECS", "OBS"))),
            resource_id=draw(st.sampled_from(("i-1", "i-2", "I-1"))),
            time=time,
            data=extra,
        ),
        "instant": (moment, Decimal(f"0.{fraction or '0'}")),
        "shown": moment.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{fraction.rstrip('0')}" if fraction.rstrip("0") else "")
        + "Z",
        "period": moment.astimezone(SHANGHAI).strftime("%Y-%m"),
        "payable": (quantity * unit_price).quantize(EIGHT, ROUND_HALF_UP),
    }


def recomputed(usages: list[dict], period: str | None) -> list[dict]:
    """§12 from the events sent, written independently of the engine."""
    by_resource: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for index, sent in enumerate(usages):
        if period is None or sent["period"] == period:
            data = sent["event"]["data"]
            by_resource.setdefault((data["service_type"], data["resource_id"]), []).append((index, sent))
    listed = []
    for (service_type, resource_id), members in sorted(by_resource.items()):
        by_time = sorted(members, key=lambda member: (member[1]["instant"], member[0]))

        def latest(field: str, by_time=by_time):
            having = [sent["event"]["data"][field] for _i, sent in by_time if sent["event"]["data"].get(field)]
            return having[-1] if having else None

        payables = [sent["payable"] for _i, sent in members]
        listed.append(
            {
                "resource_id": resource_id,
                "service_type": service_type,
                "product_id": latest("product_id"),
                "region": latest("region"),
                "first_used": by_time[0][1]["shown"],
                "last_used": by_time[-1][1]["shown"],
                "charges": len(members),
                "payable_amount": f"{sum(payables, Decimal(0)):.8f}",
                "settled_amount": f"{sum((p.quantize(MINOR, ROUND_DOWN) for p in payables), Decimal(0)):.2f}",
            }
        )
    return listed


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_resources_equal_a_plain_recomputation_from_the_usage_sent(open_store, data):
    usages = [data.draw(sent_usage(number)) for number in range(data.draw(st.integers(0, 20)))]
    engine = open_store(memory=True)
    others = [
        associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00"),
        order_paid("c-1", product_id="i-1", service_type="ECS", time="2026-10-02T00:00:00+08:00"),
        usage("c-2", resource_id="i-1", time="2026-10-02T00:00:00+08:00"),
    ]
    counts = record(engine, others + [sent["event"] for sent in usages])
    assert counts.rejected == 0
    for period in (None, *PERIODS):
        listed = customer_resources(engine, "c-1", period)
        assert listed.period == period
        assert [_as_dict(r) for r in listed.resources] == recomputed(usages, period)


def _as_dict(resource) -> dict:
    import msgspec

    return msgspec.structs.asdict(resource)
