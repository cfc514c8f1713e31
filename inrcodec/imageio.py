"""Reading and writing images and .linr files: bounded, checked, atomic.

Reading. Only regular files are read (a FIFO, a device such as /dev/zero or
a directory is refused before a byte is read), except the path "-" given as
a str, which is stdin. Sizes are checked before reading (limits.MAX_INPUT_BYTES);
a .linr file's signature is checked before the rest is read. An image's
dimensions, bit depth, channels and page count are read from its header
(PNG IHDR, TIFF IFD, PNM, BMP, JPEG SOF, WebP) before any pixel is decoded,
and images over limits.MAX_SIDE / MAX_SAMPLES / DEFAULT_MAX_PIXELS are refused
with LimitError; multi-page TIFFs and animated PNG/WebP are refused.

Pixels are decoded with OpenCV's IMREAD_UNCHANGED: the array OpenCV gives is
what round-trips, so colour images are in OpenCV's B, G, R (, A) order and PNG
palettes are expanded. Three exceptions, where OpenCV cannot give the image as
stored: a gray + alpha PNG is read as 2 channels (gray, alpha); a 2-channel
TIFF is read with tifffile; an 8-bit RGBA TIFF with unassociated alpha
(ExtraSamples 2), whose colour OpenCV premultiplies by alpha, is read with
tifffile (in B, G, R, A order, Orientation applied as OpenCV does) or refused
without it. OpenCV's and libpng's messages on stderr are silenced: every
failure is one ImageError.

Writing. write_image refuses any format that cannot hold the image exactly
(lossy formats, too few bits, too few channels, .pbm) and re-reads what it
encoded to prove it; PNG (2 channels: gray + alpha) and TIFF always work.
Outputs are written to a short-named temporary file in the destination folder,
then renamed, so no partial file is ever left and long names work. New files
get the umask's permissions; with force, an existing file keeps its mode. A
destination that is a symlink is written through: its target is replaced and
the link kept. The output is never the input file (same path or same inode),
even with force. The path "-" (a str) is stdout.
"""
from __future__ import annotations

import io
import logging
import os
import secrets
import stat
import struct
import sys
import threading
import zlib
from contextlib import contextmanager

import numpy as np

from . import limits
from .errors import FileError, FormatError, ImageError, LimitError, LinrError
from .validate import as_image

# OpenCV reads this once, at its first decode: a second line of defence for
# formats whose header linr does not parse itself.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(limits.MAX_SAMPLES))
import cv2  # noqa: E402

try:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
except Exception:  # older OpenCV builds
    try:
        cv2.setLogLevel(0)
    except Exception:
        pass
logging.getLogger("tifffile").setLevel(logging.CRITICAL)

LINR_SIGNATURE = b"\x89LNR\r\n"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_INPUT_BYTES = limits.MAX_INPUT_BYTES
STDIO = "-"

# Formats that cannot hold an image exactly, whatever its contents.
LOSSY = {".jpg", ".jpeg", ".jpe", ".jfif", ".jp2", ".j2k", ".jpx", ".avif", ".heic", ".heif",
         ".jxl", ".gif"}
EIGHT_BIT_ONLY = {".bmp", ".dib", ".webp", ".ras", ".sr", ".pbm"}
CHANNELS_OK = {".bmp": (1, 3, 4), ".dib": (1, 3, 4), ".pgm": (1,), ".ppm": (3,), ".pnm": (1, 3),
               ".webp": (3, 4), ".ras": (1, 3), ".sr": (1, 3), ".pam": (1, 2, 3, 4),
               ".pbm": (1,), ".png": (1, 2, 3, 4), ".tif": (1, 2, 3, 4), ".tiff": (1, 2, 3, 4)}


# -- small helpers -------------------------------------------------------------

def _is_stdio(path) -> bool:
    return isinstance(path, str) and path == STDIO


def _fspath(path) -> str:
    """A str path, or FileError for anything that is not a path."""
    if isinstance(path, (str, bytes, os.PathLike)):
        try:
            p = os.fspath(path)
        except TypeError:
            raise FileError(f"not a file path: {type(path).__name__}") from None
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if isinstance(p, str) and p and "\x00" not in p:
            return p
    raise FileError(f"not a file path: {type(path).__name__} {path!r:.40}")


