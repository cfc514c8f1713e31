#!/usr/bin/env python3
"""Reference decoder for .linr formats 10 down to 2, written from formats/linr.md alone.

    python formats/reference/linr_ref.py FILE.linr [--prior-dir DIR ...]

Prints the SHA-256 (hex) of the decoded sample bytes (linr.md section 3) and exits 0,
or prints one line `linr_ref: error: ...` and exits 1. Plain Python + numpy; slow.
Section numbers below refer to linr.md. It imports nothing from inrcodec.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import zlib
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np

DEFAULT_PRIOR_DIR = Path(__file__).resolve().parent / ".." / ".." / "inrcodec" / "priors"
# section 12: built-in prior number -> full SHA-256 (the spec's table, machine-readable)
BUILTIN_TSV = Path(__file__).resolve().parent / "builtin_priors.tsv"


class Invalid(Exception):
    """The file is not a valid .linr file of version 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 or 13."""


# -- section 1: container ---------------------------------------------------------------

def varint(data: bytes, pos: int, limit: int, what: str):
    value = 0
    for i in range(5):
        if pos + i >= len(data):
            raise Invalid(f"{what}: data ends inside a varint")
        b = data[pos + i]
        value |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            if b == 0 and i > 0:
                raise Invalid(f"{what}: overlong varint")
            if value > min(limit, 2 ** 32 - 1):
                raise Invalid(f"{what}: {value} exceeds {min(limit, 2 ** 32 - 1)}")
            return value, pos + i + 1
    raise Invalid(f"{what}: varint longer than 5 bytes")


def read_container(data: bytes):
    if len(data) < 7 or data[:6] != b"\x89LNR\r\n":
        if data[1:4] == b"LNR":
            raise Invalid("signature damaged (file transferred in text mode?)")
        raise Invalid("not a .linr file (bad signature)")
    if data[6] == 1:
        raise Invalid("this is a version 1 .linr file, written by linr 0.1; "
                      "decode it with linr 0.1.0 (pip install 'linr==0.1.0')")
    if data[6] not in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
        raise Invalid(f"unsupported version {data[6]}")
    pos, chunks, order = 7, {}, []
    last = -1
    while pos < len(data):
        length, pos = varint(data, pos, 1 << 30, "chunk length")
        if pos >= len(data):
            raise Invalid("file ends inside a chunk")
        ctype = data[pos:pos + 1]
        t = ctype[0]
        if not (0x41 <= t <= 0x5A or 0x61 <= t <= 0x7A):
            raise Invalid(f"chunk type {ctype!r} is not a letter")
        crc = data[6] < 6 or t >= 0x61          # version 6: no CRC on critical chunks
        end = pos + 1 + length + (4 if crc else 0)
        if end > len(data):
            raise Invalid("file ends inside a chunk")
        body = data[pos + 1:pos + 1 + length]
        if crc and zlib.crc32(ctype + body) != int.from_bytes(data[end - 4:end], "little"):
            raise Invalid(f"chunk {ctype!r} fails its CRC")
        pos = end
        if not order and ctype != b"H":
            raise Invalid("the first chunk is not the header")
        order.append(ctype)
        if 0x41 <= t <= 0x5A:
            if ctype not in (b"H", b"P", b"V", b"G", b"F", b"W", b"D"):
                raise Invalid(f"unknown critical chunk {ctype!r}")
            if ctype in chunks:
                raise Invalid(f"critical chunk {ctype!r} twice")
            idx = b"HPVGFWD".index(ctype)
            if idx < last:
                raise Invalid(f"critical chunk {ctype!r} out of order")
            last = idx
            chunks[ctype] = body
    if b"H" not in chunks or b"D" not in chunks:
        raise Invalid("header or data chunk missing")
    if b"P" in chunks and data[6] < 4:
        raise Invalid("palette chunk in a file of version 2 or 3")
    if b"G" in chunks and data[6] < 9:
        raise Invalid("gray copies chunk before version 9")
    if b"F" in chunks and data[6] < 12:
        raise Invalid("filter chunk before version 12")
    if b"V" in chunks and (data[6] < 6 or b"P" in chunks):
        raise Invalid("value table chunk before version 6, or beside a palette")
    chunks["version"] = data[6]
    return chunks


# -- section 2: header --------------------------------------------------------------------

def read_header(h: bytes, version: int) -> dict:
    pos = 0

    def take(n):
        nonlocal pos
        if pos + n > len(h):
            raise Invalid("header chunk too short")
        pos += n
        return h[pos - n:pos]

    width, pos = varint(h, pos, 65536, "width")
    height, pos = varint(h, pos, 65536, "height")
    fmt, arch = take(1)[0], take(1)[0]
    hidden, pos = varint(h, pos, 256, "hidden")
    kind = take(1)[0]
    seed, prior, digest = 0, None, None
    if kind == 0:
        seed, pos = varint(h, pos, 2 ** 32 - 1, "seed")
    elif kind == 255:
        prior = take(8)
        if prior == bytes(8):
            raise Invalid("external prior id of zeros")
    elif kind <= 127:
        digest = builtin_digests().get(kind)
        if digest is None:
            raise Invalid(f"built-in prior number {kind} is unknown to this decoder")
        prior = digest[:8]
    else:
        raise Invalid(f"prior byte {kind} is reserved")
    pixels = take(4)
    signed = version >= 5 and arch >> 5 & 1     # version 5: int8 / int16 samples, stored + offset
    offset = 0
    if signed:
        offset, pos = varint(h, pos, 1 << 15, "offset")
    group = None                      # version 5: groups' (width, height), 1024 x 1024 if absent
    if version >= 5:
        group = (1024, 1024)
        if pos < len(h):
            g = take(1)[0]
            if g == 0 and version >= 10:  # version 10: any multiple of 32 each way
                u, pos = varint(h, pos, 2048, "group width")
                v, pos = varint(h, pos, 2048, "group height")
                if u < 1 or v < 1 or (u == v and u & (u - 1) == 0):
                    raise Invalid(f"group field of {u} x {v} units is not 1 .. 2048 each, "
                                  "other than a square power of two")
                group = (32 * u, 32 * v)
            elif not 5 <= g <= 16 or g == 10:
                raise Invalid(f"group field {g} is not one of 5 .. 16 other than 10")
            else:
                group = (1 << g, 1 << g)
    if pos != len(h):
        raise Invalid("header chunk has trailing bytes")
    C, n, wide, plain2d = (fmt & 3) + 1, ((fmt >> 2) & 15) + 1, fmt >> 6 & 1, fmt >> 7
    if width < 1 or height < 1:
        raise Invalid("empty image")
    if width * height * C > 1 << 28:
        raise Invalid("too many samples")
    order = arch >> 4 & 1
    if (n > 8 and not wide) or (plain2d and C != 1) or (order == 1 and C < 3):
        raise Invalid("header fields contradict each other")
    if arch >> (7 if version >= 7 else 6 if version >= 5 else 5):
        raise Invalid("model byte's reserved bits are not 0")
    narrow = arch >> 6 & 1                      # version 7: the relu16 network
    if narrow and not arch & 1:
        raise Invalid("relu16 network with the sine activation")
    half = 1 << (15 if wide else 7)
    if signed and (offset > half or (1 << n) - 1 - offset >= half):
        raise Invalid("signed offset does not fit the sample type")
    if hidden < 1:
        raise Invalid("hidden width 0")
    return dict(width=width, height=height, C=C, n=n, wide=wide, plain2d=plain2d, order=order,
                relu=arch & 1, narrow=narrow, layers=((arch >> 1) & 7) + 1, hidden=hidden, prior=prior,
                digest=digest, seed=seed, pixels=pixels, group=group, signed=signed, offset=offset)


def builtin_digests() -> dict:
    """number -> SHA-256 (32 bytes) of the built-in priors (section 12, builtin_priors.tsv)."""
    out = {}
    for line in BUILTIN_TSV.read_text().splitlines()[1:]:
        if line.strip():
            number, _name, digest = line.split("\t")
            out[int(number)] = bytes.fromhex(digest)
    return out


def shapes(hd: dict) -> list:
    C = hd["C"]
    dims = [13 * C + 6] + [hd["hidden"]] * hd["layers"] + [5 * C + C * (C - 1)]
    out = []
    for a, b in zip(dims[:-1], dims[1:]):
        out += [(b, a), (b,)]
    return out


# -- section 7: tables ----------------------------------------------------------------------

SHA = {"SIN": "54283d8ac7e93816a9c7c6c08c4b8c65db979bc20ef88a16d0d9d152b834b4c0",
       "CDF": "fc02f7b1c021ce07c3ecd2046c67de4468c4b72530460ec7f7bcb927f742e456",
       "INV": "40111250f5b247ab4c9e9614b357d8f6077fe3f6cbba4cc0e0a048c57c0aebcf"}
_TABLES = {}


def tables():
    if _TABLES:
        return _TABLES
    with localcontext() as ctx:
        ctx.prec = 40
        # pi by Machin's formula, sin by its series: exact to ~40 digits
        def atan_inv(x):
            t, s, k = Decimal(1) / x, Decimal(0), 0
            while t > Decimal(10) ** -45:
                s += t / (2 * k + 1) * (1 if k % 2 == 0 else -1)
                t /= x * x
                k += 1
            return s
        pi = 4 * (4 * atan_inv(5) - atan_inv(239))

        def sin(x):
            term, s, k = x, Decimal(0), 1
            while abs(term) > Decimal(10) ** -45:
                s += term
                term = -term * x * x / ((k + 1) * (k + 2))
                k += 2
            return s

        def rnd(v):
            return int((v + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))
        # reduce the angle to [-pi, pi] for a fast series
        sin_t = [rnd(4096 * sin(2 * pi * (k if k <= 2048 else k - 4096) / 4096)) for k in range(4096)]
        cdf_t = [rnd(Decimal(2 ** 30) / (1 + (-(Decimal(j - 4096) + Decimal("0.5")) / 256).exp()))
                 for j in range(8192)]
        inv_t = [rnd(Decimal(2 ** 16) * (8 - (Decimal(i) + Decimal("0.5")) / 64).exp())
                 for i in range(1024)]
    for name, t in (("SIN", sin_t), ("CDF", cdf_t), ("INV", inv_t)):
        arr = np.array(t, np.int64)
        if hashlib.sha256(arr.astype("<i4").tobytes()).hexdigest() != SHA[name]:
            raise RuntimeError(f"table {name} does not match its SHA-256")
        _TABLES[name] = arr
    return _TABLES


_MIX = {}


def mix_tables():
    """Section 7, version 5: SQ (squash, indexed x + 3071), ST (stretch), R (counter rates)."""
    if not _MIX:
        cdf = [int(v) for v in tables()["CDF"]]
        sq = [min(max((cdf[4095 + x] + cdf[4096 + x] + (1 << 14)) >> 15, 1), 65535)
              for x in range(-3071, 3072)]
        st, x = [], 0                      # SQ is non-decreasing: walk it once
        for k in range(65536):
            while x < len(sq) and sq[x] < k:
                x += 1
            st.append(x - 3071 if x < len(sq) else 3071)
        _MIX.update(SQ=sq, ST=st, R=[(1 << 17) // (2 * m + 3) for m in range(256)])
    return _MIX


# -- section 6: network -----------------------------------------------------------------------

def seeded(hd: dict) -> list:
    shp = shapes(hd)
    total = sum(math.prod(s) for s in shp)
    G, M = 0x9E3779B97F4A7C15, (1 << 64) - 1
    last = len(shp) - 2
    out, i = [], 0
    for idx, s in enumerate(shp):
        f = shp[idx - idx % 2][1]
        r6 = math.isqrt((6 << 28) // f)
        if idx >= last:
            bound = 0
        elif idx % 2:
            bound = (math.isqrt((1 << 28) // f) * 10430) >> 16
        elif hd["relu"]:
            bound = r6 >> 1
        elif idx == 0:
            bound = ((1 << 14) * 10430 // f) >> 16
        else:
            bound = (r6 * 10430) >> 16
        vals = []
        for _ in range(math.prod(s)):
            i += 1
            z = (hd["seed"] + i * G) & M
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
            z ^= z >> 31
            vals.append(((2 * (z >> 32) - (1 << 32)) * bound) >> 32)
        t = np.array(vals, np.int64).reshape(s)
        out.append(t - t % 64 if hd["narrow"] and idx % 2 == 0 else t)     # relu16: floored onto the grid
    assert i == total
    C = hd["C"]
    for c in range(C):
        out[-1][C + 2 * c] = -8192
        out[-1][C + 2 * c + 1] = 24576
    return out


def trunk(hd: dict, weights: list, x: np.ndarray) -> np.ndarray:
    sin_t = tables()["SIN"]
    nl = len(weights) // 2
    if hd["narrow"]:                 # section 6, relu16: 7 fractional bits in, 15 in every sum
        x = x >> 5
        for i in range(nl):
            y = x @ (weights[2 * i] >> 6).T + (weights[2 * i + 1] << 1)[None, :]
            x = np.clip(y >> 8, 0, 1024) if i < nl - 1 else y >> 3
        return x
    for i in range(nl):
        y = (x @ weights[2 * i].T + (weights[2 * i + 1] << 12)[None, :]) >> 14
        if i < nl - 1:
            y = np.clip(y, 0, 1 << 20) if hd["relu"] else sin_t[y & 4095]
        x = y
    return x


# -- section 12: priors ----------------------------------------------------------------------

def read_prior(data: bytes, hd: dict) -> list:
    if len(data) > 1 << 24 or data[:7] != b"\x89LNRP\r\n" or len(data) < 9 or data[7] != 1:
        raise Invalid("prior file is corrupt")
    pos = 8
    nl = data[pos]
    name = data[pos + 1:pos + 1 + nl]
    pos += 1 + nl
    ml = int.from_bytes(data[pos:pos + 2], "little")
    try:
        name.decode()
        meta = json.loads(data[pos + 2:pos + 2 + ml].decode())
    except (UnicodeDecodeError, ValueError):
        raise Invalid("prior file is corrupt") from None
    pos += 2 + ml
    if nl < 1 or not isinstance(meta, dict) or pos + 5 > len(data):
        raise Invalid("prior file is corrupt")
    ch, act, layers = data[pos], data[pos + 1], data[pos + 2]
    hidden = int.from_bytes(data[pos + 3:pos + 5], "little")
    pos += 5
    if not (1 <= ch <= 4 and act <= 2 and 1 <= layers <= 8 and 1 <= hidden <= 256):
        raise Invalid("prior file is corrupt")
    if (ch, act, layers, hidden) != (hd["C"], 2 if hd["narrow"] else hd["relu"], hd["layers"], hd["hidden"]):
        raise Invalid("header architecture differs from its prior's")
    out = []
    for s in shapes(hd):
        size = math.prod(s)
        if pos + 4 * size > len(data):
            raise Invalid("prior file is truncated")
        out.append(np.frombuffer(data, "<i4", size, pos).astype(np.int64).reshape(s))
        pos += 4 * size
    if pos != len(data):
        raise Invalid("prior file has trailing bytes")
    check_weights(out, hd)
    return out


def find_prior(tag: bytes, dirs: list, hd: dict, digest: bytes | None = None) -> list:
    """The prior whose SHA-256 starts with tag (equals digest, for a built-in number)."""
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.linrp")):
            if f.stat().st_size <= 1 << 24:
                data = f.read_bytes()
                full = hashlib.sha256(data).digest()
                if full[:8] == tag and (digest is None or full == digest):
                    return read_prior(data, hd)
    raise Invalid(f"prior {(digest or tag).hex()} not found")


# -- section 10: rANS ---------------------------------------------------------------------------

class Ans:
    def __init__(self, data: bytes):
        if len(data) % 4:
            raise Invalid("coded stream is not a whole number of words")
        self.words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
        self.x = 0
        if self.words:
            if self.words[-1] == 0:
                raise Invalid("coded stream ends in a zero word")
            self.x = self.words.pop()
            if self.x < 1 << 32 and self.words:
                self.x = (self.x << 32) | self.words.pop()

    def bit(self, k: int) -> int:
        x = self.x
        if x == 0:
            return 0
        c = (((65536 - k) * ((1 << 24) - 2)) >> 16) + 1
        q = x & 0xFFFFFF
        if q < c:
            bit, x = 0, (x >> 24) * c + q
        else:
            bit, x = 1, (x >> 24) * ((1 << 24) - c) + (q - c)
        if x < 1 << 32 and self.words:
            x = (x << 32) | self.words.pop()
        self.x = x
        return bit

    def bits(self, ks) -> np.ndarray:
        out = np.zeros(len(ks), np.int64)
        for i, k in enumerate(ks):
            if self.x == 0:          # exhausted: every further decision is 0 (section 10)
                break
            out[i] = self.bit(int(k))
        return out


# -- section 11: delta ----------------------------------------------------------------------------

def read_delta(w: bytes, hd: dict) -> list:
    shp = shapes(hd)
    if len(w) < 1 or not 1 <= w[0] <= len(shp) or len(w) != 1 + 6 * w[0]:
        raise Invalid("delta chunk: bad count or length")
    out = []
    for j in range(w[0]):
        e = w[1 + 6 * j: 7 + 6 * j]
        i, ex = e[0], e[1]
        kn, km = int.from_bytes(e[2:4], "little"), int.from_bytes(e[4:6], "little")
        if i >= len(shp) or ex > 14 or not (16 <= kn <= 65520 and 16 <= km <= 65520):
            raise Invalid("delta entry out of range")
        if out and i <= out[-1][0]:
            raise Invalid("delta entries not in ascending order")
        out.append((i, ex, kn, km))
    return out


def decode_ints(ans: Ans, count: int, kn: int, km: int) -> np.ndarray:
    nz = ans.bits([kn] * count).astype(bool)
    n = int(nz.sum())
    neg = ans.bits([32768] * n).astype(bool)
    length = np.zeros(n, np.int64)
    open_ = list(range(n))
    r = 0
    while open_:
        if r > 20:
            raise Invalid("delta integer too long")
        more = ans.bits([km] * len(open_))
        nxt = []
        for i, m in zip(open_, more):
            if m:
                length[i] += 1
                nxt.append(i)
        open_ = nxt
        r += 1
    mag = np.ones(n, np.int64)
    for r in range(int(length.max()) if n else 0):
        sel = np.nonzero(length > r)[0]
        mag[sel] = (mag[sel] << 1) | ans.bits([32768] * len(sel))
    q = np.zeros(count, np.int64)
    q[nz] = np.where(neg, -mag, mag)
    return q


# -- sections 4, 5, 8, 9: schedule, features, head, decisions --------------------------------------

E = [(-1, 0), (0, -1), (0, 1), (1, 0), (-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2),
     (2, -1), (2, 1)]


def passes(h: int, w: int) -> list:
    L = 0
    while L < 5 and (1 << L) < max(h, w):
        L += 1
    S = 1 << L
    y, x = np.mgrid[:h, :w]
    y, x = y.ravel().astype(np.int64), x.ravel().astype(np.int64)   # raster order
    out = [(0, L, (y % S == 0) & (x % S == 0))]
    for k in range(L - 1, -1, -1):
        s = 1 << k
        ym, xm = y % (2 * s), x % (2 * s)
        out += [(1, k, (ym == s) & (xm == s)), (2, k, ((ym == s) & (xm == 0)) | ((ym == 0) & (xm == s)))]
    return [(kind, k, y[m], x[m]) for kind, k, m in out if m.any()]


def neighbour_coords(kind, k, ys, xs, h, w):
    """12 x N arrays of neighbour positions, mirrored inside (section 4)."""
    s = 1 << k
    offs = [(s * a, s * b) if kind == 2 else (s * (a - b), s * (a + b)) for a, b in E]
    N = len(ys)
    ny = np.zeros((12, N), np.int64)
    nx = np.zeros((12, N), np.int64)
    found = np.zeros((12, N), bool)
    for j, (dy, dx) in enumerate(offs):
        for sy, sx in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            cy, cx = ys + sy * dy, xs + sx * dx
            ok = ~found[j] & (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
            ny[j, ok], nx[j, ok], found[j, ok] = cy[ok], cx[ok], True
    if not found[:4].any(axis=0).all():
        raise AssertionError("no nearest neighbour inside")
    first = np.argmax(found[:4], axis=0)
    fy, fx = ny[first, np.arange(N)], nx[first, np.arange(N)]
    for j in range(12):
        miss = ~found[j]
        ny[j, miss], nx[j, miss] = fy[miss], fx[miss]
    return ny, nx


def features(V, kind, level, ys, xs, hd):
    h, w, C, n = hd["height"], hd["width"], hd["C"], hd["n"]
    N = len(ys)
    if kind == 0:
        a = np.full((N, C), 1 << (n - 1), np.int64)
        sh = np.full(N, max(0, n - 2), np.int64)
        D = np.zeros((N, 12 * C), np.int64)
        v = None
    else:
        ny, nx = neighbour_coords(kind, level, ys, xs, h, w)
        v = V[ny, nx]                                             # 12 x N x C
        a = v[:4].sum(axis=0) >> 2
        d = v - a[None]
        g = np.abs(d).sum(axis=(0, 2)) // (12 * C)
        sh = np.array([int(t).bit_length() for t in g], np.int64)
        D = np.clip((d << 12) >> sh[None, :, None], -32768, 32768)
        D = D.transpose(1, 0, 2).reshape(N, 12 * C)               # neighbour-major
    lev = ((2 * a + 1 - (1 << n)) << 12) >> n
    scal = np.stack([(sh << 12) // 16, np.full(N, ((2 * (n - 1) + 1) << 12) // 16 - 4096),
                     np.full(N, (level << 12) // 8), np.full(N, (kind - 1) << 12),
                     ((2 * xs + 1) << 12) // w - 4096, ((2 * ys + 1) << 12) // h - 4096], axis=1)
    return np.concatenate([D, lev, scal], axis=1), a, sh, v


def cdf_at(t, mu1, mu2, I1, I2, wt, sh, n):
    """F(t) of section 8 for arrays of pixels."""
    T = tables()["CDF"]
    u = (t << 12) - 2048

    def G(z):             # the table at 8 fractional bits, linearly interpolated
        z = np.clip(z + (4096 << 8), 0, 8191 << 8)
        i, f = z >> 8, z & 255
        return T[i] + (((T[np.minimum(i + 1, 8191)] - T[i]) * f) >> 8)
    f1 = G(((u - mu1) * I1) >> (12 + sh))
    f2 = G(((u - mu2) * I2) >> (12 + sh))
    f = (wt * f1 + ((1 << 30) - wt) * f2) >> 30
    return np.where(t <= 0, 0, np.where(t >= 1 << n, 1 << 30, f))


class Refiner:
    """Section 8.1 (version 3): a table per (channel, plane) refines the network's k."""
    LIMIT = 255 << 12

    def __init__(self):
        T = tables()["CDF"]
        self.E = np.array([int(T[2048 + 128 * i]) >> 14 for i in range(33)], np.int64)
        self.P, self.N = {}, {}

    def k(self, c, b, k):
        if (c, b) not in self.P:
            self.P[(c, b)] = self.E << 6
            self.N[(c, b)] = np.zeros(33, np.int64)
        P, N, E = self.P[(c, b)], self.N[(c, b)], self.E
        i = np.clip(np.array([int((E <= v).sum()) - 1 for v in k], np.int64), 0, 31)
        f = ((k - E[i]) << 12) // (E[i + 1] - E[i])
        a = (P[i] * (4096 - f) + P[i + 1] * f) >> 18
        full = (N[i] == self.LIMIT) & (N[i + 1] == self.LIMIT)
        self.last = (i, f)
        return np.clip(np.where(full, (k + 3 * a + 2) >> 2, (k + a + 1) >> 1), 64, 65472)

    def learn(self, c, b, bits):
        i, f = self.last
        P, N = self.P[(c, b)], self.N[(c, b)]
        for j in range(33):
            wt = np.where(i == j, 4096 - f, 0) + np.where(i + 1 == j, f, 0)
            sw, sy = int(wt.sum()), int((wt * bits).sum())
            if sw > 0:
                P[j] = (int(P[j]) * (int(N[j]) + 2048) + (sy << 22)) // (int(N[j]) + 2048 + sw)
                N[j] = min(int(N[j]) + sw, self.LIMIT)


