"""The benchmark: the engine's ingest and replay measured against the machine's raw limits.

`python -m bench` (see `bench/__main__.py`) writes a realistic month of events with the
demo generator, then measures on the same rows and machine: a plain `sqlite3` insert of
the rows (the limit), a plain eventsourcing Application saving one aggregate per event
(the naive peer), and the real `billing ingest` and `billing replay` commands, each in a
fresh child process; with a Kafka broker (`--kafka`), `billing publish` and `billing
serve` against a raw aiokafka consume of the same log. It is not part of the test suite
and times with the standard library only.
"""
