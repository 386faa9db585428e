"""The demo's sample world: five partners with their resellers and account managers,
six metered services, prepaid packages, who supervises whom, and the month's clock.

Fixed data, shared by the planning of a month (`commands.demo_data.month`) and its
business events (`commands.demo_data.business`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.instants import parse_period

HOUR, DAY = 3600, 86400
UTC_LAG = 8  # hours: upstream systems run in Asia/Shanghai (UTC+8, no daylight saving)

# (partner_id, its cloud resellers, its account managers, weight)
PARTNERS = (
    ("dist-huabei", ("rs-bj-yunfan", "rs-tj-haihe", "rs-sjz-jiguang", "rs-ty-jinyun"), ("am-zhao", "am-qian"), 30),
    ("dist-huadong", ("rs-sh-pujiang", "rs-hz-xihu", "rs-nj-zhongshan"), ("am-li", "am-zhou"), 25),
    ("sp-yunzhi", (), ("am-wu", "am-zheng"), 20),
    ("sp-shujuqiao", (), ("am-wang",), 15),
    ("sp-anxin", (), ("am-feng",), 10),
)
# (service_type, source, id prefix, unit, list prices, sizes, busy floor, busy span, weight): a record's
# quantity is size × seconds in use / 3600, where the share in use is floor + span × random.
SERVICES = (
    ("ECS", "metering/ecs", "i-", "hour", ("0.06200000", "0.12345678", "0.38500000", "1.99200000"), (1,), 0.6, 0.4, 35),
    ("EVS", "metering/evs", "vol-", "GB-hour", ("0.00064000", "0.00138889", "0.00097222"), (10, 40, 500), 1.0, 0, 20),
    ("OBS", "metering/obs", "obs-", "GB-hour", ("0.00013889", "0.00010417"), (5, 120, 2048), 0.9, 0.1, 15),
    ("RDS", "metering/rds", "rds-", "hour", ("0.51388889", "0.86400000", "2.16000000"), (1,), 0.95, 0.05, 10),
    ("DCS", "metering/dcs", "redis-", "hour", ("0.05555556", "0.19444444"), (1,), 0.9, 0.1, 8),
    ("CDN", "metering/cdn", "cdn-", "GB", ("0.19800000", "0.15000000", "0.12345678"), (2, 15, 80), 0.0, 1.0, 12),
)
PACKAGES = (  # prepaid orders: (product_id, service_type, list price)
    ("pkg-obs-1tb-1y", "OBS", "1200.00"),
    ("pkg-ecs-c6-large-1m", "ECS", "281.05"),
    ("pkg-rds-mysql-1y", "RDS", "3599.50"),
    ("pkg-cdn-500gb", "CDN", "88.88"),
    ("pkg-evs-ssd-2tb-1y", "EVS", "2688.66"),
    ("ecs-m6-2xlarge-1y", "ECS", "12800.00"),
)
ASSOCIATIONS, DISCOUNTS, ORDERS = "partner-center/associations", "crm/discounts", "billing/orders"
ROSTER = "partner-center/account-managers"
# Who supervises each account manager (CONTRACT.md §9), from before the month on; the
# second pair of each entry is a reassignment on the 16th (am-qian moves to sv-ma).
SUPERVISORS = (
    ("dist-huabei", (("am-zhao", "sv-sun"), ("am-qian", "sv-sun")), ("am-qian", "sv-ma")),
    ("dist-huadong", (("am-li", "sv-ma"), ("am-zhou", "sv-ma")), None),
    ("sp-yunzhi", (("am-wu", "sv-chen"), ("am-zheng", "sv-chen")), None),
    ("sp-shujuqiao", (("am-wang", "sv-chen"),), None),
    ("sp-anxin", (("am-feng", "sv-chen"),), None),
)


@dataclass(slots=True)
class Customer:
    customer_id: str
    customer_type: str
    link: tuple[str, str | None, str | None] | None  # partner, reseller, account manager
    since: int | None  # seconds from the period's start to the first association


@dataclass(slots=True)
class Resource:
    source: str
    data: dict
    utc: bool  # CDN is global: its metering writes UTC and bills the UTC month
    scale: int  # size in 10⁻⁸ units
    floor: float
    span: float


class Month:
    """A period's clock: instants are seconds from its first instant at UTC+8."""

    def __init__(self, period: str):
        year, month = parse_period(period)
        if not 1971 <= year <= 9998:
            raise ValueError(f"period {period}: the demo covers the years 1971 to 9998")
        self.start = datetime(year, month, 1)
        self.hours = (datetime(year + month // 12, month % 12 + 1, 1) - self.start) // timedelta(hours=1)
        self.quarter = (datetime(year, (month - 1) // 3 * 3 + 1, 1) - self.start) // timedelta(seconds=1)

    def stamp(self, at: int, utc: bool = False, millis: int | None = None) -> str:
        moment = self.start + timedelta(seconds=at - (UTC_LAG * HOUR if utc else 0))
        text = moment.isoformat(timespec="seconds") + ("" if millis is None else f".{millis:03d}")
        return text + ("Z" if utc else "+08:00")


def random_link(rng: random.Random, other_than: str | None = None) -> tuple[str, str | None, str | None]:
    """A partner (by weight, other than `other_than`), maybe one of its resellers, maybe an account manager."""
    partners = [p for p in PARTNERS if p[0] != other_than]
    partner, resellers, managers, _ = rng.choices(partners, [p[3] for p in partners])[0]
    # Most of a distributor's customers come through one of its cloud resellers.
    reseller = rng.choice(resellers) if resellers and rng.random() < 0.8 else None
    return partner, reseller, rng.choice(managers) if rng.random() < 0.9 else None
