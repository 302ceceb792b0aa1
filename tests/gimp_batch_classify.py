#!/usr/bin/python3
"""plug-in-convnet-classify-files from gimp-console (GIMP 2.10, or 3 with
CONVNET_GIMP=3; tests/gimp_host.py writes the Script-Fu of each): a folder
of Fashion-MNIST test images (PNG, JPEG, TIFF, BMP, in a sub-folder too),
an XCF and five WebPs that only GIMP's loaders read, a truncated PNG and a file that is
no image.  The CSV must give every image the classes `convnet classify`
gives it, the XCF those of the PNG it was saved from, and the two damaged
files a row "FILE,error,WHY," each and no label; the README's Script-Fu
helper must write the same CSV; a folder without images and a CSV that
cannot be written are PDB errors after which GIMP goes on, leaving no file.
TAP output.

Usage: gimp_batch_classify.py BUILD_DIR SOURCE_DIR"""
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gimp_host as host  # noqa: E402
from gimp_e2e import FASHION, Tap, gimp, install_profile  # noqa: E402

TOP_K = 3
FORMATS = ["png", "png", "jpg", "tif", "bmp", "png"]


def write_images(folder, count):
    """COUNT Fashion-MNIST test images at 280x280 in FOLDER (every third
    in FOLDER/sub), in the formats of FORMATS in turn; their paths."""
    from PIL import Image
    import numpy as np
    images = np.frombuffer(gzip.open(os.path.join(
        FASHION, "t10k-images-idx3-ubyte.gz")).read(), np.uint8,
        offset=16).reshape(-1, 28, 28)
    paths = []
    for i in range(count):
        sub = os.path.join(folder, "sub") if i % 3 == 2 else folder
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, f"fashion-{i:02d}.{FORMATS[i % len(FORMATS)]}")
        Image.fromarray(images[i]).resize((280, 280), Image.NEAREST) \
            .convert("RGB").save(path, quality=95)
        paths.append(path)
    return paths


def rows_by_file(path):
    if not os.path.exists(path):
        return None, {}
    rows = list(csv.reader(open(path, newline="")))
    by_file = {}
    for r in rows[1:]:
        by_file.setdefault(r[0], []).append(r)
    return rows[:1], by_file


def same_rows(a, b):
    """Whether two files' CSV rows agree: the same ranks and labels (or
    error text), the probabilities within float rounding (another batch
    makes the GEMM add in another order)."""
    def close(x, y):
        if x == y:
            return True
        try:
            return abs(float(x) - float(y)) <= 1e-6 + 1e-4 * abs(float(y))
        except ValueError:
            return False
    return len(a) == len(b) and all(
        r[:3] == q[:3] and close(r[3], q[3]) for r, q in zip(a, b))


