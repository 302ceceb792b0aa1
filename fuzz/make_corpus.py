#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (fuzz/corpus/TARGET/) from the test
fixtures, which already span the good files and the known-bad ones.

Run from anywhere; it reads tests/fixtures and weights/ and adds to
fuzz/corpus, keeping what is there (inputs the fuzzers found worth keeping
are merged in by scripts/fuzz.sh --merge).  Standard library only."""
import gzip
import hashlib
import io
import json
import pathlib
import struct
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT / "fuzz" / "corpus"
MAX_SEED = 16 * 1024


def put(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    # content-addressed, as libFuzzer names what it adds
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def weights_seeds():
    for path in sorted((FIXTURES / "weights").iterdir()):
        data = path.read_bytes()
        if len(data) > MAX_SEED or path.suffix == ".json":
            continue
        if path.suffix == ".npy":
            put("npy", data)
        elif data[:4] == b"PK\x03\x04":
            put("torch_zip", data)
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    for name in z.namelist():
                        if name.endswith("data.pkl"):
                            put("pickle", z.read(name))
            except (zipfile.BadZipFile, OSError, NotImplementedError,
                    EOFError, ValueError):
                pass
        elif data[:1] == b"\x80":
            put("torch_legacy", data)
            put("pickle", data)
        elif len(data) >= 9 and data[8:9] == b"{":
            put("safetensors", data)
        else:
            for target in ("torch_zip", "torch_legacy", "safetensors"):
                put(target, data)


def idx_seeds():
    """[u32 little-endian images length][images file][labels file], each
    fixture folder cut to its first three samples so seeds stay small."""
    for folder in sorted((FIXTURES / "data" / "idx").iterdir()):
        files = {}
        for f in folder.iterdir():
            if f.name.startswith("train-images"):
                files["images"] = f.read_bytes()
            elif f.name.startswith("train-labels"):
                files["labels"] = f.read_bytes()
        if len(files) != 2:
            continue
        images, labels = files["images"], files["labels"]
        if len(images) > MAX_SEED:
            if images[:2] == b"\x1f\x8b":
                images, labels = gzip.decompress(images), gzip.decompress(labels)
                squeeze = True
            else:
                squeeze = False
            rows, cols = struct.unpack(">II", images[8:16])
            images = images[:4] + struct.pack(">I", 3) + images[8:16 + 3 * rows * cols]
            labels = labels[:4] + struct.pack(">I", 3) + labels[8:11]
            if squeeze:
                images, labels = gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)
        put("idx", struct.pack("<I", len(images)) + images + labels)


def metadata_seeds():
    def seed(arch, preprocess, classes):
        put("model_metadata", b"\0".join(
            v.encode() for v in (arch, preprocess, classes)))

    header_len = struct.unpack("<Q", (ROOT / "weights" / "lenet5-fashion.safetensors")
                               .open("rb").read(8))[0]
    with (ROOT / "weights" / "lenet5-fashion.safetensors").open("rb") as f:
        f.seek(8)
        meta = json.loads(f.read(header_len))["__metadata__"]
    seed(meta["architecture"], meta["preprocess"], meta["classes"])
    seed("", meta["preprocess"], meta["classes"])
    seed("resnet18", json.dumps({"grayscale": False, "resize_shorter": 256,
                                 "crop": [224, 224], "mean": [0.485, 0.456, 0.406],
                                 "std": [0.229, 0.224, 0.225]}),
         json.dumps(["cat", "dog", "\u732b", "\u72d7", "a", "b", "c", "d", "e", "f"]))
    seed("vgg16_bn", "{}", "[]")
    put("model_metadata", b"googlenet")


def regression_seeds():
    """Inputs that once found a bug, so every run replays them."""
    put("safetensors", b"\x01\x02\x03")   # under 8 bytes: read past the end
    put("pickle", b"\x80\x02(t.")          # an empty MARK: a null pointer offset


def main():
    regression_seeds()
    weights_seeds()
    idx_seeds()
    metadata_seeds()
    for folder in sorted(CORPUS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, "
              f"{sum(f.stat().st_size for f in files)} bytes")


main()
