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
work=$(mktemp -d)
mkdir -p "$work/models" "$work/logs" "$dc/ckpt"
t0=$(date +%s)
for job in "$@"; do
  m=${job%%:*} s=${job##*:}
  # shellcheck disable=SC2086
  (timeout "${LIMIT:-540}" node app.mjs "$work/models" "$m" "$s" --checkpoint "$dc/ckpt" ${ZOO_ARGS:-} > "$work/logs/$m.s$s.log" 2>&1) &
done
(sleep 30; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv > "$work/logs/nvidia-smi.txt") &
wait
echo "wall $(($(date +%s) - t0)) s for $# processes"
for s in $(printf '%s\n' "$@" | sed 's/.*://' | sort -u); do
  (cd "$work/models" && ls -d ./*.s"$s" >/dev/null 2>&1) && tar czf "$OUT/s$s.tgz" -C "$work/models" $(cd "$work/models" && ls -d ./*.s"$s")
done
grep -h "trained\|metrics\|Error\|error" "$work"/logs/*.log | cut -c1-400
tar czf "$OUT/logs.tgz" -C "$work" logs
if [ -n "$(ls "$dc/ckpt")" ]; then
  echo "unfinished: $(ls "$dc/ckpt")"
  tar cf - -C "$dc" ckpt | gzip -1 | split -b 15M - "$OUT/ckpt.tgz.part"
fi
ls -la "$OUT"
