#!/usr/bin/python3
"""Grad-CAM parity with PyTorch: `convnet explain` against Grad-CAM made
here with autograd on torchvision's modules: checkpoints in torchvision's
format made at test time with random weights (as parity.py makes them),
and the shipped lenet5-fashion on Fashion-MNIST images.  Then the
command's errors.

Reference: with A the node's activation (a forward hook) and y the class
logit, the channel weights are the spatial mean of dy/dA, the map is ReLU
of the weighted channel sum, divided by its maximum.  The upsampled map is
torch's interpolate (bilinear, align_corners=False) of that map to the
network input's size.  Criterion: max |ours - torch| <= 1e-4 * max(torch)
(the maximum is 1).

Usage: explain_parity.py CONVNET SOURCE_DIR   (TAP output; needs
python3-torch and Fashion-MNIST)."""
import gzip
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from parity import Tap, make_model, module, randomise_batchnorm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "fixtures"))
from fixture_io import read_safetensors  # noqa: E402

TOLERANCE = 1e-4
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
FASHION = os.environ.get("CONVNET_FASHION_MNIST",
                         "/usr/share/datasets/fashion-mnist")

# arch, weights ("random", or a file of weights/), node (None: the
# default, named in DEFAULT_NODE for the reference), class (None: the top
# one), input: a side (random values), "image" (a picture through
# `convnet explain IMAGE`) or ("fashion", i) (Fashion-MNIST test image i)
CASES = [
    ("lenet5", "random", "3", None, 28),
    ("lenet5", "lenet5-fashion.safetensors", "3", None, ("fashion", 0)),
    ("lenet5", "lenet5-fashion.safetensors", None, 5, ("fashion", 0)),
    ("lenet5", "lenet5-fashion.safetensors", "3", 1, ("fashion", 2)),
    # every channel weight of this one is negative where it is active: the
    # map is all zero, which is what the engine promises then
    ("lenet5", "lenet5-fashion.safetensors", None, 2, ("fashion", 1)),
    ("resnet18", "random", None, None, 224),
    ("resnet18", "random", "layer3", 281, 160),
    ("resnet18", "random", None, None, "image"),
    ("vgg16", "random", None, None, 224),
    ("googlenet", "random", None, None, 224),
]
DEFAULT_NODE = {"lenet5": "4", "resnet18": "layer4", "vgg16": "features.29",
                "googlenet": "inception5b"}


def fashion_image(i):
    with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
        f.seek(16 + 28 * 28 * i)
        pixels = np.frombuffer(f.read(28 * 28), np.uint8)
    return torch.from_numpy(pixels.astype(np.float32) / 255).reshape(
        1, 1, 28, 28)


def torch_gradcam(model, node, x, klass):
    """The map at NODE's resolution and the class it explains."""
    captured = {}
    hook = module(model, node).register_forward_hook(
        lambda m, i, o: captured.__setitem__("a", o))
    logits = model(x)
    hook.remove()
    if klass is None:
        klass = int(logits[0].argmax())
    act = captured["a"]
    grad, = torch.autograd.grad(logits[0, klass], act)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(dim=1))[0].detach()
    return cam, klass


def test_image(path, gen):
    """A smooth RGB picture, not square, so that resize and crop matter."""
    from PIL import Image
    h, w = 260, 300
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    phase = torch.rand(3, generator=gen).numpy() * 6.0
    rgb = np.stack([0.5 + 0.5 * np.sin(7 * xx + 5 * yy * yy + p)
                    for p in phase], axis=-1)
    Image.fromarray((rgb * 255).round().astype(np.uint8)).save(path)


def torchvision_input(path):
    import torchvision.transforms as T
    from PIL import Image
    pipeline = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                          T.Normalize(MEAN, STD)])
    return pipeline(Image.open(path).convert("RGB")).unsqueeze(0)


def explain(exe, args):
    r = subprocess.run([exe, "explain", *args], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"convnet explain {' '.join(args)}: "
                           f"{r.stderr.strip()}")
    return int(re.match(r"class (\d+) ", r.stdout).group(1))


def load_case_model(arch, weights, tmp, gen, checkpoints):
    """The torch model of a case and the checkpoint convnet reads."""
    torch.manual_seed(sum(map(ord, arch)))
    model = make_model(arch).eval()
    if weights != "random":
        ckpt = os.path.join(SOURCE, "weights", weights)
        model.load_state_dict(read_safetensors(ckpt)[0])
        return model, ckpt
    with torch.no_grad():
        randomise_batchnorm(model, gen)
    ckpt = checkpoints.get(arch)
    if ckpt is None:
        ckpt = checkpoints[arch] = os.path.join(tmp, f"{arch}.pth")
        torch.save(model.state_dict(), ckpt)
    return model, ckpt


