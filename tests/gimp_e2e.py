#!/usr/bin/python3
"""End-to-end tests of the GIMP plug-in: gimp-console with a private
profile holding the freshly built plug-in, driven by Script-Fu batch
commands.  The host is GIMP 2.10, or GIMP 3.0 with CONVNET_GIMP=3 (inside
the root of scripts/gimp3-root.sh); tests/gimp_host.py writes the Script-Fu
of each.  TAP output.

Usage: gimp_e2e.py BUILD_DIR SOURCE_DIR
Needs: gimp, and Fashion-MNIST (Debian package dataset-fashion-mnist)."""
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import gimp_host as host
import http_server

FASHION = os.environ.get("CONVNET_FASHION_MNIST",
                         "/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
           "Shirt", "Sneaker", "Bag", "Ankle boot"]


class Tap:
    def __init__(self):
        self.n = self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        self.failed += not cond
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}"
              + (f": {detail}" if detail else ""), flush=True)


def install_profile(build, source, profile):
    plugin = os.path.join(profile, "plug-ins", "gimp-convnet")
    os.makedirs(os.path.join(plugin, "data"))
    for sub in ("scripts", "gradients", "brushes", "patterns", "palettes",
                "fonts", "dynamics", "tool-presets"):
        os.makedirs(os.path.join(profile, sub), exist_ok=True)
    shutil.copy(os.path.join(build, "plugin", "gimp-convnet"), plugin)
    # every shipped model, as the plug-in's install puts them
    for name in sorted(os.listdir(os.path.join(source, "weights"))):
        if name.endswith(".safetensors"):
            shutil.copy(os.path.join(source, "weights", name),
                        os.path.join(plugin, "data"))
    shutil.copytree(os.path.join(source, "weights", "labels"),
                    os.path.join(plugin, "data", "labels"))
    mo = os.path.join(build, "po", "zh_CN", "LC_MESSAGES", "gimp-convnet.mo")
    if os.path.exists(mo):
        dest = os.path.join(plugin, "locale", "zh_CN", "LC_MESSAGES")
        os.makedirs(dest)
        shutil.copy(mo, dest)
    # the batch scripts, with the host glue of the GIMP this build is for
    scripts = os.path.join(source, "plugin", "scripts")
    shutil.copy(os.path.join(scripts, "convnet-batch.scm"),
                os.path.join(profile, "scripts"))
    shutil.copy(os.path.join(scripts, "convnet-host-gimp%s.scm"
                             % host.HOST),
                os.path.join(profile, "scripts", "convnet-host.scm"))


def fashion_images(folder, count):
    """The first COUNT test images, 10x enlarged to 280x280 RGB PNGs."""
    from PIL import Image
    import numpy as np
    images = np.frombuffer(gzip.open(os.path.join(
        FASHION, "t10k-images-idx3-ubyte.gz")).read(), np.uint8,
        offset=16).reshape(-1, 28, 28)
    labels = np.frombuffer(gzip.open(os.path.join(
        FASHION, "t10k-labels-idx1-ubyte.gz")).read(), np.uint8, offset=8)
    files = []
    for i in range(count):
        path = os.path.join(folder, f"fashion-{i:02d}.png")
        Image.fromarray(images[i]).resize((280, 280), Image.NEAREST) \
            .convert("RGB").save(path)
        files.append((path, CLASSES[labels[i]]))
    return files


REGROUP = {0: "tops", 2: "tops", 4: "tops", 6: "tops", 5: "footwear",
           7: "footwear", 9: "footwear", 1: "other", 3: "other", 8: "other"}


