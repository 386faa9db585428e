"""Synchronous Kafka tooling with kafka-python: publish files, create topics, show lag.

Producers are never idempotent: the engine's exactly-once effect comes from the
store's `(source, id)` constraint and from committing offsets after the store commit,
and some Kafka-protocol brokers (the test broker among them) refuse idempotent
producers. kafka-python is imported where it is used: the CLI's other commands start
without it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from commands.json_lines import read_json_lines
from schemas import topics

_TIMEOUT_MS = 30_000


class KafkaToolError(RuntimeError):
    """The broker could not be reached or refused; the message says which."""


class _CustomerOnly(msgspec.Struct):
    customer_id: str | None = None


class _KeyProbe(msgspec.Struct):
    data: _CustomerOnly | None = None


_KEY_DECODER = msgspec.json.Decoder(_KeyProbe)


def message_key(line: bytes) -> bytes | None:
    """The line's `data.customer_id` as the key, or None when it can't be read."""
    try:
        probe = _KEY_DECODER.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    customer_id = probe.data.customer_id if probe.data is not None else None
    return customer_id.encode() if isinstance(customer_id, str) else None


def _servers(bootstrap: str) -> list[str]:
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


PROBE_TIMEOUT_SECONDS = 3.0


def check_reachable(bootstrap: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """Fails within seconds, in one line, when no broker of the list accepts a
    connection (the Kafka clients would retry for 30 s and more before saying so)."""
    problems = []
    for server in _servers(bootstrap):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=timeout):
                return
        except ValueError:
            problems.append(f"{server}: not HOST:PORT")
        except OSError as error:
            problems.append(f"{server}: {error.strerror or error}")
    raise KafkaToolError(
        f"cannot reach Kafka at {bootstrap} ({'; '.join(problems) or 'no broker given'}); set --kafka or BILLING_KAFKA"
    )


def publish_files(
    bootstrap: str,
    streams: Iterable,
    topic: str = topics.EVENTS,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Sends every non-blank line as is (less BOM and `\\r`), keyed by customer; returns
    the count once the broker has acknowledged every message."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    check_reachable(bootstrap)
    try:
        producer = KafkaProducer(
            bootstrap_servers=_servers(bootstrap),
            acks="all",
            enable_idempotence=False,
            linger_ms=5,
            request_timeout_ms=_TIMEOUT_MS,
        )
    except KafkaError as error:
        raise KafkaToolError(f"cannot reach Kafka at {bootstrap}: {error}") from error
    sent = 0
    failures: list[BaseException] = []
    try:
        for stream in streams:
            for line in read_json_lines(stream, progress):
                future = producer.send(topic, value=line, key=message_key(line))
                future.add_errback(failures.append)
                sent += 1
        producer.flush(timeout=_TIMEOUT_MS / 1000)
    finally:
        producer.close(timeout=5)
    if failures:
        raise KafkaToolError(f"{len(failures)} of {sent} messages were not acknowledged: {failures[0]}")
    return sent


def create_topics(bootstrap: str, partitions: int, replication_factor: int = 1) -> list[str]:
    """Creates the five topics; returns those that were new (existing ones are kept)."""
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    admin = _admin(bootstrap)
    created = []
    try:
        for name in topics.ALL_TOPICS:
            try:
                admin.create_topics([NewTopic(name, partitions, replication_factor)], timeout_ms=_TIMEOUT_MS)
                created.append(name)
            except TopicAlreadyExistsError:
                continue
    except KafkaError as error:
        raise KafkaToolError(f"creating topics failed: {error}") from error
    finally:
        admin.close()
    return created


def _admin(bootstrap: str):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    check_reachable(bootstrap)
    try:
        return KafkaAdminClient(bootstrap_servers=_servers(bootstrap), request_timeout_ms=_TIMEOUT_MS)
    except KafkaError as error:
        raise KafkaToolError(f"cannot reach Kafka at {bootstrap}: {error}") from error


@dataclass(slots=True)
class PartitionLag:
    """How far the group is behind on one partition."""

    topic: str
    partition: int
    committed: int
    end: int
    lag: int


def consumer_lag(bootstrap: str, group: str, topic: str = topics.EVENTS) -> list[PartitionLag]:
    """The group's lag on each partition of the topic."""
    from kafka.errors import KafkaError

    admin = _admin(bootstrap)
    try:
        committed = {
            (tp.topic, tp.partition): meta.offset
            for tp, meta in admin.list_group_offsets({group: None}).get(group, {}).items()
            if meta is not None and meta.offset is not None and meta.offset >= 0
        }
    except KafkaError as error:
        raise KafkaToolError(f"reading the offsets of group {group!r} failed: {error}") from error
    finally:
        admin.close()
    ends = _end_offsets(bootstrap, topic)
    return [
        PartitionLag(
            topic,
            partition,
            committed.get((topic, partition), 0),
            end,
            max(0, end - committed.get((topic, partition), 0)),
        )
        for partition, end in sorted(ends.items())
    ]


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's end offset: the larger of what ListOffsets says and the high
    watermark a fetch reports (some brokers under-report the former after batching)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=_servers(bootstrap),
        enable_auto_commit=False,
        request_timeout_ms=_TIMEOUT_MS,
        consumer_timeout_ms=2000,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not assigned:
            return {}
        consumer.assign(assigned)
        listed = consumer.end_offsets(assigned)
        for tp in assigned:
            consumer.seek(tp, max(0, listed[tp] - 1))
        # A fetch reports each partition's high watermark; poll until every partition's
        # fetch came back (a few records a poll left some unknown: a short lag).
        deadline = time.monotonic() + _TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=500, max_records=10_000)
            if all(consumer.highwater(tp) is not None for tp in assigned):
                break
        return {tp.partition: max(listed[tp], consumer.highwater(tp) or 0) for tp in assigned}
    finally:
        consumer.close()
