#!/usr/bin/python3
"""`convnet train --log`: the per-epoch CSV a training writes, against what
`convnet eval` measures of the model it wrote and against the learning-rate
schedule asked for, and the error when the log cannot be written.

The data is a small MNIST-style folder written here (10 classes, each a
bright square at its own place on noise), so the suite needs neither the
dataset package nor PyTorch.

Usage: cli_train.py CONVNET   (TAP output)"""
import gzip
import math
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap_checks import check, passed, results  # noqa: E402

CONVNET = os.path.abspath(sys.argv[1])


def write_idx(folder, prefix, count, rng):
    pixels, labels = bytearray(), bytearray()
    for i in range(count):
        label = i % 10
        image = [rng.randrange(0, 60) for _ in range(28 * 28)]
        top, left = 2 + 5 * (label // 5), 2 + 5 * (label % 5)
        for y in range(top, top + 8):
            for x in range(left, left + 8):
                image[y * 28 + x] = 255
        pixels += bytes(image)
        labels.append(label)
    with gzip.open(f"{folder}/{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, count, 28, 28) + pixels)
    with gzip.open(f"{folder}/{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, count) + labels)


def train(data, out, log, epochs=4):
    return subprocess.run(
        [CONVNET, "train", "--model", "lenet5", "--mnist", data,
         "--epochs", str(epochs), "--batch", "32", "--lr", "2e-3",
         "--schedule", "cosine", "--seed", "3", "--threads", "1",
         "--log", log, "--out", out],
        capture_output=True, text=True, timeout=600)


def main():
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        data = f"{tmp}/data"
        os.mkdir(data)
        write_idx(data, "train", 2000, rng)
        write_idx(data, "t10k", 200, rng)

        out, log = f"{tmp}/lenet5.safetensors", f"{tmp}/epochs.csv"
        run = train(data, out, log)
        check("a training with --log succeeds", run.returncode == 0,
              run.stderr)
        rows = []
        if os.path.exists(log):
            with open(log) as f:
                lines = f.read().splitlines()
            check("the log's header names its columns",
                  lines and lines[0] == "epoch,train_loss,train_error,"
                  "test_loss,test_error,lr,seconds", lines[:1])
            rows = [[float(v) for v in line.split(",")] for line in lines[1:]]
        else:
            check("the log exists", False, log)
        check("one row per epoch, numbered from 1",
              [int(r[0]) for r in rows] == [1, 2, 3, 4], rows)
        # cosine over 4 epochs: epoch e trains at 2e-3 (1 + cos(pi (e-1) / 4)) / 2
        wanted = [2e-3 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
        check("the learning rate of each epoch follows the cosine schedule",
              len(rows) == 4 and all(abs(r[5] - w) <= 1e-5 * w
                                     for r, w in zip(rows, wanted)),
              f"{[r[5] for r in rows]} != {wanted}")
        # LeNet-5's sigmoids sit at chance for two epochs, then learn
        check("the network learns: both errors end below half of the "
              "first epoch's",
              len(rows) == 4 and rows[3][2] < rows[0][2] / 2
              and rows[3][4] < rows[0][4] / 2, rows)
        check("every epoch has a positive time",
              len(rows) == 4 and all(r[6] > 0 for r in rows), rows)

        ev = subprocess.run([CONVNET, "eval", "--weights", out, "--mnist",
                             data, "--threads", "1"],
                            capture_output=True, text=True, timeout=600)
        found = re.search(r"accuracy\s+([0-9.]+)", ev.stdout)
        check("the last epoch's test error is what convnet eval measures "
              "of the written model",
              ev.returncode == 0 and found and rows
              and abs((1 - float(found.group(1))) - rows[-1][4]) < 1e-4,
              f"eval: {ev.stdout} {ev.stderr}; log: {rows[-1:]}")

        missing = f"{tmp}/no-such-folder/epochs.csv"
        out2 = f"{tmp}/second.safetensors"
        run = train(data, out2, missing, epochs=1)
        check("a log that cannot be written stops the run",
              run.returncode != 0, run.stdout + run.stderr)
        message = (run.stderr.strip().splitlines() or [""])[0]
        temp = message.find("epochs.csv.")  # GLib's temporary file
        check("the error names the log the user gave, before any "
              "temporary file",
              f"“{missing}”" in message
              and (temp < 0 or message.index(missing) < temp), run.stderr)
        check("no model is written when the log fails",
              not os.path.exists(out2), os.listdir(tmp))
    print(f"1..{len(results)}")
    return 0 if passed() else 1


if __name__ == "__main__":
    sys.exit(main())