def regrouped_folders(root, per_class, held_out):
    """Fashion-MNIST test images in three new classes: ROOT/train/<class>
    with PER_CLASS images each, and HELD_OUT more of each for checking."""
    from PIL import Image
    import numpy as np
    images = np.frombuffer(gzip.open(os.path.join(
        FASHION, "t10k-images-idx3-ubyte.gz")).read(), np.uint8,
        offset=16).reshape(-1, 28, 28)
    labels = np.frombuffer(gzip.open(os.path.join(
        FASHION, "t10k-labels-idx1-ubyte.gz")).read(), np.uint8, offset=8)
    seen = {"tops": 0, "footwear": 0, "other": 0}
    checks = []
    # from the end of the test set: the other tests use its start
    for i in range(len(labels) - 1, -1, -1):
        group = REGROUP[int(labels[i])]
        k = seen[group]
        if k >= per_class + held_out:
            continue
        seen[group] += 1
        part = "train" if k < per_class else "held-out"
        folder = os.path.join(root, part, group)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{i:05d}.png")
        Image.fromarray(images[i]).resize((112, 112), Image.BILINEAR) \
            .convert("RGB").save(path)
        if part == "held-out":
            checks.append((path, group))
    return os.path.join(root, "train"), checks


def gimp(profile, commands, timeout=600):
    """What gimp-console printed running COMMANDS, on a session bus of its
    own.  Anything still running once it quit (a plug-in, a bus daemon) is
    ended and fails the suite: a TAP bail-out."""
    from gimp_session import Session
    session = Session()
    env = dict(os.environ, LANG="C.UTF-8", **host.profile_env(profile))
    args = host.console_on_bus(commands + ["(gimp-quit 0)"])
    # files, not pipes: a process left behind would hold a pipe open
    with tempfile.TemporaryFile("w+") as out, \
            tempfile.TemporaryFile("w+") as err:
        proc = session.start(args, env, stdout=out, stderr=err)
        try:
            proc.wait(timeout)
            left = session.left()
        finally:
            session.end_all()
            session.kill_left()
        out.seek(0)
        err.seek(0)
        output = out.read() + err.read()
    if left:
        print(f"Bail out! gimp-console quit and left running: {left}")
        sys.exit(1)
    return output


def scheme_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# plugin/feature_maps.c's grids on a 280x280 image, tiles separated by
# 4-pixel transparent gaps: lenet5's 16 maps at node 3 in 4 x 4 tiles of
# 67 pixels, and 5 of them in 3 columns (90 or 91 pixels) and 2 rows (138)
TILES_4 = [(0, 67), (71, 138), (142, 209), (213, 280)]
TILES_3 = [(0, 90), (94, 185), (189, 280)]
TILES_2 = [(0, 138), (142, 280)]
# engine/explain.c's convnet_colormap, from cold to hot
HEAT_STOPS = [(0.19, 0.07, 0.23), (0.16, 0.47, 0.93), (0.10, 0.85, 0.82),
              (0.40, 0.98, 0.35), (0.95, 0.80, 0.20), (0.93, 0.35, 0.08),
              (0.48, 0.02, 0.01)]


def lenet5_fashion_node3(source, png):
    """Node 3 of lenet5-fashion in PyTorch for the image PNG, preprocessed
    as torchvision does (gray, bilinear to 28x28; its border is dark)."""
    import numpy as np
    import torch
    from PIL import Image
    sys.path.insert(0, os.path.join(source, "tests", "fixtures"))
    from fixture_io import read_safetensors
    from generate_models import lenet5
    net = lenet5().eval()
    net.load_state_dict(read_safetensors(os.path.join(
        source, "weights", "lenet5-fashion.safetensors"))[0])
    gray = Image.open(png).convert("L").resize((28, 28), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(gray, np.float32) / 255)[None, None]
    with torch.no_grad():
        return net[:4](x)[0].numpy()


def levels(plane):
    """A map as the plug-in shows it: stretched to 0..255."""
    import numpy as np
    lo, hi = plane.min(), plane.max()
    return np.round(255 * (plane - lo) / (hi - lo))


def decode_heat(rgb):
    """The value in [0, 1] whose colour is nearest each pixel's."""
    import numpy as np
    v = np.linspace(0, 1, 3001)
    t = v * 6
    i = np.minimum(t.astype(int), 5)
    stops = np.array(HEAT_STOPS)
    table = np.round(255 * (stops[i] * (1 - (t - i))[:, None]
                            + stops[i + 1] * (t - i)[:, None]))
    colours, index = np.unique(rgb.reshape(-1, 3), axis=0,
                               return_inverse=True)
    nearest = np.array([np.argmin(((table - c) ** 2).sum(1))
                        for c in colours])
    return v[nearest][index.reshape(-1)].reshape(rgb.shape[:2])