def bitlen(a) -> np.ndarray:
    """bitlen of every element of an array of integers >= 0."""
    a = np.array(a, np.int64)
    out = np.zeros_like(a)
    while (a > 0).any():
        out += a > 0
        a >>= 1
    return out


def qs(e, cap: int) -> np.ndarray:
    """Section 8.2's bucket of each integer e: exact below 4, then two per octave, capped."""
    m = np.abs(e)
    bl = bitlen(m)
    q = np.where(m < 4, m, 2 * bl - 2 + ((m >> np.maximum(bl - 2, 0)) & 1))
    q = np.minimum(q, cap)
    return np.where(e < 0, -q, q)


def contexts(v, a):
    """Section 8.2's per-pixel contexts pd, qa, tx (N x C each) from the neighbour values
    v (12 x N x C, None in the grid pass) and the anchors a (N x C)."""
    if v is None:                      # grid pass: a = pd = 2^(n-1), qa = 15, tx = 0
        return a.copy(), np.full(a.shape, 15, np.int64), np.zeros(a.shape, np.int64)
    d03, d12 = np.abs(v[0] - v[3]), np.abs(v[1] - v[2])
    act = d03 + d12 + (np.abs(v[4:] - a[None]) >> 1).sum(axis=0)
    qa = np.minimum(bitlen(act >> 1), 15)
    pd = np.where(2 * d03 < d12, (v[0] + v[3]) >> 1, np.where(2 * d12 < d03, (v[1] + v[2]) >> 1, a))
    tx = sum((v[j] > a).astype(np.int64) << j for j in range(4))
    return pd, qa, tx


