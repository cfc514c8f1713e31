"""Train the built-in priors from training data only (../shared/data/TRAINING.md).

    python scripts/train_prior.py photo            # 8-bit colour photos and artwork (B, G, R)
    python scripts/train_prior.py photo-gray       # the same, gray, plus gray photos
    python scripts/train_prior.py photo-2          # photo's settings on more wallpapers (lomiri, sway)
    python scripts/train_prior.py photo-3          # photo-2's images, 3x the rows, 2x the steps (16 min)
    python scripts/train_prior.py photo-6          # photo-5 fine-tuned with game textures (not shipped)
    python scripts/train_prior.py photo-rgba       # photos and artwork with synthesised alpha (cutouts, icons, fades)
    python scripts/train_prior.py photo-ga         # the same, gray + alpha
    python scripts/train_prior.py photo16          # real and synthesised 16-bit colour
    python scripts/train_prior.py photo16-2        # the same from more sources, wider, longer (7 min, 2 threads)
    python scripts/train_prior.py gray16           # 16-bit gray: medical slices, synthesised scans and terrain
    python scripts/train_prior.py gray16-2         # the same plus synthesised piecewise-smooth scenes
    python scripts/train_prior.py mnist            # MNIST train split
    python scripts/train_prior.py fashion          # Fashion-MNIST train split

Each writes inrcodec/priors/NAME.linrp (or --out) and prints the validation
cost in bpp (whole .linr files, effort 0) of the new prior, next to the
installed one. Validation images are different source images, never
trained on. Needs: pip install -e ".[train]" (scikit-image, matplotlib,
pydicom, nibabel); apt-get install mate-backgrounds ukui-wallpapers
gnome-backgrounds dataset-fashion-mnist. Never Kodak, img16/crops64,
hdr_room, the flower image or the MNIST/Fashion test splits: those are test sets.
"""
from __future__ import annotations

import argparse
import gzip
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import inrcodec  # noqa: E402
from inrcodec import priors  # noqa: E402
from inrcodec.training import DEFAULTS, train_prior  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BG = Path("/usr/share/backgrounds")
VALIDATION = {"Dune.jpg", "LadyBird.jpg", "Storm.jpg", "Wood.jpg", "goldfish.png", "city.png",
              "wood-d.webp", "coffee.png"}
VAL_DICOM = {"CT_small.dcm", "MR_small.dcm"}

