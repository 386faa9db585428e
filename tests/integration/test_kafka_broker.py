"""The test broker speaks enough Kafka for kafka-python 3, aiokafka and FastStream 0.7.8.

Every wait here waits on progress (records seen, offsets committed) under a deadline,
never on a fixed sleep. The measured figures (group join, end offsets) are printed:
run with `-s` to see them.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord
from aiokafka import TopicPartition as AioTopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from testsupport.tansu import create_topics, unique_name

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

PARTITIONS = 3
MESSAGES_PER_CLIENT = 100
DEADLINE_SECONDS = 30.0
# 6 s is the smallest session timeout a stock Kafka accepts (group.min.session.timeout.ms);
# Tansu answers a JoinGroup after about half the session timeout, so ~3 s per join.
GROUP_SETTINGS = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}


@dataclass
class KeyedTopic:
    """A topic holding 100 keyed messages from each client library."""

    name: str
    partition_of_key: dict[str, dict[bytes, int]]  # client -> key -> partition
    records_per_partition: Counter[int]

    @property
    def total(self) -> int:
        return sum(self.records_per_partition.values())


def produce_with_kafka_python(bootstrap: str, topic: str) -> dict[bytes, int]:
    # kafka-python 3 turns idempotence on by default and Tansu has no InitProducerId.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    try:
        futures = {
            f"customer-{i}".encode(): producer.send(topic, key=f"customer-{i}".encode(), value=f"kp-{i}".encode())
            for i in range(MESSAGES_PER_CLIENT)
        }
        producer.flush(timeout=DEADLINE_SECONDS)
        return {key: future.get(timeout=DEADLINE_SECONDS).partition for key, future in futures.items()}
    finally:
        producer.close(timeout=5)


async def produce_with_aiokafka(bootstrap: str, topic: str) -> dict[bytes, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        futures = {
            f"customer-{i}".encode(): await producer.send(topic, key=f"customer-{i}".encode(), value=f"ak-{i}".encode())
            for i in range(MESSAGES_PER_CLIENT)
        }
        return {key: (await future).partition for key, future in futures.items()}
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
def keyed_topic(kafka_bootstrap: str) -> KeyedTopic:
    topic = unique_name("smoke-keyed")
    create_topics(kafka_bootstrap, [topic], PARTITIONS)
    by_client = {
        "kafka-python": produce_with_kafka_python(kafka_bootstrap, topic),
        "aiokafka": asyncio.run(produce_with_aiokafka(kafka_bootstrap, topic)),
    }
    counts = Counter(p for placed in by_client.values() for p in placed.values())
    return KeyedTopic(topic, by_client, counts)


def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """The group's committed offsets by partition, read with kafka-python 3's admin."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tests-offsets")
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


def test_the_broker_answers_metadata_on_its_advertised_address(kafka_bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        cluster = admin.describe_cluster()
    finally:
        admin.close()
    advertised = {f"{b['host']}:{b['port']}" for b in cluster["brokers"]}
    assert kafka_bootstrap.split(",")[0] in advertised or len(advertised) > 1


def test_both_client_libraries_put_a_key_on_the_same_partition(keyed_topic: KeyedTopic) -> None:
    placed = keyed_topic.partition_of_key
    assert placed["kafka-python"] == placed["aiokafka"]
    assert set(keyed_topic.records_per_partition) == set(range(PARTITIONS))


def test_a_group_consumer_with_manual_commit_reads_everything_and_the_admin_sees_its_offsets(
    kafka_bootstrap: str,
    keyed_topic: KeyedTopic,
) -> None:
    group = unique_name("smoke-group")

    async def consume_and_commit() -> tuple[float, Counter[int], dict[int, int]]:
        consumer = AIOKafkaConsumer(
            keyed_topic.name,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **GROUP_SETTINGS,
        )
        started = time.monotonic()
        joined_after = None
        seen: Counter[int] = Counter()
        next_offset: dict[AioTopicPartition, int] = {}
        await consumer.start()
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                while sum(seen.values()) < keyed_topic.total:
                    batches = await consumer.getmany(timeout_ms=200)
                    if joined_after is None and consumer.assignment():
                        joined_after = time.monotonic() - started
                    for tp, records in batches.items():
                        seen[tp.partition] += len(records)
                        next_offset[tp] = records[-1].offset + 1
            await consumer.commit(next_offset)  # exactly what was processed
            highwater = {tp.partition: consumer.highwater(tp) for tp in consumer.assignment()}
        finally:
            await consumer.stop()
        return joined_after or 0.0, seen, highwater

    joined_after, seen, highwater = asyncio.run(consume_and_commit())
    print(f"\naiokafka group join (session 6 s): {joined_after:.2f} s")

    assert seen == keyed_topic.records_per_partition
    assert highwater == dict(keyed_topic.records_per_partition)
    assert committed_offsets(kafka_bootstrap, group) == dict(keyed_topic.records_per_partition)


def test_a_fetch_carries_the_high_watermark_while_end_offsets_may_fall_short(
    kafka_bootstrap: str,
    keyed_topic: KeyedTopic,
) -> None:
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(keyed_topic.name, p) for p in range(PARTITIONS)]
    try:
        end_offsets = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        seen: Counter[int] = Counter()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while sum(seen.values()) < keyed_topic.total and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=200).items():
                seen[tp.partition] += len(records)
        highwater = {tp.partition: consumer.highwater(tp) for tp in partitions}
    finally:
        consumer.close()
    print(f"\nrecords {dict(keyed_topic.records_per_partition)} fetch highwater {highwater} end_offsets {end_offsets}")

    assert highwater == dict(keyed_topic.records_per_partition)
    # A real Kafka answers the high watermark; Tansu answers last batch's base offset + 1.
    assert all(1 <= end_offsets[p] <= highwater[p] for p in range(PARTITIONS))


