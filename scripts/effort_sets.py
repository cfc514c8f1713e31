"""Whole-file bytes of scripts/validation_sets.py's sets at several efforts, each file decoded
and checked, and the encoding time in this process:

    LINR_BENCH_DATA=../shared/data python scripts/effort_sets.py s16,g16 --efforts 2,3
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets")
    ap.add_argument("--efforts", default="0,2")
    args = ap.parse_args()
    import numpy as np

    import inrcodec
    from validation_sets import data
    for name in args.sets.split(","):
        imgs = data[name]()
        for effort in map(int, args.efforts.split(",")):
            t, sizes = time.perf_counter(), []
            for a in imgs:
                # colour sets hold B, G, R (the model's order); the API takes R, G, B
                img = np.ascontiguousarray(a[:, :, ::-1] if a.ndim == 3 else a)
                coded = inrcodec.encode(img, effort=effort)
                if not np.array_equal(inrcodec.decode(coded), img):
                    raise SystemExit(f"{name}: a round trip failed")
                sizes.append(len(coded))
            print(f"{name} effort {effort}: {sum(sizes)} bytes, {len(imgs)} images, "
                  f"{time.perf_counter() - t:.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
