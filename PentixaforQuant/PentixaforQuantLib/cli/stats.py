"""``stats``: the source studies' statistics, tables and figures from a cohort table."""

from __future__ import annotations

import sys
from pathlib import Path


def _q_range():
    from ..cohort.analysis import ROUT_Q_RANGE
    from ..measure.parameter_ranges import ValueRange

    lo, hi = ROUT_Q_RANGE
    return ValueRange(100 * lo, 100 * hi, "%", "ROUT false discovery rate Q", low_inclusive=False)


def cmd_stats(args) -> int:
    import hashlib

    from ..cohort.analysis import cohort_statistics, correlation_text, format_p, parse_comparison
    from ..cohort.report_tables import prism_tables, table1_csv_text
    from ..cohort.table import read_cohort_table
    from ..errors import PentixaforQuantError
    from ..outputs.atomic import write_file_atomically
    from ..outputs.json_text import json_text
    from .options import check_ranges

    check_ranges(args, {"q": _q_range()})
    comparisons = [parse_comparison(c) for c in args.compare] if args.compare else None
    table = read_cohort_table(args.cohort)
    source = {"cohort": str(Path(args.cohort).resolve()),
              "sha256": hashlib.sha256(Path(args.cohort).read_bytes()).hexdigest()}
    stats = cohort_statistics(table.rows, q=args.q / 100.0, source=source, columns=table.columns,
                              comparisons=comparisons, missing_group=args.missing_group,
                              input_warnings=table.warnings)
    out = Path(args.out)
    for warning in table.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    path = write_file_atomically(out / "stats.json", json_text(stats))
    written = [path, write_file_atomically(out / "table1.csv", table1_csv_text(stats, table.rows))]
    written += [write_file_atomically(out / name, text) for name, text in prism_tables(stats, table.rows).items()]
    print(f"{stats['scans']} scans, {stats['no_uptake']} without uptake, {stats['with_uptake_measured']} measured"
          + (f", {len(stats['failed'])} failed (left out)" if stats["failed"] else ""))
    for ex in stats["excluded"]:
        print(f"  excluded from {'every statistic' if ex['from'] == 'all' else 'the ' + ex['from'] + ' analysis'}: "
              f"{ex['study_id']} ({ex['reason']})")
    if stats["marrow"]["no_group"]:
        print(f"  no group, left out of the group comparison: {', '.join(stats['marrow']['no_group'])} "
              "(--missing-group NAME makes them a group)")
    for name, why in stats["not_computed"].items():
        print(f"  {name}: {why}")
    for metric, c in stats["correlations"].items():
        if f"correlations.{metric}" in stats["not_computed"]:
            continue
        print(f"  specific activity vs {metric}: {correlation_text(c)} after ROUT ({len(c['outliers'])} outliers); "
              f"all points: {correlation_text(c['without_outlier_removal'])}")
    for test in stats["marrow"]["t_tests"]:
        print(f"  marrow meanSUVmax {test['a']} vs {test['b']}: {format_p(test['p'])}")
    for p in written:
        print(f"wrote {p}")
    if args.no_figures:
        return 0
    try:
        from ..cohort.figures import write_cohort_figures

        for figure in write_cohort_figures(stats, table.rows, out).values():
            for file in figure:
                print(f"wrote {file}")
    except PentixaforQuantError as exc:  # matplotlib missing: the numbers are written, say what is not
        print(f"warning: figures not drawn: {exc}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("stats", help="cohort statistics (stats.json, table1.csv) and figures from a cohort.csv")
    p.add_argument("cohort", help="cohort.csv (written by batch, or by the panel's Add study to cohort)")
    p.add_argument("--out", required=True, help="output folder for stats.json, the tables and the figures")
    p.add_argument("--q", type=float, default=1.0, help="ROUT false discovery rate Q in %% (default 1)")
    p.add_argument("--compare", action="append", metavar="'GROUP vs GROUP'",
                   help="a marrow group comparison (Student's t-test); repeat for more (default: each group "
                        "against the first group of the table)")
    p.add_argument("--missing-group", metavar="NAME",
                   help="put scans with an empty group into this group (default: they are in no group and left "
                        "out of the comparisons)")
    p.add_argument("--no-figures", action="store_true", help="write stats.json and the tables only")
    p.set_defaults(func=cmd_stats)
    from .options import annotate_ranges

    annotate_ranges(p, {"q": _q_range()})
