"""Encoder options on validation photographs (never the test sets): mean bpp and time.

    python scripts/validate_options.py --opt effort=2 --opt effort=3
    python scripts/validate_options.py --size 768x512 --opt effort=2 --opt "effort=2 prior=photo"

The images are the `photo` prior's validation photos (scripts/train_prior.py VALIDATION,
held out of its training), cut to a centre crop of --size (Kodak's size by default). Every
file is decoded and compared with its image; bpp counts the whole file.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import inrcodec  # noqa: E402
from train_prior import photo_sources, to8  # noqa: E402


def parse_opt(text: str) -> dict:
    out = {}
    for item in text.split():
        key, _, value = item.partition("=")
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opt", action="append", required=True, help="encode options, e.g. 'effort=3'")
    ap.add_argument("--size", default="768x512", help="W x H of the centre crop")
    ap.add_argument("--limit", type=int, default=8)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    images = []
    for a in photo_sources("val")[: args.limit]:
        a = to8(a)
        y, x = max(0, (a.shape[0] - h) // 2), max(0, (a.shape[1] - w) // 2)
        images.append(np.ascontiguousarray(a[y:y + h, x:x + w, ::-1]))          # RGB
    print(f"{len(images)} validation photos, centre {w}x{h}")
    print("| options | mean bpp | mean encode s | mean decode s |")
    print("|---|---:|---:|---:|")
    for text in args.opt:
        opts = parse_opt(text)
        bpp, enc, dec = [], [], []
        for im in images:
            t0 = time.perf_counter()
            data = inrcodec.encode(im, **opts)
            t1 = time.perf_counter()
            back = inrcodec.decode(data)
            t2 = time.perf_counter()
            if not np.array_equal(back, im):
                raise SystemExit(f"{text}: round trip failed")
            bpp.append(8 * len(data) / (im.shape[0] * im.shape[1]))
            enc.append(t1 - t0)
            dec.append(t2 - t1)
        print(f"| {text} | {np.mean(bpp):.4f} | {np.mean(enc):.2f} | {np.mean(dec):.3f} |", flush=True)


if __name__ == "__main__":
    main()
