#!/usr/bin/python3
"""The Fine-tune dialog in a real GIMP under Xvfb (2.10, or 3 inside its
root with CONVNET_GIMP=3; see gimp_host.py), driven by its
keyboard mnemonics.  It opens on the last project (three classes of
Fashion-MNIST test images: tops, footwear, other, with enough images,
epochs and augmentation to train for a while); that training is cancelled
once its first epoch has ended and must stop at once and leave no file.
Open Project then loads a saved project (the same kinds of images under
other class names), which trains to its end and is saved under a name; an
open image and its selection are added as images; a training left unsaved
is closed with the dialog.  Close returns the saved name to the calling
script and remembers the opened project as the last one, without the
plug-in crashing; the saved model classifies held-out images.

The dialog's progress is read from the debug lines the training writes
(G_MESSAGES_DEBUG=convnet): "fine-tune: epoch E of N ended at T" and
"fine-tune: training completed|cancelled|failed at T", T in seconds since
1970.  Screenshots are saved as test artifacts (TAP comments name them).
TAP output.

Usage: gimp_finetune_dialog.py BUILD_DIR SOURCE_DIR"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimp_host as host  # noqa: E402
from gimp_e2e import install_profile, regrouped_folders  # noqa: E402
from gimp_dialog import (gui_test_artifacts, key, nothing_left,  # noqa: E402
                         quits_alone, report, screenshot, wait_for_window,
                         xdotool)
from gimp_session import Session  # noqa: E402

# the opened project names the regrouped classes its own way, so that the
# remembered project tells which of the two it is
OPENED_NAMES = {"tops": "upper-body", "footwear": "shoes", "other": "rest"}
# the last project trains long enough to be cancelled in the middle
LONG_IMAGES, LONG_EPOCHS = 300, 200
OPENED_EPOCHS = 15

# what GIMP, glibc and the sanitizers print when a plug-in dies
CRASH = re.compile(r"crashed|fatal error|AddressSanitizer|runtime error|"
                   r"double free|free\(\)|corrupted|Segmentation fault")
PROGRESS = re.compile(r"fine-tune: (?:epoch (\d+) of (\d+) ended|"
                      r"training (completed|cancelled|failed)) at ([0-9.]+)")


def progress(log):
    """The training's debug lines so far: ("epoch", E, N, T) and
    ("completed"|"cancelled"|"failed", None, None, T)."""
    events = []
    for line in open(log, errors="replace"):
        m = PROGRESS.search(line)
        if m and m.group(1):
            events.append(("epoch", int(m.group(1)), int(m.group(2)),
                           float(m.group(4))))
        elif m:
            events.append((m.group(3), None, None, float(m.group(4))))
    return events


def wait_for_event(log, since, kinds, seconds):
    """(event, earlier): the first event past the first SINCE whose kind is
    in KINDS, or None after SECONDS, and the events between."""
    end = time.time() + seconds
    while time.time() < end:
        events = progress(log)[since:]
        for i, e in enumerate(events):
            if e[0] in kinds:
                return e, events[:i]
        time.sleep(0.05)
    return None, progress(log)[since:]


def open_in_chooser(display, title, path):
    """Types PATH into the file chooser titled TITLE and accepts it; true
    once the chooser has closed."""
    chooser = wait_for_window(display, title, 20)
    if chooser is None:
        return False
    xdotool(display, "windowfocus", "--sync", chooser)
    xdotool(display, "key", "--clearmodifiers", "ctrl+l")
    for _ in range(3):
        # the first keys typed into the location entry can be lost while
        # the chooser changes folder: the path is typed again over them
        for _typed in range(2):
            time.sleep(1)
            xdotool(display, "windowfocus", "--sync", chooser)
            xdotool(display, "key", "--clearmodifiers", "ctrl+a")
            xdotool(display, "type", "--delay", "50", path)
        xdotool(display, "key", "--clearmodifiers", "Return")
        end = time.time() + 10
        while time.time() < end:
            if not xdotool(display, "search", "--name", f"^{title}$"):
                return True
            time.sleep(0.5)
    return False


def project(classes, epochs, augment, last_block=False, lr=0.01):
    return {"format": "gimp-convnet fine-tune project 1",
            "base_model": "lenet5-fashion", "epochs": epochs,
            "learning_rate": lr, "validation_share": 0.2,
            "train_last_block": last_block, "augment": augment,
            "classes": classes}


def class_list(train, names=None):
    return [{"name": (names or {}).get(g, g),
             "images": sorted(glob.glob(os.path.join(train, g, "*.png")))}
            for g in sorted(os.listdir(train))]


def sanitizer_reports():
    """The report files the sanitizers write where ASAN_OPTIONS and
    UBSAN_OPTIONS say (log_path), as scripts/test.sh sets them."""
    found = set()
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        m = re.search(r"(?:^|:)log_path=([^:]+)", os.environ.get(var, ""))
        if m:
            found |= set(glob.glob(m.group(1) + ".*"))
    return found


def files_in(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def cancel_checks(display, window, log, weights):
    """Trains the last project, cancels it once its first epoch has ended,
    and checks that it stopped and left nothing."""
    checks = []
    key(display, window, "alt+t")                       # Train
    first, _ = wait_for_event(log, 0, ("epoch", "completed", "cancelled",
                                       "failed"), 180)
    checks.append((first is not None and first[:3] == ("epoch", 1,
                                                       LONG_EPOCHS),
                   f"the dialog trains the last project, epoch by epoch "
                   f"(first report: {first and first[:3]})"))
    if first is None or first[0] != "epoch":
        return checks
    xdotool(display, "windowfocus", "--sync", window)
    cancelled_at = time.time()
    xdotool(display, "key", "--clearmodifiers", "alt+n")  # Cancel Training
    ended, epochs = wait_for_event(log, 0, ("completed", "cancelled",
                                            "failed"), 10)
    took = ended[3] - cancelled_at if ended else None
    checks.append((ended is not None and ended[0] == "cancelled"
                   and took < 1.0,
                   "Cancel stops the training within a second ("
                   + (f"{ended[0]} {took:.2f} s after Cancel" if ended
                      else "still training 10 s after Cancel") + ")"))
    time.sleep(2)
    later = [e for e in progress(log) if ended and e[3] > ended[3]]
    last_epoch = max((e[1] for e in epochs if e[0] == "epoch"), default=0)
    checks.append((ended is not None and not later
                   and last_epoch < first[2],
                   f"the epoch counter stops at Cancel (last epoch "
                   f"{last_epoch} of {first[2]}; reported after the "
                   f"end: {[e[:2] for e in later]})"))
    left = files_in(weights)
    checks.append((left == [], f"a cancelled training leaves no temporary "
                               f"or model file ({left})"))
    return checks


def main():
    build, source = sys.argv[1], sys.argv[2]
    artifact = gui_test_artifacts(build)
    display = ":%d" % (80 + os.getpid() % 9)
    checks = []
    with tempfile.TemporaryDirectory(prefix="convnet-tune-dialog-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        long_train, _ = regrouped_folders(os.path.join(tmp, "last"),
                                          LONG_IMAGES, 0)
        train, held_out = regrouped_folders(os.path.join(tmp, "opened"),
                                            20, 20)
        os.makedirs(os.path.join(profile, "gimp-convnet"))
        last = os.path.join(profile, "gimp-convnet", "last-project.json")
        with open(last, "w") as f:
            # every augmentation: each epoch runs the whole network
            json.dump(project(class_list(long_train), LONG_EPOCHS, 31,
                              last_block=True, lr=0.001), f)
        opened_classes = class_list(train, OPENED_NAMES)
        opened = os.path.join(tmp, "opened.json")
        with open(opened, "w") as f:
            json.dump(project(opened_classes, OPENED_EPOCHS, 1), f)
        weights = os.path.join(profile, "gimp-convnet", "weights")
        result = os.path.join(tmp, "result")
        log = os.path.join(tmp, "gimp.log")
        sample = os.path.join(source, "samples", "bag.png")
        # an open image with a selection, for "Add Whole Image" and "Add
        # This Region"
        script = (f"(let* ((image {host.load(sample)}) "
                  f"(shown (gimp-display-new image)) (selected "
                  f"(gimp-image-select-rectangle image CHANNEL-OP-REPLACE 10 "
                  f"20 100 60)) (r {host.finetune_dialog()}) "
                  f"(port (open-output-file "
                  f"{host.scheme_string(result)}))) (display (car r) port) "
                  f"(close-output-port port))")
        reports_before = sanitizer_reports()
        session = Session()
        xvfb = session.start(["Xvfb", display, "-screen", "0", "1280x960x24"],
                             os.environ, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        regions = []
        try:
            time.sleep(2)
            # a home of its own: GTK's recently used files and the file
            # chooser's state do not carry over from other runs
            home = os.path.join(tmp, "home")
            env = dict(os.environ, DISPLAY=display,
                       LANG="C.UTF-8", HOME=home, G_MESSAGES_DEBUG="convnet",
                       XDG_DATA_HOME=os.path.join(home, ".local", "share"),
                       XDG_CONFIG_HOME=os.path.join(home, ".config"),
                       XDG_CACHE_HOME=os.path.join(home, ".cache"),
                       **host.profile_env(profile))
            # -c: GIMP's messages (a plug-in crash among them) go to its
            # stderr, which the plug-in shares
            with open(log, "w") as out:
                gimp = session.start(
                    host.gui_on_bus([script, "(gimp-quit TRUE)"], ["-c"]),
                    env, stdout=out, stderr=subprocess.STDOUT)
            window = wait_for_window(display, "Fine-tune", 120)
            checks.append((window is not None, "the Fine-tune dialog opens"))
            if window:
                time.sleep(3)
                screenshot(display, artifact("finetune-dialog.png"))
                checks += cancel_checks(display, window, log, weights)
                key(display, window, "alt+o")           # Open Project...
                checks.append((open_in_chooser(display, "Open Project",
                                               opened),
                               "Open Project takes a project file"))
                time.sleep(2)
                before = len(progress(log))
                key(display, window, "alt+t")           # Train
                ended, epochs = wait_for_event(log, before, (
                    "completed", "cancelled", "failed"), 180)
                last_epoch = epochs[-1][1:3] if epochs else None
                checks.append((ended is not None and ended[0] == "completed"
                               and last_epoch == (OPENED_EPOCHS,
                                                  OPENED_EPOCHS),
                               f"Train works again after a cancel: the opened "
                               f"project trains to its last epoch "
                               f"({ended and ended[0]}, last epoch "
                               f"{last_epoch})"))
                time.sleep(1)
                key(display, window, "alt+s")           # Save Model
                saved = os.path.join(weights, "my-classes.safetensors")
                end = time.time() + 10
                while time.time() < end and not os.path.exists(saved):
                    time.sleep(0.5)
                checks.append((os.path.exists(saved),
                               "Save writes the model under its name"))
                screenshot(display, artifact("finetune-dialog-trained.png"))
                key(display, window, "alt+w")           # Add Whole Image
                time.sleep(2)
                key(display, window, "alt+g")           # Add This Region
                time.sleep(2)
                from PIL import Image
                regions = sorted(glob.glob(os.path.join(
                    profile, "gimp-convnet", "regions", "*.png")),
                    key=os.path.getmtime)
                sizes = [Image.open(r).size for r in regions]
                checks.append((sizes == [(280, 280), (100, 60)],
                               f"an open image and its selection are added "
                               f"as images ({sizes})"))
                # a training nobody saves: Close must not leave its file
                before = len(progress(log))
                key(display, window, "alt+t")           # Train
                wait_for_event(log, before, ("epoch",), 60)
                key(display, window, "alt+c")           # Close
                end = time.time() + 60
                while time.time() < end and not (
                        os.path.exists(result) and os.path.getsize(result)):
                    time.sleep(1)
            got = open(result).read() if os.path.exists(result) else None
            checks.append((got == "my-classes",
                           f"the procedure returns the saved name ({got})"))
            try:
                remembered = json.load(open(last))["classes"]
            except (OSError, ValueError, KeyError, TypeError) as e:
                remembered = repr(e)
            # the opened classes, the first with the two images added to it
            expected = [dict(c) for c in opened_classes]
            expected[0]["images"] = expected[0]["images"] + regions
            names = [c.get("name") for c in remembered] \
                if isinstance(remembered, list) else remembered
            checks.append((remembered == expected,
                           f"the opened project is remembered as the last "
                           f"one, with the added images (classes {names})"))
            checks.append(quits_alone(session, gimp, xvfb))
            left = [f for f in files_in(weights)
                    if f != "my-classes.safetensors"]
            checks.append((left == [], f"closing the dialog after an unsaved "
                                       f"training leaves no file ({left})"))
            crashes = [line.strip() for line in open(log, errors="replace")
                       if CRASH.search(line)]
            new_reports = sorted(sanitizer_reports() - reports_before)
            checks.append((not crashes and not new_reports,
                           f"GIMP reports no crash of the plug-in "
                           f"({(crashes + new_reports)[:3]})"))
            saved = os.path.join(weights, "my-classes.safetensors")
            if not os.path.exists(saved):
                checks.append((False, "the saved model classifies held-out "
                                      "images (no model was saved)"))
            else:
                out = subprocess.run(host.tool(
                    [os.path.join(build, "cli", "convnet"), "classify",
                     "--weights", saved, "--top", "1", "--json"]
                    + [p for p, _ in held_out]), capture_output=True,
                    text=True)
                rows = json.loads(out.stdout) if out.returncode == 0 else []
                right = sum(r["top"][0]["label"] == OPENED_NAMES[g]
                            for r, (_, g) in zip(rows, held_out))
                checks.append((right >= 0.85 * len(held_out),
                               f"the saved model, trained on the opened "
                               f"project, classifies held-out images "
                               f"({right}/{len(held_out)})"))
            if not all(ok for ok, _ in checks):
                noise = ("theme engine", "Gtk-CRITICAL", "Gtk-WARNING")
                lines = [line.rstrip() for line in open(log, errors="replace")
                         if line.strip() and not any(n in line for n in noise)]
                for line in lines[-40:]:
                    print(f"# gimp: {line}")
        finally:
            session.end_all()
        checks.append(nothing_left(session))
    report(checks, 16)


if __name__ == "__main__":
    main()
