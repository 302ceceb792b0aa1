#!/usr/bin/python3
"""What a second Classify costs after the first, and where it goes.

In gimp-console, with one 280x280 image (a Fashion-MNIST test image, 10x
nearest neighbour) loaded once, a session makes 1 call, another 6 calls,
of plug-in-convnet-classify (non-interactive, top 1) with the same model:
per-call cost = (T6 - T1) / 5, the median of RUNS sessions of each.  The
6-call session also touches a file before and after every call, so the
first call and the later ones are timed one by one (from the files'
modification times).  Models: lenet5-fashion (its load and forward take
milliseconds: its per-call cost is the plug-in's start), resnet50 from
its torchvision checkpoint (resnet50-0676ba61.pth, torch.manual_seed(0)
weights saved by PyTorch) and resnet50 from a .safetensors of the same
weights (resnet50.safetensors, which the plug-in prefers to the .pth).

Then, with the convnet command of the same build (for GIMP 3, the build's
in the root, as tests/gimp_host.py runs it), the parts of a call:
classify of one image with lenet5 (a process that loads a tiny model:
about what starting any of our processes costs), classify with resnet50
from the .pth and from the .safetensors, and `convnet bench`'s warm
forward of resnet50, so that model load = classify - forward - process.

The .safetensors is written here by hand (the format is a JSON header and
the raw tensors; the engine has no converting command) with the metadata
"architecture": "resnet50" that our own files carry.

Host from CONVNET_GIMP as the GIMP suites choose it (tests/gimp_host.py).

Usage: bench/call_cost.py [--build DIR] [--runs N] [--calls N]"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SOURCE, "tests"))
import gimp_host as host  # noqa: E402
from gimp_e2e import fashion_images, install_profile  # noqa: E402
from gimp_session import Session  # noqa: E402

TORCH_PYTHON = "/usr/bin/python3"
CHECKPOINT = "resnet50-0676ba61.pth"
TIMEOUT = 900

MAKE_CHECKPOINT = """
import sys, torch, torchvision
torch.manual_seed(0)
torch.save(torchvision.models.resnet50().state_dict(), sys.argv[1])
"""

# safetensors from the checkpoint, written without the safetensors package
CONVERT = """
import json, struct, sys, torch
state = torch.load(sys.argv[1], map_location="cpu")
dtypes = {torch.float32: "F32", torch.int64: "I64"}
header, blobs, offset = {"__metadata__": {"architecture": "resnet50"}}, [], 0
for name, t in state.items():
    data = t.contiguous().numpy().tobytes()
    header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape),
                    "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for b in blobs:
        f.write(b)
"""


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def gimp_session(profile, command):
    """Seconds gimp-console took to run COMMAND and quit."""
    session = Session()
    env = dict(os.environ, LANG="C.UTF-8", **host.profile_env(profile))
    with tempfile.TemporaryFile("w+") as out:
        start = time.monotonic()
        proc = session.start(host.console_on_bus([command, "(gimp-quit 0)"]),
                             env, stdout=out, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(TIMEOUT)
            seconds = time.monotonic() - start
            left = session.left()
        finally:
            session.end_all()
            session.kill_left()
        out.seek(0)
        output = out.read()
    if code != 0 or left:
        sys.exit(f"gimp-console failed (exit {code}, left {left}):\n{output}")
    return seconds, output


def touch(path):
    p = host.scheme_string(path)
    return f"(close-output-port (open-output-file {p}))"


def calls_command(image, model, calls, marks, result):
    """One Script-Fu command: IMAGE loaded, then CALLS classify calls, a
    file MARKS-i touched before call i and after the last; the last
    call's top label written to RESULT."""
    steps = [touch(f"{marks}-0")]
    for i in range(calls):
        steps.append(f"(set! r {host.classify('image', 'drawable', model, 1)})")
        steps.append(touch(f"{marks}-{i + 1}"))
    label = host.first(host.labels("r"))
    return (f"(let* ((image {host.load(image)}) "
            f"(drawable {host.drawable('image')}) (r #f)) "
            + " ".join(steps)
            + f" (let ((port (open-output-file {host.scheme_string(result)})))"
              f" (display {label} port) (close-output-port port)))")


def mark_intervals(marks, calls):
    times = [os.stat(f"{marks}-{i}").st_mtime_ns for i in range(calls + 1)]
    return [(b - a) / 1e9 for a, b in zip(times, times[1:])]


