"""Does a sparse histogram cost more than the same image renumbered? (issue 19's target:
an image whose channels use K values out of 2^n, spread with gaps, within 3% of the same
image with its values renumbered 0..K-1.)

    python scripts/sparse_values.py [--effort 0]

Synthesised data only: smooth multi-octave fields (rate_check.elevation's kind) quantised to
K levels, spread over 16 bits with gaps (evenly, or at random values), and an 8-bit RGB
version; every round trip checked, whole-file bytes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import inrcodec  # noqa: E402
from rate_check import elevation  # noqa: E402


def cases():
    rng = np.random.default_rng(7)
    for k, seed in ((800, 1), (200, 2), (3000, 3)):
        field = elevation(256, seed).astype(np.int64) // 80 * (k - 1) // 799     # levels 0 .. k-1
        yield f"gray16 K={k}, evenly spread", field * (65535 // (k - 1)), field
        values = np.sort(rng.choice(65536, k, replace=False))
        yield f"gray16 K={k}, random values", values[field], field
    rgb = np.stack([elevation(128, s).astype(np.int64) // 80 * 63 // 799 for s in (4, 5, 6)], axis=2)
    yield "RGB 8-bit K=64 per channel, x4", (rgb * 4).astype(np.uint8), rgb.astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--effort", type=int, default=inrcodec.DEFAULT_EFFORT)
    args = ap.parse_args()
    print("| image | sparse bytes | renumbered bytes | ratio |\n|---|---:|---:|---:|")
    for name, sparse, dense in cases():
        sizes = []
        for img in (sparse, dense):
            img = img.astype(np.uint16) if img.dtype != np.uint8 else img
            data = inrcodec.encode(img, effort=args.effort)
            assert np.array_equal(inrcodec.decode(data), img)
            sizes.append(len(data))
        print(f"| {name} | {sizes[0]:,} | {sizes[1]:,} | {sizes[0] / sizes[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
