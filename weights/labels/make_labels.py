#!/usr/bin/python3
"""Writes the class-label files shipped with gimp-convnet.

The names are taken from the installed torchvision so that the index of each
line is the index of the matching output of torchvision's pretrained models:
  imagenet.txt       torchvision.models._meta._IMAGENET_CATEGORIES (1000)
  fashion-mnist.txt  torchvision.datasets.FashionMNIST.classes (10)

Run with Debian's interpreter, which has torchvision:
  /usr/bin/python3 weights/labels/make_labels.py
"""
import os
import sys

from torchvision.datasets import FashionMNIST
from torchvision.models._meta import _IMAGENET_CATEGORIES


def write_labels(path, labels):
    for label in labels:
        # One label a line: a name that could not round-trip would shift
        # every later index.
        if not label or label != label.strip() or "\n" in label or "\r" in label:
            sys.exit(f"{path}: unusable label {label!r}")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(labels) + "\n")
    os.replace(tmp, path)
    print(f"{path}: {len(labels)} labels")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if len(_IMAGENET_CATEGORIES) != 1000:
        sys.exit("torchvision's ImageNet category list is not 1000 long")
    write_labels(os.path.join(here, "imagenet.txt"), list(_IMAGENET_CATEGORIES))
    write_labels(os.path.join(here, "fashion-mnist.txt"), list(FashionMNIST.classes))


if __name__ == "__main__":
    main()