def _os_error(exc: OSError) -> FileError:
    import errno
    names = {errno.ENOENT: "no such file", errno.EISDIR: "is a directory",
             errno.EACCES: "permission denied", errno.EPERM: "permission denied",
             errno.ENAMETOOLONG: "file name too long", errno.ENOTDIR: "a folder in the path is not a folder",
             errno.ENOSPC: "no space left on device", errno.EROFS: "read-only file system",
             errno.ELOOP: "too many levels of symbolic links"}
    return FileError(names.get(exc.errno) or exc.strerror or type(exc).__name__)


_quiet_lock = threading.RLock()


@contextmanager
def quiet_stderr():
    """Silence whatever C libraries print on fd 2 (libpng, libtiff, OpenCV)."""
    with _quiet_lock:
        saved = devnull = None
        try:
            try:
                sys.stderr.flush()
            except Exception:
                pass
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
        except OSError:
            pass
        try:
            yield
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
            if devnull is not None:
                os.close(devnull)


# -- bounded reading -------------------------------------------------------------

def _open_regular(path: str):
    """Open path for reading without blocking; refuse anything but a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise FileError(f"not a regular file ({kind}); use - to read stdin")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _read_capped(f, cap: int, what: str) -> bytes:
    chunks, total = [], 0
    while True:
        block = f.read(min(1 << 20, cap + 1 - total))
        if not block:
            break
        chunks.append(block)
        total += len(block)
        if total > cap:
            raise LimitError(f"{what} is larger than {cap} bytes")
    return b"".join(chunks)


def read_bytes(path, cap: int = MAX_INPUT_BYTES, what: str = "file", signature: bytes = b"",
               bad_signature: str = "") -> bytes:
    """Read a whole regular file (or stdin for "-"), at most cap bytes.

    With signature, its first bytes are checked before the rest is read.
    """
    if _is_stdio(path):
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise FileError("stdin is not available")
        head = stream.read(len(signature)) if signature else b""
        if signature and head != signature:
            raise FormatError(bad_signature or "bad signature")
        try:
            return head + _read_capped(stream, cap - len(head), what)
        except OSError as exc:
            raise _os_error(exc) from None
    path = _fspath(path)
    f, size = _open_regular(path)
    with f:
        if size > cap:
            raise LimitError(f"{what} of {size} bytes is larger than the {cap} bytes linr reads")
        try:
            head = f.read(len(signature)) if signature else b""
            if signature and head != signature:
                raise FormatError(bad_signature or "bad signature")
            return head + _read_capped(f, cap - len(head), what)
        except OSError as exc:
            raise _os_error(exc) from None


def read_linr_file(path) -> bytes:
    """The bytes of a .linr file: regular file or stdin, signature checked first."""
    return read_bytes(path, MAX_INPUT_BYTES, ".linr file", LINR_SIGNATURE,
                      "not a .linr file (bad signature)")


# -- image headers ----------------------------------------------------------------

class Geometry:
    """What an image file's header declares, before pixels are decoded."""

    def __init__(self, kind, width, height, channels, bytes_per_sample=1, pages=1, note=""):
        self.kind, self.width, self.height = kind, int(width), int(height)
        self.channels, self.bytes_per_sample, self.pages = int(channels), int(bytes_per_sample), int(pages)
        self.note = note

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


def _png_geometry(raw: bytes) -> Geometry:
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
    g = Geometry("PNG", w, h, c, 2 if depth == 16 else 1, frames, "animation frames")
    g.png_color = color
    return g


