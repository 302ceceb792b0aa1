#!/usr/bin/python3
"""Full-size parity with PyTorch: for every architecture, a checkpoint made
here in torchvision's exact format (random weights, non-trivial BatchNorm
statistics), inputs at batch 1 and 3 and at two sizes, `convnet run`
against torchvision's forward, and named activations against forward
hooks.  Criterion: max |ours - torch| <= 1e-4 * max |torch|, relative
to the reference's own scale (random-weight AlexNet's logits are about
0.03, where a floor of 1e-4 would accept a 0.3 % error).

Usage: parity.py CONVNET [ARCH...]   (TAP output; needs python3-torch).
Without ARCH, the architectures named in CONVNET_PARITY_ARCHS (separated by
spaces), else all of them."""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torchvision.models as tvm
    import torch_small
except ImportError as e:  # a missing oracle is a failure, never a skip
    print("1..1\nnot ok 1 - parity needs Debian's python3-torch, "
          f"python3-torchvision and python3-numpy: {e}")
    sys.exit(1)

TOLERANCE = 1e-4
OTHER_SIZE = {"lenet5": 30}
SMALL = {"lenet5", "resnet18_small", "resnet34_small", "plain18_small",
         "plain34_small", "googlenet_small"}
NODES = {
    "lenet5": ["3", "6", "10"],
    "alexnet": ["features.0", "features.12", "avgpool", "classifier.5"],
    "vgg11": ["features.3", "features"],
    "vgg11_bn": ["features.1", "features.2"],
    "vgg13": ["features.23"],
    "vgg13_bn": ["features.33", "classifier.1"],
    "vgg16": ["features.28", "classifier.4"],
    "vgg16_bn": ["features.41"],
    "vgg19": ["features.35"],
    "vgg19_bn": ["features.51"],
    "resnet18": ["layer1.0.bn1", "layer2.1.conv2", "layer3", "layer4.1"],
    "resnet34": ["layer2.0.downsample.1", "layer3.5"],
    "resnet50": ["conv1", "maxpool", "layer1.0.bn1", "layer2.1.conv2",
                 "layer3.2", "layer4", "avgpool"],
    "resnet101": ["layer3.22"],
    "resnet152": ["layer3.35.conv3", "layer4.2"],
    "googlenet": ["conv1", "conv1.bn", "inception4a.branch3.1",
                  "inception4a.branch4.0", "inception4a", "maxpool4",
                  "inception5b"],
    # the narrow 28x28 networks, against tests/torch_small.py
    "resnet18_small": ["conv1", "layer1.1", "layer2.0.downsample.1",
                       "layer4"],
    "resnet34_small": ["layer3.5"],
    "plain18_small": ["layer2.0", "layer2.1.bn2", "layer4"],
    "plain34_small": ["layer3.5"],
    "googlenet_small": ["conv1", "maxpool2", "inception3b", "maxpool4",
                        "inception5b"],
}
# checkpoints written in the legacy (pre-1.6) format, to cover both
LEGACY = {"resnet18", "vgg11_bn"}
ARCHS = list(NODES)


def lenet5():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def make_model(arch):
    if arch == "lenet5":
        return lenet5()
    if arch in torch_small.SMALL_ARCHS:
        return torch_small.make(arch)
    if arch == "googlenet":
        # as for IMAGENET1K_V1; aux heads stay in the file, unused in eval
        return tvm.googlenet(transform_input=True, aux_logits=True,
                             init_weights=True)
    return getattr(tvm, arch)()


def randomise_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
            m.num_batches_tracked.fill_(1000)


def module(model, name):
    m = model
    for part in name.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def convnet(exe, *args):
    r = subprocess.run([exe, "run", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"convnet run {' '.join(args)}: {r.stderr.strip()}")


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, name, ours, ref):
        self.n += 1
        if ours.shape != ref.shape:
            self.failed += 1
            print(f"not ok {self.n} - {name}: shape {ours.shape} != torch "
                  f"{ref.shape}", flush=True)
            return
        err = float(np.max(np.abs(ours - ref)))
        scale = float(np.max(np.abs(ref)))
        bound = TOLERANCE * scale
        ok = err <= bound and scale > 0
        self.failed += not ok
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}: max|diff| "
              f"{err:.3g} (bound {bound:.3g}, max|torch| {scale:.3g})",
              flush=True)

    def fail(self, name, why):
        self.n += 1
        self.failed += 1
        print(f"not ok {self.n} - {name}: {why}", flush=True)


def run_arch(exe, arch, tap, tmp):
    gen = torch.Generator().manual_seed(sum(map(ord, arch)))
    torch.manual_seed(sum(map(ord, arch)))
    model = make_model(arch).eval()
    with torch.no_grad():
        randomise_batchnorm(model, gen)
    ckpt = os.path.join(tmp, f"{arch}.pth")
    torch.save(model.state_dict(), ckpt,
               _use_new_zipfile_serialization=arch not in LEGACY)
    channels = 1 if arch in SMALL else 3
    sizes = ((28, OTHER_SIZE.get(arch, 33)) if arch in SMALL
             else (224, OTHER_SIZE.get(arch, 160)))
    for size in sizes:
        x = torch.rand(3, channels, size, size, generator=gen)
        if arch not in SMALL:  # ImageNet-normalised range
            x = (x - 0.45) / 0.226
        nodes = NODES[arch] if size == sizes[0] else []
        captured = {}
        hooks = [module(model, n).register_forward_hook(
            lambda m, i, o, n=n: captured.__setitem__(n, o.detach().clone()))
            for n in nodes]
        with torch.no_grad():
            ref3 = model(x).numpy()
            for h in hooks:
                h.remove()
            ref1 = model(x[:1]).numpy()
        for batch, ref in ((3, ref3), (1, ref1)):
            inp = os.path.join(tmp, "in.npy")
            out = os.path.join(tmp, "out.npy")
            np.save(inp, x[:batch].numpy())
            name = f"{arch} batch {batch} {size}x{size} logits"
            try:
                convnet(exe, "--model", arch, "--weights", ckpt,
                        "--input", inp, "--output", out)
                tap.check(name, np.load(out), ref)
            except RuntimeError as e:
                tap.fail(name, e)
        np.save(inp, x.numpy())
        for n in nodes:
            name = f"{arch} batch 3 {size}x{size} activation '{n}'"
            try:
                convnet(exe, "--model", arch, "--weights", ckpt, "--input",
                        inp, "--output", out, "--layer", n)
                tap.check(name, np.load(out), captured[n].numpy())
            except RuntimeError as e:
                tap.fail(name, e)
    os.unlink(ckpt)


def main():
    exe = sys.argv[1]
    archs = (sys.argv[2:] or os.environ.get("CONVNET_PARITY_ARCHS", "").split()
             or ARCHS)
    unknown = [a for a in archs if a not in NODES]
    if unknown:
        print(f"1..1\nnot ok 1 - unknown architectures: {' '.join(unknown)}")
        sys.exit(1)
    torch.set_num_threads(2)
    tap = Tap()
    expected = sum(4 + len(NODES[a]) for a in archs)
    print(f"1..{expected}", flush=True)
    with tempfile.TemporaryDirectory(prefix="convnet-parity-") as tmp:
        for arch in archs:
            run_arch(exe, arch, tap, tmp)
    print(f"# {tap.n - tap.failed} passed, {tap.failed} failed")
    sys.exit(1 if tap.failed or tap.n != expected else 0)


if __name__ == "__main__":
    main()
