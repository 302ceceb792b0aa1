#!/usr/bin/python3
"""Training speed of convnet beside PyTorch's, on this machine, in one run:

  (a) one lenet5 epoch on Fashion-MNIST, batch 128, Adam (lr 1e-3), the
      settings `convnet train` uses for lenet5 by default, no validation;
  (b) resnet18 at 112 x 112, batch 32, SGD (lr 0.01, momentum 0.9) on
      random inputs and labels: the median of STEPS steps after one
      warm-up step.

Each measurement is repeated RUNS times in alternation and the medians of
wall-clock and process CPU seconds are printed with the ratios (PyTorch /
convnet: above 1, convnet is faster).  The machine is shared, so the load
average is printed beside each run: CPU seconds are the better guide when
it is above the thread count.  PyTorch is /usr/bin/python3's 1.13.

Usage: bench/train_compare.py [--build DIR] [--threads 2] [--runs 3]
                              [--steps 10] [--only lenet5|resnet18]
convnet's side is bench/train_steps.c, compiled here against DIR's engine.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = "/usr/share/datasets/fashion-mnist"
TORCH_PYTHON = "/usr/bin/python3"

TORCH_WORKER = r'''
import gzip, sys, time
import numpy as np
import torch
import torch.nn as nn

what, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(1)


def clocks():
    return time.perf_counter(), time.process_time()


if what == "lenet5":
    folder = sys.argv[3] + "/"

    def idx(name, offset):
        return np.frombuffer(gzip.open(folder + name).read(), np.uint8,
                             offset=offset)

    x = torch.tensor(idx("train-images-idx3-ubyte.gz", 16)
                     .reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
    y = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    wall, cpu = clocks()
    order = torch.randperm(len(x))
    total = 0.0
    for i in range(0, len(x), 128):
        batch = order[i:i + 128]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
        loss.backward()
        opt.step()
        total += float(loss) * len(batch)
    wall2, cpu2 = clocks()
    print(f"lenet5 {wall2 - wall:.3f} {cpu2 - cpu:.3f} {total / len(x):.4f}")
else:
    import torchvision
    steps = int(sys.argv[3])
    net = torchvision.models.resnet18()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(32, 3, 112, 112) * 2 - 1
    y = torch.randint(0, 1000, (32,))
    walls, cpus = [], []
    for s in range(steps + 1):
        wall, cpu = clocks()
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        wall2, cpu2 = clocks()
        if s > 0:
            walls.append(wall2 - wall)
            cpus.append(cpu2 - cpu)
    walls.sort()
    cpus.sort()
    print(f"resnet18 {walls[steps // 2]:.4f} {cpus[steps // 2]:.4f}")
'''


def build_convnet_side(build, out):
    libs = [os.path.join(build, "engine", name) for name in
            ("libconvnet.a", "libconvnet-avx2.a", "libconvnet-avx512.a")]
    libs = [lib for lib in libs if os.path.exists(lib)]
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "glib-2.0", "gio-2.0",
         "gdk-pixbuf-2.0", "json-glib-1.0"],
        check=True, capture_output=True, text=True).stdout.split()
    blas = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
    subprocess.run(
        ["cc", "-O2", "-I" + os.path.join(ROOT, "engine"), "-I" + build,
         os.path.join(ROOT, "bench", "train_steps.c"),
         "-Wl,--start-group", *libs, "-Wl,--end-group", *flags,
         os.path.join(blas, "libopenblas.so"), "-Wl,-rpath," + blas, "-lm",
         "-o", out], check=True)


def run(command):
    load = os.getloadavg()[0]
    text = subprocess.run(command, check=True, capture_output=True,
                          text=True).stdout.split()
    return load, float(text[1]), float(text[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--only", choices=["lenet5", "resnet18"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        convnet = os.path.join(tmp, "train_steps")
        worker = os.path.join(tmp, "torch_worker.py")
        build_convnet_side(os.path.abspath(args.build), convnet)
        with open(worker, "w") as f:
            f.write(TORCH_WORKER)
        t = str(args.threads)
        cases = {
            "lenet5": ("lenet5 epoch (s)", [convnet, "lenet5", t, MNIST],
                       [TORCH_PYTHON, worker, "lenet5", t, MNIST]),
            "resnet18": ("resnet18 112px b32 step (s)",
                         [convnet, "resnet18", t, str(args.steps)],
                         [TORCH_PYTHON, worker, "resnet18", t,
                          str(args.steps)]),
        }
        rows = []
        for name, (label, ours, theirs) in cases.items():
            if args.only and name != args.only:
                continue
            results = {"convnet": [], "pytorch": []}
            for r in range(args.runs):
                for side, command in (("convnet", ours), ("pytorch", theirs)):
                    load, wall, cpu = run(command)
                    results[side].append((wall, cpu, load))
                    print(f"run {r + 1} {name} {side}: wall {wall:.3f} s, "
                          f"cpu {cpu:.3f} s, load {load:.2f}", flush=True)
            rows.append((label, results))

    print(f"\nthreads {args.threads}, medians of {args.runs} runs\n")
    print("| measurement | convnet wall | PyTorch wall | ratio | "
          "convnet CPU | PyTorch CPU | ratio | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for label, results in rows:
        ours = [statistics.median(v[i] for v in results["convnet"])
                for i in range(2)]
        theirs = [statistics.median(v[i] for v in results["pytorch"])
                  for i in range(2)]
        loads = [v[2] for side in results.values() for v in side]
        print(f"| {label} | {ours[0]:.3f} | {theirs[0]:.3f} | "
              f"{theirs[0] / ours[0]:.2f}x | {ours[1]:.3f} | {theirs[1]:.3f} | "
              f"{theirs[1] / ours[1]:.2f}x | {min(loads):.1f}-{max(loads):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
