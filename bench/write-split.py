#!/usr/bin/env python3
"""Where a process's disk writes go: /proc/<pid>/io write_bytes over SECONDS, split by thread name
(/proc/<pid>/task/<tid>/io; RocksDB's flush and compaction threads, Flink's checkpoint upload threads,
log appenders...). Bytes of threads that ended within the window are the remainder to the process total.

    bench/write-split.py PID SECONDS
"""
import collections
import os
import re
import sys
import time


def threads(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/io") as f:
                wb = int(re.search(r"^write_bytes: (\d+)", f.read(), re.M).group(1))
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[tid] = (name, wb)
    return out


def total(pid):
    with open(f"/proc/{pid}/io") as f:
        return int(re.search(r"^write_bytes: (\d+)", f.read(), re.M).group(1))


def main():
    pid, secs = sys.argv[1], float(sys.argv[2])
    t0, a = total(pid), threads(pid)
    time.sleep(secs)
    t1, b = total(pid), threads(pid)
    by = collections.Counter()
    for tid, (name, wb) in b.items():
        by[re.sub(r"[-#]?\d+$", "", name)] += wb - a.get(tid, (name, 0))[1]
    seen = sum(by.values())
    by["(threads ended in the window)"] = (t1 - t0) - seen
    print(f"write_bytes {(t1 - t0) / secs / 1e6:.3f} MB/s over {secs:.0f} s, by thread:")
    for name, n in by.most_common():
        if n:
            print(f"  {n / secs / 1e6:8.3f} MB/s  {name}")


if __name__ == "__main__":
    main()
