#!/bin/sh
# compare.sh: convnet beside PyTorch and ONNX Runtime in one run on this
# machine (latency at batch 1 and 8, throughput, cold start, peak memory),
# as Markdown; the work is bench/compare.py, see its --help.
# Usage: bench/compare.sh [--models "M ..."] [--batches "1 8"] [--iters K]
#          [--rounds R] [--runs N] [--threads T] [--build DIR] [--no-peers]
#          [--no-cold] [--parity] [--wait-load L] [MODEL...]
exec /usr/bin/python3 "$(dirname "$0")/compare.py" "$@"
