"""16-bit gray images of kinds no prior was trained on, for checking linr against JPEG-XL.

    python scripts/synth16.py OUT_DIR [--count 4] [--size 256]
    linr bench run OUT_DIR --codecs jpegxl-e9,linr --name synth16-linr --out-dir bench/results

Four kinds, synthesised here (not scripts/train_prior.py's terrain, scenes or 16-bit
photos, which the gray16 priors were trained on), COUNT of each, as 16-bit PNGs:
  ridged-terrain  spectral (1/f^beta) elevation, half of them ridged, 16 bits, faint noise
  radiograph      attenuation through overlapping ellipsoids, quantum noise, 12 bits
  film-scan       smooth grading with film grain, dust and a scratch, 16 bits
  fluorescence    bright spots on a dark offset, Poisson-like noise, about 13 bits used
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def radii(size: int) -> np.ndarray:
    """|f| of each bin of a size x size FFT, 1 at f = 0 (no division by zero)."""
    f = np.fft.fftfreq(size)
    r = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    r[0, 0] = 1.0
    return r


def spectral_field(rng, size: int, beta: float) -> np.ndarray:
    """A 1/f^beta Gaussian field, as drawn (scripts/entropy_floor.py reads its scale)."""
    spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / radii(size) ** (beta / 2)
    spectrum[0, 0] = 0
    return np.real(np.fft.ifft2(spectrum))


def _spectral(rng, size: int, beta: float) -> np.ndarray:
    z = spectral_field(rng, size, beta)
    return (z - z.min()) / max(np.ptp(z), 1e-12)


def ridged_terrain(rng, size: int) -> np.ndarray:
    z = _spectral(rng, size, rng.uniform(1.8, 2.6))
    if rng.random() < 0.5:
        z = 1 - np.abs(2 * z - 1)
        z = z ** rng.uniform(1.5, 3.0)
    v = z * 65535 + rng.normal(0, rng.uniform(0.5, 4.0), z.shape)
    return np.clip(np.round(v), 0, 65535).astype(np.uint16)


def radiograph(rng, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] / size
    t = np.zeros((size, size))
    for _ in range(int(rng.integers(4, 10))):
        cx, cy = rng.uniform(0.1, 0.9, 2)
        rx, ry = rng.uniform(0.05, 0.4, 2)
        a = rng.uniform(0, np.pi)
        u = ((xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)) / rx
        w = (-(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)) / ry
        t += rng.uniform(0.2, 1.5) * np.sqrt(np.clip(1 - u ** 2 - w ** 2, 0, 1))
    counts = 4000 * np.exp(-t * rng.uniform(0.8, 1.6))
    v = counts + rng.normal(0, 1, t.shape) * np.sqrt(counts) * rng.uniform(0.5, 1.5)
    return np.clip(np.round(v), 0, 4095).astype(np.uint16)


def film_scan(rng, size: int, marks: bool = True) -> np.ndarray:
    """marks=False leaves out the dust and the scratch (scripts/entropy_floor.py)."""
    base = _spectral(rng, size, rng.uniform(2.8, 3.6)) * rng.uniform(0.4, 0.8) + rng.uniform(0.1, 0.2)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (size, size)), (0, 0), rng.uniform(0.5, 1.2))
    v = base * 65535 + grain * rng.uniform(150, 600)
    if not marks:
        return np.clip(np.round(v), 0, 65535).astype(np.uint16)
    for _ in range(int(rng.integers(3, 12))):               # dust
        cv2.circle(v, tuple(int(c) for c in rng.integers(0, size, 2)), int(rng.integers(1, 3)),
                   float(rng.uniform(50000, 65535)), -1)
    x0, x1 = rng.integers(0, size, 2)
    cv2.line(v, (int(x0), 0), (int(x1), size - 1), float(rng.uniform(2000, 8000)), 1)   # a scratch
    return np.clip(np.round(v), 0, 65535).astype(np.uint16)


def fluorescence(rng, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    signal = np.zeros((size, size))
    for _ in range(int(rng.integers(15, 60))):
        cx, cy = rng.uniform(0, size, 2)
        s = rng.uniform(2, 9)
        signal += rng.uniform(300, 6000) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
    mean = 100 + signal
    v = mean + rng.normal(0, 1, mean.shape) * np.sqrt(mean) * rng.uniform(1.0, 3.0)
    return np.clip(np.round(v), 0, 65535).astype(np.uint16)


KINDS = {"ridged-terrain": ridged_terrain, "radiograph": radiograph, "film-scan": film_scan,
         "fluorescence": fluorescence}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    for kind, make in KINDS.items():
        for i in range(args.count):
            cv2.imwrite(str(out / f"{kind}-{i}.png"), make(rng, args.size))
    print(f"{len(KINDS) * args.count} images in {out}")


if __name__ == "__main__":
    main()
