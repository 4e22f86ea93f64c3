#!/usr/bin/env bash
# One call on the lent GPU machine (the device tool): train the configurations in RUNS (side by
# side if several) on its one GPU for TRAIN_SECONDS, and bring each back under $OUT/<name>/ (model.json,
# model.safetensors, log.csv). Scoring happens afterwards on a CPU machine, free of device time.
#
#   run(command="bash scripts/device_train.sh", timeout_s=570)
#   dry run here:  DEVICE=cpu TRAIN_SECONDS=20 OUT=runs/device bash scripts/device_train.sh
#
# Why the copying loop: a run's latest checkpoint (model + card data, no optimiser: files come back
# only up to 16 MiB) sits in $OUT/<name>/checkpoint/ while it trains, so even a call cut off at its
# time limit returns weights (`mist.training.loop.load_run($OUT/<name>)` reads them).
set -uo pipefail
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:-runs/device}
TRAIN_SECONDS=${TRAIN_SECONDS:-450}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/mist-runs}
mkdir -p "$OUT" "$WORK"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/console.txt" || true
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/console.txt"

# name | preset | model card to start from ("-": none) | --set overrides; RUN_SPEC=... runs one
# spec of that form instead of this list. One run at a time: two processes side by side on the
# H200 each ran at a quarter of one alone (docs/model.md, "What the GPU runs taught").
RUNS=(
  "small|small|-|"
)
[[ -n ${RUN_SPEC:-} ]] && RUNS=("$RUN_SPEC")

train_one() {
  local name=$1 preset=$2 init=$3 sets=$4
  local args=(--preset "$preset" -o "$WORK/$name" --time-limit "$TRAIN_SECONDS" --device "$DEVICE" --quiet
              --set steps=1000000000 --set checkpoint_every_s=${CHECKPOINT_S:-60})
  [[ $init != "-" ]] && args+=(--init "$init")
  for s in $sets; do args+=(--set "$s"); done
  python -m mist.cli train "${args[@]}" > "$WORK/$name.out" 2>&1
  echo "[$name] exit $?" >> "$WORK/$name.out"
}

pids=()
for spec in "${RUNS[@]}"; do
  IFS='|' read -r name preset init sets <<< "$spec"
  mkdir -p "$OUT/$name/checkpoint"
  train_one "$name" "$preset" "$init" "$sets" &
  pids+=($!)
done

# Mirror each run's newest checkpoint (model weights + checkpoint.json) into $OUT while training.
mirror() {
  for spec in "${RUNS[@]}"; do
    IFS='|' read -r name _ <<< "$spec"
    local ck="$WORK/$name/checkpoint"
    if [[ -f $ck/checkpoint.json ]]; then
      cp "$ck/model.safetensors" "$OUT/$name/checkpoint/model.safetensors.tmp" 2>/dev/null &&
        mv "$OUT/$name/checkpoint/model.safetensors.tmp" "$OUT/$name/checkpoint/model.safetensors"
      cp "$ck/checkpoint.json" "$OUT/$name/checkpoint/checkpoint.json" 2>/dev/null
    fi
    [[ -f $WORK/$name/log.csv ]] && cp "$WORK/$name/log.csv" "$OUT/$name/log.csv"
  done
}
while kill -0 "${pids[@]}" 2>/dev/null; do sleep 15; mirror; done
wait

for spec in "${RUNS[@]}"; do
  IFS='|' read -r name _ <<< "$spec"
  cat "$WORK/$name.out" >> "$OUT/console.txt"
  if [[ -f $WORK/$name/model.json ]]; then
    cp "$WORK/$name/model.json" "$WORK/$name/model.safetensors" "$WORK/$name/log.csv" "$OUT/$name/"
    rm -rf "$OUT/$name/checkpoint"
  else
    mirror
  fi
  echo "== $name"; tail -n 3 "$WORK/$name.out"
  [[ -f $WORK/$name/log.csv ]] && awk -F, 'NR == 1 || $9 != ""' "$WORK/$name/log.csv" | cut -d, -f1-3,8-11 | tail -n 4
done
ls -laR "$OUT"
