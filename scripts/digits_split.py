"""This project's digits (web/assets/digits.bin.gz) and their split, for the PyTorch reference
scripts: the layout of `crates/core/src/data.rs` (magic, u32 count, count × 784 grey bytes, count
labels) and its test split (index % 10 == 0)."""

import gzip

import torch


def load(path="web/assets/digits.bin.gz"):
    """Returns (train, test, train_labels, test_labels): pixels in [0, 1] as [n, 784] floats."""
    raw = gzip.open(path).read()
    count = int.from_bytes(raw[4:8], "little")
    pixels = torch.frombuffer(bytearray(raw[8 : 8 + count * 784]), dtype=torch.uint8).float().div(255).view(count, 784)
    labels = torch.frombuffer(bytearray(raw[8 + count * 784 : 8 + count * 785]), dtype=torch.uint8).long()
    test = torch.arange(count) % 10 == 0
    return pixels[~test], pixels[test], labels[~test], labels[test]