SETTINGS = {   # per prior: the settings of the shipped file (training takes 2-7 min, 1 thread)
    "photo": dict(hidden=96, layers=3, steps=12000, max_rows=2000000),
    "photo-gray": dict(hidden=48, layers=3, steps=6000),
    "photo16": dict(hidden=48, layers=3, steps=6000),
    # photo16 from photo-2's sources, each synthesised twice, in a wider network trained longer
    # (linr 0.6.1, built-in 19; 7 min on 2 threads): its validation crops 17.907 bpp at effort 0
    # (photo16 18.045). photo16-3, the same in 3 x 96 for twice the steps (21 min), 17.855:
    # not shipped, 0.29% for twice the trunk's work a pixel.
    "photo16-2": dict(hidden=64, layers=3, steps=24000, max_rows=6000000),
    "photo16-3": dict(hidden=96, layers=3, steps=48000, max_rows=6000000),
    "photo-2": dict(hidden=96, layers=3, steps=12000, max_rows=2000000),
    # photo-2's 4.2 million rows all kept (not 2 million sampled) and twice the steps: on the
    # validation photos at effort 0, 128x128 -0.44%, 768x512 -0.54% against photo-2
    # (6 million rows and 12000 steps alone: -0.11% / -0.17%; 48000 steps: +0.2% at 128x128)
    "photo-3": dict(hidden=96, layers=3, steps=24000, max_rows=6000000),
    # photo-3's rows with twice and four times its steps (linr 0.5.4; 20 and 47 min on 2
    # threads). Unfitted on the validation 128x128 crops at effort 0: photo-4 6.0845 bpp,
    # photo-5 6.0675 (photo-3 6.076). Fitted (the default effort's every-layer fit of the
    # 768x512 validation crops) they take less again: photo-4 0.29% / 0.43% below photo-3 on
    # the photos / illustrations, photo-5 0.25% / 0.10% below photo-4. photo-5 ships (built-in
    # 18) and the encoder's fit starts from it; photo-4 never did.
    "photo-4": dict(hidden=96, layers=3, steps=48000, max_rows=6000000),
    "photo-5": dict(hidden=96, layers=3, steps=96000, max_rows=6000000),
    # photo-5's rows and steps in a network of 64 (half the trunk's work a pixel; linr 0.6.1,
    # 32 min on 2 threads, not shipped): effort 0 on the 128x128 validation crops 6.1052 bpp
    # (photo-5 6.0675, +0.62%); fitted from it at the default effort, the 768x512 validation
    # crops +0.63% (photos) and +0.07% (illustrations) against fitted from photo-5, for 21%
    # less encoding CPU and 15% less decoding time in one process
    "photo-64": dict(hidden=64, layers=3, steps=96000, max_rows=6000000),
    # photo-5 fine-tuned (lr 1e-3) on its own sources plus as many photographic game textures
    # (texture_sources: Debian ufoai-textures and nexuiz-textures, lossless ones only; linr
    # 0.6.2, 13 min on 2 threads, not shipped): effort 0 on the 128x128 validation crops
    # 6.0986 bpp (photo-5 6.0675, +0.51%); fitted from it at the default effort, the 768x512
    # validation crops +0.33% (photos) and -0.13% (illustrations) against fitted from photo-5
    "photo-6": dict(hidden=96, layers=3, steps=32000, max_rows=8000000, start="photo-5"),
    # photo-5 fine-tuned onto relu16's 16-bit grid (format 7; straight-through gradients,
    # photo-5's rows, a small rate): the trunk runs on the CPU's integer dot products
    "photo-7": dict(hidden=96, layers=3, activation="relu16", steps=8000, max_rows=6000000,
                    lr=1e-4, start="photo-5"),
    # photo16-2 fine-tuned onto relu16's grid, as photo-7 was from photo-5
    "photo16-4": dict(hidden=64, layers=3, activation="relu16", steps=8000, max_rows=6000000,
                        lr=1e-4, start="photo16-2"),
    "photo-rgba": dict(hidden=64, layers=3, steps=8000),
    "photo-ga": dict(hidden=48, layers=3, steps=6000),
    "gray16": dict(hidden=48, layers=3, steps=6000),
    "gray16-2": dict(hidden=64, layers=3, steps=9000),
    # gray16-2's images and as many again, 24000 steps (linr 0.6.1, 6 min on 2 threads; not
    # shipped): gray16-2's validation images 6.634 bpp at effort 0 (gray16-2 6.705, auto 6.702),
    # but auto then took it for 7 of the 24 8-bit gray validation crops too, which changed 11
    # released vectors, and every gray image (MNIST) would rank one more prior
    "gray16-3": dict(hidden=64, layers=3, steps=24000, max_rows=6000000),
    "mnist": dict(hidden=96, layers=3, steps=10000, max_rows=2400000),
    "fashion": dict(hidden=64, layers=3, steps=8000, max_rows=2400000),
}


def _read(path: Path):
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:
        return None
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    return a


