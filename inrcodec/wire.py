"""The bytes inside the chunks: header `H`, weight delta `W` (formats/linr.md).

Readers and writers share every field range here, so a file linr writes is
always one it reads, and a file it reads can only mean one thing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .channels import swap_rb
from .container import CHUNK_FRAMING_BYTES, Reader, put_varint
from .errors import FormatError, LimitError
from .groups import pack_size, read_size
from .limits import MAX_LAYERS, MAX_SAMPLES, MAX_SIDE, MAX_WIDTH, MIN_PIXEL_WORK, WORK_PER_FILE_BYTE
from .model import ACTIVATIONS, NetConfig
from .tables import WEIGHT_BITS

SEEDED = bytes(8)                  # `Header.prior` of a file without a prior
MAX_SEED = (1 << 32) - 1
# the prior byte: 0 seeded init (a seed varint follows), 1..127 a built-in prior
# by number (priors.BUILTIN_IDS), 255 any other prior (its 8-byte id follows)
PRIOR_SEEDED, PRIOR_EXTERNAL = 0, 255
GROUPS_VERSION = 5                 # the first format with groups (and mixing)
NARROW_VERSION = 7                 # the first format with the relu16 network (model byte bit 6)
ORDERS = ("given", "rgb")          # colour order: as the caller gave it (OpenCV: B, G, R), or R, G, B


@dataclass(frozen=True)
class ImageInfo:
    height: int
    width: int
    channels: int
    bits: int
    wide: bool                     # samples are uint16 (else uint8)
    plain2d: bool                  # the array is H x W (else H x W x C)
    order: str = "given"
    signed: bool = False           # format 5: the samples are int8 / int16, coded as value + offset
    offset: int = 0

    def __post_init__(self):
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE):
            raise LimitError(f"image of {self.width}x{self.height} is outside 1..{MAX_SIDE} per side")
        if self.width * self.height * self.channels > MAX_SAMPLES:
            raise LimitError("image larger than this decoder accepts")
        if not (1 <= self.channels <= 4 and 1 <= self.bits <= 16):
            raise FormatError("header declares an impossible image")
        if (self.bits > 8 and not self.wide) or (self.plain2d and self.channels != 1) \
                or (self.order == "rgb" and self.channels < 3) or self.order not in ORDERS:
            raise FormatError("header fields contradict each other")
        half = 1 << (15 if self.wide else 7)            # int16 / int8: samples in [-half, half)
        if (self.offset and not self.signed) or not 0 <= self.offset <= half \
                or (self.signed and (1 << self.bits) - 1 - self.offset >= half):
            raise FormatError("header's signed offset does not fit its sample type")

    @property
    def dtype(self):
        """The output array's sample type."""
        return np.dtype(("i" if self.signed else "u") + ("2" if self.wide else "1"))


