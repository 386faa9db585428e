"""`billing demo`: a realistic month of partner-programme events, ingested and shown.

The generator is deterministic (one `random.Random(seed)`, no clock) and streams: the
business events (associations, discounts, orders, the deliberate duplicates and bad
lines) grow with the customers and are planned up front; usage, nearly every line, is
made hour by hour and never held. Both are merged by business time, as upstream delivers.
"""

from __future__ import annotations

import heapq
import os
import random
import shlex
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count, islice
from operator import itemgetter

import msgspec

from commands.bootstrap import Engine, open_engine
from commands.ingest import BATCH_SIZE, ingest_streams, open_inputs
from commands.progress import byte_progress
from commands.queries import bills, customer_counts, performance, period_bounds
from commands.render import table
from commands.settings import DEFAULT_STORE, Settings
from commands.statements import close_through
from engine.errors import Refused, SettingsError
from engine.instants import parse_period
from engine.money import format_units, parse_amount, units_from_fixed8

HOUR, DAY = 3600, 86400
USAGE_PER_CUSTOMER = 110  # usage lines per customer when `events` is not given
_UTC_LAG = 8  # hours: upstream systems run in Asia/Shanghai (UTC+8, no daylight saving)
_DIURNAL = (1,) * 8 + (3,) * 14 + (2,) * 2  # busier from 08:00 to 22:00 local time
_MMSS = [f"{s // 60:02d}:{s % 60:02d}" for s in range(HOUR)]

# (partner_id, its cloud resellers, its account managers, weight)
_PARTNERS = (
    ("dist-huabei", ("rs-bj-yunfan", "rs-tj-haihe", "rs-sjz-jiguang", "rs-ty-jinyun"), ("am-zhao", "am-qian"), 30),
    ("dist-huadong", ("rs-sh-pujiang", "rs-hz-xihu", "rs-nj-zhongshan"), ("am-li", "am-zhou"), 25),
    ("sp-yunzhi", (), ("am-wu", "am-zheng"), 20),
    ("sp-shujuqiao", (), ("am-wang",), 15),
    ("sp-anxin", (), ("am-feng",), 10),
)
# (service_type, source, id prefix, unit, list prices, sizes, busy floor, busy span, weight): a record's
# quantity is size × seconds in use / 3600, where the share in use is floor + span × random.
_SERVICES = (
    ("ECS", "metering/ecs", "i-", "hour", ("0.06200000", "0.12345678", "0.38500000", "1.99200000"), (1,), 0.6, 0.4, 35),
    ("EVS", "metering/evs", "vol-", "GB-hour", ("0.00064000", "0.00138889", "0.00097222"), (10, 40, 500), 1.0, 0, 20),
    ("OBS", "metering/obs", "obs-", "GB-hour", ("0.00013889", "0.00010417"), (5, 120, 2048), 0.9, 0.1, 15),
    ("RDS", "metering/rds", "rds-", "hour", ("0.51388889", "0.86400000", "2.16000000"), (1,), 0.95, 0.05, 10),
    ("DCS", "metering/dcs", "redis-", "hour", ("0.05555556", "0.19444444"), (1,), 0.9, 0.1, 8),
    ("CDN", "metering/cdn", "cdn-", "GB", ("0.19800000", "0.15000000", "0.12345678"), (2, 15, 80), 0.0, 1.0, 12),
)
_PACKAGES = (  # prepaid orders: (product_id, service_type, list price)
    ("pkg-obs-1tb-1y", "OBS", "1200.00"), ("pkg-ecs-c6-large-1m", "ECS", "281.05"),
    ("pkg-rds-mysql-1y", "RDS", "3599.50"), ("pkg-cdn-500gb", "CDN", "88.88"),
    ("pkg-evs-ssd-2tb-1y", "EVS", "2688.66"), ("ecs-m6-2xlarge-1y", "ECS", "12800.00"),
)
_ASSOCIATIONS, _DISCOUNTS, _ORDERS = "partner-center/associations", "crm/discounts", "billing/orders"
_ROSTER = "partner-center/account-managers"
# Who supervises each account manager (CONTRACT.md §9), from before the month on; the
# second pair of each entry is a reassignment on the 16th (am-qian moves to sv-ma).
_SUPERVISORS = (
    ("dist-huabei", (("am-zhao", "sv-sun"), ("am-qian", "sv-sun")), ("am-qian", "sv-ma")),
    ("dist-huadong", (("am-li", "sv-ma"), ("am-zhou", "sv-ma")), None),
    ("sp-yunzhi", (("am-wu", "sv-chen"), ("am-zheng", "sv-chen")), None),
    ("sp-shujuqiao", (("am-wang", "sv-chen"),), None),
    ("sp-anxin", (("am-feng", "sv-chen"),), None),
)


