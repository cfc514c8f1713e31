"""Image file headers read before any pixel is decoded: size, channels, bit depth, pages.

image_header() reads what a PNG (IHDR, and the chunk headers before IDAT: tRNS, acTL), TIFF
(first IFD; every page counted with tifffile), PNM/PAM, BMP, JPEG (SOF) or WebP header
declares, as an ImageHeader; ImageHeader.check() refuses an empty image, several pages or
animation frames, more than 4 channels, and sizes over limits.MAX_SIDE / MAX_SAMPLES /
DEFAULT_MAX_PIXELS. Truncated or corrupt headers are ImageErrors.
"""
from __future__ import annotations

import io
import struct
import zlib

from . import limits
from .container import SIGNATURE as LINR_SIGNATURE
from .errors import ImageError, LimitError, LinrError
from .png_chunks import PNG_SIGNATURE
from .quiet import import_tifffile, quiet_stderr

TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class ImageHeader:
    """What an image file's header declares, before pixels are decoded.

    kind: "PNG", "TIFF", "PNM", "PAM", "BMP", "JPEG" or "WebP"; pages: pages or animation
    frames (note names which). PNG only: png_color, the IHDR colour type. TIFF only:
    tiff_kind = (dtype kind, bytes a sample, photometric, image depth), unassoc_alpha
    (ExtraSamples 2), orientation (tag 274), planar (PlanarConfiguration 2: one plane per
    sample) and bits (BitsPerSample). 16-bit BMP only: bmp_masks, its (R, G, B) colour masks.
    """

    def __init__(self, kind, width, height, channels, bytes_per_sample=1, pages=1, note="", *,
                 png_color=None, tiff_kind=None, unassoc_alpha=False, orientation=1,
                 planar=False, bits=None, bmp_masks=None):
        self.kind, self.width, self.height = kind, int(width), int(height)
        self.channels, self.bytes_per_sample, self.pages = int(channels), int(bytes_per_sample), int(pages)
        self.note = note
        self.png_color, self.tiff_kind = png_color, tiff_kind
        self.unassoc_alpha, self.orientation = unassoc_alpha, orientation
        self.planar = bool(planar)
        self.bmp_masks = bmp_masks
        self.bits = 8 * self.bytes_per_sample if bits is None else int(bits)

    def check(self) -> None:
        w, h, c = self.width, self.height, self.channels
        if w < 1 or h < 1:
            raise ImageError(f"{self.kind} header declares an empty image ({w}x{h})")
        if self.pages > 1:
            raise ImageError(f"{self.kind} has {self.pages} {self.note or 'pages'}; linr codes one image "
                             "(extract the page you want first)")
        if not 1 <= c <= 4:
            raise ImageError(f"{self.kind} has {c} channels; linr codes 1 to 4")
        if w > limits.MAX_SIDE or h > limits.MAX_SIDE:
            raise LimitError(f"{self.kind} of {w}x{h} exceeds the largest side linr accepts ({limits.MAX_SIDE})")
        if w * h * c > limits.MAX_SAMPLES or w * h > limits.DEFAULT_MAX_PIXELS:
            raise LimitError(f"{self.kind} of {w}x{h}x{c} exceeds the size limits "
                             f"({limits.MAX_SAMPLES} samples)")