def check_grid(tap, png, act, what, columns=TILES_4, rows=TILES_4, n=16):
    """Gaps and tiles past the N-th transparent, the N tiles opaque, tile K
    showing the K-th most active channel, nearest-sampled."""
    import numpy as np
    from PIL import Image
    if not os.path.exists(png):
        tap.ok(False, f"{what}: tiles and gaps", "no PNG written")
        return
    rgba = np.asarray(Image.open(png).convert("RGBA")).astype(int)
    if rgba.shape != (280, 280, 4):
        tap.ok(False, f"{what}: tiles and gaps", f"shape {rgba.shape}")
        return

    def tile(k):
        return rows[k // len(columns)], columns[k % len(columns)]

    shown = np.zeros((280, 280), bool)
    for k in range(n):
        (y0, y1), (x0, x1) = tile(k)
        shown[y0:y1, x0:x1] = True
    alpha = rgba[..., 3]
    tap.ok(np.all(alpha[~shown] == 0) and np.all(alpha[shown] == 255),
           f"{what}: transparent gaps between opaque tiles",
           f"{int((alpha[~shown] != 0).sum())} pixels outside the tiles not "
           f"transparent, {int((alpha[shown] != 255).sum())} tile pixels not "
           "opaque")
    order = np.argsort(-act.mean(axis=(1, 2)), kind="stable")
    worst = 0
    for k, channel in enumerate(order[:n]):
        (y0, y1), (x0, x1) = tile(k)
        ys = np.arange(y1 - y0) * act.shape[1] // (y1 - y0)
        xs = np.arange(x1 - x0) * act.shape[2] // (x1 - x0)
        want = levels(act[channel])[ys[:, None], xs[None, :]]
        worst = max(worst, int(np.abs(rgba[y0:y1, x0:x1, :3]
                                      - want[..., None]).max()))
    tap.ok(worst <= 2, f"{what}: each tile is its channel, most active first",
           f"worst level difference {worst}")


def check_feature_maps(tap, act, recorded, png, node, what):
    """The feature maps of NODE (WHAT, for the messages) on a 280x280
    picture, recorded as "LAYERS 280x280 NODE ch K ...": one layer per
    channel of ACT (NODE's activation in PyTorch, channels x h x w), the
    most active channel first, and that first layer, saved as PNG, is its
    channel resized bilinearly and stretched to 0..255."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    top = int(np.argmax(act.mean(axis=(1, 2))))
    parts = recorded.split(" ", 3) if recorded else []
    tap.ok(len(parts) == 4
           and parts[:3] == [str(act.shape[0]), "280x280", node]
           and parts[3].startswith(f"ch {top} "),
           f"feature maps of {what}: {act.shape[0]} layers, the most active "
           f"channel ({top}) first", str(recorded))
    if not os.path.exists(png):
        tap.ok(False, f"the first feature-map layer of {what} is its channel",
               "no PNG written")
        return
    got = np.asarray(Image.open(png).convert("L")).astype(int)
    plane = act[top]
    up = F.interpolate(torch.from_numpy(plane)[None, None], size=(280, 280),
                       mode="bilinear", align_corners=False)[0, 0].numpy()
    want = np.round(255 * (up - plane.min()) / (plane.max() - plane.min()))
    worst = int(np.abs(got - want).max()) if got.shape == want.shape else -1
    tap.ok(0 <= worst <= 2, f"the first feature-map layer of {what} is its "
           "channel in PyTorch, resized bilinearly",
           f"worst level difference {worst}")


def check_saliency(tap, build, source, image, out, recorded,
                   model="lenet5-fashion", png="saliency.png"):
    """The saliency layer of MODEL (saved as OUT/PNG) is `convnet
    explain`'s map on the same image: its colours decode to that map
    resized to the layer, and it is hottest where the map is, within one
    cell of the node's grid."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    cam, up = os.path.join(out, "cam.npy"), os.path.join(out, "up.npy")
    r = subprocess.run(host.tool([
        os.path.join(build, "cli", "convnet"), "explain",
        "--weights", os.path.join(source, "weights",
                                  f"{model}.safetensors"),
        "--output", cam, "--upsampled", up, image]),
        capture_output=True, text=True)
    label = r.stdout.split("(", 1)[1].split(")")[0] if "(" in r.stdout else ""
    tap.ok(r.returncode == 0 and recorded == f"Grad-CAM: {label} 55.0",
           "saliency gives a translucent layer named for the class convnet "
           "explain explains", f"{recorded}; {r.stdout.strip()}"
           f"{r.stderr.strip()}")
    png = os.path.join(out, png)
    if r.returncode != 0 or not os.path.exists(png):
        tap.ok(False, "the saliency layer is convnet explain's map",
               "no map or no layer PNG")
        tap.ok(False, "the saliency layer peaks where convnet explain's "
               "map does")
        return
    heat = decode_heat(np.asarray(Image.open(png).convert("RGB")))
    cam = np.load(cam)
    want = F.interpolate(torch.from_numpy(cam)[None, None], size=heat.shape,
                         mode="bilinear", align_corners=False)[0, 0].numpy()
    err = float(np.abs(heat - want).max())
    tap.ok(err <= 0.02, "the saliency layer is convnet explain's map, "
           "resized bilinearly and coloured", f"max |diff| {err:.3g}")
    up = np.load(up)
    cell = heat.shape[0] / cam.shape[0]
    hot = np.array(np.unravel_index(np.argmax(heat), heat.shape))
    peak = (np.array(np.unravel_index(np.argmax(up), up.shape)) + 0.5) \
        * heat.shape[0] / up.shape[0]
    tap.ok(np.all(np.abs(hot - peak) <= cell),
           "the saliency layer peaks where convnet explain --upsampled does",
           f"layer at (y, x) {tuple(hot)}, explain at {tuple(peak)}, "
           f"cell {cell:g}")


def main():
    build, source = sys.argv[1], sys.argv[2]
    tap = Tap()
    if not host.available() or not os.path.isdir(FASHION):
        print(f"1..1\nnot ok 1 - needs {host.NAME} and dataset-fashion-mnist "
              "(apt-get install gimp dataset-fashion-mnist; GIMP 3: "
              "scripts/gimp3-root.sh ensure)")
        sys.exit(1)
    with tempfile.TemporaryDirectory(prefix="convnet-gimp-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        files = fashion_images(tmp, 10)

        # one GIMP session runs everything; each command writes log/KEY
        commands = []
        log = host.Log(os.path.join(tmp, "log"))
        record, result, loaded = log.record, log.result, host.loaded
        load = host.load
        drawable = host.drawable("image")

        def top_label(image, drawable_expr, model, top_k):
            return host.first(host.labels(host.classify(
                image, drawable_expr, model, top_k)))

        for i, (path, _) in enumerate(files):
            commands.append(record(
                f"classify-{i}",
                loaded(path, top_label("image", "drawable",
                                       "lenet5-fashion", 3))))
        first = files[0][0]
        # layers the checks read back as PNGs (not in tmp: the CSV script
        # below classifies tmp/*.png)
        out = os.path.join(tmp, "out")
        os.makedirs(out)

        def save_png(layer, name):
            return host.save_png("image", layer, os.path.join(out, name))

        commands.append(record(
            "feature-maps",
            f"(let* ((image {load(first)}) (drawable {drawable}) (group (car "
            f"{host.feature_maps('image', 'drawable', 'lenet5-fashion', '3', 0, False)})) "
            f"(kids {host.children('group')}) "
            f"(layer (vector-ref (cadr kids) 0))) "
            f"{save_png('layer', 'first-map.png')} (string-append "
            f"(number->string (car kids)) \" \" (number->string "
            f"{host.width('layer')}) \"x\" (number->string "
            f"{host.height('layer')}) \" \" (car (gimp-item-get-name "
            f"layer)) \" \" (car (gimp-item-get-name group))))"))
        for channels in (0, 5):
            commands.append(record(
                f"feature-grid-{channels}",
                f"(let* ((image {load(first)}) (drawable {drawable}) "
                f"(layer (car "
                f"{host.feature_maps('image', 'drawable', 'lenet5-fashion', '3', channels, True)}))) "
                f"{save_png('layer', f'grid-{channels}.png')} \"saved\")"))
        explain_grid = os.path.join(out, "explain-grid.png")
        commands.append(record(
            "explain-file",
            f"(convnet-explain-file {scheme_string(first)} \"lenet5-fashion\" "
            f"\"3\" {scheme_string(os.path.join(out, 'explain.xcf'))} "
            f"{scheme_string(explain_grid)})"))
        commands.append(record(
            "saliency",
            f"(let* ((image {load(first)}) (drawable {drawable}) (layer (car "
            f"{host.saliency('image', 'drawable', 'lenet5-fashion', -1, '')}))) "
            f"{save_png('layer', 'saliency.png')} (string-append (car "
            f"(gimp-item-get-name layer)) \" \" (number->string (car "
            f"(gimp-layer-get-opacity layer)))))"))
        commands.append(record(
            "saliency-bad-class",
            loaded(first, "(car " + host.saliency(
                "image", "drawable", "lenet5-fashion", 10, "") + ")")))
        commands.append(record(
            "bad-model",
            loaded(first, host.feature_maps(
                "image", "drawable", "no-such-model", "3", 0, False))))
        commands.append(record("after-bad-model", "\"still running\""))

        # every image type and precision gives the RGB 8-bit answer
        conversions = {
            "rgba": "(gimp-layer-add-alpha drawable)",
            "gray": "(gimp-image-convert-grayscale image)",
            "graya": "(begin (gimp-image-convert-grayscale image) "
                     f"(gimp-layer-add-alpha {drawable}))",
            "indexed": "(gimp-image-convert-indexed image CONVERT-DITHER-NONE "
                       "CONVERT-PALETTE-GENERATE 255 FALSE FALSE \"\")",
            "u16": "(gimp-image-convert-precision image "
                   f"{host.precision('U16-GAMMA')})",
            "u32": "(gimp-image-convert-precision image "
                   f"{host.precision('U32-GAMMA')})",
            "half": "(gimp-image-convert-precision image "
                    f"{host.precision('HALF-LINEAR')})",
            "float": "(gimp-image-convert-precision image "
                     f"{host.precision('FLOAT-LINEAR')})",
            "offset-layer": "(gimp-layer-set-offsets drawable 37 -11)",
            "selection": "(gimp-image-select-rectangle image CHANNEL-OP-REPLACE "
                         "20 20 240 240)",
        }
        for kind, convert in conversions.items():
            commands.append(record(
                f"type-{kind}",
                loaded(first, f"{convert} " + top_label(
                    "image", drawable, "lenet5-fashion", 1))))
        for size in (1, 3, 20000):
            commands.append(record(
                f"size-{size}",
                f"(let* ((image (car (gimp-image-new {size} {size} RGB))) "
                f"(layer (car {host.layer_new('image', size, size, 'RGB-IMAGE', 'l', 100, 'LAYER-MODE-NORMAL')}))) "
                f"(gimp-image-insert-layer image layer 0 0) "
                f"(gimp-drawable-fill layer FILL-WHITE) "
                f"{top_label('image', 'layer', 'lenet5-fashion', 1)})"))
        train_dir, held_out = regrouped_folders(os.path.join(tmp, "tuning"),
                                                20, 20)
        # 0 epochs and 0 learning rate: the engine's defaults, as the
        # README recommends
        commands.append(record(
            "finetune",
            f"(let ((r {host.finetune('lenet5-fashion', train_dir, 'three-groups', 0, 0, 0, False)})) "
            f"(string-append (car r) \" \" (number->string (cadr r))))"))
        for i, (path, _) in enumerate(held_out):
            commands.append(record(
                f"tuned-{i}",
                loaded(path, top_label("image", "drawable", "three-groups",
                                       1))))
        lone = os.path.join(tmp, "lone", "only-class")
        os.makedirs(lone)
        shutil.copy(files[0][0], lone)
        commands.append(record(
            "finetune-one-class",
            host.finetune("lenet5-fashion", os.path.dirname(lone), "lonely",
                          2, 0.01, 0, False)))
        commands.append(record("after-one-class", "\"still running\""))
        # hostile and broken files in the weights folder: an error for that
        # model, every other model still usable
        weights = os.path.join(profile, "gimp-convnet", "weights")
        os.makedirs(weights, exist_ok=True)
        fixtures = os.path.join(source, "tests", "fixtures", "weights")
        shutil.copy(os.path.join(fixtures, "os_system.pth"),
                    os.path.join(weights, "resnet18-f37072fd.pth"))
        shutil.copy(os.path.join(fixtures, "data_pkl_cut40.pth"),
                    os.path.join(weights, "broken.safetensors"))
        for name in ("resnet18", "broken"):
            commands.append(record(
                f"hostile-{name}",
                loaded(first, "(car " + host.saliency(
                    "image", "drawable", name, -1, "") + ")")))
        commands.append(record(
            "after-hostile",
            loaded(first, top_label("image", "drawable", "lenet5-fashion",
                                    1))))
        # downloads in batch, from a local server: a checkpoint made here
        # (resnet34, named by its own SHA-256 like torchvision's), the same
        # name with other bytes, and the official name from a "mirror"
        # serving the wrong file
        served = os.path.join(tmp, "served")
        os.makedirs(served)
        import torch
        import torchvision.models as tvm
        torch.manual_seed(0)
        plain = os.path.join(tmp, "plain.pth")
        torch.save(tvm.resnet34().state_dict(), plain)
        tuned_name = ("resnet34-" + hashlib.sha256(open(plain, "rb").read())
                      .hexdigest()[:8] + ".pth")
        shutil.move(plain, os.path.join(served, tuned_name))
        shutil.copy(os.path.join(served, tuned_name),
                    os.path.join(served, http_server.WRONG_FILE))
        with open(os.path.join(served, http_server.WRONG_FILE), "ab") as f:
            f.write(b"tampered")
        server = http_server.start(served)
        base = f"http://127.0.0.1:{server.port}"
        os.environ["CONVNET_DOWNLOAD_URL"] = f"{base}/wrong/"
        commands.append(record(
            "download",
            f"(car {host.download('resnet34', f'{base}/good/{tuned_name}')})"))
        commands.append(record(
            "downloaded-classify",
            loaded(first, top_label("image", "drawable", "resnet34", 1))))
        commands.append(record(
            "download-official",
            f"(car {host.download('resnet50', '')})"))
        commands.append(record("after-download", "\"still running\""))
        csv = os.path.join(tmp, "out.csv")
        commands.append(record(
            "csv", f"(convnet-classify-files {scheme_string(tmp + '/*.png')} "
                   f"\"lenet5-fashion\" 2 {scheme_string(csv)})"))

        # about 100 plug-in calls: minutes on a loaded machine
        output = gimp(profile, commands, timeout=1500)
        server.shutdown()
        # GIMP 3's failures, which guarded() writes beside the results
        output += log.errors()

        right = sum(result(f"classify-{i}") == label
                    for i, (_, label) in enumerate(files))
        tap.ok(right >= 9, "classify 10 Fashion-MNIST images at 280x280",
               f"{right}/10 top-1 right")
        act = lenet5_fashion_node3(source, first)
        check_feature_maps(tap, act, result("feature-maps"),
                           os.path.join(out, "first-map.png"), "3",
                           "lenet5's second convolution")
        check_grid(tap, os.path.join(out, "grid-0.png"), act,
                   "feature-map grid (as-grid 1)")
        check_grid(tap, os.path.join(out, "grid-5.png"), act,
                   "feature-map grid of 5 channels", TILES_3, TILES_2, 5)
        check_grid(tap, explain_grid, act, "convnet-explain-file's grid PNG")
        check_saliency(tap, build, source, first, out, result("saliency"))
        tap.ok(result("saliency-bad-class") is None
               and "class 10: lenet5 has classes 0 to 9" in output,
               "saliency of a class the model does not have is a PDB error "
               "naming it")
        tap.ok(result("bad-model") is None
               and "no-such-model" in output
               and result("after-bad-model") == "still running",
               "a bad model name is a PDB error and GIMP goes on")
        want = result("classify-0")
        for kind in conversions:
            got = result(f"type-{kind}")
            tap.ok(got is not None and got == want,
                   f"image type/precision '{kind}' classifies", str(got))
        for size in (1, 3, 20000):
            tap.ok(result(f"size-{size}") in CLASSES,
                   f"a {size}x{size} image classifies",
                   str(result(f"size-{size}")))
        tuned = result("finetune")
        accuracy = float(tuned.split()[1]) if tuned else 0.0
        tap.ok(tuned is not None and tuned.startswith("three-groups ")
               and accuracy >= 0.9,
               "fine-tune lenet5-fashion on 3 new classes, 20 images each, "
               "with the engine's default epochs and learning rate",
               f"validation accuracy {accuracy}")
        right = sum(result(f"tuned-{i}") == group
                    for i, (_, group) in enumerate(held_out))
        tap.ok(right >= 0.85 * len(held_out),
               "the fine-tuned model, by name, classifies held-out images",
               f"{right}/{len(held_out)} right")
        tap.ok(result("finetune-one-class") is None
               and result("after-one-class") == "still running"
               and "at least 2" in output,
               "one class is refused with a clear error and GIMP goes on")
        tap.ok(result("hostile-resnet18") is None
               and "refusing global" in output,
               "a checkpoint that calls os.system is refused as a PDB error")
        tap.ok(result("hostile-broken") is None and "truncated" in output,
               "a truncated weights file is a PDB error")
        tap.ok(want is not None and result("after-hostile") == want,
               "every other model stays usable after them",
               str(result("after-hostile")))
        imagenet = open(os.path.join(source, "weights", "labels",
                                     "imagenet.txt")).read().splitlines()
        tap.ok(result("download") == os.path.join(weights, tuned_name)
               and os.path.isfile(os.path.join(weights, tuned_name)),
               "plug-in-convnet-download saves a verified checkpoint",
               str(result("download")))
        tap.ok(result("downloaded-classify") in imagenet,
               "the downloaded resnet34 classifies by name in the same session",
               str(result("downloaded-classify")))
        tap.ok(result("download-official") is None
               and "resnet50-0676ba61.pth promises 0676ba61" in output
               and "/wrong/resnet50-0676ba61.pth -" in server.requests
               and not [f for f in os.listdir(weights) if f.startswith(
                   (".resnet50", "resnet50"))]
               and result("after-download") == "still running",
               "a wrong file from a mirror is a PDB error, nothing is kept, "
               "and GIMP goes on")
        import csv as csv_module
        rows = (list(csv_module.reader(open(csv))) if os.path.exists(csv)
                else [])
        # each file's two rows: rank 1 is what classify said, and the
        # probabilities are in order
        by_file = {path: [r for r in rows[1:] if r[0] == path]
                   for path, _ in files}
        right = sum(len(r) == 2 and [x[1] for x in r] == ["1", "2"]
                    and r[0][2] == result(f"classify-{i}")
                    and 1 >= float(r[0][3]) >= float(r[1][3]) > 0
                    for i, r in enumerate(by_file.values()))
        tap.ok(len(rows) == 1 + 2 * 10
               and rows[0] == ["file", "rank", "label", "probability"]
               and right == 10,
               "the CSV batch script writes a header and, for each file, "
               "its top 2 classes as classify gives them",
               f"{len(rows)} lines, {right}/10 files right")
        if tap.failed:
            print(f"# {host.NAME} said:\n# " + output.replace("\n", "\n# "))
    print(f"# host: {host.NAME}")
    print(f"1..{tap.n}")
    print(f"# {tap.n - tap.failed} passed, {tap.failed} failed")
    sys.exit(1 if tap.failed else 0)


if __name__ == "__main__":
    main()
