"""A month of sample events, planned and streamed (`generate_month`).

The generator is deterministic (one `random.Random(seed)`, no clock) and streams: the
business events (associations, discounts, orders, the deliberate duplicates and bad
lines) grow with the customers and are planned up front; usage, nearly every line, is
made hour by hour and never held. Both are merged by business time, as upstream delivers.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter

import msgspec

from commands.demo_data.business import Business
from commands.demo_data.world import DAY, HOUR, SERVICES, UTC_LAG, Customer, Month, Resource, random_link

USAGE_PER_CUSTOMER = 110  # usage lines per customer when `events` is not given
_DIURNAL = (1,) * 8 + (3,) * 14 + (2,) * 2  # busier from 08:00 to 22:00 local time
_MMSS = [f"{s // 60:02d}:{s % 60:02d}" for s in range(HOUR)]


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
    month, rng = Month(period), random.Random(seed)
    people = plan_customers(rng, customers, month)
    resources = plan_resources(rng, people)
    plan = Business(rng, month)
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


def plan_customers(rng: random.Random, how_many: int, month: Month) -> list[Customer]:
    people = []
    for number in range(1, how_many + 1):
        roll, link, since = rng.random(), None, None
        if roll >= 0.08:  # 8% buy from the cloud directly, with no partner at all
            # 14% joined this quarter (in the period itself when it opens the quarter), the rest before.
            joined = (month.quarter, month.hours * HOUR - 3 * DAY) if roll < 0.22 else (-540 * DAY, month.quarter - DAY)
            link, since = random_link(rng), rng.randrange(*joined)
        kind = "enterprise" if rng.random() < 0.4 else "individual"
        people.append(Customer(f"c-{number:05d}", kind, link, since))
    return people


def plan_resources(rng: random.Random, people: list[Customer]) -> list[Resource]:
    resources: list[Resource] = []
    for index, person in enumerate(people):
        dormant = index > 0 and rng.random() < 0.1  # some customers consume nothing this month
        picked = [] if dormant else rng.choices(SERVICES, [s[-1] for s in SERVICES], k=rng.randint(1, 5))
        if index == 0:
            picked.append(SERVICES[-1])  # at least one UTC-metered resource: the period boundary shows
        for service_type, source, prefix, unit, prices, sizes, floor, span, _ in picked:
            number = (len(resources) + 1) * 2654435761 % 2**32  # unique, random-looking ids
            data = {
                "customer_id": person.customer_id,
                "service_type": service_type,
                "resource_id": f"{prefix}{number:08x}",
            }
            data |= {} if service_type == "CDN" else {"region": rng.choice(("cn-north-4", "cn-east-3", "cn-south-1"))}
            data |= {"quantity": "0", "unit": unit, "unit_price": rng.choice(prices), "currency": "CNY"}
            resources.append(Resource(source, data, service_type == "CDN", rng.choice(sizes) * 10**8, floor, span))
    return resources


def _usage(rng: random.Random, month: Month, resources: list[Resource], total: int) -> Iterator[tuple[int, bytes]]:
    """`total` usage lines hour by hour, each resource in turn, as (instant, line)."""
    home, away = [r for r in resources if not r.utc], [r for r in resources if r.utc]
    rng.shuffle(home)
    rng.shuffle(away)
    hours = month.hours
    # UTC-metered resources bill the UTC month, from 08:00 on the 1st to 08:00 after the
    # period's end in local time: their last hours fall in the next period.
    slots = hours + (UTC_LAG if away else 0)
    weights = [_DIURNAL[h % 24] * (len(home) * (h < hours) + len(away) * (UTC_LAG <= h)) for h in range(slots)]
    weight = sum(weights)
    # Seconds of use one record covers, so that a month's bills don't depend on `total`.
    window = HOUR * weight * 24 // (max(total, 1) * sum(_DIURNAL))
    share, encode, draw = len(away) / len(resources), msgspec.json.encode, rng.random
    made = cumulative = turn_home = turn_away = 0
    for hour in range(slots):
        cumulative += weights[hour]
        in_hour = total * cumulative // weight - made
        away_share = 0.0 if hour < UTC_LAG else 1.0 if hour >= hours else share
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
            body = {
                "specversion": "1.0",
                "id": f"u-{made:08d}",
                "source": resource.source,
                "type": "usage.recorded",
                "time": time,
                "data": data,
            }
            yield hour * HOUR + second, encode(body)
