"""Write the illustration validation set: wallpapers no prior was trained on.

    python scripts/illustrations.py illu       # illu/*.png (15 images, 3 channels)
    linr bench run illu --crop 128 --codecs png,webp,jpegxl-e9,linr --name illu-crop128

The MATE abstract and desktop wallpapers and one sway wallpaper (Debian packages
mate-backgrounds and sway-backgrounds, allowed by ../shared/data/TRAINING.md): flat
colours, gradients, stripes and a dithered 8-colour pattern. scripts/train_prior.py
trains the photo priors on other folders of those packages, so these are held out;
they served to choose the palette's index order (inrcodec/palette.py), never a test set.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2

BG = Path("/usr/share/backgrounds")


def sources() -> list:
    return (sorted((BG / "mate" / "abstract").glob("*.png")) + sorted((BG / "mate" / "desktop").glob("*.png"))
            + [BG / "sway" / "Sway_Wallpaper_Blue_1366x768.png"])


def main(out: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for src in sources():
        img = cv2.imread(str(src), cv2.IMREAD_COLOR)       # alpha, where present, dropped
        if img is None:
            continue
        cv2.imwrite(str(folder / src.name), img)
        count += 1
    print(f"wrote {count} images to {folder}" + ("" if count else
          " (apt-get install mate-backgrounds sway-backgrounds)"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "illu")