def _png_header(raw: bytes) -> ImageHeader:
    if len(raw) < 33:
        raise ImageError("truncated PNG (no IHDR)")
    length, ctype = struct.unpack(">I4s", raw[8:16])
    if ctype != b"IHDR" or length != 13:
        raise ImageError("corrupt PNG (first chunk is not a 13-byte IHDR)")
    if zlib.crc32(raw[12:29]) != struct.unpack(">I", raw[29:33])[0]:
        raise ImageError("corrupt PNG (IHDR CRC error)")
    w, h, depth, color, comp, filt, lace = struct.unpack(">IIBBBBB", raw[16:29])
    allowed = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
    if color not in allowed or depth not in allowed[color] or comp or filt or lace > 1:
        raise ImageError(f"corrupt PNG (invalid IHDR: colour type {color}, bit depth {depth})")
    if w == 0 or h == 0 or w >= 1 << 31 or h >= 1 << 31:
        raise ImageError(f"corrupt PNG (invalid size {w}x{h})")
    # walk the chunk headers up to the first IDAT: transparency, animation
    pos, trns, frames = 33, False, 1
    while pos + 8 <= len(raw):
        n, t = struct.unpack(">I4s", raw[pos:pos + 8])
        if t == b"IDAT" or n >= 1 << 31:
            break
        if t == b"tRNS":
            trns = True
        elif t == b"acTL" and n >= 8 and pos + 16 <= len(raw):
            frames = struct.unpack(">I", raw[pos + 8:pos + 12])[0]
        pos += 12 + n
    c = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}[color]
    if trns and color in (2, 3):
        c = 4
    return ImageHeader("PNG", w, h, c, 2 if depth == 16 else 1, frames, "animation frames",
                       png_color=color)


def _tiff_header(raw: bytes) -> ImageHeader:
    try:
        tifffile = import_tifffile()
    except ImportError:
        return _tiff_header_small(raw)
    try:
        with quiet_stderr(), tifffile.TiffFile(io.BytesIO(raw)) as tif:
            pages = len(tif.pages)
            page = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
            spp = int(page.samplesperpixel)
            bits = int(page.bitspersample)
            orient = page.tags.get(274)
            g = ImageHeader("TIFF", page.imagewidth, page.imagelength, spp, 2 if bits > 8 else 1, pages,
                            tiff_kind=(page.dtype.kind if page.dtype is not None else "?",
                                       page.dtype.itemsize if page.dtype is not None else 0,
                                       int(page.photometric), int(getattr(page, "imagedepth", 1) or 1)),
                            unassoc_alpha=2 in [int(x) for x in page.extrasamples],   # ExtraSamples 2
                            orientation=orient.value if orient is not None and isinstance(orient.value, int)
                            else 1,
                            planar=spp > 1 and int(page.planarconfig) == 2, bits=bits)
    except LinrError:
        raise
    except MemoryError:
        raise LimitError("out of memory reading the TIFF header") from None
    except Exception as exc:  # tifffile on a hostile file
        raise ImageError(f"corrupt TIFF ({type(exc).__name__})") from None
    if g.tiff_kind[3] > 1:
        raise ImageError("volumetric TIFF (image depth > 1) is not supported")
    if g.tiff_kind[0] not in ("u", "b", "i") or g.tiff_kind[1] > 2:
        if pages <= 1:
            raise ImageError(f"TIFF samples are {page.dtype}; linr codes 8- and 16-bit integers "
                             "(signed or unsigned) and 1-16 bit unsigned ones")
    return g


