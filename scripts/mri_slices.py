"""Write the own-prior demo's data: nibabel's example4d fMRI volume as 16-bit PNG slices.

    python scripts/mri_slices.py mri        # mri/train (slices 0-11), mri/test (slices 12-23)

The volume (128 x 96 x 24 slices x 2 time points, bundled with nibabel's tests) is
stored as int16 with 11 bits used; values are written unchanged as uint16 PNGs.
Slices 0-11 of both time points are the training set, slices 12-23 the test set.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np


def main(out: str) -> None:
    import nibabel
    from nibabel.testing import data_path
    vol = np.asanyarray(nibabel.load(str(Path(data_path) / "example4d.nii.gz")).dataobj)
    if vol.min() < 0:
        raise SystemExit("example4d has negative values: not a plain 16-bit image")
    for split, slices in (("train", range(0, 12)), ("test", range(12, 24))):
        folder = Path(out) / split
        folder.mkdir(parents=True, exist_ok=True)
        for t in range(vol.shape[3]):
            for z in slices:
                img = np.ascontiguousarray(vol[:, :, z, t].astype(np.uint16))
                cv2.imwrite(str(folder / f"t{t}_z{z:02d}.png"), img)
    print(f"wrote {out}/train and {out}/test")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mri")