class SeekToStoredPositions(ConsumerRebalanceListener):
    """On assignment, moves each partition to the position the store says is next."""

    def __init__(self, positions: dict[int, int], consumer_of: Callable[[], AIOKafkaConsumer | None]) -> None:
        self.positions = positions
        self.consumer_of = consumer_of
        self.assigned_after: float | None = None
        self.started = time.monotonic()  # reset by the test when the subscriber starts

    async def on_partitions_revoked(self, revoked: set[AioTopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[AioTopicPartition]) -> None:
        consumer = self.consumer_of()
        assert consumer is not None
        for tp in assigned:
            consumer.seek(tp, self.positions.get(tp.partition, 0))
        if assigned and self.assigned_after is None:
            self.assigned_after = time.monotonic() - self.started


def raw_records(message) -> tuple[ConsumerRecord, ...]:
    """A decoder that hands over the batch untouched (FastStream would json-parse each value)."""
    return message.raw_message


def test_a_faststream_batch_subscriber_gets_raw_records_seeks_on_assignment_and_commits(
    kafka_bootstrap: str,
) -> None:
    from faststream import AckPolicy
    from faststream.kafka import KafkaBroker, Topic
    from faststream.kafka.annotations import Consumer

    topic, group = unique_name("smoke-faststream"), unique_name("smoke-faststream-group")
    create_topics(kafka_bootstrap, [topic], PARTITIONS)
    # payloads FastStream's default decoder would mangle or choke on (RecursionError)
    payloads = [b"[" * 100_000, b"\xff\xfe not utf-8", b'{"id": 1}', b""] + [f"m{i}".encode() for i in range(26)]
    stored_positions: dict[int, int] = {}  # what a store would say is next, per partition

    async def run() -> tuple[dict[tuple[int, int], tuple[bytes, bytes, str]], list[ConsumerRecord], float | None]:
        broker = KafkaBroker(kafka_bootstrap, acks="all", enable_idempotence=False, allow_auto_create_topics=False)
        received: list[ConsumerRecord] = []
        listener = SeekToStoredPositions(stored_positions, lambda: subscriber.consumer)
        subscriber = broker.subscriber(
            Topic(topic, declare=False),  # never auto-created (with 1 partition) by FastStream
            batch=True,
            max_records=10,
            group_id=group,
            ack_policy=AckPolicy.MANUAL,  # FastStream neither auto-commits nor acks
            auto_offset_reset="earliest",
            listener=listener,
            decoder=raw_records,
            **GROUP_SETTINGS,
        )

        @subscriber
        async def handle(records: tuple[ConsumerRecord, ...], consumer: Consumer) -> None:
            received.extend(records)
            next_offsets = {AioTopicPartition(r.topic, r.partition): r.offset + 1 for r in records}
            await consumer.commit(next_offsets)  # records are in offset order per partition

        sent: dict[tuple[int, int], tuple[bytes, bytes, str]] = {}
        async with broker:  # connects the producer; subscribers start with broker.start()
            for n, payload in enumerate(payloads):
                key = f"customer-{n % 7}".encode()
                metadata = await broker.publish(payload, topic, key=key, headers={"reason": "smoke", "n": str(n)})
                sent[(metadata.partition, metadata.offset)] = (key, payload, str(n))
            ends = Counter(p for p, _ in sent)
            stored_positions.update({p: 1 for p in ends})  # the first record of each is "recorded"
            listener.started = time.monotonic()
            await broker.start()
            async with asyncio.timeout(DEADLINE_SECONDS):
                while await asyncio.to_thread(committed_offsets, kafka_bootstrap, group) != dict(ends):
                    await asyncio.sleep(0.1)  # polls progress; the deadline bounds it
        return sent, received, listener.assigned_after

    sent, received, assigned_after = asyncio.run(run())
    print(f"\nFastStream batch subscriber assigned after {assigned_after:.2f} s; headers {received[0].headers}")

    expected = {position: record for position, record in sent.items() if position[1] >= 1}
    got = {(r.partition, r.offset): (r.key, r.value, dict(r.headers)["n"].decode()) for r in received}
    assert got == expected
    assert all(dict(r.headers)["reason"] == b"smoke" for r in received)
    assert len(received) == len(expected)  # nothing twice
