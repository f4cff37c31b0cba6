"""`linkindex build [STEP]`: argument parsing and wiring for index builds, on one
machine (`--jobs N`) or as steps of a cluster build (plan, map, reduce, write, commit)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from core.errors import LinkindexError

BUILT_WITH_WARNINGS = 3  # exit status of a build that left something out (said on stderr)
# as index.steps.STEPS (tests/test_incremental.py): not imported, to keep start-up light
STEPS = ("plan", "map", "reduce", "write", "commit")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw]?)\Z")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(text: str) -> float:
    """Seconds in "90", "90s", "30m", "12h", "7d" or "2w"."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 12h, 7d)")
    return float(match[1]) * _SECONDS[match[2]]


def add_parser(sub: Any, data_arg: Any) -> None:
    p = sub.add_parser(
        "build", help="build a new index generation from all raw crawls (incremental)",
        description="Without STEP: the whole build here, in --jobs processes. With STEP: "
                    "one step of a cluster build, in order plan, map, reduce, write, "
                    "commit; map, reduce and write run as task --task of --tasks "
                    "(default: $JOB_COMPLETION_INDEX of a Kubernetes Indexed Job).")
    p.add_argument("step", nargs="?", choices=STEPS, metavar="STEP",
                   help="one step of a cluster build: " + ", ".join(STEPS))
    data_arg(p)
    p.add_argument("--force", action="store_true",
                   help="a full rebuild, even if nothing is new")
    p.add_argument("--keep", type=int, default=3, help="generations to keep (default 3)")
    p.add_argument("--keep-for", type=duration, metavar="DURATION",
                   help="also keep every generation younger than this (e.g. 12h, 7d), "
                        "for external readers")
    p.add_argument("--buckets", type=int,
                   help="target-domain buckets (default: by size, fixed by the first "
                        "build; another count is a full rebuild)")
    p.add_argument("--trust-seeds", metavar="FILE",
                   help="also compute domain trust (TrustRank) from these registrable "
                        "domains, one per line (docs/metrics.md)")
    p.add_argument("--jobs", type=int, default=1,
                   help="processes for map, reduce and write (default 1)")
    p.add_argument("--threads", type=int,
                   help="DuckDB threads in all (default: one per CPU)")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="DuckDB memory limit per process, e.g. 4GB (default: 80%% of RAM)")
    p.add_argument("--spill-dir", metavar="DIR",
                   help="where DuckDB spills (default: DATA/stage/next)")
    p.add_argument("--task", type=int, help="this task's number, from 0 "
                                             "(default: $JOB_COMPLETION_INDEX or 0)")
    p.add_argument("--tasks", type=int, default=1,
                   help="how many tasks share the step (default 1)")
    p.add_argument("--build-id", help="ties the steps of one cluster build together")
    p.add_argument("--wait", type=duration, default=0.0, metavar="DURATION",
                   help="wait up to this long for the step before to finish (default: "
                        "do not wait)")


def cmd_build(args: argparse.Namespace) -> int:
    """Exit 0, or BUILT_WITH_WARNINGS when the live index leaves out a corrupt raw part
    (built from the rest: nothing readable is lost)."""
    from pathlib import Path

    from index.build import BuildResult, build_index, build_step
    from index.ranks import read_trust_seeds

    options: dict[str, Any] = dict(
        force=args.force, keep=args.keep, keep_for=args.keep_for, buckets=args.buckets,
        threads=args.threads, memory_limit=args.memory_limit, spill_dir=args.spill_dir,
        trust_seeds=read_trust_seeds(Path(args.trust_seeds)) if args.trust_seeds else None,
    )
    if args.step is None:
        result: BuildResult | str = build_index(args.data, jobs=args.jobs, **options)
    else:
        task = args.task if args.task is not None else _task_from_env()
        result = build_step(args.data, args.step, task=task, tasks=args.tasks,
                            build_id=args.build_id, wait=args.wait, **options)
    if isinstance(result, str):
        # One write per line: tasks started together often share one log, and print()
        # writes the text and its newline apart when Python runs unbuffered.
        sys.stdout.write(f"{result}\n")
        return 0
    return _report(args, result)


def _task_from_env() -> int:
    value = os.environ.get("JOB_COMPLETION_INDEX", "0")
    try:
        return int(value)
    except ValueError:
        raise LinkindexError(f"JOB_COMPLETION_INDEX is not a number: {value!r}") from None


def _report(args: argparse.Namespace, result: Any) -> int:  # result: index.build.BuildResult
    from queries import write_init_file

    for warning in result.warnings:
        print(f"linkindex: warning: {warning}", file=sys.stderr)
    counts = result.manifest.get("counts", {})
    if result.built:
        build = result.manifest.get("build", {})
        how = (f"incremental on {build['previous']}, {build.get('buckets_rewritten', 0):,} of "
               f"{result.manifest.get('buckets', 0):,} buckets rewritten"
               if build.get("previous") else f"full: {build.get('full_reason')}")
        print(
            f"built index {result.generation}: {counts.get('edges', 0):,} links "
            f"({counts.get('live_edges', 0):,} live), {counts.get('pages', 0):,} pages, "
            f"{counts.get('domains', 0):,} domains ({how})"
        )
    else:
        print(f"index {result.generation} is up to date (nothing new; --force rebuilds)")
    if getattr(args, "store", None):  # no folder to put it in: the text is one command away
        print(f"DuckDB init file: linkindex sql --print-init --data {args.store} "
              "(its s3:// paths need DuckDB's httpfs extension)")
        return BUILT_WITH_WARNINGS if result.warnings else 0
    init = write_init_file(args.data)
    print(f"DuckDB init file: {init} (run DuckDB in DATA: duckdb -init {init.name})")
    return BUILT_WITH_WARNINGS if result.warnings else 0
