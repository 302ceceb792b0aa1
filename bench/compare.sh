#!/bin/sh
# compare.sh: `convnet bench` beside PyTorch and ONNX Runtime on the same
# machine, in one run (the peers come from ../shared/bench/peer-latency).
# Usage: bench/compare.sh [--batch N] [--threads T] [MODEL...]
set -eu
cd "$(dirname "$0")/.."
batch=1 threads=2 iters=10
while [ $# -gt 0 ]; do
  case $1 in
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    *) break ;;
  esac
done
models=${*:-alexnet vgg16 resnet18 resnet50 googlenet}
for m in $models; do
  build/cli/convnet bench --model "$m" --batch "$batch" --threads "$threads" \
    --iters "$iters"
done
peers=../shared/bench/peer-latency
if [ -x "$peers" ]; then
  # shellcheck disable=SC2086
  "$peers" --batch "$batch" --threads "$threads" --iters "$iters" $models
else
  echo "no $peers: PyTorch and ONNX Runtime not timed" >&2
fi
