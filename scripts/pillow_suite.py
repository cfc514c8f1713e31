"""Pillow's own test images through linr: every file must end exact or be refused in one line.

    pip download --no-binary :all: --no-deps pillow==12.0.0 && tar xzf pillow-12.0.0.tar.gz
    python scripts/pillow_suite.py pillow-12.0.0/Tests/images [--effort 0] [--json out.json]

For each PNG, TIFF, BMP, PNM, WebP and JPEG file: linr reads it as `linr encode` does
(imageio.encode_image_file, metadata kept), encodes, decodes, and compares the decoded
array with what it read (exact), and what it read with an independent reference reading
(tifffile for TIFF, Pillow for the rest) wherever that reading is unambiguous (lossless formats whose
modes map onto linr's arrays one to one; JPEG is lossy, so decoders may differ there).
Outcomes: exact (and agreeing with the reference, or no reference reading), refused (a
LinrError of one line), bad (round trip differs, or it disagrees with the reference), crash
(any other exception).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inrcodec import LinrError, codec, imageio  # noqa: E402
from inrcodec.pixels import _ORIENT as ORIENT  # noqa: E402  (TIFF Orientation, as OpenCV applies it)

EXTS = {".png", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".pbm", ".pnm", ".webp", ".jpg", ".jpeg"}
LOSSY = {".jpg", ".jpeg"}


def tiff_reference(path: Path):
    """A TIFF's stored samples as tifffile reads them, in linr's conventions: B, G, R (, A),
    MinIsWhite inverted and the Orientation applied (as OpenCV does at 8 bits), or None."""
    try:
        import tifffile
        with tifffile.TiffFile(path) as tif:
            if len(tif.pages) > 1:
                return None
            page = tif.pages[0]
            a, axes, bits = page.asarray(), page.axes, int(page.bitspersample)
            tag = page.tags.get(274)
            photometric, orientation = int(page.photometric), int(tag.value) if tag is not None else 1
    except Exception:
        return None
    if photometric not in (0, 1, 2) or a.dtype.kind != "u" or a.ndim > 3:
        return None
    if axes.startswith("S"):
        a = np.moveaxis(a, 0, -1)
    if photometric == 0:
        a = ((1 << bits) - 1 - a.astype(np.int64)).astype(a.dtype)
    if bits == 1:
        a = (a * 255).astype(np.uint8)           # 1-bit images are read as 0 and 255
    a = ORIENT.get(orientation, lambda x: x)(a)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[:, :, [2, 1, 0, 3][:a.shape[2]]]
    return np.ascontiguousarray(a)


def reference(path: Path):
    """The file's samples as linr's arrays hold them (B, G, R (, A)), or None where no
    reading is unambiguous. TIFF: tifffile's reading of the stored samples (Pillow would
    scale 2- and 4-bit gray to 0..255 and divide associated alpha out); the rest: Pillow's."""
    if path.suffix.lower() in LOSSY:
        return None
    if path.suffix.lower() in (".tif", ".tiff"):
        return tiff_reference(path)
    try:
        from PIL import Image
        with Image.open(path) as im:
            if getattr(im, "n_frames", 1) > 1:
                return None
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
                mode = im.mode
            if mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L"):
                return None
            a = np.asarray(im)
    except Exception:
        return None
    if mode.startswith("I;16"):
        a = a.astype(np.uint16)
    if a.ndim == 3 and a.shape[2] >= 3:
        a = a[:, :, [2, 1, 0] + list(range(3, a.shape[2]))]
    return a


def one(path: Path, effort: int) -> tuple:
    try:
        data, image = imageio.encode_image_file(str(path), keep_metadata=True, effort=effort,
                                                color_order="bgr")
        back = codec.decode(data, color_order="bgr")
    except LinrError as exc:
        msg = str(exc)
        return ("refused" if "\n" not in msg else "bad", msg.splitlines()[0] if msg else type(exc).__name__)
    except Exception as exc:  # a crash is what this script looks for
        return "crash", f"{type(exc).__name__}: {exc}"[:200]
    if back.shape != image.shape or back.dtype != image.dtype or not np.array_equal(back, image):
        return "bad", "round trip differs"
    ref = reference(path)
    if ref is not None:
        mine = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
        if ref.shape == mine.shape and ref.dtype == mine.dtype and not np.array_equal(ref, mine):
            return "bad", "differs from the reference reading"
    return "exact", ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--effort", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    files = sorted(p for p in args.folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTS)
    results = {}
    for p in files:
        results[str(p.relative_to(args.folder))] = one(p, args.effort)
    counts = Counter(kind for kind, _ in results.values())
    print(f"{len(files)} files: " + ", ".join(f"{counts[k]} {k}" for k in ("exact", "refused", "bad", "crash")))
    for name, (kind, why) in results.items():
        if kind in ("bad", "crash"):
            print(f"  {kind}: {name}: {why}")
    reasons = Counter(why for kind, why in results.values() if kind == "refused")
    for why, n in reasons.most_common(12):
        print(f"  refused x{n}: {why}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
