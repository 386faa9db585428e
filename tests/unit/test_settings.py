"""Settings read from the environment once, every one of them: no I/O."""

from __future__ import annotations

import pytest

from commands.settings import Settings
from engine.errors import SettingsError


def test_an_empty_environment_gives_the_documented_defaults():
    settings = Settings.from_environment({})
    assert settings == Settings()
    assert (settings.store_url, settings.currency, settings.timezone) == (
        "sqlite:///billing.db",
        "CNY",
        "Asia/Shanghai",
    )
    assert (settings.projections, settings.progress, settings.now, settings.close_after) == (
        "inline",
        False,
        None,
        None,
    )
    assert (settings.kafka_max_records, settings.kafka_session_timeout_ms, settings.kafka_heartbeat_ms) == (
        5000,
        10_000,
        3000,
    )


def test_every_variable_lands_in_its_field():
    environ = {
        "BILLING_STORE": "memory://",
        "BILLING_CURRENCY": "USD",
        "BILLING_TIMEZONE": "UTC",
        "BILLING_KAFKA": "k:9092",
        "BILLING_GROUP": "g",
        "BILLING_PROJECTIONS": "separate",
        "BILLING_NOW": "2026-11-05T10:00:00+08:00",
        "BILLING_CLOSE_AFTER": "P3D",
        "BILLING_PROGRESS": "1",
        "BILLING_KAFKA_MAX_RECORDS": "20000",
        "BILLING_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "BILLING_KAFKA_HEARTBEAT_MS": "500",
        "POSTGRES_POOL_SIZE": "8",
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    settings = Settings.from_environment(environ)
    assert settings == Settings(
        store_url="memory://",
        currency="USD",
        timezone="UTC",
        kafka="k:9092",
        group="g",
        projections="separate",
        now="2026-11-05T10:00:00+08:00",
        close_after="P3D",
        progress=True,
        kafka_max_records=20000,
        kafka_session_timeout_ms=2000,
        kafka_heartbeat_ms=500,
        postgres_pool_size=8,
        postgres_max_overflow=0,
    )
    assert settings.postgres_tuning()["POSTGRES_POOL_SIZE"] == "8"
    assert settings.postgres_tuning()["POSTGRES_MAX_OVERFLOW"] == "0"


def test_command_line_flags_take_precedence_over_the_environment():
    settings = Settings.from_environment(
        {"BILLING_STORE": "memory://", "BILLING_GROUP": "g"}, store_url="sqlite:///x.db", group=None
    )
    assert (settings.store_url, settings.group) == ("sqlite:///x.db", "g")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BILLING_KAFKA_MAX_RECORDS", "lots"),
        ("BILLING_KAFKA_MAX_RECORDS", "0"),
        ("BILLING_KAFKA_HEARTBEAT_MS", "-5"),
        ("POSTGRES_POOL_SIZE", "2.5"),
        ("POSTGRES_MAX_OVERFLOW", "-1"),
        ("BILLING_PROJECTIONS", "lazy"),
        ("BILLING_NOW", "yesterday"),
        ("BILLING_NOW", "2026-11-05T10:00:00"),  # no offset
        ("BILLING_CLOSE_AFTER", "P1.5M"),  # a fraction of a month
    ],
)
def test_a_setting_that_cannot_be_used_is_refused_naming_its_variable(variable, value):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_environment({variable: value})


def test_progress_is_forced_only_by_the_value_1():
    assert Settings.from_environment({"BILLING_PROGRESS": "yes"}).progress is False
    assert Settings.from_environment({"BILLING_PROGRESS": "1"}).progress is True


def test_the_chain_worker_is_off_unless_billing_chain_worker_is_1():
    assert Settings.from_environment({}).chain_worker is False
    assert Settings.from_environment({"BILLING_CHAIN_WORKER": "yes"}).chain_worker is False
    assert Settings.from_environment({"BILLING_CHAIN_WORKER": "1"}).chain_worker is True