def _tiff_geometry(raw: bytes) -> Geometry:
    try:
        import tifffile
    except ImportError:
        return _tiff_geometry_small(raw)
    try:
        with quiet_stderr(), tifffile.TiffFile(io.BytesIO(raw)) as tif:
            pages = len(tif.pages)
            page = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
            spp = int(page.samplesperpixel)
            bits = int(page.bitspersample)
            g = Geometry("TIFF", page.imagewidth, page.imagelength, spp, 2 if bits > 8 else 1, pages)
            g.tiff_kind = (page.dtype.kind if page.dtype is not None else "?",
                           page.dtype.itemsize if page.dtype is not None else 0,
                           int(page.photometric), int(getattr(page, "imagedepth", 1) or 1))
            g.unassoc_alpha = 2 in [int(x) for x in page.extrasamples]      # ExtraSamples 2
            orient = page.tags.get(274)
            g.orientation = orient.value if orient is not None and isinstance(orient.value, int) else 1
    except LinrError:
        raise
    except MemoryError:
        raise LimitError("out of memory reading the TIFF header") from None
    except Exception as exc:  # tifffile on a hostile file
        raise ImageError(f"corrupt TIFF ({type(exc).__name__})") from None
    if g.tiff_kind[3] > 1:
        raise ImageError("volumetric TIFF (image depth > 1) is not supported")
    if g.tiff_kind[0] not in ("u", "b") or g.tiff_kind[1] > 2:
        if pages <= 1:
            raise ImageError(f"TIFF samples are {page.dtype}; linr codes 1-16 bit unsigned integers")
    return g


def _tiff_geometry_small(raw: bytes) -> Geometry:
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
    g = Geometry("TIFF", w, h, spp, 2 if bits > 8 else 1, 2 if nxt else 1)
    if bits > 16:
        raise ImageError(f"TIFF of {bits} bits per sample; linr codes 1-16 bit integers")
    g.tiff_kind = ("u", g.bytes_per_sample, tags.get(262) or 0, 1)
    g.unassoc_alpha = tags.get(338) == 2          # first ExtraSamples value: enough for RGBA
    return g


def _pnm_geometry(raw: bytes) -> Geometry:
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
        return Geometry("PAM", w, h, c, 2 if maxval > 255 else 1)
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
    g = Geometry("PNM", w, h, c, size)
    g.check()
    if magic in (b"P5", b"P6") and len(raw) - pos - 1 < w * h * c * size:
        raise ImageError("truncated PNM (fewer pixel bytes than the header declares)")
    return g


def _bmp_geometry(raw: bytes) -> Geometry:
    if len(raw) < 26:
        raise ImageError("truncated BMP")
    hsize = struct.unpack("<I", raw[14:18])[0]
    if hsize == 12:
        w, h, _planes, bpp = struct.unpack("<HHHH", raw[18:26])
    elif hsize >= 40 and len(raw) >= 30:
        w, h, _planes, bpp = struct.unpack("<iiHH", raw[18:30])
    else:
        raise ImageError("corrupt BMP header")
    return Geometry("BMP", abs(w), abs(h), 4 if bpp == 32 else 3)


def _jpeg_geometry(raw: bytes) -> Geometry:
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
            return Geometry("JPEG", w, h, c, 2 if prec > 8 else 1)
        if marker == 0xDA or n < 2:
            break
        pos += 2 + n
    raise ImageError("corrupt or truncated JPEG (no frame header)")


def _webp_geometry(raw: bytes) -> Geometry:
    if len(raw) < 30:
        raise ImageError("truncated WebP")
    kind = raw[12:16]
    if kind == b"VP8X":
        flags = raw[20]
        w = 1 + int.from_bytes(raw[24:27], "little")
        h = 1 + int.from_bytes(raw[27:30], "little")
        return Geometry("WebP", w, h, 4, 1, 2 if flags & 0x02 else 1, "animation frames")
    if kind == b"VP8L":
        b = int.from_bytes(raw[21:25], "little")
        return Geometry("WebP", 1 + (b & 0x3FFF), 1 + ((b >> 14) & 0x3FFF), 4)
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", raw[26:30])
        return Geometry("WebP", w & 0x3FFF, h & 0x3FFF, 3)
    raise ImageError("corrupt WebP header")