def k_clamp(version: int) -> int:
    """Section 8.6: a pixel decision's k lies in [lo, 65536 - lo]."""
    return 8 if version >= 13 else 64


class Mixer:
    """Section 8.2 (version 5): per decision, a logistic mix of the network's k and four
    adaptive counters, then learning from the bit. One Mixer per group (its state).
    Version 8 (section 8.3): four weight sets per (c, b), chosen by qa >> 2, and two SSE
    rows refine the mix."""

    def __init__(self, version: int):
        self.sse = version >= 8
        self.match = version >= 9          # section 8.4: the match counter, the 7th input
        self.two = version >= 11           # section 8.5: a second and a final mixer, settled decisions
        self.lo = k_clamp(version)            # section 8.6: the clamp of k', [lo, 65536 - lo]
        self.Q = {}          # c -> Q_c            counters: [p list (2^-22 units), m list]
        self.tabs = {}       # (c, b) -> [A_cb, I_cb, T_cb]
        self.w = {}          # (c, b) -> [w_cb,s[0..5] for each set s]
        self.u = {}          # (c, b) -> u_cb
        self.S = {}          # (c, b) -> S_cb: 31 rows of 25 counters
        self.v = {}          # (c, b) -> [v_cb,s[0..6] for s = 0..19]      (version 11)
        self.f = {}          # (c, b) -> [f_0, f_1]                         (version 11)

    @staticmethod
    def counters(size: int) -> list:
        return [[1 << 21] * size, [0] * size]

    def batch(self, ans: "Ans", c: int, b: int, n: int, ks, cells, qa, near, agree) -> np.ndarray:
        """The decisions of one (chunk, channel, plane): network k and the counters'
        cell indices (Q, A, I, T, and in version 9 M) per pixel, and (version 8) the activity qa and the anchor's
        bucket qs(a - mid, 7) per pixel, and (version 11) how many of the 4 nearest agree; returns the bits."""
        T = mix_tables()
        SQ, ST, R = T["SQ"], T["ST"], T["R"]
        if (c, b) not in self.tabs:
            if c not in self.Q:
                self.Q[c] = self.counters(1 << n)
            self.tabs[(c, b)] = [self.counters(1008), self.counters(12600), self.counters(816)]
            if self.match:
                self.tabs[(c, b)].append(self.counters(243))
            self.w[(c, b)] = [[0, 0, 0, 0, 65536, 0, 0] for _ in range(4 if self.sse else 1)]
            self.u[(c, b)] = 0
            if self.two:
                self.v[(c, b)] = [[0, 0, 0, 0, 65536, 0, 0] for _ in range(20)]
                self.f[(c, b)] = [65536, 0]
            if self.sse:                     # knot t starts at SQ[clip(256 t - 3072)] << 6, m = 3
                start = [SQ[min(max(256 * t - 3072, -3071), 3071) + 3071] << 6 for t in range(25)]
                self.S[(c, b)] = [[list(start), [3] * 25] for _ in range(31)]
        tabs = [self.Q[c]] + self.tabs[(c, b)]
        lr = 48 + (144 * 65536) // (65536 + self.u[(c, b)])
        cells = [np.asarray(ix).tolist() for ix in cells]
        qa, near, agree = np.asarray(qa).tolist(), np.asarray(near).tolist(), np.asarray(agree).tolist()
        bits = []
        for j, k in enumerate(np.asarray(ks).tolist()):
            at = [(tab[0], tab[1], ix[j]) for tab, ix in zip(tabs, cells)]
            w = self.w[(c, b)][qa[j] >> 2 if self.sse else 0]
            x = [0 if m[i] == 0 else ST[p[i] >> 6] for p, m, i in at[:4]] + [ST[k], 256, 0]
            if self.match:                   # section 8.4: x_6, the match counter's
                p, m, i = at[4]
                x[6] = 0 if m[i] == 0 else ST[p[i] >> 6]
            z = min(max(sum(wi * xi for wi, xi in zip(w, x)) >> 16, -3071), 3071)
            P = P1 = SQ[z + 3071]
            if self.two:                     # section 8.5: the second mixer and the final one
                xn = abs(x[4])
                v2 = self.v[(c, b)][((xn >= 128) + (xn >= 384) + (xn >= 896)) * 5 + agree[j]]
                z1, z2 = z, min(max(sum(vi * xi for vi, xi in zip(v2, x)) >> 16, -3071), 3071)
                P2, fw = SQ[z2 + 3071], self.f[(c, b)]
                z = min(max((fw[0] * z1 + fw[1] * z2) >> 16, -3071), 3071)
                P = SQ[z + 3071]
            kk = min(max(P, self.lo), 65536 - self.lo)
            if self.sse:                     # section 8.3: rows qa and 16 + qs(a - mid, 7) + 7
                t, f = (z + 3072) >> 8, (z + 3072) & 255
                rows = [self.S[(c, b)][qa[j]], self.S[(c, b)][16 + near[j] + 7]]
                kk = min(max((2 * P + sum((row[0][t] * (256 - f) + row[0][t + 1] * f) >> 14
                                          for row in rows)) >> 2, self.lo), 65536 - self.lo)
                at += [(row[0], row[1], t + (f >> 7)) for row in rows]
            bit = ans.bit(kk)
            bits.append(bit)
            if self.two and (kk if bit else 65536 - kk) >= 65536 - self.lo:
                continue                     # section 8.5: settled, nothing learnt
            err = ((bit << 16) - P1) * lr
            for i in range(7):
                w[i] = min(max(w[i] + ((x[i] * err) >> 22), -(1 << 24)), 1 << 24)
            if self.two:
                err = ((bit << 16) - P2) * lr
                for i in range(7):
                    v2[i] = min(max(v2[i] + ((x[i] * err) >> 22), -(1 << 24)), 1 << 24)
                err = ((bit << 16) - P) * 48
                fw[0] = min(max(fw[0] + ((z1 * err) >> 22), 0), 1 << 18)
                fw[1] = min(max(fw[1] + ((z2 * err) >> 22), 0), 1 << 18)
            for p, m, i in at:
                p[i] += (((bit << 22) - p[i]) * R[m[i]]) >> 16
                m[i] = min(m[i] + 1, 255)
        self.u[(c, b)] += len(bits)
        return np.array(bits, np.int64)


