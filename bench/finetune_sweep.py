#!/usr/bin/python3
"""finetune_sweep.py: the measurement behind the fine-tune defaults.

Fine-tunes the shipped weights/lenet5-fashion.safetensors (where the
Fine-tune dialog starts) with `convnet finetune` on 3-class relabellings of
Fashion-MNIST, at 10, 20 and 50 images a class, three draws of images each,
and scores every model with `convnet eval` on 100 held-out images a class.
Training images come from the first half of the t10k set, held-out images
from the second half, so no image is both (and the shipped network never
trained on either).

  grid      optimizer x learning rate x epochs, the other settings at the
            engine's defaults
  settings  batch size x validation share at the best of the grid (or at
            --optimizer/--lr/--epochs)
  defaults  `convnet finetune` with no option: what a user gets

Every run appends a row to the CSV (one per fine-tune); the summary ranks
the settings by mean held-out accuracy over all relabellings, sizes and
draws.  About 14 minutes in all (1,800 fine-tunes, one core, on a shared
2-core machine).

Usage: bench/finetune_sweep.py [--convnet build/cli/convnet]
           [--csv bench/results/finetune_sweep.csv] [--stage grid|settings|defaults|all]
"""
import argparse
import collections
import csv
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"
BASE = os.path.join(ROOT, "weights", "lenet5-fashion.safetensors")

# Fashion-MNIST: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
# 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.  New class -> old ones.
RELABELLINGS = {
    # a natural grouping
    "tops-footwear-other": {"tops": [0, 2, 4, 6], "footwear": [5, 7, 9],
                            "other": [1, 3, 8]},
    # an arbitrary one: every new class mixes unlike things
    "mixed-groups": {"a": [0, 1, 5], "b": [2, 3, 7], "c": [4, 6, 8, 9]},
    # three classes the shipped network often confuses
    "similar-tops": {"t-shirt": [0], "pullover": [2], "shirt": [6]},
    # three unlike classes
    "dress-coat-sandal": {"dress": [3], "coat": [4], "sandal": [5]},
}
SIZES = [10, 20, 50]
DRAWS = [1, 2, 3]
HELD_OUT = 100

GRID = {
    "adam": [1e-3, 3e-3, 1e-2, 3e-2, 1e-1],
    "sgd": [1e-2, 3e-2, 1e-1, 3e-1, 1.0],
}
GRID_EPOCHS = [10, 30, 60, 100]
SETTINGS_BATCH = [8, 16, 32]
SETTINGS_VALIDATION = [0.1, 0.2, 0.3]

# no times: the same build writes the same file
FIELDS = ["stage", "relabelling", "per_class", "draw", "optimizer", "lr",
          "epochs", "batch", "validation", "kept_epoch",
          "validation_accuracy", "held_out_accuracy", "held_out_images"]


