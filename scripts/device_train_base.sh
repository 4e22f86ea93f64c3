#!/usr/bin/env bash
# One run on the lent GPU machine (the device tool): train the `base` preset for TRAIN_SECONDS,
# export it, score it on the paper grids, and leave everything under $OUT.
#
#   run(command="bash scripts/device_train_base.sh", timeout_s=570)
#
# The machine has torch with CUDA, numpy, scipy, safetensors, typer, rich, pandas, matplotlib:
# the project runs from src/ without installing. Files come back only up to 16 MiB each, so the
# weights are exported in float16 and the optimiser state stays behind: a later session continues
# with `--init <previous card>` (fresh optimiser) rather than `--resume`. The step budget is
# unbounded: the learning rate decays with the share of TRAIN_SECONDS spent.
set -euo pipefail
export PYTHONPATH=src
OUT=${OUT:-runs/device}
TRAIN_SECONDS=${TRAIN_SECONDS:-420}
INIT=${INIT:-}
PRESET=${PRESET:-base}     # PRESET=smoke DEVICE=cpu TRAIN_SECONDS=5: a dry run on a CPU machine
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt" || true
python -m mist.cli train --preset "$PRESET" -o "$OUT/run" --time-limit "$TRAIN_SECONDS" --device "$DEVICE" --quiet \
    --set steps=1000000000 --set checkpoint_every_s=1e9 ${INIT:+--init "$INIT"} | tee "$OUT/train_summary.json"
python - "$OUT" <<'PY'
import sys, torch
from pathlib import Path
from mist.training.loop import load_run
from mist.model.serialization import save_model
out = Path(sys.argv[1])
network, card = load_run(out / "run")
card["name"] = "mist-base"
save_model(network, out / "mist-base", card, dtype=torch.float16)
PY
cp "$OUT/run/log.csv" "$OUT/train_log.csv"
rm -rf "$OUT/run"   # checkpoints exceed the 16 MiB limit on returned files
timeout 120 python benchmarks/learned_estimator.py --model "$OUT/mist-base.json" --no-baselines --json "$OUT/eval.json" | tee "$OUT/eval.txt" || true
ls -la "$OUT"
