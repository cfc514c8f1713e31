"""Write the format-9 conformance vectors in formats/conformance/ (see its README.md).

    python formats/make_conformance.py [--force | --readme]

--readme rewrites only conformance/README.md, reference/builtin_priors.tsv and the built-in
priors table of linr.md (section 12), from inrcodec.priors; every run rewrites the last two.

valid/*.linr + MANIFEST.tsv (name, SHA-256 of the sample bytes of linr.md section 3, shape,
dtype, what it covers); broken/*.linr, named by their defect, each refused by every
conforming decoder; priors/*.linrp, an external prior some vectors need (decoders are given
this folder). Released vectors are never overwritten without --force.

The broken vectors are version 5 files (as released with linr 0.5: every rule they break
is the same in versions 6 to 8), plus a few version 6 ones for what version 6 changes
(named v6-*) and version 7 ones for the relu16 network (v7-*).
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "reference"))

import inrcodec  # noqa: E402
from inrcodec import container, priors  # noqa: E402
from inrcodec.model import NetConfig, seeded_init  # noqa: E402
from inrcodec.groups import pack_size  # noqa: E402
from inrcodec.wire import Header  # noqa: E402
import rans  # noqa: E402  (formats/reference/rans.py: crafts rANS streams)

OUT = HERE / "conformance"
SPEC = HERE / "linr.md"
BUILTIN_TSV = HERE / "reference" / "builtin_priors.tsv"
TABLE_BEGIN = "<!-- BEGIN BUILTIN PRIORS"
TABLE_END = "<!-- END BUILTIN PRIORS -->"
SIG = b"\x89LNR\r\n"


def sample_bytes(img: np.ndarray) -> bytes:
    """linr.md section 3: C order, 1 or 2 bytes a sample, little endian (two's complement if signed)."""
    return np.ascontiguousarray(img).astype(img.dtype.newbyteorder("<")).tobytes()


def external_prior() -> bytes:
    cfg = NetConfig(channels=1, hidden=8, layers=1, activation="relu")
    w = seeded_init(cfg, 7)
    rng = np.random.default_rng(7)
    w = [t + rng.integers(-300, 300, t.shape) for t in w]
    return priors.pack("conformance-test", cfg, w, {"purpose": "linr conformance vectors"})


def valid_vectors(prior_path: Path) -> list:
    """[(name, image, encode kwargs, covers)]"""
    rng = np.random.default_rng(2025)
    y, x = np.mgrid[:32, :32]
    smooth = ((x * 7 + y * 3) % 256).astype(np.uint8)
    rgb = np.stack([(x * 8) % 256, (y * 8) % 256, ((x + y) * 4) % 256], 2).astype(np.uint8)
    out = [
        ("gray1-2d.linr", (rng.random((16, 16)) < 0.3).astype(np.uint8), {},
         "bit depth 1, 2-D uint8, seeded relu (default network)"),
        ("gray2-hw1.linr", rng.integers(0, 4, (12, 10, 1), dtype=np.uint8), {},
         "bit depth 2, H x W x 1 (plain2d off)"),
        ("gray5-2d.linr", (smooth[:20, :24] >> 3), {}, "bit depth 5"),
        ("gray8-32x32.linr", smooth, {}, "bit depth 8, 32x32 (5 levels, all pass kinds)"),
        ("gray12-uint16.linr", (rng.integers(0, 4096, (9, 11)) | 2048).astype(np.uint16), {},
         "bit depth 12 in uint16, constant top plane"),
        ("gray16-noise.linr", rng.integers(0, 65536, (8, 5), dtype=np.uint16), {},
         "bit depth 16, noise"),
        ("uint16-small-values.linr", rng.integers(0, 200, (6, 6), dtype=np.uint16), {},
         "uint16 with bit depth 8 (wide, n <= 8)"),
        ("two-channel.linr", rng.integers(0, 256, (7, 9, 2), dtype=np.uint8), {"prior": "none"},
         "2 channels, channel mixing, seeded network"),
        ("bgr-given.linr", rgb[:16, :20], {"prior": "photo"},           # auto chose photo in linr 0.5
         "3 channels, colour order given"),
        ("rgb-order.linr", rgb[:16, :20], {"color_order": "rgb", "prior": "photo16"},
         "3 channels, colour order rgb"),
        ("rgba-rgb-order.linr", np.concatenate([rgb[:12, :12], smooth[:12, :12, None]], 2),
         {"color_order": "rgb", "prior": "none"}, "4 channels, colour order rgb, seeded network"),
        ("rgba-noise.linr", rng.integers(0, 256, (6, 7, 4), dtype=np.uint8), {"prior": "none"},
         "4 channels, noise, seeded network"),
        ("sine-seeded.linr", smooth[:13, :17], {"prior": "none", "activation": "sine",
                                                "hidden": 12, "layers": 3},
         "sine activation, 3 hidden layers, seeded init"),
        ("relu-seed-4294967295.linr", smooth[:10, :10], {"prior": "none", "activation": "relu",
                                                         "hidden": 5, "layers": 1,
                                                         "seed": 2 ** 32 - 1},
         "relu, 1 hidden layer of 5, largest seed"),
        ("constant-rgb.linr", np.full((9, 13, 3), (10, 200, 30), np.uint8), {},
         "constant image: every plane flagged constant, no pixel decisions"),
        ("constant-planes.linr", (smooth[:16, :16] & 0xF0) | 0x05, {},
         "planes 0-3 constant (values 0101), others coded"),
        ("all-zero.linr", np.zeros((5, 7), np.uint8), {}, "all-zero image (bit depth 1)"),
        ("padded.linr", _dot(512), {"prior": "photo-gray"},
         "512x512 image that codes to almost nothing: padded with a p chunk to the 1 byte per 1024 pixels rule"),
        ("gray-1x1.linr", np.array([[77]], np.uint8), {}, "1x1 image (grid pass only)"),
        ("row-1x32.linr", smooth[:1], {}, "1 x 32 row: empty centre passes skipped"),
        ("column-29x1.linr", smooth[:29, :1], {}, "29 x 1 column, mirroring"),
        ("metadata.linr", smooth[:8, :8], {"metadata": {
            "exif": b"II*\0\x08\0\0\0\0\0", "xmp": "<x:xmpmeta/>".encode(),
            "text": [("Comment", "linr conformance"), ("Author", "v\u00e9")]}},
         "ancillary metadata chunks e, x, t after D"),
        ("external-prior.linr", smooth[:12, :12], {"prior": str(prior_path)},
         "prior from a .linrp file (conformance/priors/), named by its SHA-256"),
    ]
    dither = np.array([[20, 40, 200], [250, 10, 90], [0, 0, 0], [255, 255, 255], [90, 160, 30],
                       [30, 30, 140], [200, 200, 20], [128, 64, 0]], np.uint8)
    out += [
        ("palette-rgb.linr", dither[rng.integers(0, 8, (16, 20))], {"palette": "always", "color_order": "rgb"},
         "P chunk: 8 colours (3-bit indices), colour order rgb"),
        ("palette-four-gray.linr", (np.array([3, 90, 91, 250], np.uint8)[(smooth[:12, :14] >> 5)]),
         {"palette": "always"}, "P chunk: 4 gray levels, 2-D (2-bit indices)"),
        ("palette-gray16-hw1.linr", (rng.integers(0, 5, (10, 9, 1)) * 16000 + 7).astype(np.uint16),
         {"palette": "always"}, "P chunk: 5 levels of a uint16 H x W x 1 image"),
        ("palette-rgba.linr", np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 255, 0, 128]],
                                       np.uint8)[rng.integers(0, 3, (11, 13))],
         {"palette": "always"}, "P chunk: 3 colours of 4 channels"),
        ("palette-256.linr", np.stack([np.arange(256).reshape(16, 16), 255 - np.arange(256).reshape(16, 16),
                                       np.full((16, 16), 9)], 2).astype(np.uint8),
         {"palette": "always"}, "P chunk: 256 colours (8-bit indices, the most)"),
        ("palette-two-colours.linr", np.where(rng.random((8, 8)) < 0.5, 17, 230).astype(np.uint8),
         {"palette": "always", "prior": "none"}, "P chunk: 2 levels (1-bit indices), seeded network"),
    ]
    for name in priors.BUILTIN:
        p = priors.builtin(name)
        c = p.cfg.channels
        img = rgb[:16, :16] if c == 3 else (smooth[:16, :16] if c == 1 else
                                            rng.integers(0, 256, (16, 16, c), dtype=np.uint8))
        if c == 1 and "16" in name:
            img = smooth[:16, :16].astype(np.uint16) * 257
        out.append((f"builtin-prior-{name}.linr", img, {"prior": name},
                    f"built-in prior {name} ({p.digest.hex()[:16]})"))
    # format 5: groups (linr.md section 9) and context mixing (section 8.2)
    y2, x2 = np.mgrid[:45, :70]
    wide_rgb = np.stack([(x2 * 3) % 256, (y2 * 5) % 256, ((x2 + y2) * 2) % 256], 2).astype(np.uint8)
    half = np.full((40, 64), 77, np.uint8)
    half[:, 32:] = smooth[:, :32][np.arange(40) % 32]
    y3, x3 = np.mgrid[:33, :33]
    rgba33 = np.stack([(x3 * 8) % 256, (y3 * 8) % 256, ((x3 + y3) * 4) % 256,
                       255 - (x3 * y3) % 256], 2).astype(np.uint8)
    sparse = np.array([0, 3, 1000, 1001, 40000, 65535], np.uint16)
    out += [
        ("groups-70x45-rgb.linr", wide_rgb, {"group_size": 32},
         "6 groups of 32 (group byte 5): groups cut short at the right (6 wide) and bottom (13 high) edges"),
        ("groups-constant-and-coded.linr", half, {"group_size": 32},
         "4 groups: the left two have every plane constant (no pixel decisions), the right two are coded"),
        ("groups-all-constant.linr", np.full((9, 40), 6, np.uint8), {"group_size": 32},
         "2 groups, both constant: streams of flags and terminator only"),
        ("groups-rgba-33x33.linr", rgba33, {"group_size": 32, "prior": "none"},
         "RGBA in 4 groups of 32x32, 32x1, 1x32 and 1x1 (a group of the grid pass only), seeded network"),
        ("group-byte-one-group.linr", smooth, {"group_size": 32},
         "group byte present (5) on an image of exactly one group: D has no index"),
        ("groups-units-64x32-rgb.linr", wide_rgb, {"group_size": (64, 32)},
         "version 10 group units 2 x 1 (g = 0): 4 groups of 64x32, cut short at the right (6 wide) and "
         "bottom (13 high) edges"),
        ("groups-units-32x96.linr", half, {"group_size": (32, 96)},
         "version 10 group units 1 x 3 (g = 0), taller than the image: 2 groups of 32x40, the left "
         "one constant"),
        ("gray16-sparse.linr", sparse[(smooth[:20, :24] >> 5) % 6], {},
         "16-bit gray of 6 values with gaps (0, 3, 1000, 1001, 40000, 65535): mixing's prefix counters"),
        ("signed-int16.linr", (smooth[:20, :24].astype(np.int16) * 40 - 3000), {},
         "int16 samples (CT-like, negative and positive): signed bit, offset varint, two's complement hash"),
        ("signed-int8-rgb.linr", (wide_rgb[:12, :14].astype(np.int16) - 128).astype(np.int8), {},
         "int8 RGB samples from -128: offset 128 (the largest for int8)"),
        ("signed-int16-positive.linr", (smooth[:10, :11].astype(np.int16) + 7), {},
         "int16 samples all >= 0: signed with offset 0"),
    ]
    # value tables (section 3.2, version 6): few values of each channel, spread with gaps, and
    # more colours than a palette holds
    vrng = np.random.default_rng(2026)
    yy, xx = np.mgrid[:20, :24]
    levels = (xx * 13 + yy * 7) % 300
    spread = np.sort(vrng.choice(65536, 300, replace=False))
    gray16 = spread[levels].astype(np.uint16)
    other = np.sort(vrng.choice(4096, 40, replace=False))
    rgb16 = np.stack([gray16, spread[::-1][(xx * 5 + yy * 11) % 300].astype(np.uint16),
                      (other[(xx + yy * 3) % 40] + 100).astype(np.uint16)], 2)
    two = np.stack([gray16, np.full(levels.shape, 9, np.uint16)], 2)
    out += [
        ("values-gray16.linr", gray16, {"palette": "auto"},
         "V chunk: 300 values of 16 bits, 2-D (9-bit indices)"),
        ("values-rgb16-rgb-order.linr", rgb16, {"palette": "auto", "color_order": "rgb"},
         "V chunk: tables of 300, 300 and 40 values, colour order rgb (tables in model order)"),
        ("values-two-channel-constant.linr", two, {"palette": "auto"},
         "V chunk: 2 channels, the second of one value (K = 1)"),
    ]
    # value tables on a line (section 3.2, version 9): 64 levels spread over 16 bits, rounded
    # half up (kind 32); the same with +-1 residuals (kinds 16..31) beside a channel of gaps
    line64 = (np.arange(64) * 65535 + 31) // 63
    jitter = line64 + np.where(np.arange(64) % 5 == 2, 1, 0) - np.where(np.arange(64) % 7 == 3, 1, 0)
    jitter[0], jitter[-1] = line64[0], line64[-1]
    lv = (xx * 13 + yy * 7) % 64
    out += [
        ("values-line-exact.linr", line64[lv].astype(np.uint16), {"palette": "auto"},
         "V chunk, version 9: 64 values on the line from 0 to 65535 (kind 32, no residual bits)"),
        ("values-line-rgb.linr", np.stack([jitter[lv], spread[(xx * 5 + yy * 11) % 300] >> 4,
                                           (line64[(xx + 2 * yy) % 64] >> 4) + 7], 2).astype(np.uint16),
         {"palette": "auto", "color_order": "rgb"},
         "V chunk, version 9: a line with residuals -1..1 (kind 16 + r), gaps (kind 0..15) and a "
         "line of 12-bit values, colour order rgb"),
    ]
    # the relu16 network (version 7, section 6)
    out += [
        ("relu16-seeded.linr", rgb[:20, :24], {"prior": "none", "activation": "relu16", "hidden": 24,
                                               "layers": 2},
         "relu16 network (model byte bit 6): 16-bit grid, seeded weights floored onto it"),
        ("relu16-one-layer-gray.linr", smooth[:17, :19], {"prior": "none", "activation": "relu16",
                                                          "hidden": 7, "layers": 1},
         "relu16, 1 hidden layer of 7 (odd widths), gray"),
    ]
    # version 8's weight sets and SSE rows (section 8.3): activity from flat to noisy, so every
    # weight set and many SSE rows and knots are read and learnt
    yy, xx = np.mgrid[:40, :48]
    ramp = (xx * 5 + yy * 2) % 256
    noisy = np.where(xx >= 24, (ramp + rng.integers(-60, 61, ramp.shape)) % 256, ramp // 16 * 16)
    out += [
        ("sse-activity-rgb.linr", np.stack([noisy, (noisy + 40) % 256, ramp], 2).astype(np.uint8),
         {"prior": "photo-7"}, "activity from flat to noise: every weight set and many SSE rows (section 8.3)"),
    ]
    # version 9's match counter (section 8.4): pixels repeated 2 x 2 (a scaled-up image), so the
    # nearest neighbours often hold the value and every match context occurs
    small = np.stack([(xx[:20, :24] * 9 + yy[:20, :24] * 4) % 256, rng.integers(0, 256, (20, 24)),
                      (ramp[:20, :24] + rng.integers(-5, 6, (20, 24))) % 256], 2).astype(np.uint8)
    # version 9's gray copies (section 3.3): R = G = B, coded as gray (+ alpha), alone, after a
    # palette and after value tables
    gray = ((xx[:20, :24] * 7 + yy[:20, :24] * 3) % 256).astype(np.uint8)
    few = (gray // 64 * 85).astype(np.uint8)
    out += [
        ("gray-copies-rgb.linr", np.stack([gray] * 3, 2), {}, "G chunk (3): a gray image stored as RGB"),
        ("gray-copies-rgba-palette.linr", np.stack([few] * 3 + [255 - few // 85 * 80], 2), {"palette": "auto"},
         "G chunk (4) after a P chunk: gray + alpha of 4 colours stored as RGBA"),
        ("gray-copies-rgb16-values.linr", np.stack([(gray // 8).astype(np.uint16) * 2056] * 3, 2), {"palette": "auto"},
         "G chunk (3) after a V chunk: 32 gray levels 2056 apart stored as 16-bit RGB (a table on a line)"),
    ]
    out += [
        ("match-repeated-pixels.linr", np.repeat(np.repeat(small, 2, 0), 2, 1), {"prior": "photo-7"},
         "pixels repeated 2 x 2: the nearest neighbours repeat the value (the match counter, section 8.4)"),
    ]
    y, x = np.mgrid[:64, :64]
    wave = (np.sin(x / 5) + np.cos(y / 7)) * 60 + 128
    noisy = np.clip(wave[..., None] + np.random.default_rng(11).normal(0, 8, (64, 64, 3)) * [1, 0.5, 0.2],
                    0, 255).astype(np.uint8)
    out += [
        ("two-mixers-64-rgb.linr", noisy, {"prior": "photo-7"},
         "enough decisions (64x64 RGB) for the final mixer to weigh the second mixer in (section 8.5)"),
    ]
    # version 12's filters (section 3.4): ramps whose rows wrap, a little noise so that no
    # residual image is constant
    jit = rng.integers(0, 2, (20, 24))
    wrap = ((yy[:20, :24] * 24 + xx[:20, :24]) * 3 % 256 + jit) % 256
    ramp12 = np.stack([(xx[:16, :20] * 37 + yy[:16, :20] * 101 + k * 500) % 4096 for k in range(3)], 2)
    bands = (xx[:12, :16] // 4 + yy[:12, :16]) % 4
    out += [
        ("filter-left-gray8.linr", wrap.astype(np.uint8), {"filter": "left"},
         "F chunk: left, m = 8, a gray ramp whose rows wrap (2-D)"),
        ("filter-up-palette.linr", np.stack([bands * 60, 255 - bands * 60, bands * 20], 2).astype(np.uint8),
         {"filter": "up", "palette": "always"}, "F chunk: up, after a P chunk (the residuals' palette)"),
        ("filter-gradient-rgb16.linr", (ramp12 + rng.integers(0, 2, ramp12.shape)).astype(np.uint16) % 4096,
         {"filter": "gradient", "color_order": "rgb"},
         "F chunk: gradient, m = 12, 16-bit RGB ramps wrapping modulo 2^12, colour order rgb"),
        ("filter-gradient-values.linr", ((wrap + jit) % 400 * 163).astype(np.uint16)[:, :, None],
         {"filter": "gradient", "palette": "auto"},
         "F chunk: gradient, m = 16, after a V chunk (the residuals' value table), H x W x 1"),
        ("filter-gray-copies.linr", np.stack([wrap.astype(np.uint8)] * 3 + [jit.astype(np.uint8) * 255], 2),
         {"filter": "gradient"}, "F chunk: gradient, then G (4): gray + alpha stored as RGBA"),
    ]
    return out


def relu16_fitted_delta():
    """A relu16 image whose best encoding keeps a fitted delta (W chunk): base + delta on the grid."""
    y, x = np.mgrid[:24, :24]
    img = np.stack([(x * 10) % 256, (y * 10) % 256, ((x + y) * 5) % 256], 2).astype(np.uint8)
    for effort in (2, 1, 3, 5):
        data = inrcodec.encode(img, effort=effort, prior="none", activation="relu16", palette="never",
                               filter="never")
        if inrcodec.info(data)["delta_tensors"] > 0:
            return ("relu16-fitted-delta.linr", img, data,
                    f"relu16 with a fitted delta ({inrcodec.info(data)['delta_tensors']} tensors, "
                    f"effort {effort}, prior none): steps of 2^-8 at the finest")
    raise SystemExit("make_conformance: no relu16 encoding kept a delta")


def fitted_delta(name="fitted-delta.linr", shape=(24, 24), group_size=None, what="", step=10):
    """A small image whose best encoding keeps a fitted delta (W chunk): ramps of `step`
    (format 8's SSE codes the groups' ramps of 10 well enough that no delta pays there)."""
    y, x = np.mgrid[:shape[0], :shape[1]]
    img = np.stack([(x * step) % 256, (y * step) % 256, ((x + y) * (step // 2)) % 256], 2).astype(np.uint8)
    for effort in (2, 1, 3, 5):
        for prior in ("none", "auto"):
            data = inrcodec.encode(img, effort=effort, prior=prior, palette="never",
                                   group_size=group_size, filter="never")
            if inrcodec.info(data)["delta_tensors"] > 0:
                return (name, img, data,
                        f"W chunk: fitted delta ({inrcodec.info(data)['delta_tensors']} tensors, "
                        f"effort {effort}, prior {prior}){what}")
    raise SystemExit(f"make_conformance: no encoding of {name}'s image kept a delta")


# -- broken files -----------------------------------------------------------------------

# the version of the broken vectors (see the docstring), and of the chunks they are made of
BROKEN_VERSION = 5


def chunk(t: bytes, d: bytes, version: int = BROKEN_VERSION) -> bytes:
    return container.chunk_bytes(t, d, version)


def linr(*chunks: bytes, version: int = BROKEN_VERSION) -> bytes:
    return SIG + bytes([version]) + b"".join(chunks)


def as_version(data: bytes, version: int) -> bytes:
    """The same chunks framed as a file of `version` (5 and 6 differ only in the CRCs)."""
    return container.write(container.read(data).in_order, version)


def vint(v: int) -> bytes:
    return container.varint_bytes(v)


def _dot(side: int) -> np.ndarray:
    a = np.zeros((side, side), np.uint8)
    a[0, 0] = 1
    return a


def header_raw(width=8, height=8, fmt=(7 << 2), arch=1 | (1 << 1), hidden=vint(32), kind=0,
               seed=vint(0), prior=b"", pixels=b"\0\0\0\0", offset=b"", group=b"", extra=b"") -> bytes:
    """H data: arch is the model byte (activation, layers-1, colour order), kind the prior
    byte (0 seeded: seed follows; 1..127 built-in number; 255: the 8-byte id `prior` follows),
    offset a signed image's offset varint (arch bit 5), group the version-5 group byte
    (b"": absent, the default 2^10)."""
    w = width if isinstance(width, bytes) else vint(width)
    h = height if isinstance(height, bytes) else vint(height)
    return (w + h + bytes([fmt, arch]) + hidden + bytes([kind])
            + (seed if kind == 0 else prior if kind == 255 else b"") + pixels + offset + group + extra)


def header_fields(hd: Header) -> dict:
    """header_raw keywords that rebuild a parsed header exactly."""
    im, cfg = hd.image, hd.cfg
    kind = 0 if hd.prior == bytes(8) else (hd.builtin or 255)
    return dict(width=im.width, height=im.height,
                fmt=(im.channels - 1) | (im.bits - 1) << 2 | im.wide << 6 | im.plain2d << 7,
                arch=(cfg.activation != "sine") | (cfg.layers - 1) << 1
                | (im.order == "rgb") << 4 | im.signed << 5 | (cfg.activation == "relu16") << 6,
                hidden=vint(cfg.hidden), kind=kind, seed=vint(hd.seed),
                prior=hd.prior if kind == 255 else b"", pixels=hd.pixels,
                offset=vint(im.offset) if im.signed else b"",
                group=pack_size(hd.group_size) if hd.group_size else b"")


def unpack(h: bytes) -> Header:
    """A version-5 header."""
    return Header.unpack(h, container.VERSION)


def dsplit(d: bytes, count: int) -> list:
    """The streams of a version-5 D chunk of `count` streams (linr.md section 9): the lengths
    of all but the last (varints), then the streams, the last one the rest."""
    pos, lengths = 0, []
    for _ in range(count - 1):
        v, shift = 0, 0
        while True:
            v |= (d[pos] & 0x7F) << shift
            shift += 7
            pos += 1
            if not d[pos - 1] & 0x80:
                break
        lengths.append(v)
    out = []
    for n in lengths:
        out.append(d[pos:pos + n])
        pos += n
    assert pos <= len(d)
    return out + [d[pos:]]


def dpack(*streams: bytes) -> bytes:
    """A version-5 D chunk's data from its streams."""
    return b"".join(vint(len(x)) for x in streams[:-1]) + b"".join(streams)


def with_crc_bytes(length: bytes, t: bytes, d: bytes) -> bytes:
    import struct
    import zlib
    return length + t + d + struct.pack("<I", zlib.crc32(t + d))


def broken_vectors(base: bytes, delta_file: bytes, const_file: bytes, ext_file: bytes) -> dict:
    """name -> (bytes, rule broken)."""
    box = container.read(base)
    H, D = box.get(b"H"), bytes(box.get(b"D"))
    hd = unpack(H)
    px = hd.pixels
    hH, cD = chunk(b"H", H), chunk(b"D", D)
    dbox = container.read(delta_file)
    dH, dW, dD = dbox.get(b"H"), dbox.get(b"W"), bytes(dbox.get(b"D"))
    dcfg = unpack(dH).cfg
    d_delta, d_group = dsplit(dD, 2)          # one group and a W chunk: two streams
    assert dpack(d_delta, d_group) == dD
    ntensors = len(dcfg.shapes())
    entries = [dW[1 + 6 * i:7 + 6 * i] for i in range(dW[0])]

    def wfile(w: bytes) -> bytes:
        return linr(chunk(b"H", dH), chunk(b"W", w), chunk(b"D", dD))

    def hfile(h: bytes, d: bytes = D) -> bytes:
        return linr(chunk(b"H", h), chunk(b"D", d))

    def entry(i, e=10, kn=1000, km=1000):
        return bytes([i, e]) + kn.to_bytes(2, "little") + km.to_bytes(2, "little")

    # fields of the base header, to rebuild it with one change
    im = hd.image
    base_fields = header_fields(hd)
    fmt, arch = base_fields["fmt"], base_fields["arch"]
    assert header_raw(**base_fields) == H and hd.prior == bytes(8)

    def hf(**kw) -> bytes:
        return hfile(header_raw(**{**base_fields, **kw}))

    crc = bytearray(base)
    crc[-1] ^= 1
    # const_file: a constant 4 x 9 (h x w) image, D chunk empty of pixel decisions
    cbox = container.read(const_file)
    cH = unpack(cbox.get(b"H"))
    cim = cH.image
    cfields = header_fields(cH)
    assert header_raw(**cfields) == cbox.get(b"H")
    ebox = container.read(ext_file)
    eH = unpack(ebox.get(b"H"))
    efields = header_fields(eH)
    assert header_raw(**efields) == ebox.get(b"H") and efields["kind"] == 255

    # crafted streams (formats/reference/rans.py)
    last_bias = ntensors - 1
    O = dcfg.shapes()[-1][0]
    too_long = rans.encode_bits([1] + [0] * (O - 1) + [0] + [1] * 21,
                                [1000] * O + [32768] + [1000] * 21)
    big = rans.encode_bits([1] + [0] * (O - 1) + [0] + [1] * 6 + [0] + [0] * 6 + [1, 1],
                           [1000] * O + [32768] + [1000] * 7 + [32768] * 6 + [32768] * 2)
    one_word = (1).to_bytes(4, "little")
    # the constant 4 x 9 image of value 6 (3 planes): flags and bits, then the terminator
    cdec, cks = [], []
    for b in range(cim.bits - 1, -1, -1):
        cdec += [1, (6 >> b) & 1]
        cks += [4096, 32768]
    assert rans.encode_bits(cdec + [1, 1], cks + [32768, 32768]) == cbox.get(b"D")
    C0, n0 = im.channels, im.bits

    def chfile(bits, ks) -> bytes:
        return linr(chunk(b"H", cbox.get(b"H")), chunk(b"D", rans.encode_bits(bits, ks)))

    v = {
        # container
        "bad-signature": (b"\x89LNX" + base[4:], "signature"),
        "text-mode-transfer": (base[:4] + b"\n" + base[6:], "signature: \\r\\n turned into \\n"),
        "version-1": (base[:6] + b"\x01" + base[7:], "version 1: refused naming linr 0.1.0"),
        f"version-{container.VERSION + 1}": (base[:6] + bytes([container.VERSION + 1]) + base[7:],
                                             "unknown version"),
        "empty-file": (b"", "signature"),
        "no-chunks": (linr(), "header and data chunks missing"),
        "crc-mismatch": (bytes(crc), "CRC of the last chunk"),
        "truncated-in-header-chunk": (base[:7 + len(hH) - 3], "file ends inside H"),
        "truncated-in-data-chunk": (linr(hH) + cD[:len(cD) - 5], "file ends inside D"),
        "truncated-header-fields": (hfile(H[:-3]), "H data too short for its fields"),
        "truncated-stream": (hfile(H, D[:-4]), "D data lacks its last word (hash or stream end)"),
        "data-not-whole-words": (hfile(H, D + b"\x01"), "D length not a multiple of 4"),
        "data-ends-in-zero-word": (hfile(H, D + bytes(4)), "last word of D is 0"),
        "overlong-varint-chunk-length": (SIG + bytes([BROKEN_VERSION]) + with_crc_bytes(
            vint(len(H))[:-1] + bytes([vint(len(H))[-1] | 0x80, 0]), b"H", H) + cD,
            "chunk length varint with a trailing 0x00 byte"),
        "overlong-varint-width": (hf(width=bytes([0x88, 0x00])), "width 8 as 88 00"),
        "varint-6-bytes": (hf(width=bytes([0x88, 0x80, 0x80, 0x80, 0x80, 0x00])),
                           "6-byte varint (value 8)"),
        "chunk-type-not-letter": (linr(hH, chunk(b"_", b"x"), cD), "ancillary type '_'"),
        "chunk-type-digit": (linr(hH, chunk(b"1", b""), cD), "type '1'"),
        "ancillary-before-header": (linr(chunk(b"t", b"x"), hH, cD), "H must come first"),
        "unknown-critical-chunk": (linr(hH, chunk(b"X", b""), cD), "critical type X"),
        "duplicate-header": (linr(hH, hH, cD), "H twice"),
        "duplicate-data": (linr(hH, cD, cD), "D twice"),
        "missing-header": (linr(cD), "no H (D first)"),
        "missing-data": (linr(hH), "no D"),
        "data-before-delta": (linr(chunk(b"H", dH), chunk(b"D", dD), chunk(b"W", dW)),
                              "critical order H, W, D"),
        "trailing-garbage": (base + b"\x00\x01\x02", "bytes after the last chunk"),
        # header
        "header-trailing-bytes": (hf(group=b"\x05", extra=b"\x00"),
                                  "H has a byte after the group byte"),
        "width-0": (hf(width=0), "empty image"),
        "height-0": (hf(height=0), "empty image"),
        "width-65537": (hf(width=65537), "side > 65536"),
        "too-many-samples": (hf(width=65536, height=4097), "W x H x C > 2^28"),
        "too-many-samples-rgba": (hf(width=8193, height=8192, fmt=3 | 7 << 2),
                                  "W x H x C > 2^28 (C = 4)"),
        "bits-9-uint8": (hf(fmt=8 << 2), "n > 8 without wide"),
        "plain2d-3-channels": (hf(fmt=2 | 7 << 2 | 1 << 7), "plain2d with C = 3"),
        "rgb-2-channels": (hf(fmt=1 | 7 << 2, arch=arch | 0x10), "colour order rgb with C < 3"),
        "rgb-1-channel": (hf(arch=arch | 0x10), "colour order rgb with C = 1"),
        "model-bit-6": (hf(arch=arch | 0x40), "model byte bits 6-7 not 0 (bit 6)"),
        "model-bit-7": (hf(arch=arch | 0x80), "model byte bits 6-7 not 0 (bit 7)"),
        "signed-offset-129-int8": (hf(arch=arch | 0x20, offset=vint(129)),
                                   "signed uint8-sized samples with offset 129 > 2^7"),
        "signed-offset-too-small": (hf(arch=arch | 0x20, offset=vint(0)),
                                    "signed 8-bit values with offset 0: 255 - 0 does not fit int8"),
        "signed-offset-missing": (hf(arch=arch | 0x20), "signed bit set, header ends before the offset"),
        "signed-offset-2^15+1": (hf(fmt=15 << 2 | 1 << 6, arch=arch | 0x20, offset=vint((1 << 15) + 1)),
                                 "signed 16-bit with offset above 2^15"),
        "prior-byte-128": (hf(kind=128), "prior byte 128..254 reserved (128)"),
        "prior-byte-254": (hf(kind=254, prior=bytes(8)), "prior byte 128..254 reserved (254)"),
        "external-prior-id-zeros": (hf(kind=255, prior=bytes(8)),
                                    "prior byte 255 with an 8-byte id of zeros"),
        "builtin-number-1-linr-0.1": (hf(kind=1), "built-in number 1: linr 0.1's, never assigned"),
        "builtin-number-5-linr-0.1": (hf(kind=5), "built-in number 5: linr 0.1's, never assigned"),
        "hidden-0": (hf(hidden=vint(0)), "hidden 0"),
        "hidden-257": (hf(hidden=vint(257)), "hidden > 256"),
        "seed-2^32": (hf(seed=bytes([0x80, 0x80, 0x80, 0x80, 0x10])), "seed > 2^32 - 1"),
        "unknown-prior-id": (hf(kind=255, prior=bytes.fromhex("0123456789abcdef")),
                             "external prior: no file with this id"),
        "external-prior-id-truncated": (hfile(header_raw(**efields)[:-8]),
                                        "H ends inside the 8-byte prior id"),
        "prior-architecture-mismatch": (
            linr(chunk(b"H", header_raw(**{**efields, "hidden": vint(eH.cfg.hidden + 1)})),
                 chunk(b"D", ebox.get(b"D"))), "header hidden differs from the prior's"),
        "plain2d-flag-flipped": (hf(fmt=fmt ^ 0x80 if im.channels == 1 else fmt),
                                 "H x W read as H x W x 1: pixel hash covers the shape"),
        "swapped-width-height-constant": (
            linr(chunk(b"H", header_raw(**{**cfields, "width": cim.height, "height": cim.width})),
                 chunk(b"D", cbox.get(b"D"))), "constant 4x9 read as 9x4: must fail the hash"),
        # delta chunk
        "delta-count-0": (wfile(b"\x00"), "W names no tensor"),
        "delta-count-too-big": (wfile(bytes([ntensors + 1]) + b"".join(
            entry(i) for i in range(ntensors + 1))), "count > number of tensors"),
        "delta-unsorted": (wfile(bytes([2]) + entry(ntensors - 1) + entry(0)),
                           "entries not ascending"),
        "delta-duplicate-index": (wfile(bytes([2]) + entry(0) + entry(0)), "index twice"),
        "delta-index-too-big": (wfile(bytes([1]) + entry(ntensors)), "index >= tensors"),
        "delta-exponent-15": (wfile(bytes([1]) + entry(0, e=15)), "e > 14"),
        "delta-k-nonzero-15": (wfile(bytes([1]) + entry(0, kn=15)), "k_nonzero < 16"),
        "delta-k-more-65521": (wfile(bytes([1]) + entry(0, km=65521)), "k_more > 65520"),
        "delta-trailing-bytes": (wfile(dW + b"\x00"), "W has extra bytes"),
        "delta-integer-too-long": (linr(chunk(b"H", dH), chunk(b"W", bytes([1]) + entry(
            last_bias, e=14, kn=1000, km=1000)), chunk(b"D", dpack(too_long, d_group))),
            "|q| >= 2^21"),
        "delta-weight-out-of-range": (linr(chunk(b"H", dH), chunk(b"W", bytes([1]) + entry(
            last_bias, e=0, kn=1000, km=1000)), chunk(b"D", dpack(big, d_group))), "|w| = 2^20"),
        # coded data
        "pixel-hash-mismatch": (hf(pixels=bytes(b ^ 0xFF for b in px)), "pixel hash"),
        "data-left-over": (chfile(cdec + [1, 1, 1], cks + [32768, 32768, 32768]),
                           "a decision coded after the terminator: state not 0 at the end"),
        "terminator-1-0": (chfile(cdec + [1, 0], cks + [32768, 32768]),
                           "terminator decisions 1, 0 (must be 1, 1)"),
        "no-terminator": (chfile(cdec, cks), "stream exhausted before the terminator"),
        "exhausted-stream": (hfile(H, rans.encode_bits([0] * (C0 * n0), [4096] * (C0 * n0))),
                             "stream exhausted at the first pixel decision"),
        "work-bound": (linr(chunk(b"H", header_raw(width=256, height=256, fmt=7 << 2 | 1 << 7,
                                                   arch=1, hidden=vint(1), group=bytes([16]))),
                            chunk(b"D", one_word), chunk(b"p", bytes(64))),
                       "one D word (bound 196608) for 8 x 65536 pixel decisions; "
                       "padded to pass the file-size rule"),
        "file-too-short": (hfile(header_raw(width=65536, height=1, fmt=7 << 2 | 1 << 7, arch=1,
                                            hidden=vint(1), group=bytes([16])), one_word),
                           "65536 pixels with a coded plane in a file of < 64 bytes"),
    }
    # a built-in number no prior has (yet): the highest free one
    free = [n for n in range(127, 5, -1) if n not in priors.BUILTIN_IDS.values()]
    if free:
        v[f"builtin-number-{free[0]}-unassigned"] = (
            hf(kind=free[0]), f"built-in number {free[0]}: not in the table when written")
    return v


def constant_stream(value: int, bits: int) -> tuple:
    """(decisions, ks) of a constant one-channel image's stream: flags and bits per plane,
    top plane first (linr.md section 9, step 2), without the terminator."""
    dec, ks = [], []
    for b in range(bits - 1, -1, -1):
        dec += [1, (value >> b) & 1]
        ks += [4096, 32768]
    return dec, ks


def refused(data: bytes) -> bool:
    try:
        inrcodec.decode(data)
    except inrcodec.LinrError:
        return True
    return False


def broken_group_vectors(base: bytes, const_file: bytes, two_groups: bytes, multi: bytes) -> dict:
    """name -> (bytes, rule broken), for format 5's group byte and D index and streams
    (linr.md sections 2 and 9). base: an 8x8 image of one group; const_file: a constant 4x9
    image of value 6 (one group); two_groups: a constant 9x40 image of value 6 in 2 groups
    of 32; multi: an image of 6 groups."""
    box = container.read(base)
    H, D = box.get(b"H"), box.get(b"D")
    fields = header_fields(unpack(H))
    assert header_raw(**fields) == H and fields["group"] == b""

    def hf(**kw) -> bytes:
        return linr(chunk(b"H", header_raw(**{**fields, **kw})), chunk(b"D", D))

    def hf10(group: bytes) -> bytes:
        """base with the group field `group`, as a file of this version (10 and up: group units)."""
        return as_version(hf(group=group), container.VERSION)

    # the constant 4 x 9 image: its one stream; a delta of zeros added to it (a valid file)
    cbox = container.read(const_file)
    cH, cD = cbox.get(b"H"), cbox.get(b"D")
    cdec, cks = constant_stream(6, unpack(cH).image.bits)
    assert rans.encode_bits(cdec + [1, 1], cks + [32768, 32768]) == cD
    v4_const = linr(chunk(b"H", cH), chunk(b"D", cD), version=4)
    assert not refused(v4_const)          # the same file in version 4 is valid
    ccfg = unpack(cH).cfg
    last, O = len(ccfg.shapes()) - 1, ccfg.shapes()[-1][0]
    W = bytes([1, last, 10]) + (1000).to_bytes(2, "little") * 2
    zeros = ([0] * O, [1000] * O)          # the last bias' delta: O values, none nonzero

    def wfile(delta_bits, delta_ks, d=None) -> bytes:
        stream = rans.encode_bits(delta_bits, delta_ks)
        return linr(chunk(b"H", cH), chunk(b"W", W), chunk(b"D", d if d is not None else
                                                            dpack(stream, cD)))
    term = ([1, 1], [32768, 32768])
    control = wfile(zeros[0] + term[0], zeros[1] + term[1])
    assert np.array_equal(inrcodec.decode(control), np.full((4, 9), 6, np.uint8))
    # the constant image in two groups: two equal streams
    tbox = container.read(two_groups)
    tH, tD = tbox.get(b"H"), tbox.get(b"D")
    assert unpack(tH).group_size == (32, 32)
    s0, s1 = dsplit(tD, 2)
    assert s0 == s1 == cD and dpack(s0, s1) == tD

    def tfile(d: bytes) -> bytes:
        return linr(chunk(b"H", tH), chunk(b"D", d))
    mbox = container.read(multi)
    mH, mD = mbox.get(b"H"), mbox.get(b"D")
    assert inrcodec.info(multi)["groups"] == 6 and mbox.get(b"W") is None
    assert dpack(*dsplit(mD, 6)) == mD

    v = {
        "group-4": (hf(group=b"\x04"), "group byte 4 (g must be 5 .. 16)"),
        "group-17": (hf(group=b"\x11"), "group byte 17 (g must be 5 .. 16)"),
        "group-10-written": (hf(group=b"\x0a"), "group byte 10: the default is written by leaving the byte out"),
        "group-units-in-version-9": (as_version(hf10(b"\x00" + vint(3) + vint(1)), 9),
                                     "group byte 0 (units follow) in a version 9 file: only version 10 has it"),
        "group-units-square-power": (hf10(b"\x00" + vint(2) + vint(2)),
                                     "group units 2 x 2: a square power of two is written as the group byte 6"),
        "group-units-zero": (hf10(b"\x00" + vint(0) + vint(1)), "group units 0 x 1 (each must be 1 .. 2048)"),
        "group-units-2049": (hf10(b"\x00" + vint(3) + vint(2049)), "group units 3 x 2049 (each must be 1 .. 2048)"),
        "group-units-truncated": (hf10(b"\x00" + vint(3)), "group byte 0 and one unit: H ends inside the field"),
        "version-4-group-byte": (linr(chunk(b"H", cH + b"\x05"), chunk(b"D", cD), version=4),
                                 "a version 4 header with a group byte (trailing byte)"),
        "index-length-past-streams": (tfile(vint(len(tD)) + s0 + s1),
                                      "2 groups: the first stream's length exceeds the bytes after the index"),
        "index-length-past-data": (tfile(vint(len(tD) + 1) + s0 + s1),
                                   "2 groups: a stream length larger than the whole D data"),
        "index-length-short": (tfile(vint(len(s0) - 4) + s0 + s1),
                               "2 groups: the first length 4 bytes short (a word of stream 0 read as stream 1's)"),
        "index-truncated": (linr(chunk(b"H", mH), chunk(b"D", vint(0) + vint(0))),
                            "6 groups: D data ends after 2 of its 5 stream lengths (both 0)"),
        "index-varint-truncated": (tfile(b"\x85"), "2 groups: D data ends inside its index's varint"),
        "group-terminator-1-0": (tfile(dpack(s0, rans.encode_bits(cdec + [1, 0], cks + [32768, 32768]))),
                                 "2 groups: the second group's terminator decodes 1, 0"),
        "group-data-left-over": (tfile(dpack(rans.encode_bits(cdec + [1, 1, 1], cks + [32768] * 3), s1)),
                                 "2 groups: the first group's stream has a decision after its terminator"),
        "group-stream-empty": (tfile(dpack(s0, b"")), "2 groups: the second group's stream is empty (exhausted)"),
        "v4-style-data-two-groups": (tfile(cD), "2 groups, D a single format-4-style stream (no index)"),
        "delta-stream-data-left-over": (wfile(zeros[0] + term[0] + [1], zeros[1] + term[1] + [32768]),
                                        "the delta's stream has a decision after its terminator"),
        "delta-stream-no-terminator": (wfile(zeros[0], zeros[1]),
                                       "the delta's stream ends (exhausted) before its terminator"),
        "v4-style-data-with-delta": (
            wfile([], [], d=rans.encode_bits(zeros[0] + cdec + term[0], zeros[1] + cks + term[1])),
            "W chunk, D a single format-4-style stream (delta, flags, terminator; no index)"),
    }
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def broken_palette_vectors(pal_file: bytes, four_file: bytes, seeded_file: bytes) -> dict:
    """name -> (bytes, rule broken), for the palette chunk P (linr.md section 3.1)."""
    box = container.read(pal_file)
    H, P, D = box.get(b"H"), box.get(b"P"), box.get(b"D")
    hd = unpack(H)
    fields = header_fields(hd)
    assert header_raw(**fields) == H and P is not None and box.get(b"W") is None

    def pfile(p: bytes, h: bytes = H) -> bytes:
        return linr(chunk(b"H", h), chunk(b"P", p), chunk(b"D", D))

    fbox = container.read(four_file)
    fP = fbox.get(b"P")
    assert fP[1] == 3 and fbox.get(b"W") is None
    sbox = container.read(seeded_file)
    sfields = header_fields(unpack(sbox.get(b"H")))
    assert sfields["kind"] == 0
    return {
        "palette-in-version-3": (linr(chunk(b"H", H), chunk(b"P", P), chunk(b"D", D), version=3),
                                 "P chunk in a version 3 file"),
        "palette-after-data": (linr(chunk(b"H", H), chunk(b"D", D), chunk(b"P", P)),
                               "critical order H, P, W, D"),
        "palette-count-1": (pfile(bytes([P[0], 0]) + P[2:2 + 3]), "palette of 1 colour"),
        "palette-truncated": (pfile(P[:-1]), "P data ends inside its colours"),
        "palette-trailing-bytes": (pfile(P + b"\x00"), "P data has bytes after its colours"),
        "palette-form-bit-5": (pfile(bytes([P[0] | 0x20]) + P[1:]), "form byte bits 5-7 not 0"),
        "palette-plain2d-3-channels": (pfile(bytes([P[0] | 0x08]) + P[1:]), "P: plain2d with C = 3"),
        "palette-rgb-1-channel": (linr(chunk(b"H", fbox.get(b"H")), chunk(b"P", bytes([fP[0] | 0x10]) + fP[1:]),
                                       chunk(b"D", fbox.get(b"D"))), "P: colour order rgb with C = 1"),
        "palette-header-bits": (pfile(P, header_raw(**{**fields, "fmt": fields["fmt"] + (1 << 2)})),
                                "H bit depth is not that of the palette's indices"),
        "palette-signed": (pfile(P, header_raw(**{**fields, "arch": fields["arch"] | 0x20, "offset": vint(0)})),
                           "a palette chunk in a file of signed samples"),
        "palette-header-channels": (linr(chunk(b"H", header_raw(**{**sfields, "fmt": (sfields["fmt"] | 2) & 0x7F})),
                                         chunk(b"P", sbox.get(b"P")), chunk(b"D", sbox.get(b"D"))),
                                    "H declares 3 channels beside a palette (seeded network)"),
        # the 4-level image's indices use 3; a table of 3 colours (same index depth) lacks it
        "palette-index-past-table": (linr(chunk(b"H", fbox.get(b"H")), chunk(b"P", bytes([fP[0], 2]) + fP[2:5]),
                                          chunk(b"D", fbox.get(b"D"))), "an index past the colour table"),
    }


def builtin_rows() -> list:
    """[(number, name, sha256)] of inrcodec.priors, checked against the numbering rules."""
    ids, digests = priors.BUILTIN_IDS, priors.BUILTIN
    if set(ids) != set(digests):
        raise SystemExit(f"make_conformance: BUILTIN and BUILTIN_IDS name different priors: "
                         f"{sorted(set(ids) ^ set(digests))}")
    rows = sorted((int(n), name, digests[name].lower()) for name, n in ids.items())
    numbers = [r[0] for r in rows]
    if len(set(numbers)) != len(numbers) or any(not 6 <= n <= 127 for n in numbers):
        raise SystemExit(f"make_conformance: built-in numbers must be distinct, 6..127 "
                         f"(1..5 were linr 0.1's): {numbers}")
    if any(len(d) != 64 or set(d) - set("0123456789abcdef") for _n, _name, d in rows):
        raise SystemExit("make_conformance: a BUILTIN digest is not a SHA-256 in hex")
    return rows


def write_builtin_table() -> None:
    """reference/builtin_priors.tsv and the table in linr.md section 12, from inrcodec.priors."""
    rows = builtin_rows()
    BUILTIN_TSV.write_text("number\tname\tsha256\n"
                           + "".join(f"{n}\t{name}\t{d}\n" for n, name, d in rows))
    table = ["| number | name | SHA-256 of the `.linrp` file |", "|---|---|---|"]
    table += [f"| {n} | `{name}` | `{d}` |" for n, name, d in rows]
    if not rows:
        table = ["No built-in prior is registered yet: every number 1..127 is refused."]
    spec = SPEC.read_text()
    a, b = spec.index(TABLE_BEGIN), spec.index(TABLE_END)
    a = spec.index("\n", a) + 1
    SPEC.write_text(spec[:a] + "\n".join(table) + "\n" + spec[b:])


def broken_v6_vectors(base: bytes, meta_file: bytes) -> dict:
    """name -> (bytes, rule broken), for what version 6 changes (linr.md section 1): no CRC
    on critical chunks, the pixel hash as their check. base: a version 6 8x8 image (H, D);
    meta_file: a version 6 file with ancillary chunks after D."""
    box = container.read(base)
    H, D = box.get(b"H"), bytes(box.get(b"D"))
    assert base == linr(chunk(b"H", H, 6), chunk(b"D", D, 6), version=6)
    damaged = bytearray(D)
    damaged[len(D) // 2] ^= 0x10
    mbox = container.read(meta_file)
    anc = [(t, d) for t, d in mbox.in_order if not t.isupper()]
    assert anc and mbox.in_order[-1][0].islower()
    meta_crc = bytearray(meta_file)
    meta_crc[-1] ^= 1
    v = {
        "v6-header-with-crc": (linr(chunk(b"H", H, 5), chunk(b"D", D, 6), version=6),
                               "version 6: H followed by a CRC (read as a chunk, not a letter type)"),
        "v6-data-with-crc": (linr(chunk(b"H", H, 6), chunk(b"D", D, 5), version=6),
                             "version 6: D followed by a CRC (bytes after the last chunk)"),
        "v6-damaged-data": (linr(chunk(b"H", H, 6), chunk(b"D", bytes(damaged), 6), version=6),
                            "version 6: one bit of D flipped (no CRC: refused by the stream's "
                            "checks or the pixel hash)"),
        "v6-damaged-width": (linr(chunk(b"H", bytes([H[0] ^ 1]) + H[1:], 6), chunk(b"D", D, 6), version=6),
                             "version 6: width 8 turned into 9 (no CRC: the pixel hash, or the stream)"),
        "v6-ancillary-crc-mismatch": (bytes(meta_crc), "version 6: an ancillary chunk's CRC (they keep it)"),
        "v6-truncated-in-data": (base[:-3], "version 6: file ends inside D"),
    }
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def broken_values_vectors(values_file: bytes, pal_file: bytes) -> dict:
    """name -> (bytes, rule broken), for the value table chunk V (linr.md section 3.2), as
    version 6 files. values_file: 16-bit gray, one table of 300 values; pal_file: a palette's."""
    from inrcodec.values import ValueTable, gap_string
    box = container.read(values_file)
    H, V, D = box.get(b"H"), box.get(b"V"), bytes(box.get(b"D"))
    assert [t for t, _ in box.in_order] == [b"H", b"V", b"D"]
    table = ValueTable.unpack(V, 1)
    t0 = table.tables[0]
    assert table.pack() == V and len(t0) == 300 and table.index_bits == 9

    def vfile(v: bytes, h: bytes = H) -> bytes:
        return linr(chunk(b"H", h, 6), chunk(b"V", v, 6), chunk(b"D", D, 6), version=6)

    def channel(values, r=None, m=16) -> bytes:
        values = np.asarray(values)
        r = int(V[1 + len(container.varint_bytes(len(t0) - 1))]) if r is None else r
        return container.varint_bytes(len(values) - 1) + bytes([r]) + gap_string(values, r, m)

    assert vfile(V) == values_file
    body = channel(t0)
    assert bytes([15]) + body == V
    r = body[len(container.varint_bytes(len(t0) - 1))]
    bits = gap_string(t0, r, 16)
    gaps = np.diff(t0.astype(np.int64)) - 1
    padded = (16 + int(((gaps >> r) + 1 + r).sum())) % 8 != 0
    pbox = container.read(pal_file)
    n_header = unpack(H)
    fields = header_fields(n_header)
    assert header_raw(**fields) == H
    v = {
        "v6-values-in-version-5": (as_version(values_file, 5), "V chunk in a version 5 file"),
        "v6-values-and-palette": (linr(chunk(b"H", H, 6), chunk(b"P", pbox.get(b"P"), 6), chunk(b"V", V, 6),
                                       chunk(b"D", D, 6), version=6), "P and V chunks in one file"),
        "v6-values-depth-byte-16": (vfile(bytes([16]) + body), "depth byte 16 (m = 17)"),
        "v6-values-rice-16": (vfile(bytes([15]) + body[:len(body) - len(bits) - 1] + bytes([16]) + bits),
                              "Rice parameter 16"),
        "v6-values-trailing-byte": (vfile(V + b"\x00"), "a byte after the last table"),
        "v6-values-short": (vfile(V[:-3]), "the bit string ends before its 300 values"),
        "v6-values-padding-bit": (vfile(V[:-1] + bytes([V[-1] | 1])) if padded else None,
                                  "the last padding bit set"),
        "v6-values-past-depth": (vfile(bytes([15]) + channel(list(t0[:-1]) + [70000])),
                                 "the last of 300 values 70000, past 2^16"),
        "v6-values-index-past-table": (vfile(bytes([15]) + channel(t0[:257])),
                                       "257 values (9-bit indices still): the image's indices reach 299"),
        "v6-values-header-depth": (vfile(V, header_raw(**{**fields, "fmt": fields["fmt"] + (1 << 2)})),
                                   "header bit depth 10 for 300 values (9 bits)"),
        "v6-values-signed-header": (vfile(V, header_raw(**{**fields, "arch": fields["arch"] | 1 << 5,
                                                           "offset": vint(0)})),
                                    "value table in a file of signed samples"),
        "v6-values-16-bits-in-uint8": (vfile(bytes([15]) + channel(t0[:200]),
                                             header_raw(**{**fields, "fmt": (fields["fmt"] & 0x83) | 7 << 2})),
                                       "16-bit values (200: 8-bit indices) in a file of uint8 samples"),
    }
    v = {k: val for k, val in v.items() if val[0] is not None}
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def broken_v9_vectors(exact: bytes, rgb: bytes, two: bytes) -> dict:
    """name -> (bytes, rule broken), for version 9's value tables on a line (linr.md section
    3.2). exact: one table of 64 values of kind 32; rgb: three tables (line, gaps, line);
    two: a table of 300 values and one of a single value (kind 0)."""
    from inrcodec.values import ValueTable, line_residuals
    box = container.read(exact)
    H, V, D = box.get(b"H"), box.get(b"V"), box.get(b"D")
    assert V[1:3] == bytes([63, 32]) and len(V) == 7         # m = 16, K = 64, kind 32, t_0 and t_63

    def vfile(v: bytes, h: bytes = H, d: bytes = D, version: int = 9) -> bytes:
        return linr(chunk(b"H", h, 9), chunk(b"V", v, 9), chunk(b"D", d, 9), version=version)

    assert vfile(V) == as_version(exact, 9)         # version 9 files: the bytes linr 0.9 wrote
    t = ValueTable.unpack(V, 1).tables[0]
    ends = V[3:]
    z = line_residuals(t)
    assert not z.any()
    # a kind 16 string (r = 0) whose first residual is z: 1 bits, a 0, then 0s for the other 61
    def residuals(first_z: int) -> bytes:
        bits = "1" * first_z + "0" + "0" * 61
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big")

    tbox = container.read(two)
    tV = tbox.get(b"V")
    head = tV[:-4]                    # the depth byte and the first table, then: count 0, kind, 2 bytes
    assert tV[-4] == 0 and ValueTable.unpack(tV, 2).tables[1].tolist() == [9]
    v = {
        "v9-values-line-in-version-8": (as_version(exact, 8), "a line's kind byte (32) in a version 8 file"),
        "v9-values-line-in-version-8-rgb": (as_version(rgb, 8), "kind bytes of lines (16 + r) in a version 8 file"),
        "v9-values-kind-33": (vfile(V[:2] + bytes([33]) + ends), "kind byte 33"),
        "v9-values-line-one-value": (linr(chunk(b"H", tbox.get(b"H"), 9),
                                          chunk(b"V", head + bytes([0, 32]) + tV[-2:], 9),
                                          chunk(b"D", tbox.get(b"D"), 9), version=9),
                                     "a line (kind 32) of one value (K = 1)"),
        "v9-values-line-descending": (vfile(V[:3] + ends[2:] + ends[:2]), "a line from 65535 down to 0"),
        "v9-values-line-not-ascending": (vfile(V[:2] + bytes([16]) + ends + residuals(2 * 1100)),
                                         "a residual of +1100 takes t_1 past t_2"),
        "v9-values-line-past-bound": (vfile(V[:2] + bytes([16]) + ends + residuals(2 * 66000)),
                                      "a residual's unary run past the line's bound of 2m + K + 2^m bits"),
        "v9-values-line-short": (vfile(V[:2] + bytes([16]) + ends + residuals(0)[:5]),
                                 "the residuals end before the 62nd"),
        "v9-values-line-padding-bit": (vfile(V[:2] + bytes([16]) + ends + residuals(0)[:-1] + b"\x01"),
                                       "the last padding bit of a line's string set"),
    }
    assert vfile(V[:2] + bytes([16]) + ends + residuals(0)) != exact and not refused(
        vfile(V[:2] + bytes([16]) + ends + residuals(0)))        # kind 16 with zero residuals is valid
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def broken_gray_vectors(rgb: bytes, rgba: bytes, rgb16: bytes) -> dict:
    """name -> (bytes, rule broken), for version 9's gray copies (linr.md section 3.3). rgb:
    gray as RGB (H, G, D); rgba: gray + alpha as RGBA after a palette (H, P, G, D); rgb16:
    16-bit gray as RGB after value tables (H, V, G, D)."""
    box = container.read(rgb)
    H, G, D = box.get(b"H"), box.get(b"G"), box.get(b"D")
    assert [t for t, _ in box.in_order] == [b"H", b"G", b"D"] and G == b"\x03"

    def gfile(g: bytes, h: bytes = H) -> bytes:
        return linr(chunk(b"H", h, 9), chunk(b"G", g, 9), chunk(b"D", D, 9), version=9)

    assert gfile(G) == as_version(rgb, 9)
    fields = header_fields(unpack(H))
    vbox = container.read(rgb16)
    assert [t for t, _ in vbox.in_order] == [b"H", b"V", b"G", b"D"]
    pbox = container.read(rgba)
    assert [t for t, _ in pbox.in_order] == [b"H", b"P", b"G", b"D"]
    v = {
        "v9-gray-in-version-8": (as_version(rgb, 8), "a G chunk in a version 8 file"),
        "v9-gray-byte-5": (gfile(b"\x05"), "G chunk of one byte 5 (3 or 4 only)"),
        "v9-gray-two-bytes": (gfile(b"\x03\x03"), "G chunk of two bytes"),
        "v9-gray-four-of-gray": (gfile(b"\x04"), "G byte 4 (gray + alpha) on a gray image"),
        "v9-gray-plain2d": (gfile(G, header_raw(**{**fields, "fmt": fields["fmt"] | 1 << 7})),
                            "G chunk on an H x W (plain2d) gray image"),
        "v9-gray-three-of-palette-rgba": (linr(*[chunk(t, b"\x03" if t == b"G" else d, 9) for t, d in pbox.in_order],
                                               version=9), "G byte 3 after a palette of 2 channels"),
        "v9-gray-before-values": (linr(*[chunk(t, vbox.get(t), 9) for t in (b"H", b"G", b"V", b"D")], version=9),
                                  "G before V (critical chunks go H, P, V, G, W, D)"),
    }
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def broken_filter_vectors(left: bytes, rgb16: bytes, copies: bytes, signed: bytes) -> dict:
    """name -> (bytes, rule broken), for version 12's filter chunk (linr.md section 3.4). left:
    a uint8 gray image with F = left, m = 8 (H, F, D); rgb16: uint16 with F (H, F, D); copies:
    gray + alpha as RGBA, filtered (H, G, F, D); signed: a signed image (H, D)."""
    box = container.read(left)
    H, F, D = box.get(b"H"), box.get(b"F"), bytes(box.get(b"D"))
    assert [t for t, _ in box.in_order] == [b"H", b"F", b"D"] and F == b"\x01\x08"

    def ffile(f: bytes, h: bytes = H, d: bytes = D) -> bytes:
        """left's file with other chunk bytes, at this version (12 and up have F)."""
        v = container.VERSION
        return linr(chunk(b"H", h, v), chunk(b"F", f, v), chunk(b"D", d, v), version=v)

    assert ffile(F) == left
    wbox = container.read(rgb16)
    assert [t for t, _ in wbox.in_order] == [b"H", b"F", b"D"]
    gbox = container.read(copies)
    assert [t for t, _ in gbox.in_order] == [b"H", b"G", b"F", b"D"]
    sbox = container.read(signed)
    assert [t for t, _ in sbox.in_order] == [b"H", b"D"]
    v = {
        "v12-filter-in-version-11": (as_version(left, 11), "an F chunk in a version 11 file"),
        "v12-filter-kind-0": (ffile(b"\x00\x08"), "F kind 0 (1, 2 or 3 only)"),
        "v12-filter-kind-4": (ffile(b"\x04\x08"), "F kind 4 (1, 2 or 3 only)"),
        "v12-filter-modulus-0": (ffile(b"\x01\x00"), "F modulus 2^0 (m = 1 .. 16)"),
        "v12-filter-modulus-9-uint8": (ffile(b"\x01\x09"), "F modulus 2^9 on uint8 samples (m <= 8)"),
        "v12-filter-modulus-17-uint16": (linr(chunk(b"H", wbox.get(b"H"), 12), chunk(b"F", b"\x03\x11", 12),
                                              chunk(b"D", bytes(wbox.get(b"D")), 12), version=12),
                                         "F modulus 2^17 on uint16 samples (m <= 16)"),
        "v12-filter-one-byte": (ffile(b"\x01"), "F chunk of one byte (2 only)"),
        "v12-filter-three-bytes": (ffile(b"\x01\x08\x00"), "F chunk of three bytes (2 only)"),
        "v12-filter-sample-past-modulus": (ffile(b"\x01\x04"),
                                           "F modulus 2^4 on residuals of 8 bits (a sample >= 2^m)"),
        "v12-filter-twice": (linr(chunk(b"H", H, 12), chunk(b"F", F, 12), chunk(b"F", F, 12),
                                  chunk(b"D", D, 12), version=12), "two F chunks"),
        "v12-filter-before-gray": (linr(*[chunk(t, bytes(gbox.get(t)), 12) for t in (b"H", b"F", b"G", b"D")],
                                        version=12), "F before G (critical chunks go H, P, V, G, F, W, D)"),
        "v12-filter-signed": (linr(chunk(b"H", sbox.get(b"H"), 12), chunk(b"F", b"\x01\x10", 12),
                                   chunk(b"D", bytes(sbox.get(b"D")), 12), version=12),
                              "an F chunk in a file of signed samples"),
    }
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def broken_v7_vectors(seeded: bytes, fitted: bytes) -> dict:
    """name -> (bytes, rule broken), for the relu16 network of version 7 (linr.md sections 2
    and 6). seeded: a relu16 file with a seeded network; fitted: one with a W chunk."""
    box = container.read(seeded)
    H, D = box.get(b"H"), bytes(box.get(b"D"))
    fields = header_fields(unpack(H))
    assert fields["arch"] & 0x41 == 0x41 and header_raw(**fields) == H
    fbox = container.read(fitted)
    W = bytearray(fbox.get(b"W"))
    # the first W tensor (even index) of the delta at step 2^-14: off relu16's grid of 2^-8
    j = next(j for j in range(W[0]) if W[1 + 6 * j] % 2 == 0)
    W[2 + 6 * j] = 14
    v = {
        "v7-relu16-in-version-6": (as_version(seeded, 6), "model byte bit 6 (relu16) in a version 6 file"),
        "v7-relu16-sine": (linr(chunk(b"H", header_raw(**{**fields, "arch": fields["arch"] & ~1}), 7),
                                chunk(b"D", D, 7), version=7), "relu16 (bit 6) with the sine activation (bit 0 clear)"),
        "v7-relu16-weight-off-grid": (linr(chunk(b"H", fbox.get(b"H"), 7), chunk(b"W", bytes(W), 7),
                                           chunk(b"D", bytes(fbox.get(b"D")), 7), version=7),
                                      "relu16 with a W tensor's delta at step 2^-14: weights off the 2^-8 grid"),
        "v7-model-bit-7": (linr(chunk(b"H", header_raw(**{**fields, "arch": fields["arch"] | 0x80}), 7),
                                chunk(b"D", D, 7), version=7), "model byte bit 7 in a version 7 file"),
    }
    for name, (data, _why) in v.items():
        assert refused(data), name
    return v


def write_readme() -> None:
    """conformance/README.md: the table of vectors, from MANIFEST.tsv and BROKEN.tsv."""
    rows = (OUT / "MANIFEST.tsv").read_text().splitlines()
    lines = (OUT / "BROKEN.tsv").read_text().splitlines()
    readme = ["# linr format 13 conformance vectors", "",
              "Written by `formats/make_conformance.py` (do not edit: rerun it with `--force` only for "
              "a new format release). Decoders are given `priors/` as an extra prior folder. "
              "Spec: [`../linr.md`](../linr.md).", "",
              "## Valid (`valid/`, hashes in `MANIFEST.tsv`)", "",
              "The hash is the SHA-256 of the sample bytes (linr.md section 3). Every vector is "
              "format 13 (format 12 with the fine clamp of section 8.6, which every coded vector meets; "
              "format 12 is format 11 with the filter chunk F of section 3.4, which the `filter-*` vectors use; "
              "format 11 is format 10 with the two mixers and settled decisions of section 8.5, which every coded vector "
              "meets and `two-mixers-64-rgb.linr` weighs; format 10 is format 9 with the group field's units of section 2, groups of any multiple of 32 "
              "pixels, which the `groups-units-*` vectors use; format 9 is format 8 with the match counter of section 8.4, which every coded vector uses and "
              "`match-repeated-pixels.linr` exercises, the value tables' lines of section 3.2, which the "
              "`values-line-*` vectors use, and the gray copies of section 3.3, the `gray-copies-*` vectors; format 8 is format 7 with the weight sets and SSE rows of section 8.3; format 7 is format 6 "
              "with the relu16 network of section 6, which the `relu16-*` vectors "
              "and `builtin-prior-photo-7.linr` use; format 6 is format 5 without the critical "
              "chunks' CRCs): its pixel decisions are mixed (sections 8.2 and 8.3) and it is coded in groups "
              "(section 9); a header without the group byte means groups of 2^10, so every vector "
              "below not named `group*` is one group whose `D` data is its stream, except "
              "`fitted-delta.linr` (the delta's stream and the group's, with a one-length index).", "",
              "| file | shape | dtype | covers |", "|---|---|---|---|"]
    for row in rows[1:]:
        name, _digest, shape, dtype, covers = row.split("\t")
        readme.append(f"| `{name}` | {shape} | {dtype} | {covers} |")
    readme += ["", "## Formats 2 to 12 (`v2/`, `v3/`, `v4/`, `v5/`, `v6/`, `v7/`, `v8/`, `v9/`, `v10/`, `v11/`, "
               "`v12/`)", "",
               "The valid vectors of format 2 as linr 0.2 wrote them, of format 3 as linr 0.3 "
               "wrote them, of format 4 as linr 0.4 wrote them, of format 5 as linr 0.5 wrote "
               "them, of format 6 as linr 0.6 wrote them, of format 7 as linr 0.7 wrote them, of "
               "format 8 as linr 0.8 wrote them, of format 9 as linr 0.9 wrote them, of format 10 as "
               "linr 0.10 wrote them, of format 11 as linr 0.11 wrote them and of format 12 as linr 0.12 "
               "wrote them, frozen (this "
               "script never touches them), each with its own `MANIFEST.tsv` and `priors/`. Format 12 is "
               "format 13 with the pixel decisions clamped to [64, 65472] and the work bound at 2^11 "
               "decisions a coded bit (section 8.6). Format 11 is "
               "format 12 without the filter chunk (section 3.4). Format 10 is "
               "format 11 without section 8.5 (one mixer, learning from every decision). Format 9 is "
               "format 10 without the group field's units (section 2). Format 8 is format 9 without "
               "the match counter (section 8.4), the value tables' lines (section 3.2) and the gray copies "
               "(section 3.3). Format 7 is "
               "format 8 without "
               "the weight sets and SSE rows of section 8.3. Format 6 is format 7 "
               "without the relu16 network. Format 5 is format 6 with a CRC after every chunk. Format 4 is "
               "format 5 without the group byte, with one stream for the whole image in `D` and "
               "with the adaptive refinement of section 8.1 instead of the mixing of section 8.2; "
               "format 3 is format 4 without the palette chunk P (section 3.1); format 2 is "
               "format 3 without the adaptive refinement. Decoders of format 13 must decode them too."]
    readme += ["", "## Broken (`broken/`, listed in `BROKEN.tsv`): every decoder must refuse each", "",
               "| file | rule broken |", "|---|---|"]
    for line in lines[1:]:
        name, why = line.split("\t")
        readme.append(f"| `{name}` | {why} |")
    (OUT / "README.md").write_text("\n".join(readme) + "\n")


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    write_builtin_table()
    if "--readme" in args:          # README.md, builtin_priors.tsv and the spec's table only
        write_readme()
        return 0
    force = "--force" in args
    valid_dir, broken_dir, prior_dir = OUT / "valid", OUT / "broken", OUT / "priors"
    existing = [p for d in (valid_dir, broken_dir, prior_dir) if d.is_dir() for p in d.iterdir()]
    if existing and not force:
        print(f"make_conformance: {len(existing)} released vectors exist in {OUT}; "
              "they are never overwritten (use --force for a new format release)")
        return 1
    for d in (valid_dir, broken_dir, prior_dir):
        if d.is_dir():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    prior_bytes = external_prior()
    prior_path = prior_dir / "conformance-test.linrp"
    prior_path.write_bytes(prior_bytes)
    rows = ["name\tsha256\tshape\tdtype\tcovers"]
    files = {}
    vectors = [(n, img, None, kw, cov) for n, img, kw, cov in valid_vectors(prior_path)]
    for n, img, data, cov in (fitted_delta(), fitted_delta(
            "groups-fitted-delta.linr", (24, 33), 32, "; 2 groups of 32 (the second 1 wide): "
            "D holds the delta's stream, then the groups'", step=6), relu16_fitted_delta()):
        vectors.append((n, img, data, {}, cov))
    for name, img, data, kw, covers in vectors:
        if data is None:
            data = inrcodec.encode(img, **{"effort": 0, "palette": "never", "filter": "never", **kw})
        back = inrcodec.decode(data, prior=prior_path if "prior" in kw and
                               str(kw["prior"]).endswith(".linrp") else None)
        assert back.shape == img.shape and back.dtype == img.dtype and np.array_equal(back, img)
        (valid_dir / name).write_bytes(data)
        files[name] = data
        digest = hashlib.sha256(sample_bytes(img)).hexdigest()
        rows.append(f"{name}\t{digest}\t{'x'.join(map(str, img.shape))}\t{img.dtype}\t{covers}")
    (OUT / "MANIFEST.tsv").write_text("\n".join(rows) + "\n")
    base6 = inrcodec.encode(np.arange(64, dtype=np.uint8).reshape(8, 8) * 3, effort=0, prior="none",
                            palette="never", filter="never")
    base = as_version(base6, BROKEN_VERSION)
    const = as_version(inrcodec.encode(np.full((4, 9), 6, np.uint8), prior="none", filter="never"),
                       BROKEN_VERSION)
    old = {name: as_version(files[name], BROKEN_VERSION) for name in (
        "fitted-delta.linr", "external-prior.linr", "groups-all-constant.linr", "groups-70x45-rgb.linr",
        "palette-rgb.linr", "palette-four-gray.linr", "palette-two-colours.linr")}
    broken = broken_vectors(base, old["fitted-delta.linr"], const, old["external-prior.linr"])
    broken.update(broken_group_vectors(base, const, old["groups-all-constant.linr"],
                                       old["groups-70x45-rgb.linr"]))
    broken.update(broken_palette_vectors(old["palette-rgb.linr"], old["palette-four-gray.linr"],
                                         old["palette-two-colours.linr"]))
    broken.update(broken_v6_vectors(as_version(base6, 6), as_version(files["metadata.linr"], 6)))
    broken.update(broken_values_vectors(as_version(files["values-gray16.linr"], 6),
                                        as_version(files["palette-four-gray.linr"], 6)))
    broken.update(broken_v7_vectors(files["relu16-seeded.linr"], files["relu16-fitted-delta.linr"]))
    broken.update(broken_filter_vectors(files["filter-left-gray8.linr"], files["filter-gradient-rgb16.linr"],
                                        files["filter-gray-copies.linr"], files["signed-int16-positive.linr"]))
    # version 9's rules re-framed: from format 10's frozen files, whose streams version 9 decodes
    # the same (format 11's would not: section 8.5)
    v10 = {name: (OUT / "v10" / "valid" / name).read_bytes() for name in (
        "values-line-exact.linr", "values-line-rgb.linr", "values-two-channel-constant.linr",
        "gray-copies-rgb.linr", "gray-copies-rgba-palette.linr", "gray-copies-rgb16-values.linr")}
    broken.update(broken_v9_vectors(v10["values-line-exact.linr"], v10["values-line-rgb.linr"],
                                    v10["values-two-channel-constant.linr"]))
    broken.update(broken_gray_vectors(v10["gray-copies-rgb.linr"], v10["gray-copies-rgba-palette.linr"],
                                      v10["gray-copies-rgb16-values.linr"]))
    lines = ["name\tbreaks"]
    for name, (data, why) in sorted(broken.items()):
        (broken_dir / f"{name}.linr").write_bytes(data)
        lines.append(f"{name}.linr\t{why}")
    (OUT / "BROKEN.tsv").write_text("\n".join(lines) + "\n")
    write_readme()
    print(f"make_conformance: {len(vectors)} valid, {len(broken)} broken vectors in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