def run_case(exe, case, tap, tmp, checkpoints):
    arch, weights, node, klass, source = case
    gen = torch.Generator().manual_seed(sum(map(ord, arch)))
    model, ckpt = load_case_model(arch, weights, tmp, gen, checkpoints)
    name = (f"{arch} ({weights}) {node or 'default node'} class "
            f"{'top' if klass is None else klass}")
    cam_path = os.path.join(tmp, "cam.npy")
    up_path = os.path.join(tmp, "up.npy")
    args = ["--model", arch, "--weights", ckpt, "--output", cam_path,
            "--upsampled", up_path]
    if node:
        args += ["--node", node]
    if klass is not None:
        args += ["--class", str(klass)]
    if source == "image":
        image = os.path.join(tmp, "picture.png")
        test_image(image, gen)
        x = torchvision_input(image)
        args.append(image)
        name += " through an image file"
    else:
        if isinstance(source, tuple):
            x = fashion_image(source[1])
            name += f" Fashion-MNIST test image {source[1]}"
        else:
            channels = 1 if arch == "lenet5" else 3
            x = torch.rand(1, channels, source, source, generator=gen)
            if arch != "lenet5":
                x = (x - 0.45) / 0.226
            name += f" {source}x{source}"
        inp = os.path.join(tmp, "in.npy")
        np.save(inp, x.numpy())
        args += ["--input", inp]
    cam, want_class = torch_gradcam(model, node or DEFAULT_NODE[arch], x,
                                    klass)
    peak = float(cam.max())
    if peak > 0:
        cam = cam / peak
    # a flat map would agree with much broken code: only the zero case
    # above is meant to be flat
    if peak > 0 and float(cam.min()) > 0.9:
        tap.fail(name, "the reference map is flat; pick another input")
        tap.fail(name + " upsampled", "the reference map is flat")
        return
    up = F.interpolate(cam[None, None], size=tuple(x.shape[2:]),
                       mode="bilinear", align_corners=False)[0, 0]
    try:
        got_class = explain(exe, args)
    except RuntimeError as e:
        tap.fail(name, e)
        tap.fail(name + " upsampled", e)
        return
    checks = ((f"{name}: map {tuple(cam.shape)}", cam_path, cam),
              (f"{name}: upsampled {tuple(up.shape)}", up_path, up))
    for what, path, ref in checks:
        if got_class != want_class:
            tap.fail(what, f"explained class {got_class}, torch's top class "
                     f"is {want_class}")
        elif peak > 0:
            tap.check(what, np.load(path), ref.numpy())
        else:  # Tap.check has no scale to compare with: all zero it must be
            ours = np.load(path)
            if ours.shape == tuple(ref.shape) and not ours.any():
                tap.n += 1
                print(f"ok {tap.n} - {what}: all zero, as torch's",
                      flush=True)
            else:
                tap.fail(what, "torch's map is all zero, ours is not: "
                         f"{ours.shape}, max |ours| "
                         f"{float(np.abs(ours).max()):.3g}")


def check_errors(exe, tap, tmp, checkpoints):
    """Each bad argument is one line naming it, and no output file."""
    ckpt = checkpoints["lenet5"]
    good = os.path.join(tmp, "in.npy")
    np.save(good, np.full((1, 1, 28, 28), 0.5, np.float32))
    batch2 = os.path.join(tmp, "batch2.npy")
    np.save(batch2, np.zeros((2, 1, 28, 28), np.float32))
    not_image = os.path.join(tmp, "not-an-image.png")
    with open(not_image, "w") as f:
        f.write("plain text")
    out = os.path.join(tmp, "error-cam.npy")
    base = ["--model", "lenet5", "--weights", ckpt, "--output", out]
    cases = [
        ("a node that does not exist", ["--node", "nope", "--input", good],
         ["'nope'", "lenet5"]),
        ("a node without a spatial layout", ["--node", "10", "--input", good],
         ["'10'", "convolutional"]),
        ("a class out of range", ["--class", "10", "--input", good],
         ["class 10", "0 to 9"]),
        ("a batch of 2", ["--input", batch2], [batch2, "batch of 1"]),
        ("an unreadable image", [not_image], [not_image]),
        ("a missing checkpoint", ["--input", good, "--weights",
                                  os.path.join(tmp, "none.pth")],
         ["none.pth"]),
    ]
    for name, args, words in cases:
        r = subprocess.run([exe, "explain", *base, *args],
                           capture_output=True, text=True)
        message = r.stderr.strip()
        tap.n += 1
        ok = (r.returncode != 0 and message.startswith("convnet: ")
              and "\n" not in message and all(w in message for w in words)
              and not os.path.exists(out))
        tap.failed += not ok
        print(f"{'ok' if ok else 'not ok'} {tap.n} - error for {name}: "
              f"{message or 'exit status ' + str(r.returncode)}", flush=True)


def main():
    global SOURCE
    exe, SOURCE = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    tap = Tap()
    expected = 2 * len(CASES) + 6
    print(f"1..{expected}", flush=True)
    with tempfile.TemporaryDirectory(prefix="convnet-explain-") as tmp:
        checkpoints = {}
        for case in CASES:
            run_case(exe, case, tap, tmp, checkpoints)
        check_errors(exe, tap, tmp, checkpoints)
    print(f"# {tap.n - tap.failed} passed, {tap.failed} failed")
    sys.exit(1 if tap.failed or tap.n != expected else 0)


if __name__ == "__main__":
    main()
