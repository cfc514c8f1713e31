"""Make the large-image test of the speed table: a wallpaper upscaled to 6000 x 4000.

    python scripts/large_image.py /tmp/large.png [SOURCE]

SOURCE defaults to /usr/share/backgrounds/mate/nature/Garden.jpg (2560 x 1600, Debian
package mate-backgrounds; any photograph will do). Upscaling (bicubic) gives a photograph
of 24 megapixels: it measures peak memory and CPU use, not rate (it is a training image).
Then, for example:

    /usr/bin/time -v linr encode /tmp/large.png /tmp/large.linr
    /usr/bin/time -v linr decode /tmp/large.linr /tmp/large2.png
"""
from __future__ import annotations

import sys

import cv2


def main(out: str, source: str = "/usr/share/backgrounds/mate/nature/Garden.jpg") -> None:
    img = cv2.imread(source, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read {source}")
    big = cv2.resize(img, (6000, 4000), interpolation=cv2.INTER_CUBIC)
    if not cv2.imwrite(out, big):
        raise SystemExit(f"cannot write {out}")
    print(f"{source} {img.shape[1]}x{img.shape[0]} -> {out} 6000x4000")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(*sys.argv[1:3])
