"""``python -m stress``: the stress runner, the simulator and the killable writer.

Commands (``python -m stress CMD --help`` for the options)::

    run     N threads x M transactions on a real file, invariants checked
            (stress.runner); exits 1 on any failure
    sim     the deterministic simulator over many seeds, or one seed with -v
            (stress.simulator); a failure prints the seed and the replay command
    writer  the crash-consistency writer that tests/mvcc/test_sigkill.py kills
            with SIGKILL (stress.workloads); prints one line per acknowledged commit
"""
from __future__ import annotations

import argparse
import sys


def _sim(args: argparse.Namespace) -> int:
    from stress import simulator

    if args.seed is not None:
        try:
            r = simulator.run_seed(args.seed, steps=args.steps, verbose=args.verbose)
        except simulator.SimFailure as exc:
            print(f"FAIL {exc}")
            return 1
        print(f"seed {args.seed}: ok ({r.steps} steps, {r.commits} commits, {r.conflicts} "
              f"conflicts, {r.busy} busy, {r.crashes} crashes, {r.io_errors} I/O errors)")
        return 0
    seeds = range(args.start, args.start + args.seeds)

    def progress(r: simulator.SeedResult) -> None:
        if args.verbose and r.seed % 100 == 99:
            print(f"  ... seed {r.seed} ok", flush=True)

    s = simulator.run_seeds(seeds, steps=args.steps, stop_on_failure=not args.keep_going,
                            progress=progress)
    t = s.totals
    rate = s.seeds / s.elapsed if s.elapsed else 0.0
    print(f"simulator: {s.seeds} seeds ok in {s.elapsed:.1f}s ({rate:.0f} seeds/s): "
          f"{t.get('steps', 0)} steps, {t.get('commits', 0)} commits, "
          f"{t.get('conflicts', 0)} conflicts, {t.get('busy', 0)} busy, "
          f"{t.get('crashes', 0)} crashes ({t.get('crash_in_flight_kept', 0)} in-flight commits "
          f"kept, {t.get('crash_in_flight_lost', 0)} lost), {t.get('io_errors', 0)} I/O errors, "
          f"{t.get('reopens', 0)} opens")
    for f in s.failures:
        print(f"FAIL {f}")
    return 1 if s.failures else 0


def _run(args: argparse.Namespace) -> int:
    from stress import runner

    return runner.main(args)


def _writer(args: argparse.Namespace) -> int:
    from stress import workloads

    return workloads.writer_main(args)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m stress", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="threaded stress run on a real file")
    r.add_argument("--threads", type=int, default=8)
    r.add_argument("--txns", type=int, default=2000, help="transactions per thread")
    r.add_argument("--path", default=None, help="database file to create (default: a temp file)")
    r.add_argument("--mix", type=float, default=0.7,
                   help="fraction of BEGIN CONCURRENT transactions (the rest plain BEGIN)")
    r.add_argument("--synchronous", default="FULL", choices=("FULL", "NORMAL", "OFF"),
                   type=str.upper)
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=_run)

    s = sub.add_parser("sim", help="deterministic simulator")
    s.add_argument("--seeds", type=int, default=1000, help="how many seeds")
    s.add_argument("--start", type=int, default=0, help="first seed")
    s.add_argument("--seed", type=int, default=None, help="run just this seed")
    s.add_argument("--steps", type=int, default=None, help="steps per seed (default: seeded)")
    s.add_argument("--keep-going", action="store_true", help="do not stop at the first failure")
    s.add_argument("-v", "--verbose", action="store_true", help="print every step")
    s.set_defaults(func=_sim)

    w = sub.add_parser("writer", help="killable writer for the SIGKILL test")
    w.add_argument("--path", required=True)
    w.add_argument("--threads", type=int, default=4)
    w.add_argument("--run", type=int, required=True, help="run number (makes tags unique)")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--txns", type=int, default=0, help="stop after this many per thread (0: never)")
    w.add_argument("--autocheckpoint", type=int, default=100, help="wal_autocheckpoint in frames")
    w.set_defaults(func=_writer)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