def image_geometry(raw: bytes):
    """Geometry from the header of an image file's bytes, or None for formats not parsed here."""
    if raw[:6] == LINR_SIGNATURE:
        raise ImageError("this is a .linr file, not an image (use linr decode)")
    if raw[:8] == PNG_SIGNATURE:
        return _png_geometry(raw)
    if raw[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_geometry(raw)
    if len(raw) >= 3 and raw[:1] == b"P" and raw[1:2] in b"1234567" and raw[2:3].isspace():
        return _pnm_geometry(raw)
    if raw[:2] == b"BM":
        return _bmp_geometry(raw)
    if raw[:3] == b"\xff\xd8\xff":
        return _jpeg_geometry(raw)
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return _webp_geometry(raw)
    return None


# -- decoding -------------------------------------------------------------------

def _decode_tiff_tifffile(raw: bytes) -> np.ndarray:
    import tifffile
    with quiet_stderr(), tifffile.TiffFile(io.BytesIO(raw)) as tif:
        page = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
        arr = page.asarray()
        axes = page.axes
    if "S" in axes and arr.ndim == 3 and axes.index("S") == 0:
        arr = np.moveaxis(arr, 0, -1)
    return arr


# TIFF Orientation (274) as OpenCV applies it, for the pixels linr reads with tifffile instead.
_ORIENT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
           7: lambda a: np.rot90(a, 2).swapaxes(0, 1), 8: lambda a: np.rot90(a, 1)}


def _opencv_premultiplies(geo) -> bool:
    """An 8-bit RGBA TIFF with unassociated alpha: OpenCV reads it through libtiff's RGBA
    reader, which multiplies the colour by alpha, so its pixels would not be the stored ones."""
    return (geo is not None and geo.kind == "TIFF" and geo.channels == 4 and geo.bytes_per_sample == 1
            and geo.tiff_kind[2] == 2 and getattr(geo, "unassoc_alpha", False))


