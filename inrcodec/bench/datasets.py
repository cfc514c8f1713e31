"""Image loaders for the benchmark.

Every loader yields ``(name, image)`` pairs.  ``image`` is an ndarray of shape
HxW (gray) or HxWxC, dtype uint8 or uint16, exactly as
``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` returns it (so colour images are in
OpenCV's BGR order; we keep that and never convert).

Dataset names understood by :func:`load`:

    mnist, mnist-train                  IDX files, default folder <shared>/mnist
    fashion-mnist, fashion-mnist-train  IDX files, default /usr/share/datasets/fashion-mnist
    kodak                               folder <shared>/kodak
    img16                               folder <shared>/img16/crops64 (16-bit)
    pngsuite                            folder <shared>/pngsuite (has corrupt files)
    any other value                     a folder: all PNG/TIFF/PGM/PPM files, sorted by name

``<shared>`` is ``$LINR_BENCH_DATA`` or the ``shared/data`` folder beside the repository
root.  ``data`` overrides the default folder of a named dataset.  A folder may hold any mix
of 8- and 16-bit, gray and colour files (16-bit gray PNG/TIFF/PGM come in as uint16 HxW).
"""

from __future__ import annotations

import gzip
import itertools
import os
import sys
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from . import BenchError

# Default root of the named datasets: $LINR_BENCH_DATA, else the shared/data folder beside a
# source checkout (<repo>/inrcodec/bench/datasets.py -> parents[2] is <repo>).  ``--data``
# overrides it per run; folders given by path need neither.
DATA_ROOT = Path(os.environ.get("LINR_BENCH_DATA")
                 or Path(__file__).resolve().parents[2].parent / "shared" / "data")

# IDX datasets: name -> (default folder, file stem of the images)
IDX_DATASETS = {
    "mnist": (DATA_ROOT / "mnist", "t10k-images-idx3-ubyte"),
    "mnist-train": (DATA_ROOT / "mnist", "train-images-idx3-ubyte"),
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"), "t10k-images-idx3-ubyte"),
    "fashion-mnist-train": (Path("/usr/share/datasets/fashion-mnist"), "train-images-idx3-ubyte"),
}

# Folder datasets: name -> default folder
FOLDER_DATASETS = {
    "kodak": DATA_ROOT / "kodak",
    "img16": DATA_ROOT / "img16" / "crops64",
    "pngsuite": DATA_ROOT / "pngsuite",
}

# where a named set's images come from, for the message when they are missing
DATA_HINT = ("the named sets are not shipped with linr: pass their folder with --data DIR, or "
             "set LINR_BENCH_DATA to the folder holding kodak/, img16/, pngsuite/ and mnist/; "
             "sources in inrcodec/bench/README.md")

IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".pgm", ".ppm"}

Image = tuple[str, np.ndarray]


def warn(msg: str) -> None:
    print(f"bench: warning: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------- IDX


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) of unsigned bytes: returns (N, H, W) uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    # Header: two zero bytes, type code (0x08 = ubyte), number of dimensions,
    # then one big-endian uint32 per dimension.
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise BenchError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)) or ndim != 3:
        raise BenchError(f"{path}: IDX size/shape mismatch (dims {dims}, {data.size} bytes)")
    return data.reshape(dims)


def find_idx(folder: Path, stem: str) -> Path:
    """Locate ``stem`` or ``stem.gz`` in ``folder`` (``folder`` may also be the file itself)."""
    if folder.is_file():
        return folder
    for candidate in (folder / (stem + ".gz"), folder / stem):
        if candidate.is_file():
            return candidate
    raise BenchError(f"no {stem}[.gz] in {folder} ({DATA_HINT})")


def iter_idx(path: Path) -> Iterator[Image]:
    images = read_idx(path)
    prefix = path.name.split("-")[0]  # "t10k" or "train"
    for i, img in enumerate(images):
        yield f"{prefix}-{i:05d}", img


# ------------------------------------------------------------------------ folders


def iter_folder(folder: Path) -> Iterator[Image]:
    """All readable images of a folder, sorted by file name; unreadable ones are skipped."""
    if not folder.is_dir():
        raise BenchError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise BenchError(f"no PNG/TIFF/PGM/PPM files in {folder}")
    for path in files:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            warn(f"skipping unreadable file {path}")
        elif img.dtype not in (np.uint8, np.uint16):
            warn(f"skipping {path}: dtype {img.dtype} (only uint8/uint16 are benchmarked)")
        else:
            yield path.name, img


# ---------------------------------------------------------------------- helpers


def centre_crop(img: np.ndarray, size: int) -> np.ndarray:
    """Centre crop to size x size; a dimension smaller than ``size`` is kept whole."""
    h, w = img.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(img[top : top + size, left : left + size])


def load(
    dataset: str,
    data: str | Path | None = None,
    limit: int | None = None,
    offset: int = 0,
    crop: int | None = None,
) -> Iterator[Image]:
    """Yield ``(name, image)`` for a dataset name or a folder path.

    ``offset``/``limit`` select images in order (after unreadable files are
    dropped); ``crop`` takes a centre crop of each image.
    """
    if dataset in IDX_DATASETS:
        folder, stem = IDX_DATASETS[dataset]
        source = iter_idx(find_idx(Path(data) if data else folder, stem))
    elif dataset in FOLDER_DATASETS:
        folder = Path(data) if data else FOLDER_DATASETS[dataset]
        if not folder.is_dir():
            raise BenchError(f"{dataset}: image folder not found: {folder} ({DATA_HINT})")
        source = iter_folder(folder)
    elif Path(dataset).is_dir():
        if data:
            raise BenchError("--data is only for named datasets; pass the folder as DATASET")
        source = iter_folder(Path(dataset))
    else:
        names = ", ".join([*IDX_DATASETS, *FOLDER_DATASETS])
        raise BenchError(f"unknown dataset {dataset!r} (known: {names}, or a folder path)")

    stop = None if limit is None else offset + limit
    for name, img in itertools.islice(source, offset, stop):
        yield name, (centre_crop(img, crop) if crop else img)
