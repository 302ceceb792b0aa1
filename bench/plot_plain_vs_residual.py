#!/usr/bin/python3
"""Merges the per-epoch logs (`convnet train --log`) of a plain network and
its residual twin into PREFIX.csv and draws PREFIX.png: training error
(thin, dashed) and test error (bold) against epochs, plain and residual
side by side, as in the ResNet paper's figure 4.

Usage: plot_plain_vs_residual.py DEPTH PLAIN.csv RESIDUAL.csv PREFIX"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no epochs")
    return rows


def write_atomically(path, write):
    temp = f"{path}.part"
    write(temp)
    os.replace(temp, path)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    depth, plain_path, residual_path, prefix = sys.argv[1:]
    runs = {"plain": read_log(plain_path), "residual": read_log(residual_path)}
    if len(runs["plain"]) != len(runs["residual"]):
        sys.exit("the two logs cover different numbers of epochs")

    def write_csv(path):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["epoch", "plain_train_error", "plain_test_error",
                        "residual_train_error", "residual_test_error",
                        "plain_seconds", "residual_seconds"])
            for p, r in zip(runs["plain"], runs["residual"]):
                w.writerow([p["epoch"], p["train_error"], p["test_error"],
                            r["train_error"], r["test_error"], p["seconds"],
                            r["seconds"]])

    write_atomically(prefix + ".csv", write_csv)

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    colours = {"plain": "tab:red", "residual": "tab:blue"}
    for kind, rows in runs.items():
        epochs = [int(r["epoch"]) for r in rows]
        name = f"{'plain' if kind == 'plain' else 'ResNet'}-{depth}"
        ax.plot(epochs, [100 * float(r["train_error"]) for r in rows], "--",
                lw=1, marker="o", ms=3, color=colours[kind],
                label=f"{name} train")
        ax.plot(epochs, [100 * float(r["test_error"]) for r in rows], "-",
                lw=2.5, marker="o", ms=5, color=colours[kind],
                label=f"{name} test")
    ax.set_xticks(epochs)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.set_title(f"Fashion-MNIST, {depth} layers at a quarter width: "
                 "plain vs residual")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    write_atomically(prefix + ".png",
                     lambda path: fig.savefig(path, format="png"))
    print(f"wrote {prefix}.csv and {prefix}.png")


if __name__ == "__main__":
    main()