def _shrink(a: np.ndarray, jpeg: bool) -> np.ndarray:
    """Area-downsample JPEGs by >= 2 (their artefacts must not dominate) and
    anything with a short side above 1000; float32."""
    f = max(2 if jpeg else 1, int(np.ceil(min(a.shape[:2]) / 1000)))
    if f == 1:
        return a.astype(np.float32)
    return cv2.resize(a.astype(np.float32), (a.shape[1] // f, a.shape[0] // f), interpolation=cv2.INTER_AREA)


def photo_sources(split: str) -> list:
    """Float32 B, G, R photos and artwork in [0, 255]."""
    import matplotlib
    import skimage
    files = sorted((BG / "mate" / "nature").glob("*.jpg")) + sorted(BG.glob("*.png")) + \
        sorted(BG.glob("*.jpg")) + sorted((BG / "gnome").glob("*.webp"))
    sk = Path(skimage.__file__).parent / "data"
    files += [sk / n for n in ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png",
                               "rocket.jpg", "color.png", "retina.jpg", "ihc.png", "hubble_deep_field.jpg")]
    files.append(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    out = []
    for f in files:
        if (f.name in VALIDATION) != (split == "val"):
            continue
        a = _read(f)
        if a is None or a.ndim != 3 or a.dtype != np.uint8:
            continue
        out.append(_shrink(a, f.suffix.lower() in (".jpg", ".jpeg", ".webp")))
    return out


TEXTURE_PACKS = (Path("/usr/share/games/ufoai/base/0textures.pk3"),
                 Path("/usr/share/games/nexuiz/data/textures.pk3"))
# maps that are not pictures (normals, speculars, glows, team colours...)
NOT_PICTURES = re.compile(r"(_nm|_sm|_gm|_bump|_norm|_gloss|_glow|_pants|_shirt|_reflect|_spec|_lm|_h|_alpha"
                          r"|_mask)\.", re.I)


def texture_sources(split: str, count: int = 75) -> list:
    """Float32 B, G, R photographic textures from the games' packs: lossless ones (PNG,
    TGA), opaque, at least 256 on a side, not flat, with at least 2000 colours in a
    seventh of their pixels (game art with few colours is not photographic); `count`
    of them for training and 24 others for validation, drawn with a fixed seed."""
    import io
    import zipfile

    from PIL import Image
    found = []
    for pack in TEXTURE_PACKS:
        if not pack.exists():
            raise SystemExit(f"{pack} is missing: apt-get install ufoai-textures nexuiz-textures")
        with zipfile.ZipFile(pack) as z:
            for n in sorted(z.namelist()):
                if not n.lower().endswith((".png", ".tga")) or NOT_PICTURES.search(n):
                    continue
                try:
                    with Image.open(io.BytesIO(z.read(n))) as im:
                        if im.mode not in ("RGB", "RGBA"):
                            continue
                        a = np.asarray(im)
                except (OSError, ValueError):
                    continue
                if a.shape[2] == 4:
                    if a[:, :, 3].min() < 250:
                        continue
                    a = a[:, :, :3]
                if min(a.shape[:2]) < 256 or a.std() < 12 \
                        or len(np.unique(a.reshape(-1, 3)[::7], axis=0)) < 2000:
                    continue
                found.append(a[:, :, ::-1])                       # RGB -> BGR, as cv2 reads
    order = np.random.default_rng(6).permutation(len(found))
    pick = order[count:count + 24] if split == "val" else order[:count]
    return [_shrink(found[i], False) for i in pick]


def to8(a):
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def synth16(a: np.ndarray, rng) -> np.ndarray:
    """16-bit container image from a float 8-bit one: 9..16 bits used, linear light
    two times in three, random exposure, sensor-like noise."""
    x = a.astype(np.float64) / 255.0
    if rng.random() < 2 / 3:
        x = x ** 2.2
    used = int(rng.integers(9, 17))
    v = x / max(x.max(), 1e-3) * rng.uniform(0.5, 1.0) * ((1 << used) - 1)
    sigma = rng.uniform(0.0, 1.5) * max(1.0, 2.0 ** (used - 12))
    v = v + rng.normal(0, 1, v.shape) * np.sqrt(sigma ** 2 + 0.02 * sigma * v)
    return np.clip(np.round(v), 0, 65535).astype(np.uint16)


def terrain(rng, size=256) -> np.ndarray:
    """A synthetic elevation map: summed octaves of smoothed noise, 12-16 bits."""
    z = np.zeros((size, size))
    for octave in range(7):
        n = rng.normal(0, 1, (size, size))
        s = size / 2 ** (octave + 1)
        z += cv2.GaussianBlur(n, (0, 0), max(s / 3, 0.6)) * s ** rng.uniform(0.8, 1.2)
    z = (z - z.min()) / max(np.ptp(z), 1e-9)
    return np.round(z * ((1 << int(rng.integers(12, 17))) - 1)).astype(np.uint16)


def scene(rng, size=256) -> np.ndarray:
    """A synthetic piecewise-smooth image, as range and depth sensors, CT of parts and
    rendered height fields give: a sloped or curved background and 3-12 occluding
    objects (planes and caps over ellipses, boxes and polygons), the nearest on top;
    then 10-16 bits, sometimes soft edges, sensor noise and holes of value 0."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    def surface():
        a, b, c = rng.uniform(0.1, 0.9), rng.normal(0, 0.3), rng.normal(0, 0.3)
        z = a + b * (xx - 0.5) + c * (yy - 0.5)
        if rng.random() < 0.4:          # a cap or a saddle
            cx, cy, k = rng.uniform(0, 1), rng.uniform(0, 1), rng.normal(0, 0.8)
            z += k * ((xx - cx) ** 2 + rng.choice([1, -1]) * (yy - cy) ** 2)
        return z
    z = surface()
    for _ in range(int(rng.integers(3, 13))):
        cx, cy = rng.uniform(0, 1, 2)
        rx, ry = rng.uniform(0.03, 0.35, 2)
        t = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(t) + (yy - cy) * np.sin(t)
        v = -(xx - cx) * np.sin(t) + (yy - cy) * np.cos(t)
        kind = rng.integers(3)
        if kind == 0:
            mask = (u / rx) ** 2 + (v / ry) ** 2 < 1
        elif kind == 1:
            mask = (np.abs(u) < rx) & (np.abs(v) < ry)
        else:
            ang = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 8))))
            pts = np.stack([cx + rx * np.cos(ang), cy + ry * np.sin(ang)], 1) * size
            m = np.zeros((size, size), np.uint8)
            cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
            mask = m > 0
        obj = surface()
        if rng.random() < 0.5:          # a rounded object: nearer at its centre
            obj += rng.uniform(0, 0.2) * np.sqrt(np.clip(1 - (u / rx) ** 2 - (v / ry) ** 2, 0, 1))
        z = np.where(mask & (obj > z), obj, z) if rng.random() < 0.7 else np.where(mask, obj, z)
    if rng.random() < 0.5:
        z = cv2.GaussianBlur(z, (0, 0), rng.uniform(0.5, 1.5))
    used = int(rng.integers(10, 17))
    z = (z - z.min()) / max(np.ptp(z), 1e-9) * rng.uniform(0.6, 1.0) * ((1 << used) - 1)
    if rng.random() < 0.5:
        z += rng.normal(0, rng.uniform(0.3, 3.0) * max(1.0, 2.0 ** (used - 12)), z.shape)
    out = np.clip(np.round(z), 0, 65535)
    if rng.random() < 0.4:              # missing measurements
        edges = cv2.Canny((out / max(out.max(), 1) * 255).astype(np.uint8), 20, 60) > 0
        holes = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        out[holes & (rng.random(out.shape) < rng.uniform(0.2, 0.9))] = 0
    return out.astype(np.uint16)


def with_alpha(a: np.ndarray, rng) -> np.ndarray:
    """An 8-bit image (H x W or H x W x 3, B, G, R) with an alpha channel as exported
    cutouts, icons and overlays have one: an object on a transparent ground with
    anti-aliased (sometimes soft) edges, a drop shadow, a rounded icon shape or a
    gradient fade; the hidden colour of transparent pixels kept or zeroed, partly
    transparent colour sometimes premultiplied."""
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    kind = int(rng.integers(4))
    if kind in (0, 1):                  # a blob-shaped cutout
        noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)), (0, 0), max(h, w) / rng.uniform(4, 10))
        r = np.hypot((yy - h / 2) / h, (xx - w / 2) / w)
        field = noise / max(noise.std(), 1e-9) * 0.15 + 0.45 - r
        edge = rng.choice([1.0, 1.0, 2.0, rng.uniform(3, 12)])      # pixels of the anti-aliased edge
        alpha = np.clip(field * min(h, w) / edge + 0.5, 0, 1)
    elif kind == 2:                     # an icon: a rounded rectangle, anti-aliased
        m = rng.uniform(0.05, 0.2) * min(h, w)
        rad = rng.uniform(0.05, 0.25) * min(h, w)
        dx = np.maximum(np.maximum(m + rad - xx, xx - (w - 1 - m - rad)), 0)
        dy = np.maximum(np.maximum(m + rad - yy, yy - (h - 1 - m - rad)), 0)
        alpha = np.clip(rad - np.hypot(dx, dy) + 0.5, 0, 1)
    else:                               # a fade: linear or radial
        t = rng.uniform(0, np.pi)
        g = ((xx - w / 2) * np.cos(t) + (yy - h / 2) * np.sin(t)) / max(h, w) + 0.5
        if rng.random() < 0.5:
            g = 1 - np.hypot((yy - h / 2) / h, (xx - w / 2) / w) * 2
        alpha = np.clip(g * rng.uniform(1, 3), 0, 1)
    colour = a.astype(np.float64) if a.ndim == 3 else a.astype(np.float64)[:, :, None]
    if kind == 1:                       # a drop shadow under the object
        sh = np.roll(alpha, (int(rng.integers(2, 8)), int(rng.integers(2, 8))), (0, 1))
        sh = cv2.GaussianBlur(sh, (0, 0), rng.uniform(1, 4)) * rng.uniform(0.3, 0.7)
        out_a = alpha + sh * (1 - alpha)
        colour = colour * (alpha / np.maximum(out_a, 1e-9))[:, :, None]
        alpha = out_a
    a8 = np.round(alpha * 255)
    if rng.random() < 0.5:              # transparent pixels' colour zeroed, as many exporters do
        colour[a8 == 0] = 0
    if rng.random() < 0.3:              # premultiplied colour
        colour = colour * (a8 / 255)[:, :, None]
    return np.concatenate([to8(colour), a8.astype(np.uint8)[:, :, None]], axis=2)


def medical(split: str) -> list:
    """16-bit gray slices from pydicom's bundled test data. (nibabel's MRI volumes
    are left out on purpose: they are the domain of the README's own-prior example.)"""
    import pydicom
    from pydicom.data import get_testdata_files
    out = []
    for f in sorted(get_testdata_files("*.dcm")):
        if (Path(f).name in VAL_DICOM) != (split == "val"):
            continue
        try:
            ds = pydicom.dcmread(f)
            a = ds.pixel_array
        except Exception:
            continue
        if a.ndim == 3 and a.shape[0] < 8:
            a = a[0]
        if a.ndim != 2 or a.dtype.kind not in "iu" or min(a.shape) < 32:
            continue
        a = a.astype(np.int64)
        a -= min(0, a.min())
        if a.max() < 256 or a.max() > 65535:
            continue
        out.append(a.astype(np.uint16))
    return out


def crops(images: list, count: int, size: int, rng) -> list:
    out = []
    for i in range(count):
        a = images[i % len(images)]
        y = rng.integers(0, max(1, a.shape[0] - size + 1))
        x = rng.integers(0, max(1, a.shape[1] - size + 1))
        c = a[y:y + size, x:x + size]
        out.append(np.ascontiguousarray(c[:, ::-1] if rng.random() < 0.5 else c))
    return out


def image_set(name: str, split: str, rng, src=None) -> list:
    val = split == "val"
    if name in ("mnist", "fashion"):
        from inrcodec.bench.datasets import read_idx
        path = (DATA / "mnist" / "train-images-idx3-ubyte.gz" if name == "mnist" else
                Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
        imgs = read_idx(path)
        # the last 1000 training images are validation, the others training
        return list(imgs[-200:]) if val else [imgs[i] for i in rng.choice(len(imgs) - 1000, 3000, replace=False)]
    src = photo_sources(split) if src is None else src
    if name == "photo-6" and not val:
        src = photo_sources(split) + texture_sources(split)
        src = src + [_shrink(a, False) for a in (_read(f) for f in sorted((BG / "sway").glob("*.png")))
                     if a is not None and a.ndim == 3]
        return image_set("photo", split, rng, src)
    if name in ("photo-2", "photo-3", "photo-4", "photo-5", "photo-64", "photo-6", "photo-7"):
        # photo's sources, with the lomiri wallpapers (Debian lomiri-wallpapers*, installed
        # into the same folder) and sway's backgrounds: 75 sources instead of 42
        if not val:
            src = src + [_shrink(a, False) for a in (_read(f) for f in sorted((BG / "sway").glob("*.png")))
                         if a is not None and a.ndim == 3]
        return image_set("photo", split, rng, src)
    if name == "photo":
        imgs = [to8(a) for a in src]
        return crops(imgs, 24, 128, rng) if val else imgs + crops(imgs, 60, 128, rng)
    if name == "photo-gray":
        imgs = [to8(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)) for a in src]
        if not val:
            import skimage
            sk = Path(skimage.__file__).parent / "data"
            imgs += [_read(sk / n) for n in ("camera.png", "moon.png", "brick.png", "grass.png",
                                               "gravel.png", "page.png", "text.png")]
        return crops(imgs, 24, 128, rng) if val else imgs + crops(imgs, 60, 128, rng)
    if name in ("photo-rgba", "photo-ga"):
        imgs = [to8(a if name == "photo-rgba" else cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)) for a in src]
        cut = crops(imgs, 24, 128, rng) if val else imgs + crops(imgs, 60, 128, rng)
        return [with_alpha(c, rng) for c in cut]
    if name in ("photo16-2", "photo16-3", "photo16-4") and not val:
        src = src + [_shrink(a, False) for a in (_read(f) for f in sorted((BG / "sway").glob("*.png")))
                     if a is not None and a.ndim == 3]
        src = src + src                   # each source synthesised twice (exposure, depth, noise)
    if name in ("photo16", "photo16-2", "photo16-3", "photo16-4"):
        real = [] if val else [_read(DATA / "img16" / "weld_16bit.png")]
        synth = [synth16(a, rng) for a in src]
        return crops(real + synth, 24, 64, rng) if val else real + synth + crops(real + synth, 60, 64, rng)
    if name == "gray16":
        med = medical(split)
        gray = [synth16(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), rng) for a in src[: (3 if val else None)]]
        ter = [terrain(rng, 128 if val else 256) for _ in range(4 if val else 16)]
        return med + gray + ter
    if name == "gray16-2":
        sc = [scene(rng, 128 if val else 256) for _ in range(6 if val else 24)]
        return image_set("gray16", split, rng) + sc
    if name == "gray16-3":
        if val:                                          # gray16-2's validation images
            return image_set("gray16-2", split, rng)
        # gray16-2's images, and as many again: the photos synthesised once more, more terrain
        # and scenes
        more = [synth16(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), rng) for a in src]
        more += [terrain(rng, 256) for _ in range(16)] + [scene(rng, 256) for _ in range(24)]
        return image_set("gray16-2", split, rng) + more
    raise SystemExit(f"unknown prior {name}")


