"""The service catalogue on a real store (CONTRACT.md §12): every load recorded as an
engine event (identical ones too), each replacing the whole catalogue, and the list of
service types counting every charge of each type."""

from __future__ import annotations

from commands.catalog import load_catalog, service_type_names, service_types
from engine.mapper import decode_event, is_engine_topic
from schemas.resources import ServiceType, ServiceTypeNames
from tests.builders import associated, gift, order_paid, order_refunded, usage
from tests.conftest import record

ECS = ServiceTypeNames("ECS", "弹性云服务器", "Elastic Cloud Server")
RDS = ServiceTypeNames("RDS", None, "Relational Database Service")


def catalog_loads(engine) -> list:
    with engine.ledger.recorder.read_transaction() as c:
        rows = engine.ledger.recorder.select_notifications_in(c, 0, 10_000)
    return [decode_event(row[1], row[2]) for row in rows if is_engine_topic(row[1])]


def test_every_load_is_recorded_even_when_identical(store):
    load_catalog(store, [ECS])
    load_catalog(store, [ECS])
    loads = catalog_loads(store)
    assert [event.LOG_TYPE for event in loads] == ["catalog.loaded", "catalog.loaded"]
    assert [event.id for event in loads] == ["catalog-1", "catalog-2"]
    assert loads[1].service_types == [ECS]


def test_a_load_replaces_the_whole_catalogue(store):
    load_catalog(store, [ECS, RDS])
    load_catalog(store, [RDS])
    assert service_type_names(store) == {"RDS": RDS}
    load_catalog(store, [])
    assert service_type_names(store) == {}


def test_service_types_count_every_charge_and_list_named_types_without_charges(store):
    record(
        store,
        [
            associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00"),
            usage("c-1", service_type="ECS", time="2026-10-03T00:00:00+08:00"),
            usage("c-1", service_type="ECS", time="2026-11-03T00:00:00+08:00"),
            usage("c-2", service_type="ECS", time="2026-11-03T00:00:00+08:00"),
            order_paid("c-1", order_id="o-1", service_type="OBS"),
            order_refunded("c-1", order_id="o-1", amount="1.00"),
            gift("c-1", service_type="OBS"),
        ],
    )
    load_catalog(store, [ECS, RDS])
    assert service_types(store).service_types == [
        ServiceType("ECS", "弹性云服务器", "Elastic Cloud Server", 3),
        ServiceType("OBS", None, None, 3),
        ServiceType("RDS", None, "Relational Database Service", 0),
    ]


def test_service_types_sort_by_code_point(store):
    record(store, [usage("c-1", service_type=name, id=f"u-{name}") for name in ("ecs", "ECS", "Ecs")])
    assert [t.service_type for t in service_types(store).service_types] == ["ECS", "Ecs", "ecs"]
