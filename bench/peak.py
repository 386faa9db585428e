"""`python -m bench.peak REPORT COMMAND…`: runs COMMAND and writes its peak RSS to REPORT.

On Linux `exec` keeps the larger of the new program's peak RSS and the peak of the
process it replaced, so a command started straight from the bench reports at least the
bench's own peak (which holds a million rows during the raw inserts). Started from this
small interpreter instead (stdlib `os` only), the floor is this process's few MiB.

It also samples, every 50 ms, the resident memory of the command and its children
together (`tree_peak_kib`): an ingest that decides ahead runs as two processes.
"""

from __future__ import annotations

import json
import os
import sys
import time

_SAMPLE_SECONDS = 0.05


def main(argv: list[str]) -> int:
    report, program, *arguments = argv
    pid = os.posix_spawn(program, [program, *arguments], os.environ)  # stdin/out/err inherited
    tree_peak_kib = 0  # the command's and its children's resident memory together (Linux)
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        tree_peak_kib = max(tree_peak_kib, tree_rss_kib(pid))
        time.sleep(_SAMPLE_SECONDS)
    with open(report, "w") as file:
        json.dump({"ru_maxrss": usage.ru_maxrss, "own_ru_maxrss": _own_peak(), "tree_peak_kib": tree_peak_kib}, file)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def tree_rss_kib(pid: int) -> int:
    """VmRSS of a process and its descendants, in KiB (0 where /proc can't tell)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError):
            continue
        pending += children_of(current)
    return total


def children_of(pid: int) -> list[int]:
    """The live children of a process, whichever of its threads started them (serve
    starts its decider from a worker thread; Linux: none elsewhere)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except (OSError, ValueError):
        pass
    return found


def _own_peak() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
