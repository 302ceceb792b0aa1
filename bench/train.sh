#!/bin/sh
# train.sh: seconds per epoch of `convnet train` for lenet5 on Fashion-MNIST
# (batch 128) beside PyTorch's for the same model and batch, in one run.
# Usage: bench/train.sh [THREADS] [EPOCHS]
set -eu
cd "$(dirname "$0")/.."
threads=${1:-2} epochs=${2:-3}
build/cli/convnet train --model lenet5 --mnist /usr/share/datasets/fashion-mnist \
  --epochs "$epochs" --batch 128 --threads "$threads" \
  --out "${TMPDIR:-/tmp}/bench-lenet5.safetensors"
/usr/bin/python3 bench/train_lenet5.py "$threads" "$epochs"
