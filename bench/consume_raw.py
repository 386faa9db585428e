"""The raw consume: aiokafka reading a topic from the beginning, and nothing else.

    python -m bench.consume_raw BOOTSTRAP TOPIC N [TIMEOUT_SECONDS]

No consumer group (so no join): every partition is assigned and read from its first
offset until N messages have arrived; each value is only touched (its length summed).
The consumer has aiokafka's default fetch settings, as `billing serve`'s has. Prints
JSON: `messages`, `bytes`, `seconds` (from the first fetch's start to the last
message), `wall_seconds` (from the start of this process), the partitions and each one's
high watermark as the fetches reported it. Exits 1 if N messages did not arrive in time.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the imports: the wall clock includes them

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: E402

_FETCH_WAIT_MS = 500


async def consume(bootstrap: str, topic: str, wanted: int, timeout_seconds: float) -> dict:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        await consumer.topics()  # a metadata request: the topic's partitions become known
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            raise SystemExit(f"consume_raw: topic {topic!r} has no partitions on {bootstrap}")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        messages = size = 0
        first = last = time.perf_counter()
        async with asyncio.timeout(timeout_seconds):
            while messages < wanted:
                batches = await consumer.getmany(timeout_ms=_FETCH_WAIT_MS)
                for records in batches.values():
                    messages += len(records)
                    size += sum(len(record.value or b"") for record in records)
                if batches:
                    last = time.perf_counter()
        highwater = {tp.partition: consumer.highwater(tp) for tp in partitions}
    finally:
        await consumer.stop()
    return {
        "messages": messages,
        "bytes": size,
        "seconds": last - first,
        "wall_seconds": time.perf_counter() - STARTED,
        "partitions": len(partitions),
        "highwater": highwater,
    }


def main(argv: list[str]) -> int:
    bootstrap, topic, wanted = argv[0], argv[1], int(argv[2])
    timeout_seconds = float(argv[3]) if len(argv) > 3 else 120.0
    try:
        result = asyncio.run(consume(bootstrap, topic, wanted, timeout_seconds))
    except TimeoutError:
        print(f"consume_raw: fewer than {wanted} messages on {topic} within {timeout_seconds:.0f} s", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
