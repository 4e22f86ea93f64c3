"""Average the weights of several checkpoints of one training run into a run folder that
``mist export`` reads (the weights' mean, the last checkpoint's card data): averaging the last
checkpoints of a run damps the noise of its last steps (docs/model.md, "How mist-pairs (the
previous default) was trained").

    python scripts/average_weights.py RUN/snapshots/model-*.safetensors --run RUN -o RUN-averaged

``--run`` is the run folder whose checkpoint.json (config, steps, datasets) the average carries.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("weights", nargs="+", type=Path, help="model.safetensors files of one run's checkpoints")
    parser.add_argument("--run", type=Path, required=True, help="the run folder (its checkpoint/checkpoint.json)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="a new run folder for the average")
    args = parser.parse_args()
    states = [load_file(str(p)) for p in args.weights]
    names = set(states[0])
    if any(set(s) != names for s in states):
        raise SystemExit("the checkpoints hold different tensors: they are not of one architecture")
    average = {k: torch.stack([s[k].float() for s in states]).mean(0).to(states[0][k].dtype) for k in names}
    folder = args.output / "checkpoint"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.json", "optimizer.safetensors"):
        shutil.copy(args.run / "checkpoint" / name, folder / name)
    save_file(average, str(folder / "model.safetensors"))
    info = json.loads((folder / "checkpoint.json").read_text())
    info["averaged_from"] = [p.name for p in args.weights]
    (folder / "checkpoint.json").write_text(json.dumps(info, indent=2))
    print(f"averaged {len(states)} checkpoints into {folder}")


if __name__ == "__main__":
    main()
