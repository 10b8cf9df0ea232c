#!/usr/bin/env python3
"""Digest of a replay output directory that ignores only what may differ between runs of the same input.

Wall-clock fields (processing_timestamp, alert_timestamp, dead_lettered_at, and the processing time in
not_future's expected text) are masked. The engine runs
wider than the sinks, so the files interleave its subtasks' outputs in arrival order; each account's lines
keep their order (one subtask, one channel), so lines are stably sorted by account_id (dead letters, whose
account may be missing, are sorted whole). Prints one sha256 per file and one over all three.
"""
import hashlib
import json
import re
import sys
from pathlib import Path

WALL = re.compile(rb'"(processing_timestamp|alert_timestamp|dead_lettered_at)":"[^"]*"'
                  rb'|(after processing time )[0-9T:.Z-]+')
ACCOUNT = re.compile(rb'"account_id":"([^"]*)"')


def mask(m: re.Match) -> bytes:
    return b'"%s":"-"' % m.group(1) if m.group(1) else m.group(2) + b"-"


def digest(path: Path, by_account: bool) -> str:
    lines = [WALL.sub(mask, l.rstrip(b"\n")) for l in path.open("rb")] if path.exists() else []
    if by_account:
        lines.sort(key=lambda l: (m.group(1) if (m := ACCOUNT.search(l)) else b""))
    else:
        lines.sort()
    h = hashlib.sha256()
    for l in lines:
        h.update(l + b"\n")
    return h.hexdigest()


def main() -> None:
    out = Path(sys.argv[1])
    files = {"transactions-processed.jsonl": True, "alerts.jsonl": True, "dead-letter.jsonl": False}
    d = {f: digest(out / f, by) for f, by in files.items()}
    d["all"] = hashlib.sha256("".join(d.values()).encode()).hexdigest()
    print(json.dumps(d))


if __name__ == "__main__":
    main()