def val_bpp(images: list, prior) -> float:
    total = 0.0
    for img in images:
        total += 8 * len(inrcodec.encode(img, prior=prior, effort=0)) / (img.shape[0] * img.shape[1])
    return total / len(images)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=list(SETTINGS))
    for k in ("hidden", "layers", "steps", "batch", "max_rows"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None)
    ap.add_argument("--activation", choices=["relu", "sine", "relu16"], default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    opts = {**DEFAULTS, **SETTINGS[args.name]}
    for k in list(opts):
        if getattr(args, k, None) is not None:
            opts[k] = getattr(args, k)
    t0 = time.time()
    train = image_set(args.name, "train", np.random.default_rng(0))
    val = image_set(args.name, "val", np.random.default_rng(1))
    print(f"{args.name}: {len(train)} training images, {len(val)} validation images "
          f"({time.time() - t0:.0f} s); {opts}", flush=True)
    data = train_prior(train, name=args.name, threads=args.threads, progress=True,
                       meta={"command": " ".join(["scripts/train_prior.py"] + sys.argv[1:])}, **opts)
    new = val_bpp(val, data)
    line = f"validation: new {new:.4f} bpp"
    if args.name in priors.BUILTIN and (priors.PRIOR_DIR / f"{args.name}.linrp").exists():
        line += f", installed {val_bpp(val, args.name):.4f} bpp"
    out = args.out or priors.PRIOR_DIR / f"{args.name}.linrp"
    out.write_bytes(data)
    p = priors.unpack(data)
    print(f"{line}\nwrote {out} ({len(data)} bytes, sha256 {p.digest.hex()}) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
