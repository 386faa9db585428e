"""`python -m bench.peak REPORT COMMAND…`: runs COMMAND and writes its peak RSS to REPORT.

On Linux `exec` keeps the larger of the new program's peak RSS and the peak of the
process it replaced, so a command started straight from the bench reports at least the
bench's own peak (which holds a million rows during the raw inserts). Started from this
small interpreter instead (stdlib `os` only), the floor is this process's few MiB.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    report, program, *arguments = argv
    pid = os.posix_spawn(program, [program, *arguments], os.environ)  # stdin/out/err inherited
    _pid, status, usage = os.wait4(pid, 0)
    with open(report, "w") as file:
        json.dump({"ru_maxrss": usage.ru_maxrss, "own_ru_maxrss": _own_peak()}, file)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _own_peak() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
