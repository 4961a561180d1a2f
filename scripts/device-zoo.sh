#!/usr/bin/env bash
# Trains zoo models on the NVIDIA machine of the `device` tool, one process per model, and packs every model folder
# into ONE archive under $OUT (the tool brings back at most 8 files, so loose folders would be lost).
# Prepare here first (docs/zoo.md):
#   bash ../shared/tools/device-pack.sh
#   npx esbuild engine/train/zoo-run.node.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.devcarry/app.mjs
# Then, on the device with carry [".devcarry"]:
#   bash scripts/device-zoo.sh hymba attention swa …        (ZOO_ARGS="--eval-every 50" and LIMIT=seconds optional)
# and here: tar xzf <files_at>/zoo.tgz -C .   (unpacks into models/)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/.devcarry"
bash setup.sh >/dev/null
export PATH=/opt/devnode:$PATH VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
work=$(mktemp -d)
mkdir -p "$work/models" "$OUT/logs"
for m in "$@"; do
  # shellcheck disable=SC2086
  (timeout "${LIMIT:-540}" node app.mjs "$work/models" "$m" ${ZOO_ARGS:-} > "$OUT/logs/$m.log" 2>&1) &
done
wait
tar czf "$OUT/zoo.tgz" -C "$work" models
grep -h "trained\|accuracy" "$OUT"/logs/*.log | cut -c1-300
tar czf "$OUT/logs.tgz" -C "$OUT" logs && rm -rf "$OUT/logs"
tar tzf "$OUT/zoo.tgz"
