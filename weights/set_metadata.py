#!/usr/bin/python3
"""Adds or replaces string entries of a .safetensors file's metadata,
leaving every tensor's bytes as they are; the file is replaced atomically.
Used for what a training run could not write into its own file (its
wall-clock time, measured around it).

Usage: weights/set_metadata.py FILE.safetensors KEY=VALUE..."""
import json
import os
import struct
import sys
import tempfile


def main():
    if len(sys.argv) < 3 or not all("=" in a for a in sys.argv[2:]):
        sys.exit(__doc__)
    path = sys.argv[1]
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.setdefault("__metadata__", {})
    for item in sys.argv[2:]:
        key, value = item.split("=", 1)
        metadata[key] = value
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False)
    raw = text.encode()
    # spaces up to a multiple of 8 keep the data aligned, as the engine
    # writes it
    raw += b" " * (-(8 + len(raw)) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False,
                                     prefix=".set-metadata-") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + data)
        temp = f.name
    os.chmod(temp, 0o644)
    os.replace(temp, path)


if __name__ == "__main__":
    main()