class Budget:
    """Section 9: the work bound and the exhausted-stream rule, per batch of decisions."""

    def __init__(self, dlen, version):
        self.left = (8 * dlen + 64) << (14 if version >= 13 else 11)

    def batch(self, ans, size):
        if size and ans.x == 0:
            raise Invalid("coded data ends before the image does (exhausted stream)")
        self.left -= size
        if self.left < 0:
            raise Invalid("coded data too short for its decisions (work bound)")

    def bits(self, ans, ks):
        self.batch(ans, len(ks))
        return ans.bits(ks)


# -- section 3.2: value tables --------------------------------------------------------------

def read_values(v: bytes, hd: dict, version: int) -> list:
    """Per model channel, the ascending list of values its indices stand for."""
    if not v or v[0] > 15:
        raise Invalid("value table: bad depth byte")
    m, pos, tables = v[0] + 1, 1, []
    for _ in range(hd["C"]):
        count, pos = varint(v, pos, 1 << m, "value count")
        count += 1
        if count > 1 << m:
            raise Invalid("value table: more values than its depth has")
        if pos >= len(v) or v[pos] > (32 if version >= 9 else 15):
            raise Invalid("value table: bad kind byte")
        kind = v[pos]
        pos += 1
        if kind <= 15:
            r = kind
            most = (m + (count - 1) * (1 + r) + ((1 << m) >> r) + 7) // 8      # a valid string's bytes, at most
        else:
            r = kind - 16
            if count < 2:
                raise Invalid("value table: a line of one value")
            most = (2 * m + count + (1 << m) + 7) // 8                          # version 9: the line's bound
        bits = [(byte >> (7 - i)) & 1 for byte in v[pos:pos + most] for i in range(8)]
        at = 0

        def take(k):
            nonlocal at
            if at + k > len(bits):
                raise Invalid("value table: chunk too short")
            x = 0
            for _ in range(k):
                x = 2 * x + bits[at]
                at += 1
            return x

        def rice(r, most_q):
            q = 0
            while take(1) == 1:
                q += 1
                if q > most_q:
                    raise Invalid("value table: a value past its depth")
            return (q << r) + take(r)

        if kind <= 15:
            vals = [take(m)]
            while len(vals) < count:
                vals.append(vals[-1] + rice(r, ((1 << m) - 1 - vals[-1]) >> r) + 1)
                if vals[-1] >= 1 << m:
                    raise Invalid("value table: a value past its depth")
        else:
            first, last = take(m), take(m)
            vals = [first]
            for i in range(1, count - 1):
                z = rice(r, len(bits)) if kind < 32 else 0
                e = z // 2 if z % 2 == 0 else -(z + 1) // 2
                vals.append(first + (i * (last - first) + (count - 1) // 2) // (count - 1) + e)
            vals.append(last)
            if any(b <= a for a, b in zip(vals, vals[1:])):
                raise Invalid("value table: values not ascending")
            if at > 2 * m + count + (1 << m):
                raise Invalid("value table: a line string past its bound")
        used = (at + 7) // 8
        if any(bits[at:8 * used]):
            raise Invalid("value table: padding bits not zero")
        pos += used
        tables.append(vals)
    if pos != len(v):
        raise Invalid("value table: trailing bytes")
    if hd["signed"] or hd["n"] != max(1, (max(len(t) for t in tables) - 1).bit_length()) \
            or (m > 8 and not hd["wide"]):
        raise Invalid("header does not describe the value table's index image")
    return tables


# -- section 3.1: palette ------------------------------------------------------------------

def read_palette(p: bytes, hd: dict) -> dict:
    if len(p) < 2:
        raise Invalid("palette chunk too short")
    form, count = p[0], p[1] + 1
    C, wide, plain2d, order = (form & 3) + 1, form >> 2 & 1, form >> 3 & 1, form >> 4 & 1
    if form >> 5 or count < 2 or (plain2d and C != 1) or (order and C < 3):
        raise Invalid("palette form contradicts itself")
    size = count * C * (2 if wide else 1)
    if len(p) != 2 + size:
        raise Invalid("palette chunk length does not match its colours")
    colours = np.frombuffer(p[2:], "<u2" if wide else "u1").astype(np.int64).reshape(count, C)
    index_bits = max(1, (count - 1).bit_length())
    if (hd["C"], hd["n"], hd["wide"], hd["plain2d"], hd["order"]) != (1, index_bits, 0, 1, 0):
        raise Invalid("header does not describe the palette's index image")
    if hd["width"] * hd["height"] * C > 1 << 28:        # section 13: the output image's samples
        raise Invalid("too many samples in the palette's output image")
    return dict(colours=colours, C=C, wide=wide, plain2d=plain2d)


def check_weights(weights: list, hd: dict) -> None:
    """Sections 6 and 12: |w| < 2^20; relu16: W tensors multiples of 64 with |w| < 2^18."""
    if any(int(np.abs(t).max()) >= 1 << 20 for t in weights if t.size):
        raise Invalid("weight out of range")
    if hd["narrow"] and any(t.size and (int(np.abs(t).max()) >= 1 << 18 or (t % 64).any())
                            for t in weights[0::2]):
        raise Invalid("relu16 weight off its grid")


def add_delta(ans: "Ans", specs: list, weights: list, shp: list, hd: dict) -> list:
    """Section 11: the delta tensors from the stream, added to the prior's weights."""
    for i, e, kn, km in specs:
        q = decode_ints(ans, math.prod(shp[i]), kn, km)
        weights[i] = weights[i] + (q.reshape(shp[i]) << (14 - e))
    check_weights(weights, hd)
    return weights


def end_stream(ans: "Ans", budget: Budget) -> None:
    """Section 9, step 4 and End: the terminator (1, 1), then the stream exactly consumed."""
    if not budget.bits(ans, [32768, 32768]).all():
        raise Invalid("coded stream does not end with its terminator")
    if ans.x != 0:
        raise Invalid("coded stream has data left over")


def layout(h: int, w: int, group: tuple) -> list:
    """Section 9, version 5: the groups (y0, x0, height, width) of group = (width, height), in
    raster order."""
    gw, gh = group
    return [(y0, x0, min(gh, h - y0), min(gw, w - x0))
            for y0 in range(0, h, gh) for x0 in range(0, w, gw)]


def split_streams(d: bytes, count: int) -> list:
    """Section 9, version 5: D data = the lengths of the first count - 1 streams (varints),
    then the streams; the last stream is the rest (no index at all for a single stream)."""
    pos, lengths = 0, []
    for _ in range(count - 1):
        length, pos = varint(d, pos, len(d), "stream length")
        lengths.append(length)
    if sum(lengths) > len(d) - pos:
        raise Invalid("stream lengths exceed the coded data")
    out = []
    for length in lengths:
        out.append(d[pos:pos + length])
        pos += length
    return out + [d[pos:]]


def decode_pixels(hd: dict, weights: list, ans: "Ans", dlen: int, version: int, whole) -> np.ndarray:
    """Section 9, steps 2-4 (and End) for one image (a version 5 group is an image of its own):
    its H x W x C values in model order. dlen: its stream's length in bytes (work bound);
    whole = (pixels of the whole image, bytes of the whole file) for the file size rule."""
    h, w, C, n = hd["height"], hd["width"], hd["C"], hd["n"]
    budget = Budget(dlen, version)
    const = [[-1] * C for _ in range(n)]
    for b in range(n - 1, -1, -1):
        flags = budget.bits(ans, [4096] * C)
        idx = [c for c in range(C) if flags[c]]
        vals = budget.bits(ans, [32768] * len(idx))
        for c, v in zip(idx, vals):
            const[b][c] = int(v)
    coded = sum(const[b][c] < 0 for b in range(n) for c in range(C))
    params = sum(math.prod(t) for t in shapes(hd))
    if coded and whole[1] * (1 << 24) < whole[0] * max(params, 1 << 14):
        raise Invalid("file too short for its image under its network (work bound)")
    if coded * w * h > budget.left:
        raise Invalid("coded data too short for the pixel decisions (work bound)")
    V = np.zeros((h, w, C), np.int64)
    refiner = Refiner() if version in (3, 4) else None
    mixer = Mixer(version) if version >= 5 else None
    if coded:
        T = tables()
        for kind, level, ys_all, xs_all in passes(h, w):
            for s0 in range(0, len(ys_all), 65536):
                ys, xs = ys_all[s0:s0 + 65536], xs_all[s0:s0 + 65536]
                feats, anchor, shift, nb = features(V, kind, level, ys, xs, hd)
                out = trunk(hd, weights, feats)
                if mixer is not None:
                    pd, qa, tx = contexts(nb, anchor)
                N = len(ys)
                P = C * (C - 1) // 2
                res = np.zeros((N, C), np.int64)     # r_j = (v_j << 12) - mu1_j
                size = np.zeros((N, C), np.int64)    # clip(bitlen(|r_j| >> sh) - 12, -4, 8) << 12
                vals = np.zeros((N, C), np.int64)
                for c in range(C):
                    sc = np.zeros(N, np.int64)
                    adj = np.zeros(N, np.int64)
                    for j in range(c):
                        m = c * (c - 1) // 2 + j
                        sc = sc + ((np.clip(out[:, 5 * C + m], -16384, 16384) * res[:, j]) >> 12)
                        adj = adj + ((np.clip(out[:, 5 * C + P + m], -16384, 16384) * size[:, j]) >> 12)
                    mu1, mu2 = [np.clip((anchor[:, c] << 12)
                                        + (np.clip(out[:, col], -(1 << 18), 1 << 18) << shift) + sc,
                                        -(1 << (n + 12)), 1 << (n + 13)) for col in (c, 4 * C + c)]
                    l1 = np.clip(out[:, C + 2 * c] + adj, -32768, 32767)
                    l2 = np.clip(out[:, C + 2 * c + 1] + adj, -32768, 32767)
                    I1, I2 = T["INV"][(l1 + 32768) >> 6], T["INV"][(l2 + 32768) >> 6]
                    wt = T["CDF"][np.clip((out[:, 3 * C + c] >> 4) + 4096, 0, 8191)]
                    if mixer is not None:           # section 8.2: pic = pd + r of channels < c
                        e = vals - pd                # V_j - pd_j of the channels decoded
                        r = (np.zeros(N, np.int64) if c == 0 else e[:, 0] if c == 1
                             else (e[:, 1] + e[:, 0]) >> 1 if c == 2 else e[:, 2])
                        pic, rq = pd[:, c] + r, qs(r, 12)
                    lo = np.zeros(N, np.int64)
                    flo = np.zeros(N, np.int64)
                    fhi = np.full(N, 1 << 30, np.int64)
                    for b in range(n - 1, -1, -1):
                        mid = lo + (1 << b)
                        fm = cdf_at(mid, mu1, mu2, I1, I2, wt, shift, n)
                        if const[b][c] >= 0:
                            bit = np.full(N, const[b][c], np.int64)
                        else:
                            d = fhi - flo
                            lo_k = k_clamp(version)                      # section 8.6
                            k = np.where(d == 0, 32768, np.clip(
                                (((fhi - fm) << 16) + (d >> 1)) // np.maximum(d, 1), lo_k, 65536 - lo_k))
                            if mixer is not None:
                                cells = [(1 << (n - 1 - b)) | (lo >> (b + 1)),
                                         (qs(anchor[:, c] - mid, 31) + 31) * 16 + qa[:, c],
                                         (qs(pic - mid, 31) + 31) * 200 + (rq + 12) * 8 + (qa[:, c] >> 1),
                                         (qs(pd[:, c] - mid, 8) + 8) * 48 + tx[:, c] * 3 + kind]
                                agree = np.zeros(N, np.int64)     # section 8.5: g, how many agree
                                if version >= 9:    # section 8.4: the 4 nearest against the prefix
                                    m4 = np.zeros(N, np.int64)
                                    for t in range(4):
                                        v = nb[t][:, c] if nb is not None else np.zeros(N, np.int64)
                                        same = (v >> (b + 1)) == (lo >> (b + 1))
                                        m4 = 3 * m4 + np.where(same, 1 + ((v >> b) & 1), 0)
                                        agree += same
                                    cells.append(kind * 81 + m4)
                                budget.batch(ans, N)
                                bit = mixer.batch(ans, c, b, n, k, cells, qa[:, c],
                                                  qs(anchor[:, c] - mid, 7), agree)
                            elif refiner is None:
                                bit = budget.bits(ans, k)
                            else:
                                bit = budget.bits(ans, refiner.k(c, b, k))
                                refiner.learn(c, b, bit)
                        one = bit == 1
                        lo = np.where(one, mid, lo)
                        flo = np.where(one, fm, flo)
                        fhi = np.where(one, fhi, fm)
                    vals[:, c] = lo
                    res[:, c] = (lo << 12) - mu1
                    mag = np.abs(res[:, c]) >> shift
                    size[:, c] = np.clip(bitlen(mag) - 12, -4, 8) << 12
                V[ys, xs] = vals
    else:
        V[:] = [sum(const[b][c] << b for b in range(n)) for c in range(C)]
    end_stream(ans, budget)
    return V


def unfilter(X: np.ndarray, kind: int, m: int) -> np.ndarray:
    """Section 3.4, a row at a time: Y[y] from X[y] and Y[y - 1], the left neighbour of each
    sample being the one just computed."""
    if int(X.max()) >> m:
        raise Invalid("a filtered sample is not below its modulus")
    X = X.astype(np.int64)
    Y = np.zeros_like(X)
    mask = (1 << m) - 1
    for y in range(X.shape[0]):
        up = Y[y - 1] if y > 0 else np.zeros_like(X[0])
        for x in range(X.shape[1]):
            left = Y[y][x - 1] if x > 0 else 0
            upleft = up[x - 1] if x > 0 else 0
            pred = {1: left, 2: up[x], 3: left + up[x] - upleft}[kind]
            Y[y][x] = (X[y][x] + pred) & mask
    return Y


def decode(data: bytes, prior_dirs: list) -> bytes:
    chunks = read_container(data)
    version = chunks["version"]
    hd = read_header(chunks[b"H"], version)
    if hd["signed"] and b"P" in chunks:
        raise Invalid("palette in a file of signed samples")
    palette = read_palette(chunks[b"P"], hd) if b"P" in chunks else None
    values = read_values(chunks[b"V"], hd, version) if b"V" in chunks else None
    h, w, C, n = hd["height"], hd["width"], hd["C"], hd["n"]
    copies = None
    if b"G" in chunks:                      # section 3.3: gray copies
        g = chunks[b"G"]
        out = palette if palette is not None else {"C": C, "plain2d": hd["plain2d"]}
        if len(g) != 1 or g[0] not in (3, 4):
            raise Invalid("gray copies chunk: not one byte of 3 or 4")
        if out["C"] != g[0] - 2 or out["plain2d"] or hd["order"] or hd["signed"]:
            raise Invalid("gray copies of an image that is not gray (+ alpha), H x W x C, unsigned")
        if w * h * g[0] > 1 << 28:
            raise Invalid("too many samples in the gray copies' output image")
        copies = g[0]
    filt = None
    if b"F" in chunks:                      # section 3.4: the filter's kind and modulus
        f = chunks[b"F"]
        wide = palette["wide"] if palette is not None else hd["wide"]
        if len(f) != 2 or f[0] not in (1, 2, 3) or not 1 <= f[1] <= (16 if wide else 8):
            raise Invalid("filter chunk: not 2 bytes of a kind 1..3 and a modulus that fits")
        if hd["signed"]:
            raise Invalid("filter in a file of signed samples")
        filt = (f[0], f[1])
    shp = shapes(hd)
    specs = read_delta(chunks[b"W"], hd) if b"W" in chunks else []
    if hd["prior"] is None:
        weights = seeded(hd)
    else:
        weights = find_prior(hd["prior"], prior_dirs, hd, hd["digest"])
    dchunk = chunks[b"D"]
    whole = (w * h, len(data))
    if version < 5:                          # section 9, versions 2-4: one stream
        ans = Ans(dchunk)
        weights = add_delta(ans, specs, weights, shp, hd)
        V = decode_pixels(hd, weights, ans, len(dchunk), version, whole)
    else:                                    # section 9, version 5: an index, then the streams
        groups = layout(h, w, hd["group"])
        streams = split_streams(dchunk, (b"W" in chunks) + len(groups))
        if b"W" in chunks:                   # the delta's stream: delta, then a terminator
            stream = streams.pop(0)
            ans = Ans(stream)
            weights = add_delta(ans, specs, weights, shp, hd)
            end_stream(ans, Budget(len(stream), version))
        else:
            weights = add_delta(None, [], weights, shp, hd)
        V = np.zeros((h, w, C), np.int64)
        for (y0, x0, gh, gw), stream in zip(groups, streams):
            V[y0:y0 + gh, x0:x0 + gw] = decode_pixels({**hd, "height": gh, "width": gw}, weights,
                                                      Ans(stream), len(stream), version, whole)
    if values is not None:                  # section 3.2: indices to values, per model channel
        for c, t in enumerate(values):
            if int(V[:, :, c].max()) >= len(t):
                raise Invalid("value index past its channel's table")
            V[:, :, c] = np.array(t, np.int64)[V[:, :, c]]
    img = V
    if hd["order"] == 1:
        img = img[:, :, [2, 1, 0] + list(range(3, C))]
    if hd["plain2d"]:
        img = img[:, :, 0]
    if palette is not None:                 # section 3.1: indices to colours
        if int(img.max()) >= len(palette["colours"]):
            raise Invalid("palette index past the colour table")
        img = palette["colours"][img]
        if palette["plain2d"]:
            img = img[:, :, 0]
        hd = {**hd, "wide": palette["wide"], "plain2d": palette["plain2d"]}
        C = palette["C"]
    if filt is not None:                    # section 3.4: Y = X + the prediction, in raster order
        img = unfilter(img, *filt)
    if copies is not None:                  # section 3.3: R = G = B = the gray channel (+ A)
        img = img[:, :, [0, 0, 0] if copies == 3 else [0, 0, 0, 1]]
        C = copies
    if hd["signed"]:                        # section 3: sample = value - offset, two's complement
        img = img - hd["offset"]
        samples = np.ascontiguousarray(img).astype("<i2" if hd["wide"] else "i1").tobytes()
    else:
        samples = np.ascontiguousarray(img).astype("<u2" if hd["wide"] else "u1").tobytes()
    geo = (w.to_bytes(4, "little") + h.to_bytes(4, "little")
           + bytes([C, 2 if hd["wide"] else 1, hd["plain2d"]]))
    if hashlib.sha256(geo + samples).digest()[:4] != hd["pixels"]:
        raise Invalid("decoded pixels do not match the pixel hash")
    return samples


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    dirs = []
    while "--prior-dir" in args:
        i = args.index("--prior-dir")
        if i + 1 >= len(args):
            print("linr_ref: error: --prior-dir needs a folder")
            return 1
        dirs.append(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print("usage: linr_ref.py FILE.linr [--prior-dir DIR ...]")
        return 1
    try:
        data = Path(args[0]).read_bytes()
        samples = decode(data, dirs + [DEFAULT_PRIOR_DIR])
    except Invalid as exc:
        print(f"linr_ref: error: {exc}")
        return 1
    except OSError as exc:
        print(f"linr_ref: error: {exc}")
        return 1
    print(hashlib.sha256(samples).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
