"""How long `make test` takes, and how close its two workers come to half the serial work.

    python bench/suite.py                          # reads build/test-report.xml
    python bench/suite.py --report other.xml

`make test` writes a JUnit report (``build/test-report.xml``) with each test's
time. This reads the last one and prints:

- the wall time of the pytest run (the issue's goal: 10 minutes on 2 cores);
- the serial work: the sum of every test's time, what one worker would need;
- the ideal for two workers (half the serial work) and the wall time as a
  ratio to it (1.00 = perfectly shared; above that, one worker waited on a
  group the other could not take: conftest.py keeps each week's items on one);
- each group's work, largest first: a group longer than half the work would
  set the wall time on its own.

It does not run the suite (that is `make test`, about 11 minutes); without a
report it says so and appends nothing. Results are appended to
bench/results/suite.jsonl.
"""

from __future__ import annotations

import collections
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, record  # noqa: E402

REPORT = Path(__file__).resolve().parent.parent / "build" / "test-report.xml"
GOAL_S = 600.0
_GROUP = re.compile(r"@([\w-]+)\]?$")


def read_report(path: Path) -> dict:
    """Wall time, test count and per-group work (seconds) of one JUnit report."""
    root = ET.parse(path).getroot()
    suite = root.find("testsuite") if root.tag == "testsuites" else root
    if suite is None:
        raise ValueError(f"{path}: no <testsuite> element")
    groups: collections.Counter[str] = collections.Counter()
    for case in suite.iter("testcase"):
        match = _GROUP.search(case.get("name", ""))
        groups[match.group(1) if match else "(any worker)"] += float(case.get("time", 0) or 0)
    return {"wall_s": float(suite.get("time", 0)), "tests": int(suite.get("tests", 0)),
            "failures": int(suite.get("failures", 0)) + int(suite.get("errors", 0)),
            "groups": dict(groups.most_common())}


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 0, "not used")
    parser.add_argument("--report", type=Path, default=REPORT, help="a pytest --junitxml report")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"{args.report} not found: run `make test` first (it writes the report); nothing appended")
        return 0
    try:
        run = read_report(args.report)
    except (ET.ParseError, ValueError) as exc:
        print(f"{args.report}: not a JUnit report ({exc})", file=sys.stderr)
        return 2
    work = sum(run["groups"].values())
    ideal = work / 2
    print(f"make test: {run['tests']:,} tests, {run['failures']} failed or errored")
    rows = [
        {"name": "serial work (sum of test times)", "seconds": round(work, 1), "ratio": 1.0},
        {"name": "ideal on 2 workers (half of it)", "seconds": round(ideal, 1), "ratio": 0.5},
        {"name": "pytest wall time", "seconds": round(run["wall_s"], 1),
         "ratio": round(run["wall_s"] / work, 3) if work else None,
         "of_ideal": round(run["wall_s"] / ideal, 3) if ideal else None,
         "of_goal": round(run["wall_s"] / GOAL_S, 3)},
    ]
    print(f"{'what':<34} {'seconds':>9} {'of serial':>10}")
    for r in rows:
        print(f"{r['name']:<34} {r['seconds']:>9,.1f} {r['ratio']:>9.2f}x")
    print(f"wall time / ideal: {rows[2]['of_ideal']}x; / the 600 s goal: {rows[2]['of_goal']}x")
    print("work per group (a week's items stay on one worker):")
    for group, seconds in run["groups"].items():
        print(f"  {group:<20} {seconds:>7.1f} s  {seconds / work:>5.1%}" if work else f"  {group}")
    path = record("suite", {"report": str(args.report), "tests": run["tests"],
                            "failures": run["failures"], "groups": run["groups"]},
                  rows, args.results_dir)
    print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
