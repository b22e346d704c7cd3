#!/usr/bin/env bash
# Starts train.py on one device, on the GPUs of one node, or on several nodes (torchrun).
#   ./launch.sh [train.py options]                          one process (GPU 0 if there is one, else the CPU)
#   GPUS=8 ./launch.sh [options]                            one node, 8 processes (DistributedDataParallel)
#   GPUS=8 NODES=4 NODE_RANK=0 MASTER=host:29500 ./launch.sh [options]
#                                                           node 0 of 4 (run the same line on every node, with its NODE_RANK)
# TORCHRUN_ARGS adds torchrun options (e.g. --redirects 1 --tee 1 works around a bug of Debian torch 1.13 on Python 3.11).
# Options go to train.py: --resume, --impl transformers|torch, --bf16, --tf32, --device cpu, --out DIR.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
GPUS=${GPUS:-1}
NODES=${NODES:-1}
if [ "$GPUS" = 1 ] && [ "$NODES" = 1 ]; then
  exec "$PY" train.py "$@"
fi
if [ "$NODES" = 1 ]; then
  exec "$PY" -m torch.distributed.run ${TORCHRUN_ARGS:-} --standalone --nproc_per_node "$GPUS" train.py "$@"
fi
: "${NODE_RANK:?set NODE_RANK (0..NODES-1) on each node}" "${MASTER:?set MASTER=host:port of node 0}"
exec "$PY" -m torch.distributed.run ${TORCHRUN_ARGS:-} --nnodes "$NODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS" \
  --rdzv_backend c10d --rdzv_endpoint "$MASTER" --rdzv_id "${RUN_ID:-scion-handoff}" train.py "$@"