def _tiff_header_small(raw: bytes) -> ImageHeader:
    """The first IFD of a classic TIFF: size, samples, bits; and whether a second IFD exists."""
    if len(raw) < 8:
        raise ImageError("truncated TIFF")
    end = {b"II": "<", b"MM": ">"}.get(raw[:2])
    if end is None:
        raise ImageError("corrupt TIFF (bad byte order mark)")
    magic, ifd = struct.unpack(end + "HI", raw[2:8])
    if magic == 43:
        raise ImageError("BigTIFF needs the tifffile package (pip install tifffile)")
    if magic != 42 or ifd < 8 or ifd + 2 > len(raw):
        raise ImageError("corrupt TIFF (bad header)")
    count = struct.unpack(end + "H", raw[ifd:ifd + 2])[0]
    if ifd + 2 + 12 * count + 4 > len(raw):
        raise ImageError("truncated TIFF (IFD)")
    tags = {}
    for i in range(count):
        tag, typ, n, value = struct.unpack(end + "HHI4s", raw[ifd + 2 + 12 * i: ifd + 14 + 12 * i])
        if typ == 3:  # SHORT
            if n * 2 <= 4:
                v = struct.unpack(end + "H", value[:2])[0]
            else:
                off = struct.unpack(end + "I", value)[0]
                v = struct.unpack(end + "H", raw[off:off + 2])[0] if off + 2 <= len(raw) else 0
        elif typ == 4:  # LONG
            v = struct.unpack(end + "I", value)[0] if n == 1 else None
        else:
            v = None
        tags[tag] = v
    nxt = struct.unpack(end + "I", raw[ifd + 2 + 12 * count: ifd + 6 + 12 * count])[0]
    w, h = tags.get(256), tags.get(257)
    if not w or not h:
        raise ImageError("corrupt TIFF (no image size)")
    spp, bits = tags.get(277) or 1, tags.get(258) or 1
    if bits > 16:
        raise ImageError(f"TIFF of {bits} bits per sample; linr codes 1-16 bit integers")
    size = 2 if bits > 8 else 1
    return ImageHeader("TIFF", w, h, spp, size, 2 if nxt else 1,
                       tiff_kind=("u", size, tags.get(262) or 0, 1),
                       unassoc_alpha=tags.get(338) == 2,      # first ExtraSamples value: enough for RGBA
                       planar=spp > 1 and tags.get(284) == 2, bits=bits)


def _pnm_header(raw: bytes) -> ImageHeader:
    magic = raw[:2]
    if magic == b"P7":
        end = raw.find(b"ENDHDR", 0, 4096)
        if end < 0:
            raise ImageError("corrupt PAM (no ENDHDR in the first 4 kB)")
        fields = {}
        for line in raw[2:end].split(b"\n"):
            parts = line.split(b"#")[0].split()
            if len(parts) >= 2:
                fields[parts[0].upper()] = parts[1]
        try:
            w, h, c, maxval = (int(fields[k]) for k in (b"WIDTH", b"HEIGHT", b"DEPTH", b"MAXVAL"))
        except (KeyError, ValueError):
            raise ImageError("corrupt PAM header") from None
        if not 1 <= maxval <= 65535:
            raise ImageError(f"corrupt PAM (maxval {maxval})")
        return ImageHeader("PAM", w, h, c, 2 if maxval > 255 else 1)
    tokens, pos, want = [], 2, 2 if magic in (b"P1", b"P4") else 3
    while len(tokens) < want and pos < min(len(raw), 4096):
        ch = raw[pos:pos + 1]
        if ch == b"#":
            nl = raw.find(b"\n", pos)
            pos = len(raw) if nl < 0 else nl + 1
        elif ch.isspace():
            pos += 1
        else:
            start = pos
            while pos < len(raw) and not raw[pos:pos + 1].isspace() and raw[pos:pos + 1] != b"#":
                pos += 1
            tokens.append(raw[start:pos])
    try:
        nums = [int(t) for t in tokens]
    except ValueError:
        raise ImageError("corrupt PNM header") from None
    if len(nums) < want or any(len(t) > 10 for t in tokens):
        raise ImageError("corrupt or truncated PNM header")
    w, h = nums[0], nums[1]
    maxval = nums[2] if want == 3 else 1
    if not 1 <= maxval <= 65535:
        raise ImageError(f"corrupt PNM (maxval {maxval})")
    c = 3 if magic in (b"P3", b"P6") else 1
    size = 2 if maxval > 255 else 1
    g = ImageHeader("PNM", w, h, c, size)
    g.check()
    if magic in (b"P5", b"P6") and len(raw) - pos - 1 < w * h * c * size:
        raise ImageError("truncated PNM (fewer pixel bytes than the header declares)")
    return g


# 16-bit BMP colour masks (R, G, B) that OpenCV reads: BI_RGB's 5-5-5 and BITFIELDS' 5-6-5
BMP_555, BMP_565 = (0x7C00, 0x03E0, 0x001F), (0xF800, 0x07E0, 0x001F)


