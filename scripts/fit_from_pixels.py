"""What the default effort's fit would buy on images below the size it starts at.

    LINR_BENCH_DATA=../shared/data python scripts/fit_from_pixels.py --size 512x256 --from 131072

Efforts 1 and 2 fit a delta from encoder.FIT_FROM_PIXELS pixels, every layer from
BIG_IMAGE_PIXELS. This sets both to --from for this process and encodes centre crops of
--size of the photo validation split and of the illustrations (validation data only), every
round trip checked, beside JPEG-XL e9 on the same crops. Prints each set's bytes and the
encoding time an image in this process (a warm-process figure).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="512x256", help="WxH of the centre crops")
    ap.add_argument("--from", dest="start", type=int, default=1 << 18,
                    help="fit from this many pixels (the product: 2^18)")
    args = ap.parse_args()
    import imagecodecs
    import inrcodec
    from inrcodec import encoder
    from rate_check import centre, illustrations768
    from train_prior import photo_sources, to8
    w, h = (int(v) for v in args.size.split("x"))
    encoder.FIT_FROM_PIXELS = {1: args.start, 2: args.start}
    encoder.BIG_IMAGE_PIXELS = args.start
    photos = [centre(to8(a), w, h) for a in photo_sources("val") if a.shape[0] >= h and a.shape[1] >= w]
    illustrations = [centre(a, w, h) for a in illustrations768()]
    for name, images in (("photos", photos), ("illustrations", illustrations)):
        size, t0 = 0, time.perf_counter()
        for a in images:                                  # B, G, R arrays: the model's order
            data = inrcodec.encode(a)
            assert np.array_equal(inrcodec.decode(data), a), name
            size += len(data)
        seconds = (time.perf_counter() - t0) / len(images)
        jxl = sum(len(imagecodecs.jpegxl_encode(np.ascontiguousarray(a[:, :, ::-1]), lossless=True, effort=9))
                  for a in images)
        print(f"{w}x{h} {name} ({len(images)}), fit from {args.start} pixels: {size} bytes "
              f"({size / jxl:.3f}x JPEG-XL e9's {jxl}), {seconds:.2f} s an image")


if __name__ == "__main__":
    main()
