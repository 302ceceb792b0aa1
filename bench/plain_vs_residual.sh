#!/bin/sh
# plain_vs_residual.sh: the ResNet paper's experiment on Fashion-MNIST.  A
# plain network and its residual twin of the same depth (the same layers,
# only the shortcuts differ) are trained from scratch with the same
# settings and seed; their training and test error per epoch go to
# bench/results/plain-vs-residual-DEPTH.csv and, plotted like the paper's
# figure 4, to bench/results/plain-vs-residual-DEPTH.png.
#
# Usage: bench/plain_vs_residual.sh [DEPTH (18 or 34)] [EPOCHS]
# The two networks train side by side, one thread each (on two cores both
# finish in the time of one).  CONVNET (default build/cli/convnet) is the
# command that trains.  The defaults take about 20 minutes on 2 cores.
set -eu
cd "$(dirname "$0")/.."
. scripts/deps.sh
depth=${1:-18} epochs=${2:-4}
convnet=${CONVNET:-build/cli/convnet}
data=/usr/share/datasets/fashion-mnist
out=bench/results
# shellcheck disable=SC2086
install_missing $EXPERIMENT_PACKAGES dataset-fashion-mnist
[ -x "$convnet" ] || build
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pids=""
for kind in plain resnet; do
  "$convnet" train --model "${kind}${depth}_small" --mnist "$data" \
    --epochs "$epochs" --batch 128 --optimizer sgd --lr 0.1 --momentum 0.9 \
    --weight-decay 5e-4 --schedule cosine --augment flip,shift --seed 1 \
    --threads 1 --log "$work/$kind.csv" --out "$work/$kind.safetensors" \
    > "$work/$kind.out" 2>&1 &
  pids="$pids $!"
done
status=0
for pid in $pids; do
  wait "$pid" || status=1
done
for kind in plain resnet; do
  echo "== ${kind}${depth}_small, $epochs epochs"
  cat "$work/$kind.out"
done
[ "$status" -eq 0 ] || exit 1
/usr/bin/python3 bench/plot_plain_vs_residual.py "$depth" "$work/plain.csv" \
  "$work/resnet.csv" "$out/plain-vs-residual-$depth"
