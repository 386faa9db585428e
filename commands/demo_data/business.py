"""The month's business events other than regular usage: account-manager assignments,
associations (some ended and renewed), discounts granted and revoked, orders, gifts and
refunds, and the deliberate anomalies (redelivered usage, three bad lines)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from itertools import count

import msgspec

from commands.demo_data.world import (
    ASSOCIATIONS,
    DAY,
    DISCOUNTS,
    HOUR,
    ORDERS,
    PACKAGES,
    ROSTER,
    SUPERVISORS,
    Customer,
    Month,
    Resource,
    random_link,
)


class Business:
    """The month's events other than regular usage, as (delivered at, sequence, line)."""

    def __init__(self, rng: random.Random, month: Month):
        self.rng, self.month = rng, month
        self.entries: list[tuple[int, int, bytes]] = []
        self.counters: dict[str, Iterator[int]] = defaultdict(lambda: count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counters[prefix]):07d}"

    def add(
        self, at: int, source: str, type_: str, data: dict, prefix: str, utc: bool = False, again_at: int | None = None
    ) -> None:
        # The order system writes UTC with milliseconds; the others local time in seconds.
        millis = self.rng.randrange(1000) if source == ORDERS else None
        body = {
            "specversion": "1.0",
            "id": self.next_id(prefix),
            "source": source,
            "type": type_,
            "time": self.month.stamp(at, utc or source == ORDERS, millis),
            "data": data,
        }
        line = msgspec.json.encode(body)
        for delivered in (at,) if again_at is None else (at, again_at):
            self.entries.append((delivered, len(self.entries), line))

    def account_managers(self) -> None:
        for partner, assignments, moved in SUPERVISORS:
            for manager, supervisor in assignments:
                data = {"partner_id": partner, "account_manager_id": manager, "supervisor_id": supervisor}
                self.add(-30 * DAY, ROSTER, "account_manager.assigned", data, "am")
            if moved is not None:
                data = {"partner_id": partner, "account_manager_id": moved[0], "supervisor_id": moved[1]}
                self.add(15 * DAY, ROSTER, "account_manager.assigned", data, "am")

    def associate(self, person: Customer, link: tuple, at: int) -> None:
        partner, reseller, manager = link
        data = {
            "partner_id": partner,
            "customer_id": person.customer_id,
            "customer_type": person.customer_type,
            "channel": self.rng.choices(("registration", "invitation_link", "qr_code"), (5, 3, 2))[0],
        }
        data |= {k: v for k, v in (("indirect_partner_id", reseller), ("account_manager_id", manager)) if v}
        self.add(at, ASSOCIATIONS, "customer.associated", data, "as")

    def associations(self, people: list[Customer]) -> None:
        rng = self.rng
        for person in people:
            if person.link:
                self.associate(person, person.link, person.since)
        settled = [p for p in people if p.link and p.since < self.month.quarter]
        for turn, person in enumerate(rng.sample(settled, min(len(settled), max(2, len(people) // 25)))):
            left = rng.randrange(3 * DAY, 20 * DAY)
            reason = rng.choice(("moved to another partner", "project finished", "customer request"))
            data = {"partner_id": person.link[0], "customer_id": person.customer_id, "reason": reason}
            self.add(left, ASSOCIATIONS, "customer.disassociated", data, "as")
            if turn % 2 == 0:  # every other one comes back: alternately to the same and another partner
                link = person.link if turn % 4 == 0 else random_link(rng, other_than=person.link[0])
                self.associate(person, link, left + rng.randrange(HOUR, 6 * DAY))

    def grant(
        self, person: Customer, kind: str, service: str, rate: str, at: int, start: int, end: str | None = None
    ) -> str:
        discount_id = self.next_id("dsc")
        data = {
            "discount_id": discount_id,
            "customer_id": person.customer_id,
            "kind": kind,
            "service_type": service,
            "rate": rate,
            "valid_from": self.month.stamp(start),
        }
        data |= {k: v for k, v in (("valid_to", end), ("partner_id", person.link and person.link[0])) if v}
        self.add(at, DISCOUNTS, "discount.granted", data, "dg")
        return discount_id

    def discounts(self, people: list[Customer]) -> None:
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
            self.add(rng.randrange(6 * DAY, 22 * DAY), DISCOUNTS, "discount.revoked", data, "dv")

    def orders(self, people: list[Customer]) -> None:
        rng = self.rng
        for person in people:
            roll = rng.random()
            if roll < 0.19:  # a package bought this month, or (4%) a yearly one bought before it
                paid = rng.randrange(-300 * DAY, -10 * DAY) if roll < 0.04 else rng.randrange(22 * DAY)
                product, service, price = rng.choice(PACKAGES)
                order_id = self.next_id("ord")
                data = {
                    "order_id": order_id,
                    "customer_id": person.customer_id,
                    "product_id": product,
                    "service_type": service,
                    "source_type": "0",
                    "amount": price,
                    "currency": "CNY",
                }
                self.add(paid, ORDERS, "order.paid", data, "op")
                if rng.random() < (0.5 if roll < 0.04 else 0.3):  # a partial refund, at most 60%
                    cents = rng.randint(1, int(price.replace(".", "")) * 6 // 10)
                    data = {
                        "order_id": order_id,
                        "customer_id": person.customer_id,
                        "amount": f"{cents // 100}.{cents % 100:02d}",
                        "currency": "CNY",
                    }
                    self.add(max(paid, 0) + rng.randrange(DAY, 6 * DAY), ORDERS, "order.refunded", data, "or")
            elif roll < 0.25:  # a gift from the developer platform: no order id, amount zero
                data = {
                    "order_id": "",
                    "customer_id": person.customer_id,
                    "product_id": "gift-codearts-100h",
                    "service_type": "CodeArts",
                    "source_type": "1",
                    "amount": "0",
                    "currency": "CNY",
                }
                self.add(rng.randrange(25 * DAY), ORDERS, "order.paid", data, "op")

    def anomalies(self, people: list[Customer], resources: list[Resource]) -> None:
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
        refund = {
            "order_id": "ord-0000000",
            "customer_id": people[-1].customer_id,
            "amount": "10.00",
            "currency": "CNY",
        }  # an order this customer never paid
        self.add(15 * DAY, ORDERS, "order.refunded", refund, "or")