@dataclass(slots=True)
class _Customer:
    customer_id: str
    customer_type: str
    link: tuple[str, str | None, str | None] | None  # partner, reseller, account manager
    since: int | None  # seconds from the period's start to the first association


@dataclass(slots=True)
class _Resource:
    source: str
    data: dict
    utc: bool  # CDN is global: its metering writes UTC and bills the UTC month
    scale: int  # size in 10⁻⁸ units
    floor: float
    span: float


class _Month:
    """A period's clock: instants are seconds from its first instant at UTC+8."""

    def __init__(self, period: str):
        year, month = parse_period(period)
        if not 1971 <= year <= 9998:
            raise ValueError(f"period {period}: the demo covers the years 1971 to 9998")
        self.start = datetime(year, month, 1)
        self.hours = (datetime(year + month // 12, month % 12 + 1, 1) - self.start) // timedelta(hours=1)
        self.quarter = (datetime(year, (month - 1) // 3 * 3 + 1, 1) - self.start) // timedelta(seconds=1)

    def stamp(self, at: int, utc: bool = False, millis: int | None = None) -> str:
        moment = self.start + timedelta(seconds=at - (_UTC_LAG * HOUR if utc else 0))
        text = moment.isoformat(timespec="seconds") + ("" if millis is None else f".{millis:03d}")
        return text + ("Z" if utc else "+08:00")


def generate_month(
    customers: int = 300, seed: int = 7, period: str = "2026-10", events: int | None = None
) -> Iterator[bytes]:
    """JSON Lines lines (bytes, no newline) of a month of CloudEvents, in delivery order.

    Deterministic for its arguments. `events` fixes the number of lines: usage fills
    what the business events leave (below their number the stream is cut short); None
    gives `USAGE_PER_CUSTOMER` usage lines a customer. Raises ValueError on bad arguments.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if events is not None and events < 0:
        raise ValueError("events must not be negative")
    month, rng = _Month(period), random.Random(seed)
    people = _plan_customers(rng, customers, month)
    resources = _plan_resources(rng, people)
    plan = _Business(rng, month)
    plan.account_managers()  # uses no randomness: the rest of the month is unchanged
    for step in (plan.associations, plan.discounts, plan.orders):
        step(people)
    plan.anomalies(people, resources)
    planned = sorted(plan.entries)
    usage = customers * USAGE_PER_CUSTOMER if events is None else max(0, events - len(planned))
    # Merged by instant; heapq.merge is stable, so a business event precedes usage of its second.
    merged = heapq.merge(planned, _usage(rng, month, resources, usage), key=itemgetter(0))
    lines = (entry[-1] for entry in merged)
    return lines if events is None else islice(lines, events)


def _link(rng: random.Random, other_than: str | None = None) -> tuple[str, str | None, str | None]:
    partners = [p for p in _PARTNERS if p[0] != other_than]
    partner, resellers, managers, _ = rng.choices(partners, [p[3] for p in partners])[0]
    # Most of a distributor's customers come through one of its cloud resellers.
    reseller = rng.choice(resellers) if resellers and rng.random() < 0.8 else None
    return partner, reseller, rng.choice(managers) if rng.random() < 0.9 else None


def _plan_customers(rng: random.Random, how_many: int, month: _Month) -> list[_Customer]:
    people = []
    for number in range(1, how_many + 1):
        roll, link, since = rng.random(), None, None
        if roll >= 0.08:  # 8% buy from the cloud directly, with no partner at all
            # 14% joined this quarter (in the period itself when it opens the quarter), the rest before.
            joined = (month.quarter, month.hours * HOUR - 3 * DAY) if roll < 0.22 else (-540 * DAY, month.quarter - DAY)
            link, since = _link(rng), rng.randrange(*joined)
        kind = "enterprise" if rng.random() < 0.4 else "individual"
        people.append(_Customer(f"c-{number:05d}", kind, link, since))
    return people


def _plan_resources(rng: random.Random, people: list[_Customer]) -> list[_Resource]:
    resources: list[_Resource] = []
    for index, person in enumerate(people):
        dormant = index > 0 and rng.random() < 0.1  # some customers consume nothing this month
        picked = [] if dormant else rng.choices(_SERVICES, [s[-1] for s in _SERVICES], k=rng.randint(1, 5))
        if index == 0:
            picked.append(_SERVICES[-1])  # at least one UTC-metered resource: the period boundary shows
        for service_type, source, prefix, unit, prices, sizes, floor, span, _ in picked:
            number = (len(resources) + 1) * 2654435761 % 2**32  # unique, random-looking ids
            data = {"customer_id": person.customer_id, "service_type": service_type,
                    "resource_id": f"{prefix}{number:08x}"}
            data |= {} if service_type == "CDN" else {"region": rng.choice(("cn-north-4", "cn-east-3", "cn-south-1"))}
            data |= {"quantity": "0", "unit": unit, "unit_price": rng.choice(prices), "currency": "CNY"}
            resources.append(_Resource(source, data, service_type == "CDN", rng.choice(sizes) * 10**8, floor, span))
    return resources


class _Business:
    """The month's events other than regular usage, as (delivered at, sequence, line)."""

    def __init__(self, rng: random.Random, month: _Month):
        self.rng, self.month = rng, month
        self.entries: list[tuple[int, int, bytes]] = []
        self.counters: dict[str, Iterator[int]] = defaultdict(lambda: count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counters[prefix]):07d}"

    def add(self, at: int, source: str, type_: str, data: dict, prefix: str, utc: bool = False,
            again_at: int | None = None) -> None:
        # The order system writes UTC with milliseconds; the others local time in seconds.
        millis = self.rng.randrange(1000) if source == _ORDERS else None
        body = {"specversion": "1.0", "id": self.next_id(prefix), "source": source, "type": type_,
                "time": self.month.stamp(at, utc or source == _ORDERS, millis), "data": data}
        line = msgspec.json.encode(body)
        for delivered in (at,) if again_at is None else (at, again_at):
            self.entries.append((delivered, len(self.entries), line))

    def account_managers(self) -> None:
        for partner, assignments, moved in _SUPERVISORS:
            for manager, supervisor in assignments:
                data = {"partner_id": partner, "account_manager_id": manager, "supervisor_id": supervisor}
                self.add(-30 * DAY, _ROSTER, "account_manager.assigned", data, "am")
            if moved is not None:
                data = {"partner_id": partner, "account_manager_id": moved[0], "supervisor_id": moved[1]}
                self.add(15 * DAY, _ROSTER, "account_manager.assigned", data, "am")

    def associate(self, person: _Customer, link: tuple, at: int) -> None:
        partner, reseller, manager = link
        data = {"partner_id": partner, "customer_id": person.customer_id, "customer_type": person.customer_type,
                "channel": self.rng.choices(("registration", "invitation_link", "qr_code"), (5, 3, 2))[0]}
        data |= {k: v for k, v in (("indirect_partner_id", reseller), ("account_manager_id", manager)) if v}
        self.add(at, _ASSOCIATIONS, "customer.associated", data, "as")

    def associations(self, people: list[_Customer]) -> None:
        rng = self.rng
        for person in people:
            if person.link:
                self.associate(person, person.link, person.since)
        settled = [p for p in people if p.link and p.since < self.month.quarter]
        for turn, person in enumerate(rng.sample(settled, min(len(settled), max(2, len(people) // 25)))):
            left = rng.randrange(3 * DAY, 20 * DAY)
            reason = rng.choice(("moved to another partner", "project finished", "customer request"))
            data = {"partner_id": person.link[0], "customer_id": person.customer_id, "reason": reason}
            self.add(left, _ASSOCIATIONS, "customer.disassociated", data, "as")
            if turn % 2 == 0:  # every other one comes back: alternately to the same and another partner
                link = person.link if turn % 4 == 0 else _link(rng, other_than=person.link[0])
                self.associate(person, link, left + rng.randrange(HOUR, 6 * DAY))

    def grant(self, person: _Customer, kind: str, service: str, rate: str, at: int, start: int,
              end: str | None = None) -> str:
        discount_id = self.next_id("dsc")
        data = {"discount_id": discount_id, "customer_id": person.customer_id, "kind": kind,
                "service_type": service, "rate": rate, "valid_from": self.month.stamp(start)}
        data |= {k: v for k, v in (("valid_to", end), ("partner_id", person.link and person.link[0])) if v}
        self.add(at, _DISCOUNTS, "discount.granted", data, "dg")
        return discount_id

    def discounts(self, people: list[_Customer]) -> None:
        rng, month, granted = self.rng, self.month, []
        for person in people:
            if rng.random() < 0.3:  # business discounts: contract terms from before the month
                start, roll = rng.randrange(-200 * DAY, -DAY) // DAY * DAY, rng.random()
                # A quarter of them expire during the month, a quarter a year after they began.
                end = rng.randrange(5, 25) * DAY if roll < 0.25 else start + 365 * DAY
                end = month.stamp(end) if roll < 0.5 else None
                service = rng.choices(("*", "ECS", "OBS", "EVS", "RDS", "CDN"), (10, 2, 1, 1, 1, 1))[0]
                rate = rng.choice(("0.85", "0.9", "0.88", "0.8", "0.95", "0.92"))
                at = start - rng.randrange(3 * DAY)
                granted.append((person, self.grant(person, "business", service, rate, at, start, end)))
            if rng.random() < 0.08:  # exclusive discounts, approved during the month
                at, rate = rng.randrange(20 * DAY), rng.choice(("0.7", "0.75", "0.9"))
                self.grant(person, "exclusive", rng.choice(("RDS", "DCS", "OBS")), rate, at, at)
        for person, discount_id in rng.sample(granted, min(len(granted), max(2, len(people) // 50))):
            data = {"discount_id": discount_id, "customer_id": person.customer_id}
            self.add(rng.randrange(6 * DAY, 22 * DAY), _DISCOUNTS, "discount.revoked", data, "dv")

    def orders(self, people: list[_Customer]) -> None:
        rng = self.rng
        for person in people:
            roll = rng.random()
            if roll < 0.19:  # a package bought this month, or (4%) a yearly one bought before it
                paid = rng.randrange(-300 * DAY, -10 * DAY) if roll < 0.04 else rng.randrange(22 * DAY)
                product, service, price = rng.choice(_PACKAGES)
                order_id = self.next_id("ord")
                data = {"order_id": order_id, "customer_id": person.customer_id, "product_id": product,
                        "service_type": service, "source_type": "0", "amount": price, "currency": "CNY"}
                self.add(paid, _ORDERS, "order.paid", data, "op")
                if rng.random() < (0.5 if roll < 0.04 else 0.3):  # a partial refund, at most 60%
                    cents = rng.randint(1, int(price.replace(".", "")) * 6 // 10)
                    data = {"order_id": order_id, "customer_id": person.customer_id,
                            "amount": f"{cents // 100}.{cents % 100:02d}", "currency": "CNY"}
                    self.add(max(paid, 0) + rng.randrange(DAY, 6 * DAY), _ORDERS, "order.refunded", data, "or")
            elif roll < 0.25:  # a gift from the developer platform: no order id, amount zero
                data = {"order_id": "", "customer_id": person.customer_id, "product_id": "gift-codearts-100h",
                        "service_type": "CodeArts", "source_type": "1", "amount": "0", "currency": "CNY"}
                self.add(rng.randrange(25 * DAY), _ORDERS, "order.paid", data, "op")

    def anomalies(self, people: list[_Customer], resources: list[_Resource]) -> None:
        """Metering retries the engine must count as duplicates, and exactly three bad lines."""
        rng = self.rng
        for _ in range(max(3, min(25, len(people) // 40))):  # redelivered minutes to hours late
            resource, at = rng.choice(resources), rng.randrange(DAY, 27 * DAY)
            data = resource.data | {"quantity": "1.5"}
            again = at + rng.randrange(60, 2 * HOUR)
            self.add(at, resource.source, "usage.recorded", data, "m", resource.utc, again)
        home, away = resources[0], next(r for r in resources if r.utc)
        exponent, foreign = {"quantity": "2", "unit_price": "1e3"}, {"quantity": "3.5", "currency": "USD"}
        self.add(9 * DAY, home.source, "usage.recorded", home.data | exponent, "m", home.utc)
        self.add(12 * DAY, away.source, "usage.recorded", away.data | foreign, "m", True)
        refund = {"order_id": "ord-0000000", "customer_id": people[-1].customer_id, "amount": "10.00",
                  "currency": "CNY"}  # an order this customer never paid
        self.add(15 * DAY, _ORDERS, "order.refunded", refund, "or")


def _usage(rng: random.Random, month: _Month, resources: list[_Resource], total: int) -> Iterator[tuple[int, bytes]]:
    """`total` usage lines hour by hour, each resource in turn, as (instant, line)."""
    home, away = [r for r in resources if not r.utc], [r for r in resources if r.utc]
    rng.shuffle(home)
    rng.shuffle(away)
    hours = month.hours
    # UTC-metered resources bill the UTC month, from 08:00 on the 1st to 08:00 after the
    # period's end in local time: their last hours fall in the next period.
    slots = hours + (_UTC_LAG if away else 0)
    weights = [_DIURNAL[h % 24] * (len(home) * (h < hours) + len(away) * (_UTC_LAG <= h)) for h in range(slots)]
    weight = sum(weights)
    # Seconds of use one record covers, so that a month's bills don't depend on `total`.
    window = HOUR * weight * 24 // (max(total, 1) * sum(_DIURNAL))
    share, encode, draw = len(away) / len(resources), msgspec.json.encode, rng.random
    made = cumulative = turn_home = turn_away = 0
    for hour in range(slots):
        cumulative += weights[hour]
        in_hour = total * cumulative // weight - made
        away_share = 0.0 if hour < _UTC_LAG else 1.0 if hour >= hours else share
        local, utc = month.stamp(hour * HOUR)[:13], month.stamp(hour * HOUR, utc=True)[:13]
        for index in range(in_hour):
            second = (index * HOUR + int(draw() * HOUR)) // in_hour  # spread, yet in order
            if draw() < away_share:
                resource, turn_away = away[turn_away % len(away)], turn_away + 1
                time = f"{utc}:{_MMSS[second]}Z"
            else:
                resource, turn_home = home[turn_home % len(home)], turn_home + 1
                time = f"{local}:{_MMSS[second]}+08:00"
            data = resource.data.copy()
            units = resource.scale * int(window * (resource.floor + resource.span * draw())) // HOUR
            data["quantity"] = f"{units // 100000000}.{units % 100000000:08d}"
            made += 1
            body = {"specversion": "1.0", "id": f"u-{made:08d}", "source": resource.source,
                    "type": "usage.recorded", "time": time, "data": data}
            yield hour * HOUR + second, encode(body)


def run_demo(settings: Settings, out: str, customers: int, seed: int, period: str) -> int:
    """Writes a month of sample events to `out`, ingests them into the store, prints the
    period's dashboards and returns 0. Fails with SettingsError, StoreError or OSError."""
    if settings.currency != "CNY":  # the sample is priced in CNY: elsewhere nearly all of it would be rejected
        raise SettingsError(f"demo: the sample events are in CNY, but BILLING_CURRENCY is {settings.currency}")
    try:
        lines = generate_month(customers, seed, period)
    except ValueError as error:
        raise SettingsError(f"demo: {error}") from None
    with open_engine(settings, create=True) as engine:  # an unusable store fails before any writing
        written = 0
        with open(out, "wb") as file:
            for line in lines:
                file.write(line + b"\n")
                written += 1
        print(f"Wrote {written:,} events ({period}, {customers} customers, seed {seed}) to {out}")
        with byte_progress([out], force=settings.progress) as progress:
            counts = ingest_streams(engine, open_inputs([out]), BATCH_SIZE, progress)
        print(f"Ingested into {settings.store_url}: accepted {counts.accepted:,}, "
              f"duplicates {counts.duplicates:,}, rejected {counts.rejected:,} (3 bad lines are there on purpose)\n")
        print(_dashboards(engine, period))
        print("\n" + _close_month(engine, period))
    if settings.store_url == "memory://":
        print("\nmemory:// keeps nothing after this command; try `billing --store sqlite:///demo.db demo`.")
        return 0
    billing = _invocation() + ("" if settings.store_url == DEFAULT_STORE else f" --store {settings.store_url}")
    year, month = parse_period(period)
    partner, resellers = _PARTNERS[0][:2]
    print(f"\nTry next:\n  {billing} bills --period {period} --customer c-00001"
          f"\n  {billing} bills --period {year + month // 12:04d}-{month % 12 + 1:02d}"
          "   # CDN metered in UTC: its last hours fall in the next period"
          f"\n  {billing} customers --partner {partner} --period {period} --reseller {resellers[0]}"
          f"\n  {billing} performance --partner {partner} --period {period}"
          f"\n  {billing} bills --period {period} --summary\n  {billing} status\n  {billing} statement --partner {partner} --period {period}\n  {billing} rejected")
    return 0


def _invocation() -> str:
    """How to run `billing` again, as it was run: by name when that finds this very
    program (a venv activated, or installed), else by the path used (.venv/bin/billing)."""
    used = sys.argv[0]
    found = shutil.which("billing")
    if found and os.path.realpath(found) == os.path.realpath(used):
        return "billing"
    return shlex.quote(used) if os.path.basename(used) == "billing" else "billing"


def _close_month(engine: Engine, period: str) -> str:
    """Closes the demo's month, and the months before it that have charges (yearly
    packages bought earlier), in order; summarises the month's statements."""
    try:
        engine.projection.bring_up_to_date(engine.ledger)
        results = close_through(engine, period)
    except Refused as refused:
        return f"Statements (对账单), {period}: not closed ({refused.code}: {refused.message})"
    if not results:
        return f"Statements (对账单), {period}: closed already (`billing statements --period {period}`)"
    earlier = f"; {len(results) - 1} earlier month(s) closed first" if len(results) > 1 else ""
    result = results[-1]
    return f"Statements (对账单), {period}: closed at {result.issued_at}{earlier}\n" + table(
        ["partner", "total payable", "total settled"],
        [(s.partner_id, s.total_payable_amount, s.total_settled_amount) for s in result.statements])


def _dashboards(engine: Engine, period: str) -> str:
    """The period's customer counts and performance by partner, and a bills summary."""
    bill_list = bills(engine, period)
    partners = engine.projection.view.partner_ids(period, period_bounds(engine, period).end)
    counts = [customer_counts(engine, partner, period) for partner in partners]
    tallies = [performance(engine, partner, period) for partner in partners]
    payable, settled, rounding_off = (
        sum(parse_amount(name, getattr(b, name)) for b in bill_list)
        for name in ("payable_amount", "settled_amount", "rounding_off_amount")
    )
    top = sorted(bill_list, key=lambda b: (-units_from_fixed8(b.payable_amount), b.customer_id))[:5]
    currency, digits = engine.rules.currency, engine.rules.minor_digits
    return "\n\n".join([
        f"Customer dashboard, {period}\n" + table(
            ["partner", "customers", "associations", "consuming", "new enterprise this quarter"],
            [(c.partner_id, c.total_customers, c.association_count, c.consuming_customers,
              c.new_enterprise_customers_quarter) for c in counts]),
        f"Performance (业绩), {period}, {currency}\n" + table(
            ["partner", "payable", "settled", "customers"],
            [(p.partner_id, p.payable_amount, p.settled_amount, p.customers) for p in tallies]),
        f"Bills, {period}: {len(bill_list):,} bills, payable {format_units(payable)}, settled "
        f"{format_units(settled, digits)}, rounding-off {format_units(rounding_off)} {currency}\n"
        "Top 5 customers by payable\n" + table(
            ["customer", "payable", "settled", "rounding-off", "charges"],
            [(b.customer_id, b.payable_amount, b.settled_amount, b.rounding_off_amount, b.charges) for b in top]),
    ])
