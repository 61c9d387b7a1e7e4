"""``stats``: the source studies' statistics and figures from a cohort table."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cmd_stats(args) -> int:
    import hashlib

    from ..cohort.analysis import cohort_statistics, correlation_text
    from ..cohort.table import read_cohort_csv
    from ..errors import PentixaforQuantError
    from ..outputs.atomic import write_file_atomically

    rows = read_cohort_csv(args.cohort)
    source = {"cohort": str(args.cohort), "sha256": hashlib.sha256(Path(args.cohort).read_bytes()).hexdigest()}
    stats = cohort_statistics(rows, q=args.q / 100.0, source=source)
    out = Path(args.out)
    path = write_file_atomically(out / "stats.json", json.dumps(stats, indent=2) + "\n")
    print(f"{stats['scans']} scans, {stats['no_uptake']} without uptake, {stats['with_uptake_measured']} measured"
          + (f", {len(stats['failed'])} failed (left out)" if stats["failed"] else ""))
    for metric, c in stats["correlations"].items():
        print(f"  specific activity vs {metric}: {correlation_text(c)}, ROUT outliers {len(c['outliers'])}")
    print(f"wrote {path}")
    if args.no_figures:
        return 0
    try:
        from ..cohort.figures import write_cohort_figures

        for figure in write_cohort_figures(stats, rows, out).values():
            print(f"wrote {figure}")
    except PentixaforQuantError as exc:  # matplotlib missing: the numbers are written, say what is not
        print(f"warning: figures not drawn: {exc}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("stats", help="cohort statistics (stats.json) and figures from a cohort.csv")
    p.add_argument("cohort", help="cohort.csv (written by batch, or by the panel's Add study to cohort)")
    p.add_argument("--out", required=True, help="output folder for stats.json and the figures")
    p.add_argument("--q", type=float, default=1.0, help="ROUT false discovery rate Q in %% (default 1)")
    p.add_argument("--no-figures", action="store_true", help="write stats.json only")
    p.set_defaults(func=cmd_stats)
