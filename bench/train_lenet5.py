#!/usr/bin/python3
"""PyTorch's time per epoch for the LeNet-5 that `convnet train` trains
(batch 128, Adam, the given threads), for bench/train.sh."""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn

threads, epochs = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(1)
folder = "/usr/share/datasets/fashion-mnist/"


def idx(name, offset):
    return np.frombuffer(gzip.open(folder + name).read(), np.uint8,
                         offset=offset)


x = torch.tensor(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
                 / 255.0, dtype=torch.float32)
y = torch.tensor(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
net = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
    nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
    nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
    nn.Linear(84, 10))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(epochs):
    start = time.perf_counter()
    order = torch.randperm(len(x))
    for i in range(0, len(x), 128):
        batch = order[i:i + 128]
        opt.zero_grad()
        nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
        opt.step()
    print(f"pytorch lenet5 train epoch {epoch + 1}: "
          f"{time.perf_counter() - start:.2f} s", flush=True)
