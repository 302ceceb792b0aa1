#!/usr/bin/python3
"""The Fine-tune dialog in a real GIMP 2.10 under Xvfb, driven by its
keyboard mnemonics: it opens on a project of three classes (tops, footwear,
other: 20 Fashion-MNIST test images each), a training cancelled at once
leaves no model file, a full training shows its curves and confusion
matrix, Save writes the model under its name, Close returns that name to
the calling script, and the saved model classifies held-out images.
Screenshots are saved as test artifacts.  TAP output.

Usage: gimp_finetune_dialog.py BUILD_DIR SOURCE_DIR"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gimp_e2e import install_profile, regrouped_folders, scheme_string  # noqa
from gimp_dialog import (gui_test_artifacts, report,  # noqa: E402
                         wait_for_window, xdotool)


def key(display, window, combo):
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", "--clearmodifiers", combo)


def shot(display, path):
    subprocess.run(["import", "-display", display, "-window", "root", path],
                   check=False)
    return os.path.exists(path)


def main():
    build, source = sys.argv[1], sys.argv[2]
    artifacts = gui_test_artifacts(build)
    display = ":%d" % (80 + os.getpid() % 9)
    checks = []
    with tempfile.TemporaryDirectory(prefix="convnet-tune-dialog-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        train, held_out = regrouped_folders(os.path.join(tmp, "data"), 20, 20)
        classes = [{"name": g, "images": sorted(glob.glob(
            os.path.join(train, g, "*.png")))} for g in sorted(os.listdir(train))]
        os.makedirs(os.path.join(profile, "gimp-convnet"))
        with open(os.path.join(profile, "gimp-convnet", "last-project.json"),
                  "w") as f:
            json.dump({"format": "gimp-convnet fine-tune project 1",
                       "base_model": "lenet5-fashion", "epochs": 15,
                       "learning_rate": 0.01, "validation_share": 0.2,
                       "train_last_block": False, "augment": 1,
                       "classes": classes}, f)
        weights = os.path.join(profile, "gimp-convnet", "weights")
        result = os.path.join(tmp, "result")
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
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0",
                                 "1280x960x24"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        gimp = None
        try:
            time.sleep(2)
            env = dict(os.environ, DISPLAY=display, GIMP2_DIRECTORY=profile,
                       LANG="C.UTF-8")
            gimp = subprocess.Popen(
                ["dbus-run-session", "--", "gimp-2.10", "-d", "-f", "-s", "-b",
                 script], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            window = wait_for_window(display, "Fine-tune", 120)
            checks.append((window is not None,
                           "the Fine-tune dialog opens on the last project"))
            if window:
                time.sleep(3)
                first = os.path.join(artifacts, "finetune-dialog.png")
                checks.append((shot(display, first),
                               f"screenshot of the classes and thumbnails: "
                               f"{first}"))
                key(display, window, "alt+t")           # Train
                time.sleep(0.5)
                key(display, window, "alt+n")           # Cancel Training
                time.sleep(3)
                models = glob.glob(os.path.join(weights, "*.safetensors"))
                checks.append((models == [],
                               "a cancelled training leaves no model",
                               ))
                key(display, window, "alt+t")           # Train again
                end = time.time() + 90
                trained = os.path.join(artifacts, "finetune-dialog-trained.png")
                saved = os.path.join(weights, "my-classes.safetensors")
                while time.time() < end and not os.path.exists(saved):
                    time.sleep(3)
                    key(display, window, "alt+s")       # Save, once possible
                shot(display, trained)
                checks.append((os.path.exists(saved),
                               f"Save writes the model under its name "
                               f"(screenshot {trained})"))
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
            leftovers = glob.glob(os.path.join(weights, ".finetune-*"))
            checks.append((leftovers == [], "no temporary file is left"))
            saved = os.path.join(weights, "my-classes.safetensors")
            if os.path.exists(saved):
                out = subprocess.run(
                    [os.path.join(build, "cli", "convnet"), "classify",
                     "--weights", saved, "--top", "1", "--json"]
                    + [p for p, _ in held_out], capture_output=True, text=True)
                rows = json.loads(out.stdout) if out.returncode == 0 else []
                right = sum(r["top"][0]["label"] == g
                            for r, (_, g) in zip(rows, held_out))
                checks.append((right >= 0.85 * len(held_out),
                               f"the saved model classifies held-out images "
                               f"({right}/{len(held_out)})"))
        finally:
            if gimp:
                gimp.kill()
            xvfb.kill()
    report(checks, 8)


if __name__ == "__main__":
    main()
