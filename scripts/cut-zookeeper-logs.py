"""Cut loghub's ZooKeeper 2k-line sample into data/zookeeper-logs.csv (see data/README.md).

Usage: python scripts/cut-zookeeper-logs.py Zookeeper_2k.log > data/zookeeper-logs.csv

Each raw line looks like
``2015-07-29 19:04:29,071 - WARN  [SendWorker:1889:QuorumCnxManager$SendWorker@688] - Send worker leaving``;
it becomes one CSV row: line number, ISO timestamp (the source gives no time zone), level,
thread, logger (the Java class), source line and message. A line that does not parse stops
the script with its number: nothing is dropped silently.
"""

from __future__ import annotations

import csv
import re
import sys

LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}),(\d{3}) - (\w+)\s+\[(.*):([\w$]+)@(\d+)\] - (.*)$")


def main(path: str) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["line", "timestamp", "level", "thread", "logger", "source_line", "message"])
    with open(path, encoding="utf-8") as handle:
        for n, raw in enumerate(handle, start=1):
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                sys.exit(f"line {n} does not parse: {raw!r}")
            date, clock, millis, level, thread, logger, source_line, message = m.groups()
            out.writerow([n, f"{date}T{clock}.{millis}", level, thread, logger, source_line, message])


if __name__ == "__main__":
    main(sys.argv[1])
