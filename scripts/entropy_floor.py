"""How far the synthesised 16-bit kinds can be compressed at all: their Gaussian entropy rate.

    python scripts/entropy_floor.py [--count 6] [--size 256] [--seed 12345]
    python scripts/entropy_floor.py --count 4 --seed 2026      # synth16.py's test images

scripts/synth16.py's ridged terrain (the images drawn without the ridge fold) and film scans
are stationary Gaussian fields plus a little else: a 1/f^beta field, scaled, plus white noise
(terrain), or a smoother 1/f^beta field plus Gaussian-blurred white grain (film; the dust and
the scratch cover a few hundred pixels and are left out). This script draws them with
synth16's own generators, the same random draws in the same order (checked: the images are
synth16's to the sample; the film scans are also coded without their marks), and computes from the known spectrum S(f) the entropy rate of such
a field quantised to integers, h = log2(2 pi e) / 2 + mean over f of log2 S(f) / 2 bits a
pixel (Kolmogorov-Szego; every decoding order, raster or coarse to fine, has the same total).
No lossless coder can beat it on average: beside it, linr's and JPEG-XL e9's whole files.
The images are drawn as synth16.main draws them (one generator, kind after kind), so seed
2026 with --count 4 gives the test set's; the default seed 12345 gives validation images.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth16  # noqa: E402


class Recorder:
    """A numpy Generator that remembers the scalars it drew, so that a generator's parameters
    (beta, scales) can be read back after it ran: the draws stay the generator's own."""

    def __init__(self, rng):
        self.rng, self.scalars = rng, []

    def __getattr__(self, name):
        fn = getattr(self.rng, name)

        def call(*args, **kwargs):
            out = fn(*args, **kwargs)
            if np.ndim(out) == 0 and "size" not in kwargs:
                self.scalars.append((name, float(out)))
            return out
        return call


def power_law(size: int, beta: float) -> np.ndarray:
    """E|X_f|^2 / N of Re(ifft2(A)), A complex Gaussian / r^(beta/2) (synth16.spectral_field): per
    frequency bin, the spectral density whose mean over the bins is the pixel variance."""
    s = 1.0 / synth16.radii(size) ** beta / size ** 2
    s[0, 0] = 0.0
    return s


def spectral_scale(rng_state, size: int, beta: float) -> float:
    """1 / ptp of the unnormalised field that synth16._spectral drew from this state."""
    rng = np.random.default_rng()
    rng.bit_generator.state = rng_state
    return 1.0 / max(np.ptp(synth16.spectral_field(rng, size, beta)), 1e-12)


def rate_bits(s: np.ndarray) -> float:
    """The entropy rate (bits a pixel) of an integer-quantised Gaussian field of spectrum s,
    the mean bin (f = 0) left out."""
    v = s.ravel()[1:]
    return 0.5 * np.log2(2 * np.pi * np.e) + 0.5 * float(np.mean(np.log2(np.maximum(v, 1e-300))))


def terrain(rng, size: int):
    """(image, spectrum or None when the ridge fold made it non-Gaussian, None)."""
    state = rng.bit_generator.state
    rec = Recorder(rng)
    img = synth16.ridged_terrain(rec, size)
    names = [n for n, _ in rec.scalars]
    beta = rec.scalars[0][1]
    if names.count("uniform") == 3:            # beta, the fold's power, the noise: folded
        return img, None, None
    sigma = rec.scalars[-1][1]
    replay = np.random.default_rng()
    replay.bit_generator.state = state
    replay.uniform(1.8, 2.6)
    c = 65535 * spectral_scale(replay.bit_generator.state, size, beta)
    return img, c * c * power_law(size, beta) + sigma * sigma + 1 / 12, None


def film(rng, size: int):
    """(image, spectrum, the same image without its dust and scratch)."""
    state = rng.bit_generator.state
    rec = Recorder(rng)
    img = synth16.film_scan(rec, size)
    beta, amp = rec.scalars[0][1], rec.scalars[1][1]
    blur, grain = rec.scalars[3][1], rec.scalars[4][1]
    replay = np.random.default_rng()
    replay.bit_generator.state = state
    replay.uniform(2.8, 3.6)
    c = 65535 * amp * spectral_scale(replay.bit_generator.state, size, beta)
    ksize = int(round(blur * 4 * 2 + 1)) | 1          # OpenCV's kernel for a float64 image
    k = np.zeros(size)
    g = cv2.getGaussianKernel(ksize, blur)[:, 0]
    for i, w in enumerate(g):
        k[(i - ksize // 2) % size] += w
    h1 = np.abs(np.fft.fft(k)) ** 2
    replay.bit_generator.state = state
    clean = synth16.film_scan(replay, size, marks=False)
    return img, c * c * power_law(size, beta) + grain * grain * np.outer(h1, h1) + 1 / 12, clean


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()
    import imagecodecs

    from inrcodec import decode, encode
    floors = {"ridged-terrain": terrain, "film-scan": film}
    rng, check = np.random.default_rng(args.seed), np.random.default_rng(args.seed)
    for kind, make in synth16.KINDS.items():        # synth16.main's order: --seed 2026 --count 4
        for i in range(args.count):                 # draws its test images
            if kind not in floors:
                make(rng, args.size), make(check, args.size)
                continue
            img, spectrum, clean = floors[kind](rng, args.size)
            assert np.array_equal(img, make(check, args.size)), "not synth16's draws"
            if spectrum is None:
                print(f"{kind}-{i}: folded (not Gaussian), skipped")
                continue
            floor = rate_bits(spectrum) * img.size / 8
            data = encode(img)
            assert np.array_equal(decode(data), img)
            jxl = len(imagecodecs.jpegxl_encode(img, lossless=True, effort=9))
            print(f"{kind}-{i}: floor {floor:,.0f} bytes; linr {len(data):,} ({len(data) / floor:.4f}x the "
                  f"floor), JPEG-XL e9 {jxl:,} ({jxl / floor:.4f}x); linr / JPEG-XL {len(data) / jxl:.4f}; "
                  f"0.95x JPEG-XL is {0.95 * jxl / floor:.4f}x the floor")
            if clean is not None:
                data, jxl = len(encode(clean)), len(imagecodecs.jpegxl_encode(clean, lossless=True, effort=9))
                print(f"  without the {int((clean != img).sum())} pixels of dust and scratch: linr "
                      f"{data / floor:.4f}x the floor, JPEG-XL {jxl / floor:.4f}x; linr / JPEG-XL {data / jxl:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
