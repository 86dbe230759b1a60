"""What one student process costs: fork from the fork server, first answer, kill.

``python bench/fork_cost.py [N]`` starts a fork server per isolation (``bubblewrap``: each student
process in user, PID, mount and IPC namespaces of its own, see ``gradekit.sandbox.confine``;
``rlimits``: a plain fork) and times N student processes each: fork, a ``hello`` round trip,
kill (the fork server reaps it before the next fork). Prints the median and the 90th percentile
in milliseconds.
"""

from __future__ import annotations

import statistics
import sys
import time

from gradekit.sandbox.isolation import choose_isolation
from gradekit.sandbox.limits import Limits
from gradekit.sandbox.workers import WorkerPool


def cost(isolation: str, count: int) -> list[float]:
    limits = Limits(isolation=isolation, preload=("numpy",), memory_mb=2048)
    times = []
    with WorkerPool() as workers:
        workers.start(limits).close()  # the fork server starts (not counted)
        for _ in range(count):
            started = time.perf_counter()
            channel = workers.start(limits)
            channel.request({"op": "hello"}, 30)
            channel.close()
            times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    kinds = ["rlimits"]
    if choose_isolation().name == "bubblewrap":
        kinds.insert(0, "bubblewrap")
    for kind in kinds:
        times = sorted(cost(kind, count))
        p90 = times[int(0.9 * (len(times) - 1))]
        median = statistics.median(times)
        print(f"{kind:<11} {count} processes: median {median:.1f} ms, p90 {p90:.1f} ms")


if __name__ == "__main__":
    main()
