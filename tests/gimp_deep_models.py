#!/usr/bin/python3
"""End-to-end tests of the deep networks shipped with the plug-in,
offline: resnet18-fashion and googlenet-fashion (weights/README.md) in
gimp-console with a private profile and no network.  Each classifies
Fashion-MNIST pictures; the feature maps of a ResNet block (layer2.1) are
PyTorch's for the same weights; GoogLeNet's heatmap is `convnet
explain`'s; an Inception module's maps come out one layer per channel;
and fine-tuning starts from the ResNet.  TAP output.

Usage: gimp_deep_models.py BUILD_DIR SOURCE_DIR
Needs: gimp, python3-torch, and Fashion-MNIST (dataset-fashion-mnist)."""
import os
import sys
import tempfile

import gimp_host as host
from gimp_e2e import (FASHION, Tap, check_feature_maps, check_saliency,
                      fashion_images, gimp, install_profile, regrouped_folders)

RESNET, GOOGLENET = "resnet18-fashion", "googlenet-fashion"
BLOCK = "layer2.1"
INCEPTION, INCEPTION_CHANNELS = "inception4a", 128


def twin_activation(source, png, model, node):
    """NODE's output for the picture PNG in tests/torch_small.py's twin of
    MODEL's architecture, with MODEL's weights, preprocessed as the engine
    does for these models (gray, bilinear to 28x28, [0, 1]; the
    pictures' borders are dark, so none is inverted)."""
    import numpy as np
    import torch
    from PIL import Image
    sys.path.insert(0, os.path.join(source, "tests", "fixtures"))
    from fixture_io import read_safetensors
    import torch_small
    tensors, metadata = read_safetensors(
        os.path.join(source, "weights", f"{model}.safetensors"))
    net = torch_small.make(metadata["architecture"]).eval()
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked")
                                  for k in missing), (missing, unexpected)
    captured = {}
    m = net
    for part in node.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    m.register_forward_hook(lambda _m, _i, o: captured.setdefault("y", o))
    gray = Image.open(png).convert("L").resize((28, 28), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(gray, np.float32) / 255)[None, None]
    with torch.no_grad():
        net(x)
    return captured["y"][0].numpy()


def main():
    build, source = sys.argv[1], sys.argv[2]
    tap = Tap()
    missing = [m for m in (RESNET, GOOGLENET) if not os.path.exists(
        os.path.join(source, "weights", f"{m}.safetensors"))]
    if not host.available() or not os.path.isdir(FASHION) or missing:
        print(f"1..1\nnot ok 1 - needs {host.NAME}, dataset-fashion-mnist "
              f"and the shipped weights (missing: {missing})")
        sys.exit(1)
    # offline: any download attempt would fail at once
    os.environ["CONVNET_DOWNLOAD_URL"] = "http://127.0.0.1:9/"
    with tempfile.TemporaryDirectory(prefix="convnet-deep-") as tmp:
        profile = os.path.join(tmp, "profile")
        install_profile(build, source, profile)
        files = fashion_images(tmp, 10)
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        log = host.Log(os.path.join(tmp, "log"))
        record, result, loaded = log.record, log.result, host.loaded
        commands = []

        def top_label(model):
            return host.first(host.labels(host.classify(
                "image", "drawable", model, 1)))

        for model in (RESNET, GOOGLENET):
            for i, (path, _) in enumerate(files):
                commands.append(record(f"{model}-classify-{i}",
                                       loaded(path, top_label(model))))
        first = files[0][0]
        block_png = os.path.join(out, "block-first-map.png")
        commands.append(record(
            "block-maps",
            loaded(first,
                   f"(let* ((group (car "
                   f"{host.feature_maps('image', 'drawable', RESNET, BLOCK, 0, False)})) "
                   f"(kids {host.children('group')}) "
                   f"(layer (vector-ref (cadr kids) 0))) "
                   f"{host.save_png('image', 'layer', block_png)} "
                   f"(string-append (number->string (car kids)) \" \" "
                   f"(number->string {host.width('layer')}) \"x\" "
                   f"(number->string {host.height('layer')}) \" \" "
                   f"(car (gimp-item-get-name layer)) \" \" "
                   f"(car (gimp-item-get-name group))))")))
        commands.append(record(
            "inception-maps",
            loaded(first,
                   f"(let* ((group (car "
                   f"{host.feature_maps('image', 'drawable', GOOGLENET, INCEPTION, 0, False)})) "
                   f"(kids {host.children('group')})) "
                   f"(number->string (car kids)))")))
        saliency_png = "googlenet-saliency.png"
        commands.append(record(
            "saliency",
            loaded(first,
                   f"(let ((layer (car "
                   f"{host.saliency('image', 'drawable', GOOGLENET, -1, '')}))) "
                   f"{host.save_png('image', 'layer', os.path.join(out, saliency_png))} "
                   f"(string-append (car (gimp-item-get-name layer)) \" \" "
                   f"(number->string (car (gimp-layer-get-opacity layer)))))")))
        train_dir, held_out = regrouped_folders(os.path.join(tmp, "tuning"),
                                                20, 10)
        commands.append(record(
            "finetune",
            f"(let ((r {host.finetune(RESNET, train_dir, 'resnet-groups', 0, 0, 0, False)})) "
            f"(string-append (car r) \" \" (number->string (cadr r))))"))
        for i, (path, _) in enumerate(held_out):
            commands.append(record(f"tuned-{i}",
                                   loaded(path, top_label("resnet-groups"))))

        output = gimp(profile, commands, timeout=1200)
        output += log.errors()

        for model in (RESNET, GOOGLENET):
            right = sum(result(f"{model}-classify-{i}") == label
                        for i, (_, label) in enumerate(files))
            tap.ok(right >= 9, f"{model} classifies 10 Fashion-MNIST "
                   "pictures at 280x280", f"{right}/10 top-1 right")
        check_feature_maps(tap, twin_activation(source, first, RESNET, BLOCK),
                           result("block-maps"),
                           os.path.join(out, "block-first-map.png"), BLOCK,
                           f"{RESNET}'s residual block {BLOCK}")
        tap.ok(result("inception-maps") == str(INCEPTION_CHANNELS),
               f"feature maps of {GOOGLENET}'s {INCEPTION}: one layer per "
               f"channel of its four branches", str(result("inception-maps")))
        check_saliency(tap, build, source, first, out, result("saliency"),
                       model=GOOGLENET, png=saliency_png)
        tuned = result("finetune")
        accuracy = float(tuned.split()[1]) if tuned else 0.0
        tap.ok(tuned is not None and tuned.startswith("resnet-groups ")
               and accuracy >= 0.8,
               f"fine-tune from {RESNET} on 3 new classes, 20 images each",
               f"validation accuracy {accuracy}")
        right = sum(result(f"tuned-{i}") == group
                    for i, (_, group) in enumerate(held_out))
        tap.ok(right >= 0.8 * len(held_out),
               "the model fine-tuned from the ResNet classifies held-out "
               "images", f"{right}/{len(held_out)} right")
        if tap.failed:
            print(f"# {host.NAME} said:\n# " + output.replace("\n", "\n# "))
    print(f"# host: {host.NAME}")
    print(f"1..{tap.n}")
    print(f"# {tap.n - tap.failed} passed, {tap.failed} failed")
    sys.exit(1 if tap.failed else 0)


if __name__ == "__main__":
    main()
