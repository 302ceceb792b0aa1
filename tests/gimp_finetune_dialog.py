#!/usr/bin/python3
"""The Fine-tune dialog in a real GIMP 2.10 under Xvfb, driven by its
keyboard mnemonics.  It opens on the last project (three classes of
Fashion-MNIST test images: tops, footwear, other); a training cancelled at
once leaves no model file; Open Project loads a saved project (the same
kinds of images under other class names), which then trains, shows its
curves and confusion matrix and is saved under a name; an open image and
its selection are added as images; Close returns the saved name to the
calling script and remembers the opened project as the last one, without
the plug-in crashing; the saved model classifies held-out images.
Screenshots are saved as test artifacts.  TAP output.

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
from gimp_e2e import install_profile, regrouped_folders, scheme_string  # noqa
from gimp_dialog import (gui_test_artifacts, report,  # noqa: E402
                         wait_for_window, xdotool)

# the opened project names the regrouped classes its own way, so that the
# remembered project tells which of the two it is
OPENED_NAMES = {"tops": "upper-body", "footwear": "shoes", "other": "rest"}

# what GIMP, glibc and the sanitizers print when a plug-in dies
CRASH = re.compile(r"crashed|fatal error|AddressSanitizer|runtime error|"
                   r"double free|free\(\)|corrupted|Segmentation fault")


def key(display, window, combo):
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", "--clearmodifiers", combo)


def shot(display, path):
    """Saves a screenshot; machinery, so a TAP comment, not a check."""
    subprocess.run(["import", "-display", display, "-window", "root", path],
                   check=False)
    print(f"# screenshot: {path}" if os.path.exists(path)
          else f"# no screenshot: {path}")


def open_in_chooser(display, title, path):
    """Types PATH into the file chooser titled TITLE and accepts it; true
    once the chooser has closed."""
    chooser = wait_for_window(display, title, 20)
    if chooser is None:
        return False
    xdotool(display, "windowfocus", "--sync", chooser)
    xdotool(display, "key", "--clearmodifiers", "ctrl+l")
    for attempt in range(3):
        # the first keys typed into the location entry can be lost while
        # the chooser changes folder: the path is typed again over them
        for _ in range(2):
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


def project(classes, epochs):
    return {"format": "gimp-convnet fine-tune project 1",
            "base_model": "lenet5-fashion", "epochs": epochs,
            "learning_rate": 0.01, "validation_share": 0.2,
            "train_last_block": False, "augment": 1, "classes": classes}


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


def main():
    build, source = sys.argv[1], sys.argv[2]
    artifacts = gui_test_artifacts(build)
    display = ":%d" % (80 + os.getpid() % 9)
    checks = []
    with tempfile.TemporaryDirectory(prefix="convnet-tune-dialog-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        last_train, _ = regrouped_folders(os.path.join(tmp, "last"), 20, 0)
        train, held_out = regrouped_folders(os.path.join(tmp, "opened"),
                                            20, 20)
        os.makedirs(os.path.join(profile, "gimp-convnet"))
        last = os.path.join(profile, "gimp-convnet", "last-project.json")
        with open(last, "w") as f:
            json.dump(project(class_list(last_train), 15), f)
        opened_classes = class_list(train, OPENED_NAMES)
        opened = os.path.join(tmp, "opened.json")
        with open(opened, "w") as f:
            json.dump(project(opened_classes, 15), f)
        weights = os.path.join(profile, "gimp-convnet", "weights")
        result = os.path.join(tmp, "result")
        gimp_log = os.path.join(tmp, "gimp.log")
        sample = os.path.join(source, "samples", "bag.png")
        # an open image with a selection, for "Add Whole Image" and "Add
        # This Region"
        script = (f"(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "
                  f"{scheme_string(sample)} {scheme_string(sample)}))) "
                  f"(shown (gimp-display-new image)) (selected "
                  f"(gimp-image-select-rectangle image CHANNEL-OP-REPLACE 10 "
                  f"20 100 60)) (r (plug-in-convnet-finetune RUN-INTERACTIVE "
                  f"\"\" \"\" \"\" 0 0 0 0)) (port (open-output-file "
                  f"{scheme_string(result)}))) (display (car r) port) "
                  f"(close-output-port port))")
        reports_before = sanitizer_reports()
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0",
                                 "1280x960x24"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        gimp = None
        try:
            time.sleep(2)
            # a home of its own: GTK's recently used files and the file
            # chooser's state do not carry over from other runs
            home = os.path.join(tmp, "home")
            env = dict(os.environ, DISPLAY=display, GIMP2_DIRECTORY=profile,
                       LANG="C.UTF-8", HOME=home,
                       XDG_DATA_HOME=os.path.join(home, ".local", "share"),
                       XDG_CONFIG_HOME=os.path.join(home, ".config"),
                       XDG_CACHE_HOME=os.path.join(home, ".cache"))
            # -c: GIMP's messages (a plug-in crash among them) go to its
            # stderr, which the plug-in's own stderr shares
            with open(gimp_log, "w") as log:
                gimp = subprocess.Popen(
                    ["dbus-run-session", "--", "gimp-2.10", "-d", "-f", "-s",
                     "-c", "-b", script], env=env, stdout=log,
                    stderr=subprocess.STDOUT)
            window = wait_for_window(display, "Fine-tune", 120)
            checks.append((window is not None,
                           "the Fine-tune dialog opens on the last project"))
            if window:
                time.sleep(3)
                shot(display, os.path.join(artifacts, "finetune-dialog.png"))
                key(display, window, "alt+t")           # Train
                time.sleep(0.5)
                key(display, window, "alt+n")           # Cancel Training
                time.sleep(3)
                models = glob.glob(os.path.join(weights, "*.safetensors"))
                checks.append((models == [],
                               "a cancelled training leaves no model",
                               ))
                key(display, window, "alt+o")           # Open Project...
                checks.append((open_in_chooser(display, "Open Project",
                                               opened),
                               "Open Project takes a project file"))
                time.sleep(3)
                key(display, window, "alt+t")           # Train
                end = time.time() + 90
                saved = os.path.join(weights, "my-classes.safetensors")
                while time.time() < end and not os.path.exists(saved):
                    time.sleep(3)
                    key(display, window, "alt+s")       # Save, once possible
                shot(display, os.path.join(artifacts,
                                           "finetune-dialog-trained.png"))
                checks.append((os.path.exists(saved),
                               "Save writes the model under its name"))
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
                key(display, window, "alt+c")           # Close
                end = time.time() + 30
                while time.time() < end and not (
                        os.path.exists(result) and os.path.getsize(result)):
                    time.sleep(1)
            got = open(result).read() if os.path.exists(result) else None
            checks.append((got == "my-classes",
                           f"the procedure returns the saved name ({got})"))
            try:
                remembered = json.load(open(last))["classes"]
            except (OSError, ValueError, KeyError) as e:
                remembered = repr(e)
            # the opened classes, the first one with the two added images
            expected = [dict(c) for c in opened_classes]
            expected[0]["images"] = expected[0]["images"] + regions \
                if window else expected[0]["images"]
            checks.append((remembered == expected,
                           "the opened project is remembered as the last one "
                           f"(classes {[c['name'] for c in remembered]})"
                           if isinstance(remembered, list) else
                           f"the opened project is remembered ({remembered})"))
            time.sleep(1)
            crashes = [line.strip() for line in open(gimp_log, errors="replace")
                       if CRASH.search(line)]
            new_reports = sorted(sanitizer_reports() - reports_before)
            checks.append((not crashes and not new_reports,
                           f"GIMP reports no crash of the plug-in "
                           f"({(crashes + new_reports)[:3]})"))
            leftovers = glob.glob(os.path.join(weights, ".finetune-*"))
            checks.append((leftovers == [], "no temporary file is left"))
            saved = os.path.join(weights, "my-classes.safetensors")
            if os.path.exists(saved):
                out = subprocess.run(
                    [os.path.join(build, "cli", "convnet"), "classify",
                     "--weights", saved, "--top", "1", "--json"]
                    + [p for p, _ in held_out], capture_output=True, text=True)
                rows = json.loads(out.stdout) if out.returncode == 0 else []
                right = sum(r["top"][0]["label"] == OPENED_NAMES[g]
                            for r, (_, g) in zip(rows, held_out))
                checks.append((right >= 0.85 * len(held_out),
                               f"the saved model, trained on the opened "
                               f"project, classifies held-out images "
                               f"({right}/{len(held_out)})"))
            if not all(ok for ok, _ in checks):
                for line in open(gimp_log, errors="replace").readlines()[-40:]:
                    print(f"# gimp: {line.rstrip()}")
        finally:
            if gimp:
                gimp.kill()
            xvfb.kill()
    report(checks, 10)


if __name__ == "__main__":
    main()
