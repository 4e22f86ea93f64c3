"""Train the runs of the scaling studies (Table 8, Figure 8) one after another, resumably.

    OMP_NUM_THREADS=1 nohup python scripts/train_studies.py runs/studies > runs/studies.out 2>&1 &

A finished run (its model.json written) is skipped, a stopped one resumes from its checkpoint, so
the same command continues the studies in a later session. ``--print`` lists the commands only.
``mist evaluate --studies runs/studies`` then scores the finished runs.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from mist.evaluation.studies import finished, study_runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder of the run folders")
    parser.add_argument("--only", default="", help="comma-separated run names (default: all)")
    parser.add_argument("--print", dest="dry", action="store_true", help="print the commands, train nothing")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    for run in study_runs():
        if only and run.name not in only:
            continue
        command = run.command(args.root)
        checkpoint = args.root / run.name / "checkpoint"
        if (checkpoint / "checkpoint.json").is_file():
            command += ["--resume", str(checkpoint)]
        if args.dry:
            print(shlex.join(command))
            continue
        if finished(args.root, run) is not None:
            print(f"{run.name}: finished", flush=True)
            continue
        print(f"{run.name}: {shlex.join(command)}", flush=True)
        if subprocess.run(command).returncode != 0:
            print(f"{run.name}: failed", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