def image_from_bytes(raw: bytes) -> np.ndarray:
    """Decode image file bytes (header checked first) to a uint8/uint16 array."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ImageError(f"image bytes expected, not {type(raw).__name__}")
    raw = bytes(raw)
    if not raw:
        raise ImageError("empty file")
    geo = image_geometry(raw)
    if geo is None:
        if len(raw) > limits.MAX_UNPARSED_INPUT_BYTES:
            raise LimitError(f"image file of {len(raw)} bytes in a format linr cannot check "
                             f"before decoding; the limit is {limits.MAX_UNPARSED_INPUT_BYTES}")
    else:
        geo.check()
    img = None
    try:
        if geo is not None and geo.kind == "TIFF" and geo.channels == 2:
            try:
                img = _decode_tiff_tifffile(raw)
            except ImportError:
                raise ImageError("2-channel TIFF needs the tifffile package (pip install tifffile)") from None
        elif _opencv_premultiplies(geo):
            try:
                img = _decode_tiff_tifffile(raw)
            except ImportError:
                raise ImageError("RGBA TIFF with unassociated alpha needs the tifffile package "
                                 "(pip install tifffile): OpenCV would premultiply its colours") from None
            # OpenCV's conventions: B, G, R, A order and the Orientation tag applied
            img = np.ascontiguousarray(_ORIENT.get(getattr(geo, "orientation", 1), lambda a: a)(
                img[:, :, [2, 1, 0, 3]]))
        else:
            with quiet_stderr():
                img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    except LinrError:
        raise
    except MemoryError:
        raise LimitError("out of memory: image too large for this machine") from None
    except Exception:  # cv2.error, tifffile errors on a corrupt file
        img = None
    if img is None:
        raise ImageError("cannot read this image (unsupported or corrupt)")
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"unsupported sample type {img.dtype} (linr codes 1-16 bit integers)")
    if geo is not None and geo.kind == "PNG" and getattr(geo, "png_color", None) == 4 \
            and img.ndim == 3 and img.shape[2] == 4:
        img = np.ascontiguousarray(img[:, :, [0, 3]])      # gray + alpha as stored
    if geo is not None:
        size = (geo.height, geo.width)
        if geo.kind == "TIFF" and getattr(geo, "orientation", 1) in (5, 6, 7, 8):
            size = size[::-1]                   # OpenCV turned the pixels a quarter turn
        if img.shape[:2] != size:
            raise ImageError("corrupt image (decoded size differs from its header)")
    return as_image(img)


def read_image(path) -> np.ndarray:
    """Read an image file (or stdin for "-"): header checked before pixels are decoded."""
    return image_from_bytes(read_bytes(path, MAX_INPUT_BYTES, "image file"))


# -- writing --------------------------------------------------------------------

def _png_gray_alpha(image: np.ndarray) -> bytes:
    """A gray + alpha PNG (colour type 4), which OpenCV cannot write."""
    h, w, _ = image.shape
    depth = 16 if image.dtype == np.uint16 else 8
    rows = image.astype(">u2" if depth == 16 else np.uint8).reshape(h, -1).view(np.uint8)
    body = np.concatenate([np.zeros((h, 1), np.uint8), rows.reshape(h, -1)], axis=1).tobytes()

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 4, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(body, 6)) + chunk(b"IEND", b"")


def _tiff_2channel(image: np.ndarray) -> bytes:
    try:
        import tifffile
    except ImportError:
        raise ImageError("writing a 2-channel TIFF needs the tifffile package; use .png") from None
    buf = io.BytesIO()
    tifffile.imwrite(buf, image, photometric="minisblack", extrasamples=["unassalpha"],
                     compression="zlib" if _has_imagecodecs() else None)
    return buf.getvalue()


def _has_imagecodecs() -> bool:
    try:
        import imagecodecs  # noqa: F401
        return True
    except ImportError:
        return False


def _same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype:
        return False
    a2 = a[:, :, 0] if a.ndim == 3 and a.shape[2] == 1 else a
    b2 = b[:, :, 0] if b.ndim == 3 and b.shape[2] == 1 else b
    return a2.shape == b2.shape and np.array_equal(a2, b2)


def image_to_bytes(image, ext: str = ".png") -> bytes:
    """Encode an image in the format of extension ext, exactly or not at all."""
    if isinstance(image, np.ndarray) and image.dtype.kind == "f":
        raise ImageError(f"cannot write {image.dtype} samples: linr writes uint8/uint16 images exactly")
    image = as_image(image)
    ext = (ext or ".png").lower()
    c = 1 if image.ndim == 2 else image.shape[2]
    wide = image.dtype == np.uint16
    hint = "use .png or .tif"
    if ext in LOSSY:
        raise ImageError(f"{ext} is lossy and would not give the image back exactly; {hint}")
    if ext not in CHANNELS_OK:
        raise ImageError(f"unknown or unsupported output format {ext!r}; {hint}")
    if wide and ext in EIGHT_BIT_ONLY:
        raise ImageError(f"{ext} cannot hold 16-bit samples; {hint}")
    if c not in CHANNELS_OK[ext]:
        what = {1: "gray", 2: "gray + alpha", 3: "colour", 4: "colour + alpha"}[c]
        raise ImageError(f"{ext} cannot hold a {c}-channel ({what}) image; {hint}")
    if ext == ".pbm" and not np.isin(image, (0, 1)).all() and not np.isin(image, (0, 255)).all():
        raise ImageError(f".pbm holds only black and white and would binarise this image; {hint}")
    if c == 2 and ext == ".png":
        data = _png_gray_alpha(image)
    elif c == 2 and ext in (".tif", ".tiff"):
        data = _tiff_2channel(image)
    else:
        params = {".png": [cv2.IMWRITE_PNG_COMPRESSION, 6],
                  ".webp": [cv2.IMWRITE_WEBP_QUALITY, 101]}.get(ext, [])
        arr = image[:, :, 0] if image.ndim == 3 and c == 1 else image
        try:
            with quiet_stderr():
                ok, buf = cv2.imencode(ext, arr, params)
        except cv2.error:
            ok = False
        if not ok:
            raise ImageError(f"cannot write this image as {ext}; {hint}")
        data = buf.tobytes()
    try:
        back = image_from_bytes(data)
    except LinrError:
        back = None
    if back is None or not _same_pixels(back, image):
        raise ImageError(f"{ext} would not hold this image exactly; {hint}")
    return data


def _dest(path: str) -> str:
    """The file that a write to path replaces: a symlink is written through."""
    return os.path.realpath(path) if os.path.islink(path) else path


def check_output(path, force: bool = False, inputs=()) -> None:
    """Refuse an output path before any work: exists, is an input, bad folder, name too long."""
    if _is_stdio(path):
        return
    path = _fspath(path)
    dest = _dest(path)
    try:
        st = os.stat(dest)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _os_error(exc) from None
    if st is not None or os.path.lexists(path):
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise FileError("output is a directory")
        if not force:
            raise FileError("output exists (use --force to overwrite)")
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise FileError("output is not a regular file (use - for stdout)")
    for src in inputs:
        if _is_stdio(src):
            continue
        try:
            s = _fspath(src)
        except FileError:
            continue
        same = os.path.abspath(dest) == os.path.abspath(_dest(s))
        if not same and st is not None:
            try:
                same = os.path.samefile(dest, s)
            except OSError:
                same = False
        if same:
            raise FileError("output is the input file; refusing to overwrite it")
    folder = os.path.dirname(dest) or "."
    if not os.path.isdir(folder):
        raise FileError("output folder does not exist")
    name = os.path.basename(dest)
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    if len(os.fsencode(name)) > name_max:
        raise FileError(f"file name too long ({len(os.fsencode(name))} bytes; at most {name_max})")


def write_bytes(path, data: bytes, force: bool = False, inputs=()) -> None:
    """Write data atomically (temporary file + rename); "-" is stdout.

    Refuses to overwrite unless force, and never overwrites an input file.
    """
    if _is_stdio(path):
        out = getattr(sys.stdout, "buffer", None)
        if out is None:
            raise FileError("stdout is not available")
        try:
            out.write(data)
            out.flush()
        except BrokenPipeError:
            raise FileError("broken pipe (stdout closed)") from None
        except OSError as exc:
            raise _os_error(exc) from None
        return
    check_output(path, force, inputs)
    path = _fspath(path)
    dest = _dest(path)
    folder = os.path.dirname(dest) or "."
    try:
        old_mode = stat.S_IMODE(os.stat(dest).st_mode)
    except OSError:
        old_mode = None
    tmp = None
    try:
        for _ in range(100):
            tmp = os.path.join(folder, f".linr-{secrets.token_hex(4)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                             | getattr(os, "O_CLOEXEC", 0), 0o666)
                break
            except FileExistsError:
                tmp = None
                continue
        else:
            raise FileError("cannot create a temporary file in the output folder")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        if not force and os.path.lexists(path):
            raise FileError("output exists (use --force to overwrite)")
        os.replace(tmp, dest)
        tmp = None
    except OSError as exc:
        raise _os_error(exc) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_image(path, image: np.ndarray, force: bool = False, inputs=()) -> None:
    """Write an image in the format its extension asks for, exactly or not at all.

    "-" writes PNG to stdout; no extension means PNG.
    """
    if _is_stdio(path):
        ext = ".png"
    else:
        p = _fspath(path)
        ext = os.path.splitext(p)[1].lower() or ".png"
        check_output(p, force, inputs)
    write_bytes(path, image_to_bytes(image, ext), force, inputs)


# -- whole files ------------------------------------------------------------------

def decode_data(data: bytes, max_pixels=None) -> np.ndarray:
    """codec.decode with a pixel budget (passed as max_pixels= when decode has it)."""
    from . import codec
    from .validate import max_pixels as _mp
    budget = None if max_pixels is None else _mp(max_pixels)
    if budget is not None:
        if _accepts(codec.decode, "max_pixels"):
            return codec.decode(data, max_pixels=budget)
        meta = codec.info(data)
        if meta["width"] * meta["height"] > budget:
            raise LimitError(f"image of {meta['width']}x{meta['height']} exceeds the decoding budget "
                             f"of {budget} pixels (raise it with --max-pixels / max_pixels=)")
    return codec.decode(data)


def _accepts(func, name: str) -> bool:
    import inspect
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def encode_file(src, dst, /, *, force: bool = False, **options) -> bytes:
    """Read an image file, encode it (options as for encode), write dst atomically."""
    from .codec import encode
    check_output(dst, force, (src,))
    try:
        data = encode(read_image(src), **options)
    except TypeError as exc:
        if "argument" not in str(exc):
            raise
        raise LinrError(f"bad option: {exc}") from None
    except MemoryError:
        raise LimitError("out of memory: image too large for this machine") from None
    write_bytes(dst, data, force, (src,))
    return data


def decode_file(src, dst, /, *, force: bool = False, max_pixels=None) -> np.ndarray:
    """Read a .linr file, decode it, write dst (format from its extension) atomically."""
    check_output(dst, force, (src,))
    try:
        image = decode_data(read_linr_file(src), max_pixels)
    except MemoryError:
        raise LimitError("out of memory: image too large for this machine") from None
    write_image(dst, image, force, (src,))
    return image