def min_file_bytes(pixels: int, cfg: NetConfig) -> int:
    """The shortest file allowed for an image with coded planes (limits.WORK_PER_FILE_BYTE)."""
    return -(-pixels * max(cfg.parameters(), MIN_PIXEL_WORK) // WORK_PER_FILE_BYTE)


HASH_ROWS_SAMPLES = 1 << 22         # a swapped image is hashed this many samples at a time


def pixel_hash(image: np.ndarray, info: ImageInfo, swapped: bool = False) -> bytes:
    """First 4 bytes of SHA-256 over the geometry and the samples (C order, little endian).
    swapped: `image` holds channels 0 and 2 exchanged from the order the hash covers."""
    h = hashlib.sha256()
    h.update(int(info.width).to_bytes(4, "little") + int(info.height).to_bytes(4, "little")
             + bytes([info.channels, 2 if info.wide else 1, int(info.plain2d)]))
    dtype = ("<i2" if info.signed else "<u2") if info.wide else ("i1" if info.signed else "u1")
    if not swapped:
        h.update(np.ascontiguousarray(image, dtype=dtype).data)   # no copy of a contiguous image
        return h.digest()[:4]
    step = max(1, HASH_ROWS_SAMPLES // (image.shape[1] * image.shape[2]))
    for y in range(0, image.shape[0], step):
        h.update(np.ascontiguousarray(swap_rb(image[y:y + step]), dtype=dtype).data)
    return h.digest()[:4]


@dataclass
class Header:
    image: ImageInfo
    cfg: NetConfig
    prior: bytes = SEEDED          # first 8 bytes of the prior's SHA-256, or SEEDED
    seed: int = 0                  # seeded files: the seed of the initialisation
    pixels: bytes = b"\0\0\0\0"
    builtin: int = 0               # the prior's built-in number (1..127), or 0
    group_size: tuple = ()         # format 5: groups' (width, height) in pixels (): formats 2-4, no field

    def pack(self) -> bytes:
        im, cfg = self.image, self.cfg
        out = bytearray()
        put_varint(out, im.width, MAX_SIDE)
        put_varint(out, im.height, MAX_SIDE)
        out.append((im.channels - 1) | (im.bits - 1) << 2 | im.wide << 6 | im.plain2d << 7)
        out.append((cfg.activation != "sine") | (cfg.layers - 1) << 1 | ORDERS.index(im.order) << 4
                   | im.signed << 5 | cfg.narrow << 6)
        put_varint(out, cfg.hidden, MAX_WIDTH)
        if len(self.prior) != 8:
            raise FormatError("prior id must be 8 bytes")
        if self.prior == SEEDED:
            out.append(PRIOR_SEEDED)
            put_varint(out, self.seed, MAX_SEED)
        elif 1 <= self.builtin <= 127:
            out.append(self.builtin)
        else:
            out.append(PRIOR_EXTERNAL)
            out += self.prior
        out += self.pixels
        if im.signed:
            put_varint(out, im.offset, 1 << 15)
        if self.group_size:
            out += pack_size(self.group_size)
        return bytes(out)

    @classmethod
    def unpack(cls, data: bytes, version: int) -> "Header":
        """The header of a file of `version` (format 5 adds the group size, 10 any group size)."""
        r = Reader(data, "header")
        width = r.varint(MAX_SIDE)
        height = r.varint(MAX_SIDE)
        fmt = r.byte()
        arch = r.byte()
        signed = bool(arch >> 5 & 1) and version >= GROUPS_VERSION     # format 5: signed samples
        narrow = bool(arch >> 6 & 1) and version >= NARROW_VERSION     # format 7: relu16
        free = 7 if version >= NARROW_VERSION else 6 if version >= GROUPS_VERSION else 5
        if arch >> free or ((arch >> 1) & 7) + 1 > MAX_LAYERS:
            raise FormatError("unknown network architecture or colour order")
        if narrow and not arch & 1:
            raise FormatError("a relu16 network declared with the sine activation")
        if width < 1 or height < 1:
            raise FormatError("header declares an empty image")
        dims = (height, width, (fmt & 3) + 1, ((fmt >> 2) & 15) + 1, bool(fmt >> 6 & 1), bool(fmt >> 7),
                ORDERS[arch >> 4 & 1])
        info = ImageInfo(*dims)             # the geometry checked before anything else is read
        hidden = r.varint(MAX_WIDTH)
        if hidden < 1:
            raise FormatError("network has no hidden units")
        cfg = NetConfig(channels=info.channels, hidden=hidden, layers=((arch >> 1) & 7) + 1,
                        activation=ACTIVATIONS[2 if narrow else arch & 1])
        kind = r.byte()
        seed, builtin = 0, 0
        if kind == PRIOR_SEEDED:
            prior = SEEDED
            seed = r.varint(MAX_SEED)
        elif kind == PRIOR_EXTERNAL:
            prior = r.take(8)
            if prior == SEEDED:
                raise FormatError("prior id of zeros")
        elif kind <= 127:
            from .priors import builtin_tag
            prior, builtin = builtin_tag(kind), kind
        else:
            raise FormatError(f"unknown prior kind {kind}")
        pixels = r.take(4)
        if signed:
            info = ImageInfo(*dims, True, r.varint(1 << 15))
        group_size = read_size(r, version) if version >= GROUPS_VERSION else ()
        r.done()
        return cls(info, cfg, prior, seed, pixels, builtin, group_size)


# -- the weight delta ----------------------------------------------------------

INT_K_MIN, INT_K_MAX = 16, (1 << 16) - 16       # the delta integers' models (exact.K_MIN/K_MAX: the pixels')


def _k(ones: int, total: int) -> int:
    return int(min(INT_K_MAX, max(INT_K_MIN, round(65536 * ones / max(total, 1)))))


def int_params(q: np.ndarray) -> tuple:
    """(k_nonzero, k_more) fitted to q: the frequencies of its decisions."""
    from .intmath import bit_length
    nz = q[q != 0]
    length = bit_length(np.abs(nz)) - 1
    return _k(nz.size, q.size), _k(int(length.sum()), int(length.sum()) + nz.size)


@dataclass
class Delta:
    """Quantised delta: tensor index -> (step exponent e, integer array q).

    weight = base + (q << (WEIGHT_BITS - e)).
    """
    tensors: dict = field(default_factory=dict)

    def apply(self, base: list) -> list:
        out = [np.asarray(b, np.int64).copy() for b in base]
        for i, (e, q) in self.tensors.items():
            out[i] = out[i] + (q.astype(np.int64) << (WEIGHT_BITS - e))
        return out

    def pack(self) -> bytes:
        out = bytearray([len(self.tensors)])
        for i, (e, q) in sorted(self.tensors.items()):
            k_nz, k_more = int_params(q)
            out += bytes([i, e]) + k_nz.to_bytes(2, "little") + k_more.to_bytes(2, "little")
        return bytes(out)

    def cost_bits(self) -> float:
        if not self.tensors:
            return 0.0
        from .entropy import int_decisions
        from .exact import bits_cost
        body = sum(bits_cost(k, b) for _, q in self.tensors.values()
                   for b, k in int_decisions(q, *int_params(q)))
        return body + 8 * (len(self.pack()) + CHUNK_FRAMING_BYTES)


@dataclass(frozen=True)
class DeltaSpec:
    index: int
    exponent: int
    k_nonzero: int
    k_more: int


def read_delta_specs(data: bytes, cfg: NetConfig) -> list:
    """The W chunk: count >= 1, then per tensor (ascending index): index, e, k_nonzero, k_more."""
    r = Reader(data, "delta")
    shapes = cfg.shapes()
    count = r.byte()
    if not 1 <= count <= len(shapes):
        raise FormatError("delta chunk names no tensor or too many")
    specs = []
    for _ in range(count):
        i, e = r.byte(), r.byte()
        k_nz, k_more = int.from_bytes(r.take(2), "little"), int.from_bytes(r.take(2), "little")
        if i >= len(shapes) or e > WEIGHT_BITS or not (INT_K_MIN <= k_nz <= INT_K_MAX and INT_K_MIN <= k_more <= INT_K_MAX):
            raise FormatError("delta descriptor out of range")
        if specs and i <= specs[-1].index:
            raise FormatError("delta tensors are not in ascending order")
        specs.append(DeltaSpec(i, e, k_nz, k_more))
    r.done()
    return specs