def main():
    build, source = sys.argv[1], sys.argv[2]
    tap = Tap()
    if not host.available() or not os.path.isdir(FASHION):
        print(f"1..1\nnot ok 1 - needs {host.NAME} and dataset-fashion-mnist")
        sys.exit(1)
    with tempfile.TemporaryDirectory(prefix="convnet-batch-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        photos = os.path.join(tmp, "photos")
        images = write_images(photos, 12)
        png = open(images[0], "rb").read()
        truncated = os.path.join(photos, "truncated.png")
        open(truncated, "wb").write(png[:len(png) // 2])
        not_image = os.path.join(photos, "sub", "notes.jpg")
        open(not_image, "w").write("this is no image\n")
        xcf = os.path.join(photos, "sub", "saved-by-gimp.xcf")
        # WebP, lossless: gdk-pixbuf has no loader for it here, so they go
        # through GIMP's loader like the XCF, more of them than the
        # plug-in decodes that way at once (4)
        from PIL import Image
        webps = {}
        for k in range(1, 6):
            webps[k] = os.path.join(photos, f"lossless-{k}.webp")
            Image.open(images[k]).save(webps[k], lossless=True)
        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        log = host.Log(os.path.join(tmp, "log"))
        record, result, error = log.record, log.result, log.error
        out = {k: os.path.join(tmp, f"{k}.csv")
               for k in ("folder", "helper", "empty", "unwritable")}
        out["unwritable"] = os.path.join(tmp, "no-such-folder", "out.csv")

        commands = [
            # an XCF only GIMP reads, saved from the first PNG
            f"(let* ((image {host.load(images[0])}) "
            f"(drawable {host.drawable('image')})) "
            f"{host.xcf_save('image', 'drawable', xcf)} "
            f"(gimp-image-delete image))",
            record("folder", host.classify_files("lenet5-fashion", photos,
                                                 TOP_K, out["folder"])),
            record("helper", f"(convnet-classify-files "
                             f"{host.scheme_string(photos + '/*.png')} "
                             f"\"lenet5-fashion\" {TOP_K} "
                             f"{host.scheme_string(out['helper'])})"),
            record("empty", host.classify_files("lenet5-fashion", empty,
                                                TOP_K, out["empty"])),
            record("unwritable", host.classify_files(
                "lenet5-fashion", photos, TOP_K, out["unwritable"])),
            record("after", "\"still running\""),
        ]
        output = gimp(profile, commands, timeout=600)

        # the reference: the convnet command on the same files
        cli = subprocess.run(host.tool(
            [os.path.join(build, "cli", "convnet"), "classify", "--weights",
             os.path.join(source, "weights", "lenet5-fashion.safetensors"),
             "--top", str(TOP_K), "--json"] + images),
            capture_output=True, text=True)
        expected = {r["image"]: [(t["label"], t["probability"])
                                 for t in r["top"]]
                    for r in json.loads(cli.stdout or "[]")}

        header, by_file = rows_by_file(out["folder"])
        good = len(images) + 1 + len(webps)
        tap.ok(result("folder") in ("(18 2)", "#(18 2)"),
               "the procedure returns the files classified and failed",
               f"{result('folder')!r} {error('folder')}, expected (18 2)")
        same = 0
        for path in images:
            rows = by_file.get(path, [])
            got = [(r[2], float(r[3])) for r in rows]
            want = expected.get(path, [])
            same += (len(got) == TOP_K and [r[1] for r in rows] == ["1", "2", "3"]
                     and len(want) == TOP_K
                     and all(g[0] == w[0] and abs(g[1] - w[1]) < 1e-5
                             for g, w in zip(got, want)))
        tap.ok(header == [["file", "rank", "label", "probability"]]
               and same == len(images),
               "every image (PNG, JPEG, TIFF, BMP, in a sub-folder too) gets "
               "the classes and probabilities convnet classify gives it",
               f"{same}/{len(images)} files as the command says")
        def labels_of(path):
            return [r[2] for r in by_file.get(path, [])]

        def labels_wanted(path):
            return [label for label, _ in expected.get(path, [])]
        same_webp = sum(labels_of(w) == labels_wanted(images[k])
                        for k, w in webps.items())
        tap.ok(labels_of(xcf) == labels_wanted(images[0])
               and same_webp == len(webps),
               "an XCF and five WebPs are read by GIMP's loaders and "
               "classified as the images they were saved from",
               f"XCF {labels_of(xcf)}, {same_webp}/{len(webps)} WebPs")
        damaged = [by_file.get(p, []) for p in (truncated, not_image)]
        tap.ok(all(len(r) == 1 and r[0][1] == "error"
                   and os.path.basename(p) in r[0][2] and r[0][3] == ""
                   for r, p in zip(damaged, (truncated, not_image)))
               and len(by_file) == good + 2,
               "a truncated PNG and a file that is no image are one row each "
               "that says error and why, with no label",
               f"{damaged}")
        _, helper = rows_by_file(out["helper"])
        pngs = sorted(p for p in images if p.endswith(".png")
                      and os.path.dirname(p) == photos) + [truncated]
        tap.ok(sorted(helper) == sorted(pngs)
               and all(same_rows(helper[p], by_file[p]) for p in pngs)
               and result("helper") == str(len(pngs) - 1),
               "the README's convnet-classify-files helper writes the same "
               "rows for the files its pattern names",
               f"{len(helper)} files, returned {result('helper')!r} "
               f"{error('helper')}")
        # GIMP 3's errors are caught into files, GIMP 2.10 prints them
        said = (error("empty") + error("unwritable")) if host.GIMP3 \
            else output
        tap.ok(result("empty") is None and not os.path.exists(out["empty"])
               and result("unwritable") is None
               and not os.path.exists(os.path.dirname(out["unwritable"]))
               and result("after") == "still running"
               and empty in said and out["unwritable"] in said,
               "a folder without images and a CSV that cannot be written are "
               "errors naming them, no file is left and GIMP goes on",
               f"{error('empty')!r} {error('unwritable')!r}")
        leftovers = [f for f in os.listdir(tmp) if f.startswith(".")
                     or "~" in f]
        tap.ok(not leftovers, "no temporary file is left beside the CSVs",
               f"{leftovers}")
        if tap.failed:
            print(f"# {host.NAME} said:\n# " + output.replace("\n", "\n# "))
    print(f"# host: {host.NAME}")
    print(f"1..{tap.n}")
    print(f"# {tap.n - tap.failed} passed, {tap.failed} failed")
    sys.exit(1 if tap.failed else 0)


if __name__ == "__main__":
    main()
