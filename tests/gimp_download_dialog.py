#!/usr/bin/python3
"""The Download... button of the Classify dialog in a real GIMP under Xvfb
(2.10, or 3 inside its root with CONVNET_GIMP=3; see gimp_host.py), against a local HTTP server (tests/http_server.py) on 127.0.0.1: a
wrong checkpoint is refused and leaves nothing, a slow download cancelled
from the dialog leaves nothing, a checkpoint generated here by torch
(named resnet18-<its SHA-256 prefix>.pth, as a mirror would) is shown
as resnet18, saved into the weights folder and selected in the chooser,
and Classify then runs it; GIMP quits at the end of the script and leaves
nothing running.  Driven by keyboard mnemonics; what the dialog shows and
selects is read from its debug log (G_MESSAGES_DEBUG=convnet);
screenshots are test artifacts, named in TAP comments.  TAP output.

Usage: gimp_download_dialog.py BUILD_DIR SOURCE_DIR"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_server  # noqa: E402
import gimp_host as host  # noqa: E402
from gimp_e2e import install_profile  # noqa: E402
from gimp_dialog import (classify_in_dialog, gui_test_artifacts,  # noqa
                         key, nothing_left, quits_alone, report, screenshot,
                         wait_for_window, xdotool)
from gimp_session import Session  # noqa: E402

CHECKS = 12


def type_url(display, window, url):
    key(display, window, "alt+f")          # _From:
    key(display, window, "ctrl+a")
    xdotool(display, "type", "--delay", "5", url)


def wait_until(condition, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def logged(log, pattern):
    """The first match of PATTERN in the file LOG, or None."""
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    return re.search(pattern, text, re.M)


def main():
    build, source = sys.argv[1], sys.argv[2]
    artifact = gui_test_artifacts(build)
    try:
        import torch
        import torchvision.models as tvm
    except ImportError as e:
        print(f"1..1\nnot ok 1 - needs python3-torch: {e}")
        sys.exit(1)

    display = ":%d" % (70 + os.getpid() % 9)
    checks = []
    with tempfile.TemporaryDirectory(prefix="convnet-download-") as tmp:
        served = os.path.join(tmp, "served")
        os.makedirs(served)
        plain = os.path.join(tmp, "plain.pth")
        torch.manual_seed(0)
        torch.save(tvm.resnet18().state_dict(), plain)
        data = open(plain, "rb").read()
        name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
        shutil.copy(plain, os.path.join(served, name))
        torch.manual_seed(1)
        torch.save(tvm.resnet18().state_dict(),
                   os.path.join(served, http_server.WRONG_FILE))
        server = http_server.start(served)
        base = f"http://127.0.0.1:{server.port}"

        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        weights = os.path.join(profile, "gimp-convnet", "weights")
        result = os.path.join(tmp, "result")
        sample = os.path.join(source, "samples", "ankle-boot.png")
        script = classify_in_dialog(sample, result)
        session = Session()
        xvfb = session.start(["Xvfb", display, "-screen", "0", "1280x800x24"],
                             os.environ, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        log = os.path.join(tmp, "gimp.log")
        try:
            time.sleep(2)
            env = dict(os.environ, DISPLAY=display, LANG="C.UTF-8",
                       G_MESSAGES_DEBUG="convnet", **host.profile_env(profile))
            # GLib writes debug messages to stdout
            with open(log, "w") as log_file:
                gimp = session.start(
                    host.gui_on_bus([script, "(gimp-quit TRUE)"]), env,
                    stdout=log_file, stderr=subprocess.STDOUT)
            classify = wait_for_window(display, "Classify", 120)
            checks.append((classify is not None, "the Classify dialog opens"))
            if not classify:
                report(checks, CHECKS)
            time.sleep(2)
            key(display, classify, "alt+d")       # _Download...
            window = wait_for_window(display, "Download Checkpoint", 30)
            checks.append((window is not None,
                           "Download... opens the Download Checkpoint dialog"))
            if not window:
                report(checks, CHECKS)
            time.sleep(1)

            def left():
                return sorted(os.listdir(weights)) if os.path.isdir(weights) else []

            type_url(display, window, f"{base}/wrong/resnet18-f37072fd.pth")
            key(display, window, "alt+d")         # _Download
            requested = wait_until(lambda: any("/wrong/" in r for r in server.requests), 20)
            time.sleep(3)
            screenshot(display, artifact("download-refused.png"))
            checks.append((requested and left() == [],
                           f"a wrong checkpoint is refused and leaves nothing ({left()})"))

            type_url(display, window, f"{base}/slow/{name}")
            key(display, window, "alt+d")
            wait_until(lambda: any(f.endswith(".part") for f in left()), 20)
            started = any(f.endswith(".part") for f in left())
            time.sleep(1)
            key(display, window, "alt+c")         # _Close cancels first
            checks.append((started and wait_until(lambda: left() == [], 20),
                           f"Close during a download cancels it and leaves "
                           f"nothing ({left()})"))
            screenshot(display, artifact("download-cancelled.png"))

            type_url(display, window, f"{base}/good/{name}")
            key(display, window, "alt+d")
            target = os.path.join(weights, name)
            done = wait_until(lambda: left() == [name], 60)
            time.sleep(1)
            screenshot(display, artifact("download-done.png"))
            checks.append((done and open(target, "rb").read() == data,
                           "a good checkpoint is saved, verified, under its name"))
            shown = logged(log, rf"downloading {re.escape(base)}/good/"
                                rf"{re.escape(name)} as architecture (\S+)$")
            checks.append((shown is not None and shown[1] == "resnet18",
                           f"the architecture shown follows the address: "
                           f"resnet18 ({shown[1] if shown else 'not logged'})"))
            wait_until(lambda: logged(log, rf"downloaded .*/{re.escape(name)}: "
                                           rf"the chooser selects"), 10)
            chosen = logged(log, rf"downloaded .*/{re.escape(name)}: the "
                                 rf"chooser selects (\S+)$")
            checks.append((chosen is not None and chosen[1] == "resnet18",
                           f"the chooser selects the downloaded resnet18 "
                           f"({chosen[1] if chosen else 'not logged'})"))

            key(display, window, "alt+c")         # _Close
            closed = wait_until(lambda: not xdotool(
                display, "search", "--name", "^Download Checkpoint$"), 20)
            checks.append((closed, "Close closes the download dialog"))
            key(display, classify, "alt+l")       # C_lassify, now with resnet18
            time.sleep(8)
            screenshot(display, artifact("download-classified.png"))
            key(display, classify, "alt+c")       # _Close
            wait_until(lambda: os.path.exists(result) and os.path.getsize(result), 60)
            got = open(result).read() if os.path.exists(result) else None
            imagenet = open(os.path.join(source, "weights", "labels",
                                         "imagenet.txt")).read().splitlines()
            checks.append((got in imagenet,
                           f"the downloaded resnet18 is selected and classifies "
                           f"(an ImageNet class: {got})"))
            checks.append((any(r.startswith(f"/good/{name}") for r in server.requests),
                           "the checkpoint came from the local server"))
            checks.append(quits_alone(session, gimp, xvfb))
        finally:
            session.end_all()
            server.shutdown()
        checks.append(nothing_left(session))
    report(checks, CHECKS)


if __name__ == "__main__":
    main()
