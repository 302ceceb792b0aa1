#!/usr/bin/python3
"""`convnet fetch` against a local HTTP server (tests/http_server.py) on
127.0.0.1: a checkpoint generated here by torch in torchvision's format and
named like torchvision's (resnet18-<first 8 hex of its SHA-256>.pth) is
downloaded, resumed after a dropped connection, refused when damaged or
wrong, and the downloaded file gives torch's logits.  No test needs the
internet, nor reaches it: the one that asks for torchvision's own address
goes through a proxy that refuses it, and checks the message a user
without a network gets.

Usage: fetch.py CONVNET   (TAP output; needs python3-torch)."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_server  # noqa: E402
from tap_checks import check, passed  # noqa: E402

try:
    import numpy as np
    import torch
    import torchvision.models as tvm
except ImportError as e:  # a missing oracle is a failure, never a skip
    print(f"1..1\nnot ok 1 - fetch needs Debian's python3-torch: {e}")
    sys.exit(1)

CONVNET = os.path.abspath(sys.argv[1])


def fetch(*args, env=None):
    run_env = dict(os.environ)
    run_env.update(env or {})
    return subprocess.run([CONVNET, "fetch", *args], capture_output=True,
                          text=True, env=run_env, timeout=300)


def files(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def server_log(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/log") as r:
        return r.read().decode().splitlines()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    work = tempfile.mkdtemp(prefix="convnet-fetch-")
    served = os.path.join(work, "served")
    os.makedirs(served)

    torch.manual_seed(0)
    model = tvm.resnet18().eval()
    plain = os.path.join(work, "plain.pth")
    torch.save(model.state_dict(), plain)
    data = open(plain, "rb").read()
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    shutil.copy(plain, os.path.join(served, name))
    torch.manual_seed(1)
    torch.save(tvm.resnet18().state_dict(), os.path.join(served, http_server.WRONG_FILE))
    server = http_server.start(served)
    base = f"http://127.0.0.1:{server.port}"

    print("1..24", flush=True)

    # a whole download, with progress, and the file it gives
    d = os.path.join(work, "good")
    r = fetch("--url", f"{base}/good/{name}", "--dir", d)
    target = os.path.join(d, name)
    check("a good download succeeds and prints the path",
          r.returncode == 0 and r.stdout.strip() == target, r.stderr)
    check("the file is the served file, byte for byte",
          os.path.isfile(target) and open(target, "rb").read() == data)
    check("no part file is left", files(d) == [name], files(d))
    percents = [int(p) for p in re.findall(r"\((\d+)%\)", r.stderr)]
    check("progress is reported, rising to 100 %",
          len(percents) >= 5 and percents == sorted(percents) and percents[-1] == 100,
          r.stderr)

    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    run = subprocess.run([CONVNET, "run", "--model", "resnet18", "--weights", target,
                          "--input", os.path.join(work, "x.npy"),
                          "--output", os.path.join(work, "y.npy")],
                         capture_output=True, text=True)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    got = np.load(os.path.join(work, "y.npy")) if run.returncode == 0 else None
    error = float(np.abs(got - want).max()) if got is not None else float("inf")
    check("the downloaded checkpoint gives torch's logits",
          error <= 1e-4 * max(1.0, float(np.abs(want).max())), f"{run.stderr} max error {error}")

    before = len(server_log(server))
    r = fetch("--url", f"{base}/good/{name}", "--dir", d)
    check("a verified file already there is not downloaded again",
          r.returncode == 0 and len(server_log(server)) == before + 1, r.stderr)

    # a dropped connection keeps the part file; the next run resumes it
    d = os.path.join(work, "resume")
    r = fetch("--url", f"{base}/drop/{name}", "--dir", d)
    part = os.path.join(d, f".{name}.part")
    kept = os.path.getsize(part) if os.path.exists(part) else 0
    check("a dropped connection fails, saying how much is kept",
          r.returncode != 0 and "run it again to resume" in r.stderr
          and str(kept) in r.stderr, r.stderr)
    check("... with half the file in the part file and none under its name",
          files(d) == [f".{name}.part"] and kept == len(data) // 2, files(d))
    r = fetch("--url", f"{base}/good/{name}", "--dir", d)
    check("the next run asks for the rest only (Range: bytes=N-)",
          f"/good/{name} bytes={kept}-" in server_log(server), server_log(server)[-3:])
    check("... and the resumed file is whole and verified",
          r.returncode == 0 and open(os.path.join(d, name), "rb").read() == data
          and files(d) == [name], r.stderr)

    # a server that ignores Range: the download starts over, correctly
    d = os.path.join(work, "norange")
    os.makedirs(d)
    open(os.path.join(d, f".{name}.part"), "wb").write(data[:1000])
    r = fetch("--url", f"{base}/norange/{name}", "--dir", d)
    check("a server ignoring Range gets the whole file fetched again",
          r.returncode == 0 and open(os.path.join(d, name), "rb").read() == data
          and files(d) == [name], r.stderr)

    # a part file whose bytes are not the file's: the check catches it and
    # the file is fetched whole
    d = os.path.join(work, "badpart")
    os.makedirs(d)
    open(os.path.join(d, f".{name}.part"), "wb").write(b"\0" * 5000)
    r = fetch("--url", f"{base}/good/{name}", "--dir", d)
    log = server_log(server)
    check("a damaged part file fails the check and the file is fetched whole",
          r.returncode == 0 and open(os.path.join(d, name), "rb").read() == data
          and files(d) == [name] and log[-2:] == [f"/good/{name} bytes=5000-",
                                                  f"/good/{name} -"], (r.stderr, log[-2:]))

    # a stale part as long as the file, from a server ignoring Range
    d = os.path.join(work, "stale")
    os.makedirs(d)
    open(os.path.join(d, f".{name}.part"), "wb").write(b"\1" * len(data))
    r = fetch("--url", f"{base}/norange/{name}", "--dir", d)
    check("a stale part as long as the file is replaced by the real file",
          r.returncode == 0 and open(os.path.join(d, name), "rb").read() == data
          and files(d) == [name], r.stderr)

    # a busy server keeps what a resume would need
    d = os.path.join(work, "busy")
    os.makedirs(d)
    open(os.path.join(d, f".{name}.part"), "wb").write(data[:3000])
    r = fetch("--url", f"{base}/busy/{name}", "--dir", d)
    check("HTTP 503 keeps the part file for the next try",
          r.returncode != 0 and "HTTP 503" in r.stderr
          and files(d) == [f".{name}.part"]
          and os.path.getsize(os.path.join(d, f".{name}.part")) == 3000, r.stderr)

    # damaged or wrong files never appear
    for mode in ("truncated", "wrong"):
        d = os.path.join(work, mode)
        r = fetch("--url", f"{base}/{mode}/{name}", "--dir", d)
        check(f"a {mode} checkpoint is refused with both hashes named, nothing saved",
              r.returncode != 0 and "SHA-256" in r.stderr
              and name.split("-")[1][:8] in r.stderr and files(d) == [], r.stderr)

    d = os.path.join(work, "missing")
    r = fetch("--url", f"{base}/missing/{name}", "--dir", d)
    check("HTTP 404 is reported with the address, the folder and the name",
          r.returncode != 0 and "HTTP 404" in r.stderr and d in r.stderr
          and name in r.stderr and files(d) == [], r.stderr)

    d = os.path.join(work, "noprefix")
    before = len(server_log(server))
    r = fetch("--url", f"{base}/good/resnet18.pth", "--dir", d)
    check("a name without a SHA-256 prefix is refused before any request",
          r.returncode != 0 and "no SHA-256 prefix" in r.stderr
          and len(server_log(server)) == before + 1, r.stderr)

    # by architecture name, from a mirror: the official name is asked for
    d = os.path.join(work, "mirror")
    r = fetch("resnet18", "--dir", d,
              env={"CONVNET_DOWNLOAD_URL": f"{base}/wrong/"})
    check("convnet fetch resnet18 asks the mirror for resnet18-f37072fd.pth",
          "/wrong/resnet18-f37072fd.pth -" in server_log(server), server_log(server)[-2:])
    check("... and refuses bytes that are not the official ones",
          r.returncode != 0 and "f37072fd" in r.stderr and files(d) == [], r.stderr)

    # without a network
    d = os.path.join(work, "offline")
    port = closed_port()
    r = fetch("resnet18", "--dir", d,
              env={"CONVNET_DOWNLOAD_URL": f"http://127.0.0.1:{port}/models/"})
    check("offline: the message names the address, the folder and the file",
          r.returncode != 0
          and f"http://127.0.0.1:{port}/models/resnet18-f37072fd.pth" in r.stderr
          and d in r.stderr and "resnet18-f37072fd.pth" in r.stderr
          and files(d) == [], r.stderr)
    # a proxy that refuses every connection stands for the missing network,
    # so the check holds on a machine that has one (it would download)
    r = fetch("resnet18", "--dir", d, env={
        "CONVNET_DOWNLOAD_URL": "", "no_proxy": "", "NO_PROXY": "",
        "https_proxy": f"http://127.0.0.1:{port}",
        "HTTPS_PROXY": f"http://127.0.0.1:{port}"})
    check("offline, torchvision's own address: the same clear message",
          r.returncode != 0
          and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in r.stderr
          and d in r.stderr and files(d) == [], r.stderr)

    r = fetch("lenet5", "--dir", os.path.join(work, "x"))
    check("an architecture torchvision publishes nothing for is a clear error",
          r.returncode != 0 and "no checkpoint" in r.stderr, r.stderr)
    r = fetch("--list")
    check("--list gives every torchvision checkpoint's address",
          r.returncode == 0 and len(r.stdout.splitlines()) == 15
          and "https://download.pytorch.org/models/googlenet-1378be20.pth" in r.stdout,
          r.stdout)

    server.shutdown()
    shutil.rmtree(work)
    return 0 if passed() else 1


sys.exit(main())
