"""Fingerprints of the encoder's output on a fixed selection of the bench's images.

A refactoring that must not change the bitstream is checked by running this
before and after and comparing the two JSON files:

    python scripts/same_bytes.py -o before.json        # on the old tree
    python scripts/same_bytes.py -o after.json --compare before.json

Every file is also decoded and compared with its image (the encoder verifies
too). Images: Kodak 128x128 centre crops and the first full Kodak images,
MNIST / Fashion-MNIST test images, the 16-bit crops, PngSuite, at default
options (and effort 0 for a few), in the array's own order and as RGB.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import inrcodec  # noqa: E402
from inrcodec.bench import datasets  # noqa: E402


def selection(full_kodak: int, digits: int):
    def crop(img, side=128):
        h, w = img.shape[:2]
        y, x = (h - side) // 2, (w - side) // 2
        return img[y:y + side, x:x + side]
    kodak = list(datasets.load("kodak"))
    for name, img in kodak:
        yield f"kodak-crop/{name}", crop(img), {}
    for name, img in kodak[:full_kodak]:
        yield f"kodak/{name}", img, {"color_order": "rgb"}
    for set_name in ("mnist", "fashion-mnist"):
        try:
            images = list(datasets.load(set_name, limit=digits))
        except Exception as exc:                      # Fashion-MNIST may not be installed
            print(f"{set_name}: skipped ({exc})", file=sys.stderr)
            continue
        for name, img in images:
            yield f"{set_name}/{name}", img, {}
    for name, img in datasets.load("img16"):
        yield f"img16/{name}", img, {}
        yield f"img16-e0/{name}", img, {"effort": 0}
    for name, img in datasets.load("pngsuite"):
        yield f"pngsuite/{name}", img, {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--compare", help="an earlier run's JSON: exit 1 on any difference")
    ap.add_argument("--full-kodak", type=int, default=2)
    ap.add_argument("--digits", type=int, default=60)
    args = ap.parse_args()
    found, t0 = {}, time.perf_counter()
    for name, img, opts in selection(args.full_kodak, args.digits):
        try:
            data = inrcodec.encode(img, **opts)
        except inrcodec.LinrError as exc:
            found[name] = f"refused: {type(exc).__name__}"
            continue
        back = inrcodec.decode(data)
        assert back.dtype == img.dtype and (back == img).all(), name
        found[name] = f"{len(data)} {hashlib.sha256(data).hexdigest()[:16]}"
    Path(args.out).write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"{len(found)} images in {time.perf_counter() - t0:.0f} s -> {args.out}")
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        diff = sorted(k for k in old.keys() | found.keys() if old.get(k) != found.get(k))
        for k in diff:
            print(f"DIFFERENT {k}: {old.get(k)} -> {found.get(k)}")
        print(f"{len(found) - len(diff)} of {len(found)} identical")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
