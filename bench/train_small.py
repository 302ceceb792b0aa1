#!/usr/bin/python3
"""Seconds per epoch of the shipped deep models' training, convnet beside
PyTorch, for the same network and batch on this machine, in one run.

Each side trains one epoch from scratch on the 60,000 Fashion-MNIST
training images, batch 128, SGD (lr 0.1, momentum 0.9, weight decay
5e-4), with random horizontal flips and shifts of up to 2 pixels, then
scores the 10,000 test images: what `convnet train` does each epoch with
the settings in weights/README.md.  convnet's time is the epoch's own
(`convnet train --log`), PyTorch's the same span measured in its loop.
The networks are the engine's resnet18_small and googlenet_small and
their PyTorch twins (tests/torch_small.py); PyTorch is /usr/bin/python3's.

Usage: bench/train_small.py [--convnet build/cli/convnet] [--threads 2]
                            [MODEL...]"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = "/usr/share/datasets/fashion-mnist"
TORCH_PYTHON = "/usr/bin/python3"
MODELS = ["resnet18_small", "googlenet_small"]

TORCH_WORKER = r'''
import gzip, sys, time
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[4])
import torch_small

arch, threads, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3] + "/"
torch.set_num_threads(threads)
torch.manual_seed(1)


def idx(name, offset):
    return np.frombuffer(gzip.open(folder + name).read(), np.uint8,
                         offset=offset)


def images(name):
    return torch.tensor(idx(name, 16).reshape(-1, 1, 28, 28) / 255.0,
                        dtype=torch.float32)


x, y = images("train-images-idx3-ubyte.gz"), torch.tensor(
    idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
tx, ty = images("t10k-images-idx3-ubyte.gz"), torch.tensor(
    idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
net = torch_small.make(arch)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9,
                      weight_decay=5e-4)
start = time.perf_counter()
net.train()
order = torch.randperm(len(x))
for i in range(0, len(x), 128):
    batch = order[i:i + 128]
    xb = x[batch]
    flip = torch.rand(len(batch)) < 0.5
    xb[flip] = xb[flip].flip(3)
    # a shift of up to 2 pixels each way, zero-filled
    padded = F.pad(xb, (2, 2, 2, 2))
    dy, dx = torch.randint(0, 5, (2, len(batch)))
    xb = torch.stack([padded[k, :, dy[k]:dy[k] + 28, dx[k]:dx[k] + 28]
                      for k in range(len(batch))])
    opt.zero_grad()
    F.cross_entropy(net(xb), y[batch]).backward()
    opt.step()
net.eval()
right = 0
with torch.no_grad():
    for i in range(0, len(tx), 500):
        right += int((net(tx[i:i + 500]).argmax(1) == ty[i:i + 500]).sum())
print(f"{time.perf_counter() - start:.2f} {right / len(tx):.4f}")
'''


def convnet_epoch(convnet, arch, threads, tmp):
    log = os.path.join(tmp, f"{arch}.csv")
    subprocess.run(
        [convnet, "train", "--model", arch, "--mnist", MNIST, "--epochs", "1",
         "--batch", "128", "--optimizer", "sgd", "--lr", "0.1",
         "--momentum", "0.9", "--weight-decay", "5e-4", "--augment",
         "flip,shift", "--seed", "1", "--threads", str(threads), "--log", log,
         "--out", os.path.join(tmp, f"{arch}.safetensors")],
        check=True, capture_output=True)
    with open(log, newline="") as f:
        row = list(csv.DictReader(f))[0]
    return float(row["seconds"]), 1 - float(row["test_error"])


def torch_epoch(arch, threads, tmp):
    worker = os.path.join(tmp, "torch_worker.py")
    with open(worker, "w") as f:
        f.write(TORCH_WORKER)
    out = subprocess.run(
        [TORCH_PYTHON, worker, arch, str(threads), MNIST,
         os.path.join(ROOT, "tests")],
        check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--convnet",
                        default=os.path.join(ROOT, "build", "cli", "convnet"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("models", nargs="*", default=MODELS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.models:
            load = os.getloadavg()[0]
            ours = convnet_epoch(args.convnet, arch, args.threads, tmp)
            theirs = torch_epoch(arch, args.threads, tmp)
            print(f"{arch}: convnet {ours[0]:.1f} s (test {ours[1]:.4f}), "
                  f"PyTorch {theirs[0]:.1f} s (test {theirs[1]:.4f}), "
                  f"load {load:.2f}", flush=True)
            rows.append((arch, ours, theirs, load))
    print(f"\none epoch each, batch 128, {args.threads} threads\n")
    print("| model | convnet s/epoch | PyTorch s/epoch | PyTorch / convnet "
          "| test acc. after 1 epoch (convnet, PyTorch) | load before |")
    print("|---|---:|---:|---:|---|---:|")
    for arch, ours, theirs, load in rows:
        print(f"| {arch} | {ours[0]:.1f} | {theirs[0]:.1f} | "
              f"{theirs[0] / ours[0]:.2f}x | {ours[1]:.4f}, {theirs[1]:.4f} "
              f"| {load:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