def read_idx(name, offset):
    with gzip.open(os.path.join(FASHION, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def write_folder(images, labels, groups, indices_by_group, root):
    for group, indices in indices_by_group.items():
        folder = os.path.join(root, group)
        os.makedirs(folder)
        for i in indices:
            Image.fromarray(images[i]).save(os.path.join(folder,
                                                         f"{i:05d}.png"))


def make_datasets(workdir):
    """Writes the training and held-out folders; returns
    {(relabelling, per_class, draw): train_dir} and {relabelling: held_dir}."""
    images = read_idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = read_idx("t10k-labels-idx1-ubyte.gz", 8)
    half = len(labels) // 2
    train_dirs, held_dirs = {}, {}
    for name, groups in RELABELLINGS.items():
        held = {g: [i for i in range(half, len(labels)) if labels[i] in cls]
                for g, cls in groups.items()}
        held = {g: np.random.default_rng(0).permutation(ix)[:HELD_OUT]
                for g, ix in held.items()}
        held_dirs[name] = os.path.join(workdir, name, "held-out")
        write_folder(images, labels, groups, held, held_dirs[name])
        pool = {g: [i for i in range(half) if labels[i] in cls]
                for g, cls in groups.items()}
        for draw in DRAWS:
            order = {g: np.random.default_rng(draw).permutation(ix)
                     for g, ix in pool.items()}
            for n in SIZES:
                d = os.path.join(workdir, name, f"train-{n}-{draw}")
                write_folder(images, labels, groups,
                             {g: ix[:n] for g, ix in order.items()}, d)
                train_dirs[(name, n, draw)] = d
    return train_dirs, held_dirs


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return p.stdout


def engine_defaults(convnet):
    """The defaults `convnet finetune --help` shows."""
    text = run([convnet, "finetune", "--help"])
    found = {}
    for option in ["epochs", "batch", "lr", "optimizer", "validation"]:
        m = re.search(r"--%s[= ]\S+\s+.*default:? ([^)\s]+)\)" % option, text)
        found[option] = m.group(1) if m else None
    return found


def finetune(convnet, train_dir, held_dir, out, options):
    text = run([convnet, "finetune", "--weights", BASE, "--data", train_dir,
                "--out", out, "--threads", "1"] + options)
    kept = re.search(r"kept epoch (\d+)", text)
    val = re.search(r"^accuracy ([0-9.]+)", text, re.M)
    held = re.search(r"^accuracy ([0-9.]+) \((\d+) images\)",
                     run([convnet, "eval", "--weights", out, "--data",
                          held_dir, "--threads", "1"]), re.M)
    return {"kept_epoch": kept.group(1) if kept else "",
            "validation_accuracy": val.group(1) if val else "",
            "held_out_accuracy": held.group(1),
            "held_out_images": held.group(2)}


def sweep(convnet, stage, configs, train_dirs, held_dirs, workdir, writer):
    out = os.path.join(workdir, "tuned.safetensors")
    rows = []
    for k, config in enumerate(configs):
        for (name, n, draw), train_dir in sorted(train_dirs.items()):
            options = []
            for key in ["optimizer", "lr", "epochs", "batch", "validation"]:
                if config.get(key) is not None:
                    options += [f"--{key}", str(config[key])]
            row = {"stage": stage, "relabelling": name, "per_class": n,
                   "draw": draw, **{f: config.get(f, "") for f in
                                    ["optimizer", "lr", "epochs", "batch",
                                     "validation"]}}
            row.update(finetune(convnet, train_dir, held_dirs[name], out,
                                options))
            writer.writerow(row)
            rows.append(row)
        print(f"  {stage} {k + 1}/{len(configs)}: {config}", file=sys.stderr)
    return rows


def key_of(row):
    return tuple(str(row[f]) for f in ["optimizer", "lr", "epochs", "batch",
                                       "validation"])


def summarise(rows, title):
    """Mean held-out accuracy per setting, overall and per size; best
    first.  Returns the settings, best first."""
    by = collections.defaultdict(list)
    for r in rows:
        by[key_of(r)].append(r)

    def mean(rs):
        return 100.0 * sum(float(r["held_out_accuracy"]) for r in rs) / len(rs)

    ranked = sorted(by, key=lambda k: -mean(by[k]))
    print(f"\n{title}\n")
    print("| optimizer | lr | epochs | batch | validation | mean | "
          + " | ".join(f"{n}/class" for n in SIZES) + " | worst relabelling |")
    print("|---" * (7 + len(SIZES)) + "|")
    for k in ranked:
        rs = by[k]
        per_size = [mean([r for r in rs if int(r["per_class"]) == n])
                    for n in SIZES]
        worst = min(mean([r for r in rs if r["relabelling"] == name])
                    for name in RELABELLINGS)
        print("| " + " | ".join(v or "(default)" for v in k)
              + f" | {mean(rs):.1f} | "
              + " | ".join(f"{v:.1f}" for v in per_size)
              + f" | {worst:.1f} |")
    return [by[k][0] for k in ranked]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--convnet", default=os.path.join(ROOT, "build", "cli",
                                                          "convnet"))
    parser.add_argument("--csv", default=os.path.join(
        ROOT, "bench", "results", "finetune_sweep.csv"))
    parser.add_argument("--stage", default="all",
                        choices=["grid", "settings", "defaults", "all"])
    parser.add_argument("--grid-epochs", default=GRID_EPOCHS,
                        type=lambda s: [int(e) for e in s.split(",")],
                        help="epochs of the grid, comma-separated")
    parser.add_argument("--optimizer")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    if not os.path.isdir(FASHION):
        sys.exit(f"Fashion-MNIST is not in {FASHION} "
                 "(apt-get install dataset-fashion-mnist)")

    workdir = tempfile.mkdtemp(prefix="finetune-sweep-")
    os.makedirs(os.path.dirname(args.csv), exist_ok=True)
    start = time.monotonic()
    try:
        train_dirs, held_dirs = make_datasets(workdir)
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            writer.writeheader()
            best = None
            if args.stage in ("grid", "all"):
                configs = [{"optimizer": o, "lr": lr, "epochs": e}
                           for o, lrs in GRID.items() for lr in lrs
                           for e in args.grid_epochs]
                rows = sweep(args.convnet, "grid", configs, train_dirs,
                             held_dirs, workdir, writer)
                best = summarise(rows, "grid: mean held-out accuracy (%)")[0]
            if args.stage in ("settings", "all"):
                base = {k: getattr(args, k) or (best or {}).get(k)
                        for k in ["optimizer", "lr", "epochs"]}
                configs = [{**base, "batch": b, "validation": v}
                           for b in SETTINGS_BATCH
                           for v in SETTINGS_VALIDATION]
                rows = sweep(args.convnet, "settings", configs, train_dirs,
                             held_dirs, workdir, writer)
                summarise(rows, f"settings at {base}: mean held-out "
                          "accuracy (%)")
            if args.stage in ("defaults", "all"):
                print(f"\nconvnet finetune --help: "
                      f"{engine_defaults(args.convnet)}")
                rows = sweep(args.convnet, "defaults", [{}], train_dirs,
                             held_dirs, workdir, writer)
                summarise(rows, "no option (the defaults): mean held-out "
                          "accuracy (%)")
    finally:
        shutil.rmtree(workdir)
    print(f"\n{time.monotonic() - start:.0f} s; rows in {args.csv}")


if __name__ == "__main__":
    main()
