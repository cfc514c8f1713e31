"""Write the second own-prior demo's data: scikit-image's disparity map as 16-bit tiles.

    python scripts/depth_tiles.py depth     # depth/train (columns 0-3), depth/test (columns 4-6)

The map (`motorcycle_disp.npz`, 500 x 741 float32 disparities of a Middlebury stereo
pair, bundled with scikit-image) is scaled by 1000 and rounded to uint16; pixels with
no disparity (inf) become 0. It is cut into 100 x 100 tiles: the 20 tiles of the four
left columns train the prior, the 15 of the three right columns are the test set.
No built-in prior has seen a depth map.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

TILE = 100
TRAIN_COLUMNS = 4
SCALE = 1000            # disparities reach 60 pixels: 60000 fits 16 bits


def main(out: str) -> None:
    import skimage
    disp = np.load(Path(skimage.__file__).parent / "data" / "motorcycle_disp.npz")["arr_0"]
    depth = np.where(np.isfinite(disp), np.round(disp * SCALE), 0).astype(np.uint16)
    for r in range(depth.shape[0] // TILE):
        for c in range(depth.shape[1] // TILE):
            folder = Path(out) / ("train" if c < TRAIN_COLUMNS else "test")
            folder.mkdir(parents=True, exist_ok=True)
            tile = depth[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE]
            cv2.imwrite(str(folder / f"r{r}c{c}.png"), np.ascontiguousarray(tile))
    print(f"wrote {out}/train and {out}/test")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "depth")