def run(args):
    start = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return seconds, done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(
        SOURCE, "build-gimp3" if host.GIMP3 else "build"))
    parser.add_argument("--runs", type=int, default=3,
                        help="sessions of each kind; medians are shown (3)")
    parser.add_argument("--calls", type=int, default=6,
                        help="calls in the longer session (6)")
    opts = parser.parse_args()
    build = os.path.abspath(opts.build)
    convnet = os.path.join(build, "cli", "convnet")
    if not host.available():
        sys.exit(f"{host.NAME} is not installed")

    print(f"# cost of a Classify call, {host.NAME}\n")
    print(f"build {build}; medians of {opts.runs} runs; "
          f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="convnet-bench-call-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, SOURCE, profile)
        weights = os.path.join(profile, "gimp-convnet", "weights")
        os.makedirs(weights)
        pth = os.path.join(weights, CHECKPOINT)
        subprocess.run([TORCH_PYTHON, "-c", MAKE_CHECKPOINT, pth], check=True)
        converted = os.path.join(tmp, "resnet50.safetensors")
        subprocess.run([TORCH_PYTHON, "-c", CONVERT, pth, converted],
                       check=True)
        image = fashion_images(tmp, 1)[0][0]

        # the first session of a new profile writes its files: not timed
        gimp_session(profile, "(gimp-message \"first session\")")

        rows = []
        setups = [("lenet5-fashion", "lenet5-fashion", False),
                  ("resnet50 (.pth)", "resnet50", False),
                  ("resnet50 (.safetensors)", "resnet50", True)]
        for title, model, use_safetensors in setups:
            installed = os.path.join(weights, "resnet50.safetensors")
            if use_safetensors:
                os.link(converted, installed)
            t1, tn, first, later, labels = [], [], [], [], set()
            for r in range(opts.runs):
                for calls, times in ((1, t1), (opts.calls, tn)):
                    marks = os.path.join(tmp, f"mark-{r}-{calls}")
                    result = os.path.join(tmp, f"label-{r}-{calls}")
                    seconds, output = gimp_session(profile, host.guarded(
                        calls_command(image, model, calls, marks, result),
                        result + ".error"))
                    if not os.path.exists(result):
                        error = (open(result + ".error").read()
                                 if os.path.exists(result + ".error") else "")
                        sys.exit(f"{title}: no result ({error}); GIMP said:"
                                 f"\n{output}")
                    labels.add(open(result).read())
                    times.append(seconds)
                    if calls == opts.calls:
                        intervals = mark_intervals(marks, calls)
                        first.append(intervals[0])
                        later += intervals[1:]
            if use_safetensors:
                os.remove(installed)
            m1, mn = statistics.median(t1), statistics.median(tn)
            rows.append((title, m1, mn, (mn - m1) / (opts.calls - 1),
                         statistics.median(first), statistics.median(later),
                         min(later), t1, tn, labels))

        # the parts, from the convnet command
        second = os.path.join(tmp, "second.png")
        os.link(image, second)

        def cmd(model, weight_file, *images):
            return host.tool([convnet, "classify", "--model", model,
                              "--weights", weight_file, "--top", "1",
                              *(images or [image])])

        parts = {}
        lenet = os.path.join(SOURCE, "weights", "lenet5-fashion.safetensors")
        for key, args in (
                ("true", host.tool(["true"])),
                ("lenet5", cmd("lenet5", lenet)),
                ("resnet50 .pth", cmd("resnet50", pth)),
                ("resnet50 .safetensors", cmd("resnet50", converted)),
                ("resnet50 2 images", cmd("resnet50", converted, image,
                                          second))):
            run(args)  # the page cache holds the file from here on
            parts[key] = statistics.median(
                run(args)[0] for _ in range(max(opts.runs, 5)))
        bench = run(host.tool([convnet, "bench", "--model", "resnet50",
                               "--batch", "1", "--threads", "2",
                               "--iters", "10"]))[1]
        forward = float(re.search(r"median_ms=([\d.]+)", bench).group(1)) / 1e3
        sizes = {k: os.path.getsize(p) / 2**20
                 for k, p in (("pth", pth), ("safetensors", converted))}
        load_after = load()

    print()
    print(f"| model | T1 (s) | T{opts.calls} (s) | per call "
          f"(T{opts.calls}-T1)/{opts.calls - 1} (s) | 1st call (s) | "
          f"later calls, median (min) (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for title, m1, mn, per, first, later, least, *_ in rows:
        print(f"| {title} | {m1:.2f} | {mn:.2f} | {per:.3f} | {first:.3f} "
              f"| {later:.3f} ({least:.3f}) |")
    print()
    for title, _, _, _, _, _, _, t1, tn, labels in rows:
        print(f"{title}: T1 runs " + " ".join(f"{t:.2f}" for t in t1)
              + f"; T{opts.calls} runs " + " ".join(f"{t:.2f}" for t in tn)
              + f"; top label {sorted(labels)}")

    process = parts["lenet5"]
    rows_parts = [
        (f"process start ({'root + ' if host.GIMP3 else ''}"
         f"convnet classify, lenet5, 1 image)", process),
        ("resnet50 forward, warm (convnet bench, median of 10)", forward),
        ("resnet50 load from .pth (classify - forward - process)",
         parts["resnet50 .pth"] - forward - process),
        ("resnet50 load from .safetensors (classify - forward - process)",
         parts["resnet50 .safetensors"] - forward - process),
        ("resnet50, a second image with the model loaded (classify of 2 "
         "images - 1: decode, preprocess, forward)",
         parts["resnet50 2 images"] - parts["resnet50 .safetensors"]),
        ("convnet classify resnet50 .pth, 1 image", parts["resnet50 .pth"]),
        ("convnet classify resnet50 .safetensors, 1 image",
         parts["resnet50 .safetensors"]),
    ]
    if host.GIMP3:
        rows_parts.insert(0, ("the root alone (gimp3-root.sh run true)",
                              parts["true"]))
    print()
    print("| part (convnet command) | seconds |")
    print("|---|---:|")
    for title, seconds in rows_parts:
        print(f"| {title} | {seconds:.3f} |")
    print()
    print(f"files: .pth {sizes['pth']:.1f} MiB, .safetensors "
          f"{sizes['safetensors']:.1f} MiB (page cache warm)")
    lenet_per = rows[0][3]
    print(f"plug-in start in GIMP, from lenet5-fashion's per-call cost: "
          f"{lenet_per:.3f} s")
    print(f"load average after: {load_after}")


if __name__ == "__main__":
    main()
