"""The tests' Kafka-protocol broker fixture.

`kafka_bootstrap` (session scope) yields "HOST:PORT". With `KAFKA_BOOTSTRAP` set it
uses that broker (a real Kafka from `compose.yaml`, say) and starts nothing; otherwise
it starts Tansu (`testsupport.tansu.running_tansu`) and always stops it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testsupport.tansu import START_TIMEOUT_SECONDS, BrokerStartError, running_tansu, wait_for_broker


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The "HOST:PORT" of a Kafka-protocol broker: `$KAFKA_BOOTSTRAP`, or a Tansu of our own."""
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        try:
            wait_for_broker(external, START_TIMEOUT_SECONDS)
        except BrokerStartError as error:
            raise BrokerStartError(f"KAFKA_BOOTSTRAP={external}: {error}") from None
        yield external
        return
    with running_tansu(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker.bootstrap
