#!/usr/bin/python3
"""plug-in-convnet-explain-files end to end: one gimp-console session
explains a folder of images (Fashion-MNIST PNGs, one of them twice under
the same name in a sub-folder, an XCF GIMP saved in the same session, a
file that is no image and a truncated PNG) and the checks read what it
wrote: the counts it returns, both PNGs of every good image at the size of
the network's window, the heatmap against `convnet explain`, the grid
against the grid layer plug-in-convnet-feature-maps makes, the XCF's
layers, and nothing at all for the files that failed.  The host is GIMP
2.10, or GIMP 3 with CONVNET_GIMP=3 (tests/gimp_host.py).  TAP output.

Usage: gimp_batch_explain.py BUILD_DIR SOURCE_DIR"""
import os
import subprocess
import sys
import tempfile

import gimp_host as host
from gimp_e2e import (FASHION, Tap, decode_heat, fashion_images, gimp,
                      install_profile)

MODEL = "lenet5-fashion"


def rgba(path):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGBA")).astype(int)


def check_heatmap(tap, build, source, photo, png, name):
    """PNG is the heatmap of `convnet explain`'s map over PHOTO at the
    saliency layer's opacity: taking the photo back out leaves the map's
    colours, which decode to that map resized, hottest where it is."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    with tempfile.TemporaryDirectory(prefix="convnet-explain-") as tmp:
        cam = os.path.join(tmp, "cam.npy")
        r = subprocess.run(host.tool([
            os.path.join(build, "cli", "convnet"), "explain",
            "--weights", os.path.join(source, "weights",
                                      "lenet5-fashion.safetensors"),
            "--output", cam, photo]),
            capture_output=True, text=True)
        if r.returncode != 0:
            tap.ok(False, f"{name}: the heatmap is convnet explain's map",
                   r.stderr.strip())
            tap.ok(False, f"{name}: the heatmap peaks where convnet "
                   "explain's does")
            return
        cam = np.load(cam)
    a = 0.55
    under = np.asarray(Image.open(photo).convert("RGB")).astype(float)
    shown = rgba(png)[..., :3].astype(float)
    heat_rgb = np.clip(np.round((shown - (1 - a) * under) / a), 0, 255)
    heat = decode_heat(heat_rgb.astype(np.uint8))
    want = F.interpolate(torch.from_numpy(cam)[None, None], size=heat.shape,
                         mode="bilinear", align_corners=False)[0, 0].numpy()
    err = float(np.abs(heat - want).max())
    tap.ok(err <= 0.03, f"{name}: the heatmap PNG is convnet explain's map, "
           "coloured and laid over the photo at 55%", f"max |diff| {err:.3g}")
    # where the map has near ties (two cells at 0.99 and 1) the PNG's
    # hottest pixel may be in either: it must be where the map is within
    # 0.02 of its maximum, not merely somewhere warm
    hot = np.unravel_index(np.argmax(heat), heat.shape)
    tap.ok(want[hot] >= want.max() - 0.02,
           f"{name}: the heatmap PNG is hottest where convnet explain's map "
           "is", f"PNG hottest at (y, x) {tuple(int(v) for v in hot)}, "
           f"where the map is {want[hot]:.3f} of {want.max():.3f}")


def check_grid(tap, png, layer_png, name):
    """The grid PNG has the pixels of the as-grid layer: the same
    transparency everywhere, the same grays wherever a tile shows."""
    import numpy as np
    if not os.path.exists(layer_png):
        tap.ok(False, f"{name}: the grid PNG is the feature-maps layer",
               "no layer PNG")
        return
    got, want = rgba(png), rgba(layer_png)
    same_shape = got.shape == want.shape
    alpha_diff = int(np.abs(got[..., 3] - want[..., 3]).max()) \
        if same_shape else -1
    shown = want[..., 3] > 0
    rgb_diff = int(np.abs(got[..., :3] - want[..., :3])[shown].max()) \
        if same_shape else -1
    gaps = int((~shown).sum())
    tap.ok(same_shape and alpha_diff == 0 and rgb_diff == 0 and gaps > 0,
           f"{name}: the grid PNG is the as-grid layer of "
           "plug-in-convnet-feature-maps, pixel for pixel",
           f"shapes {got.shape} {want.shape}, max alpha diff {alpha_diff}, "
           f"max gray diff {rgb_diff}, {gaps} transparent pixels")


def main():
    build, source = sys.argv[1], sys.argv[2]
    tap = Tap()
    if not host.available() or not os.path.isdir(FASHION):
        print(f"1..1\nnot ok 1 - needs {host.NAME} and dataset-fashion-mnist")
        sys.exit(1)
    with tempfile.TemporaryDirectory(prefix="convnet-gimp-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        made = os.path.join(tmp, "made")
        os.makedirs(made)
        fashion = fashion_images(made, 6)
        inputs = os.path.join(tmp, "in")
        sub = os.path.join(inputs, "sub")
        os.makedirs(sub)
        good = {}     # stem -> the PNG the photo is
        for i in range(4):
            path = os.path.join(inputs, f"fashion-{i:02d}.png")
            os.rename(fashion[i][0], path)
            good[f"fashion-{i:02d}"] = path
        # the same name in a sub-folder: a stem of its own
        twin = os.path.join(sub, "fashion-00.png")
        os.rename(fashion[4][0], twin)
        good["fashion-00-2"] = twin
        # an XCF, which only GIMP's loader reads, saved by GIMP below
        xcf_in = os.path.join(sub, "from-gimp.xcf")
        good["from-gimp"] = fashion[5][0]
        bad = ["not-an-image", "truncated"]
        with open(os.path.join(inputs, "not-an-image.png"), "w") as f:
            f.write("these are words, not pixels\n")
        with open(good["fashion-01"], "rb") as f:
            data = f.read()
        with open(os.path.join(inputs, "truncated.png"), "wb") as f:
            f.write(data[:len(data) // 2])

        out = os.path.join(tmp, "out", "made-by-the-job")
        refs = os.path.join(tmp, "refs")
        os.makedirs(refs)
        log = host.Log(os.path.join(tmp, "log"))
        record = log.record

        def result(key):
            """KEY's value, else its error message on GIMP 3, else None."""
            value = log.result(key)
            if value is None and log.error(key):
                return "error: " + log.error(key)
            return value

        drawable = host.drawable("image")
        commands = [record(
            "save-xcf",
            f"(let* ((image {host.load(fashion[5][0])})) "
            f"{host.save_image('image', xcf_in)} \"saved\")")]
        # the reference grids: the feature-maps procedure on the same files
        for stem, path in (("fashion-00", good["fashion-00"]),
                           ("from-gimp", xcf_in)):
            commands.append(record(
                f"grid-{stem}",
                f"(let* ((image {host.load(path)}) (drawable {drawable}) "
                f"(layer (car {host.feature_maps('image', 'drawable', MODEL, '', 0, True)}))) "
                f"{host.save_png('image', 'layer', os.path.join(refs, stem + '.png'))} "
                f"\"saved\")"))
        commands.append(record(
            "explain",
            f"(let ((r {host.explain_files(MODEL, inputs, '', out, True)})) "
            f"(string-append (number->string (car r)) \" \" "
            f"(number->string (cadr r))))"))
        for stem in good:
            commands.append(record(
                f"xcf-{stem}",
                f"(let* ((image {host.load(os.path.join(out, stem + '.xcf'))})) "
                f"{host.n_layers('image')})"))
        commands.append(record(
            "no-files",
            host.explain_files(MODEL, os.path.join(tmp, "nothing", "*.png"),
                               "", out, False)))
        commands.append(record("after-no-files", "\"still running\""))
        output = gimp(profile, commands)

        tap.ok(result("save-xcf") == "saved" and os.path.exists(xcf_in),
               "GIMP saved the XCF input", str(result("save-xcf")))
        tap.ok(result("explain") == f"{len(good)} {len(bad)}",
               f"explain-files explained {len(good)} images and counted "
               f"{len(bad)} failed", f"{result('explain')}")
        for name in bad:
            tap.ok(f"{name}.png" in output,
                   f"a message names the failed file {name}.png")
        listing = sorted(os.listdir(out)) if os.path.isdir(out) else []
        expected = sorted(f"{stem}{suffix}" for stem in good for suffix in
                          ("-feature-maps.png", "-heatmap.png", ".xcf"))
        tap.ok(listing == expected,
               "the out folder (made by the job) holds the three files of "
               "each good image, the twin a.png as a-2, and nothing for the "
               "failed files (no temporary files either)",
               f"unexpected {sorted(set(listing) - set(expected))}, missing "
               f"{sorted(set(expected) - set(listing))}")
        # every output gets the mode the user's umask gives new files
        umask = os.umask(0)
        os.umask(umask)
        modes = {f: oct(os.stat(os.path.join(out, f)).st_mode & 0o777)
                 for f in listing}
        tap.ok(listing and all(m == oct(0o666 & ~umask)
                               for m in modes.values()),
               "the PNGs and the XCFs have the mode the umask gives new "
               f"files ({oct(0o666 & ~umask)})",
               str(sorted(set(modes.values()))))
        for stem, photo in good.items():
            grid = os.path.join(out, stem + "-feature-maps.png")
            heat = os.path.join(out, stem + "-heatmap.png")
            if not (os.path.exists(grid) and os.path.exists(heat)):
                tap.ok(False, f"{stem}: both PNGs written")
                continue
            # lenet5 sees the whole image
            tap.ok(rgba(grid).shape == (280, 280, 4)
                   and rgba(heat).shape == (280, 280, 4),
                   f"{stem}: both PNGs are 280x280, the network's window",
                   f"{rgba(grid).shape} {rgba(heat).shape}")
            check_heatmap(tap, build, source, photo, heat, stem)
            tap.ok(result(f"xcf-{stem}") == "3",
                   f"{stem}.xcf opens in GIMP with 3 layers",
                   str(result(f"xcf-{stem}")))
        for stem in ("fashion-00", "from-gimp"):
            check_grid(tap, os.path.join(out, stem + "-feature-maps.png"),
                       os.path.join(refs, stem + ".png"), stem)
        no_files = result("no-files") or ""
        tap.ok((result("no-files") is None or no_files.startswith("error"))
               and "nothing" in output + no_files,
               "a pattern that matches nothing is the procedure's error",
               no_files)
        tap.ok(result("after-no-files") == "still running",
               "GIMP goes on after it")
    print(f"1..{tap.n}")
    sys.exit(1 if tap.failed else 0)


if __name__ == "__main__":
    main()
