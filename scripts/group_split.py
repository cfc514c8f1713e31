"""What cutting a mid-size image above 8 bits in two groups costs (groups.SPLIT_BITS).

    python scripts/group_split.py

Effort 0, whole files, every round trip checked by the encoder; one group (group_size=1024)
against two halves. Synthesised and validation data only: 576x576 fields of K values spread
over 16 bits at random (clean, and with +-1 level of noise), scripts/synth16.py's four kinds
at 576x576 (seed 777, not the bench's), and four 768x512 validation photos widened to 16 bits
with sensor-like noise, cut to 676x448.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import inrcodec  # noqa: E402
import synth16  # noqa: E402
from rate_check import elevation, validation_photos768  # noqa: E402


def sparse():
    rng = np.random.default_rng(11)
    for k, seed in ((800, 21), (3000, 22), (600, 23)):
        field = elevation(576, seed).astype(np.int64)
        field = (field - field.min()) * (k - 1) // max(1, field.max() - field.min())
        values = np.sort(rng.choice(65536, k, replace=False))
        noisy = np.clip(field + rng.integers(-1, 2, field.shape), 0, k - 1)
        yield f"K={k}", values[field].astype(np.uint16), (288, 576)
        yield f"K={k} +-1 level noise", values[noisy].astype(np.uint16), (288, 576)


def smooth16():
    rng = np.random.default_rng(777)
    for kind in ("ridged_terrain", "film_scan", "radiograph", "fluorescence"):
        yield kind, getattr(synth16, kind)(rng, 576), (288, 576)


def photos16():
    rng = np.random.default_rng(5)
    for i, a in enumerate(validation_photos768()[:4]):
        img = np.clip(a.astype(np.int64) * 257 + rng.normal(0, 40, a.shape), 0, 65535).astype(np.uint16)
        yield f"photo {i} as 16-bit", img[:448, :676], (352, 448)


def main() -> None:
    for name, cases in (("sparse 16-bit", sparse), ("synth16", smooth16), ("16-bit photos", photos16)):
        total = [0, 0]
        for label, img, halves in cases():
            one = len(inrcodec.encode(img, effort=0, group_size=1024))
            two = len(inrcodec.encode(img, effort=0, group_size=halves))
            total[0] += one
            total[1] += two
            print(f"{label}: {one} -> {two} bytes ({100 * (two / one - 1):+.2f}%)", flush=True)
        print(f"{name}: {100 * (total[1] / total[0] - 1):+.2f}% in all", flush=True)


if __name__ == "__main__":
    main()
