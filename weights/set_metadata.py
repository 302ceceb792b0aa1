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
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0] if len(raw) >= 8 else -1
    try:
        if n < 2 or 8 + n > len(raw):
            raise ValueError(f"header length {n} in a {len(raw)}-byte file")
        header = json.loads(raw[8:8 + n])
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except ValueError as e:
        sys.exit(f"{path}: not a safetensors file: {e}")
    data = raw[8 + n:]
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