def _bmp_header(raw: bytes) -> ImageHeader:
    if len(raw) < 26:
        raise ImageError("truncated BMP")
    offset, hsize = struct.unpack("<II", raw[10:18])
    compression, colours, masks = 0, 0, None
    if hsize == 12:
        w, h, _planes, bpp = struct.unpack("<HHHH", raw[18:26])
        entry = 3
    elif hsize >= 40 and len(raw) >= 54:
        w, h, _planes, bpp, compression = struct.unpack("<iiHHI", raw[18:34])
        colours = struct.unpack("<I", raw[46:50])[0]
        entry = 4
        if compression == 3 and len(raw) >= 66:          # BI_BITFIELDS: R, G, B masks after the header
            masks = struct.unpack("<III", raw[54:66])
    else:
        raise ImageError("corrupt BMP header")
    if bpp == 16 and compression == 0:
        masks = BMP_555
    # A palette image's pixels cannot start inside its header or colour table: OpenCV would
    # read table entries as pixels (Pillow skips to the table's end; neither is the stored image).
    if bpp <= 8:
        table = (min(colours, 1 << bpp) if colours else 1 << bpp) * entry
        if offset < 14 + hsize + table:
            raise ImageError(f"corrupt BMP: its pixel data offset ({offset}) lies inside its colour "
                             f"table (which ends at {14 + hsize + table})")
    return ImageHeader("BMP", abs(w), abs(h), 4 if bpp == 32 else 3, bits=8,
                       bmp_masks=masks if bpp == 16 else None)


def _jpeg_header(raw: bytes) -> ImageHeader:
    pos = 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            raise ImageError("corrupt JPEG (bad marker)")
        marker = raw[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        n = struct.unpack(">H", raw[pos + 2:pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 10 > len(raw):
                break
            prec, h, w, c = struct.unpack(">BHHB", raw[pos + 4:pos + 10])
            return ImageHeader("JPEG", w, h, c, 2 if prec > 8 else 1)
        if marker == 0xDA or n < 2:
            break
        pos += 2 + n
    raise ImageError("corrupt or truncated JPEG (no frame header)")


def _webp_header(raw: bytes) -> ImageHeader:
    if len(raw) < 30:
        raise ImageError("truncated WebP")
    kind = raw[12:16]
    if kind == b"VP8X":
        flags = raw[20]
        w = 1 + int.from_bytes(raw[24:27], "little")
        h = 1 + int.from_bytes(raw[27:30], "little")
        return ImageHeader("WebP", w, h, 4, 1, 2 if flags & 0x02 else 1, "animation frames")
    if kind == b"VP8L":
        b = int.from_bytes(raw[21:25], "little")
        return ImageHeader("WebP", 1 + (b & 0x3FFF), 1 + ((b >> 14) & 0x3FFF), 4)
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", raw[26:30])
        return ImageHeader("WebP", w & 0x3FFF, h & 0x3FFF, 3)
    raise ImageError("corrupt WebP header")


def image_header(raw: bytes):
    """The ImageHeader of an image file's bytes (not checked against the limits: call its
    check()), or None for formats not parsed here."""
    if raw[:6] == LINR_SIGNATURE:
        raise ImageError("this is a .linr file, not an image (use linr decode)")
    if raw[:8] == PNG_SIGNATURE:
        return _png_header(raw)
    if raw[:4] in TIFF_SIGNATURES:
        return _tiff_header(raw)
    if len(raw) >= 3 and raw[:1] == b"P" and raw[1:2] in b"1234567" and raw[2:3].isspace():
        return _pnm_header(raw)
    if raw[:2] == b"BM":
        return _bmp_header(raw)
    if raw[:3] == b"\xff\xd8\xff":
        return _jpeg_header(raw)
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return _webp_header(raw)
    return None


