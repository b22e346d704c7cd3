#!/usr/bin/env bash
# Runs ON THE GPU MACHINE (no Node, no internet; CUDA, PyTorch and transformers present):
# the fixture tests and the layer-gradient tests on tfjs's WebGPU backend (Dawn), the bench
# on WebGPU next to PyTorch CUDA on the same configs, and the transformers cross-check of
# folders exported by Scion after training on WebGPU. Everything it writes goes to $OUT.
# Prepare here first: bash scripts/device/prepare-gpu.sh (makes .node, .gl, .gpu).
# Run with the device tool from the repository root, carrying .node .gl .gpu:
#   bash scripts/device/run-gpu-bench.sh
# Whole run: under 6 minutes (each stage has its own time limit).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/scion-gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
start=$(date +%s)
stage() { echo; echo "=== $1 ($(( $(date +%s) - start )) s)"; }

stage "setup"
for f in .node/node.xz .gpu/bench.mjs .gpu/webgpu.tar.xz; do [ -f "$f" ] || { echo "missing $f: run scripts/device/prepare-gpu.sh and carry .node .gl .gpu"; exit 1; }; done
if [ "${SCION_GPU_LOCAL_TEST:-0}" != 1 ]; then   # =1: a dry run elsewhere, leaving / alone
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/scion-node .gpu/node_modules
xz -dc .node/node.xz > /tmp/scion-node/node && chmod +x /tmp/scion-node/node
export PATH=/tmp/scion-node:$PATH
tar -xJf .gpu/webgpu.tar.xz -C .gpu/node_modules
ln -sfn ../../test/fixtures .gpu/test/fixtures   # the bundled tests read .gpu/test/fixtures/hf
node --version; nvidia-smi -L 2>/dev/null; python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())'
export SCION_BACKEND=webgpu

stage "fixture tests on webgpu (logits and eval loss vs transformers, 1e-4)"
timeout 90 node --test --test-reporter=spec .gpu/test/engine/fixtures.test.mjs 2>&1 | tee "$OUT/tests-webgpu.log"

stage "layer gradient tests on webgpu"
timeout 45 node --test --test-reporter=spec .gpu/test/speed/layer-gradients.test.mjs 2>&1 | tee -a "$OUT/tests-webgpu.log"

stage "bench: webgpu (before/now) and PyTorch CUDA, same configs"
timeout 170 node .gpu/bench.mjs --backends webgpu --configs gpt2-d128-l4,llama-d128-l4,gpt2-d512-l8 \
  --torch-device cuda --steps 8 --budget-s 8 --out "$OUT/bench-gpu.json" 2>&1 | tee "$OUT/bench-gpu.txt"

stage "export after 3 training steps on webgpu, then transformers from_pretrained and compare logits"
rm -rf /tmp/scion-hf
timeout 60 node .gpu/hf-export.mjs --backend webgpu --out /tmp/scion-hf --steps 3 \
  && timeout 60 python3 scripts/device/hf_check.py /tmp/scion-hf > "$OUT/hf_check.json"
echo "hf_check exit $?"; cat "$OUT/hf_check.json" 2>/dev/null

stage "grown models: transformers loads each, agrees with Scion's logits, and confirms preservation against the source"
if [ -f .gpu-grown/hf-grown.tar.xz ]; then
  rm -rf /tmp/scion-grown && mkdir -p /tmp/scion-grown
  tar -xJf .gpu-grown/hf-grown.tar.xz -C /tmp/scion-grown
  timeout 120 python3 scripts/device/hf_check.py /tmp/scion-grown/hfg > "$OUT/hf_check_grown.json"
  echo "hf_check (grown) exit $?"; cat "$OUT/hf_check_grown.json" 2>/dev/null
else
  echo "no .gpu-grown/hf-grown.tar.xz: run scripts/device/prepare-grown-check.ts (see prepare-gpu.sh)"
fi

stage "done"
