"""Step 5 of `python -m bench`: the Kafka figures, with a broker.

On the bench's own log: (a) `billing topics create --partitions 6`; (b) `billing publish
LOG` to `billing.events`, measured; (c) the raw consume, aiokafka reading the topic
from the beginning with no group (`bench.consume_raw`), the yardstick; (d) `billing
serve` into a fresh SQLite store, from its launch until every message is recorded
(bench/serve_run.py). Each in a fresh child process.

`billing serve` reads the contract's fixed topic, so the topic must hold nothing else:
with `--kafka tansu` the broker is fresh; an external broker's `billing.events` is
checked to be empty (or absent) first, and each run uses a consumer group of its own.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from pathlib import Path

from bench.broker import Broker, BrokerUnavailable, kafka_broker
from bench.child import billing, run_measured
from bench.log import EventLog
from bench.report import MEMORY_LIMIT_MIB, MIB, Figure, figure
from bench.serve_run import measure_serve, stored_counts
from schemas import topics

PARTITIONS = 6
SERVE_TARGET_VS_RAW = 0.5
SERVE_TARGET_VS_INGEST = 0.9  # issue 17: serve from assignment against `billing ingest`


def measure_kafka(spec: str, log: EventLog, workdir: Path, keep: bool) -> dict:
    """Every Kafka measurement on the broker `--kafka` names; the broker we start is stopped."""
    store = workdir / "bench-serve.db"
    _remove_store(store)
    with kafka_broker(spec, workdir / "tansu") as broker:
        create_topics(broker)
        partitions = empty_partitions(broker)
        publish = run_measured(
            billing("publish", "--kafka", broker.bootstrap, log.path), f"billing publish ({log.lines:,} lines)"
        ).check()
        sent = int(re.search(rb"published: (\d+)", publish.stdout).group(1))
        raw = raw_consume(broker, sent)
        serve = measure_serve(broker, sent, store, timeout_seconds=120 + sent / 1_000)
        serve |= stored_counts(store)
        _remove_store(store)
        one_process = measure_serve(broker, sent, store, 120 + sent / 1_000, {"BILLING_DECIDE_AHEAD": "off"})
        one_process |= stored_counts(store)
    if not keep:
        _remove_store(store)
    return {
        "broker": broker.as_json() | {"spec": spec},
        "topic": topics.EVENTS,
        "partitions": partitions,
        "published": sent,
        "publish": {"seconds": publish.seconds, "msgs_per_s": sent / publish.seconds},
        "raw_consume": raw | {"msgs_per_s": raw["messages"] / raw["seconds"]},
        "serve": serve | {"counts_match_generator": _serve_matches(log, serve)},
        "serve_one_process": one_process | {"counts_match_generator": _serve_matches(log, one_process)},
    }


def create_topics(broker: Broker) -> None:
    run = run_measured(
        billing("topics", "create", "--kafka", broker.bootstrap, "--partitions", str(PARTITIONS)),
        "billing topics create",
    )
    if run.returncode != 0:  # the CLI's one-line message says why (unreachable, refused)
        message = run.stderr.decode(errors="replace").strip().splitlines() or [f"exit {run.returncode}"]
        raise BrokerUnavailable(f"billing topics create on {broker.bootstrap} failed: {message[-1]}")


def empty_partitions(broker: Broker) -> int:
    """The topic's partition count, once it is known to hold no message: serve would
    count an earlier run's messages with this run's."""
    from commands.kafka_tools import KafkaToolError, consumer_lag

    try:
        ends = consumer_lag(broker.bootstrap, f"bench-probe-{uuid.uuid4().hex[:12]}", topics.EVENTS)
    except KafkaToolError as error:
        raise BrokerUnavailable(f"reading {topics.EVENTS}'s offsets on {broker.bootstrap} failed: {error}") from None
    held = sum(p.end for p in ends)
    if held:
        raise BrokerUnavailable(
            f"{topics.EVENTS} on {broker.bootstrap} already holds messages (at least {held:,}); the Kafka step needs "
            "it empty (billing serve reads that fixed topic): delete the topic, or use --kafka tansu"
        )
    return len(ends)


def raw_consume(broker: Broker, messages: int) -> dict:
    argv = [
        sys.executable,
        "-m",
        "bench.consume_raw",
        broker.bootstrap,
        topics.EVENTS,
        str(messages),
        str(60 + messages / 10_000),
    ]
    run = run_measured(argv, f"raw aiokafka consume ({messages:,} messages)").check()
    return json.loads(run.stdout)


def _serve_matches(log: EventLog, serve: dict) -> bool:
    logged = serve["logged"]
    return (logged["accepted"], logged["duplicates"], logged["rejected"]) == (
        log.expected_accepted,
        log.duplicates,
        log.bad_lines,
    ) and (serve["stored_events"], serve["rejections"]) == (log.expected_accepted, log.bad_lines)


def _remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".publish-lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def kafka_figures(kafka: dict | None, ingest_events_per_s: float | None) -> list[Figure]:
    """The Kafka rows of the table; every value None when the step was skipped."""
    publish = raw = end_to_end = after_join = peak = peaks_summed = one_process = None
    partitions = PARTITIONS
    if kafka is not None:
        partitions = kafka["partitions"]
        serve, sent = kafka["serve"], kafka["published"]
        publish, raw = kafka["publish"]["msgs_per_s"], kafka["raw_consume"]["msgs_per_s"]
        end_to_end = sent / serve["recorded_after_s"]
        after_join = _after_assignment(serve, sent)
        one_process = _after_assignment(kafka.get("serve_one_process"), sent)
        peak = serve["tree_peak_rss_bytes_sampled"] / MIB
        peaks_summed = serve["peak_rss_bytes_with_children"] / MIB
    return [
        figure("kafka_publish_msgs_per_s", f"billing publish (to {partitions} partitions)", publish, "msgs/s"),
        figure("kafka_raw_consume_msgs_per_s", "raw consume (aiokafka, no group)", raw, "msgs/s"),
        figure("serve_events_per_s", "billing serve, end to end (start-up to recorded)", end_to_end, "events/s"),
        figure("serve_events_per_s_after_join", "billing serve, from partition assignment", after_join, "events/s"),
        figure(
            "serve_after_join_vs_ingest",
            "serve from assignment / ingest",
            _ratio(after_join, ingest_events_per_s),
            "×",
            at_least=SERVE_TARGET_VS_INGEST,
            target=f"≥ {SERVE_TARGET_VS_INGEST}",
        ),
        figure(
            "serve_one_process_events_per_s_after_join",
            "billing serve in one process (off), from assignment",
            one_process,
            "events/s",
        ),
        figure("serve_vs_serve_one_process", "serve / serve in one process", _ratio(after_join, one_process), "×"),
        figure(
            "serve_vs_raw_consume",
            "serve end to end / raw consume",
            _ratio(end_to_end, raw),
            "×",
            at_least=SERVE_TARGET_VS_RAW,
            target=f"≥ {SERVE_TARGET_VS_RAW}",
        ),
        figure("serve_vs_raw_consume_after_join", "serve after assignment / raw consume", _ratio(after_join, raw), "×"),
        figure(
            "serve_peak_rss_mib",
            "billing serve, peak RSS of both processes (sampled)",
            peak,
            "MiB",
            at_most=MEMORY_LIMIT_MIB,
            target=f"≤ {MEMORY_LIMIT_MIB:,.0f} (1 GiB, at 1M)",
        ),
        figure("serve_peaks_summed_mib", "billing serve, each process's peak, summed", peaks_summed, "MiB"),
    ]


def _after_assignment(serve: dict | None, sent: int) -> float | None:
    if serve is None or serve["assigned_after_s"] is None:
        return None
    return sent / (serve["recorded_after_s"] - serve["assigned_after_s"])


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def kafka_notes(kafka: dict | None, log: EventLog) -> list[str]:
    if kafka is None:
        return ["Kafka step skipped (no --kafka)"]
    serve, raw, sent = kafka["serve"], kafka["raw_consume"], kafka["published"]
    notes = [
        "Kafka: serve end to end runs from its launch (interpreter start-up and group join included) until "
        "the store has recorded every message; 'from partition assignment' starts at its 'assigned' log line; "
        "the raw consume runs from its first fetch to its last message"
    ]
    if sent != log.lines:
        notes.append(f"ODD: billing publish sent {sent:,} messages for {log.lines:,} lines")
    if raw["messages"] != sent or sum(raw["highwater"].values()) != sent:
        notes.append(
            f"ODD: the raw consume read {raw['messages']:,} messages (high watermarks summing to "
            f"{sum(raw['highwater'].values()):,}) of {sent:,} published"
        )
    if not serve["counts_match_generator"]:
        notes.append(
            f"ODD: serve's counts {serve['logged']} (stored events {serve['stored_events']}, rejections "
            f"{serve['rejections']}) differ from the generator's (accepted {log.expected_accepted}, "
            f"duplicates {log.duplicates}, rejected {log.bad_lines})"
        )
    if serve["recorded_messages"] != sent:
        notes.append(f"ODD: serve's store records {serve['recorded_messages']} messages of {sent} published")
    if serve["assigned_after_s"] is None:
        notes.append("ODD: serve's 'assigned' log line was not seen: no figure from partition assignment")
    if serve["published_after_s"] is None:
        notes.append(
            "ODD: serve had not published every view within bench.serve_run.PUBLISH_WAIT_SECONDS after recording"
        )
    if serve["exit_status"] != 0:
        notes.append(f"ODD: billing serve exited with {serve['exit_status']} on SIGTERM")
    one_process = kafka.get("serve_one_process")
    if one_process is not None:
        notes.append(
            "Kafka: billing serve runs as the README says (BILLING_DECIDE_AHEAD=auto: on SQLite with two cores a "
            "second process decides the batches); 'in one process' is a second run of the same messages into a "
            "fresh store with BILLING_DECIDE_AHEAD=off"
        )
        if not one_process["counts_match_generator"] or one_process["exit_status"] != 0:
            notes.append(
                f"ODD: serve in one process logged {one_process['logged']} and exited {one_process['exit_status']}"
            )
    return notes
