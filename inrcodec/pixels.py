"""Pixel codecs: image file bytes to a uint8/uint16 array and back, exactly or not at all.

Reading. The header is read first (sniff.image_header) and images over the limits are
refused with LimitError before any pixel is decoded; multi-page TIFFs and animated PNG/WebP
are refused. Pixels are decoded with OpenCV's IMREAD_UNCHANGED: the array OpenCV gives is
what round-trips, so colour images are in OpenCV's B, G, R (, A) order and PNG palettes are
expanded. Most PNGs (8 or 16 bits, not interlaced, no palette or tRNS) are read by pngio, which
gives the same array without OpenCV's import. The exceptions, where OpenCV cannot give the image as stored: a gray + alpha PNG
is read as 2 channels (gray, alpha); a 2-channel TIFF is read with tifffile; an 8-bit RGBA
TIFF with unassociated alpha (ExtraSamples 2), whose colour OpenCV premultiplies by alpha, and
a planar TIFF (PlanarConfiguration 2) of 16-bit samples, whose planes OpenCV reads as if
interleaved, are read with tifffile (in B, G, R (, A) order, Orientation applied as OpenCV
does) or refused without it; a plain (gray or RGB(A), 8 or 16 bit) TIFF that OpenCV refuses
(uncompressed tiles, zstd or LZMA compression) is read with tifffile when it is installed.
A TIFF or BMP that neither reads (2- and 4-bit gray, old-style JPEG-in-TIFF, LZMA without
tifffile, an RLE8 BMP whose run overflows a row), and a QOI or SGI file, is read with Pillow
when it is installed (_pillow_image: in OpenCV's conventions, and refused where Pillow's
reading would not be the stored samples: CMYK, 16 bits read as 8, premultiplied alpha...).
OpenCV's, libpng's and libtiff's messages on stderr are silenced: every failure is one
ImageError.

Writing. image_to_bytes refuses any format that cannot hold the image exactly (lossy
formats, too few bits, too few channels, .pbm) and re-reads what it encoded to prove it;
PNG (pngio, every channel count) and TIFF always work.

OpenCV is imported on first use, not with this module.
"""
from __future__ import annotations

import io
import os
import sys
import warnings

import numpy as np

from . import limits, pngio
from .channels import swap_rb
from .errors import ImageError, LimitError, LinrError
from .files import MAX_INPUT_BYTES, check_output, fspath, is_stdio, read_bytes, write_bytes
from .quiet import import_tifffile, quiet_stderr
from .sniff import BMP_555, BMP_565, ImageHeader, image_header
from .validate import as_image

# Formats that cannot hold an image exactly, whatever its contents.
LOSSY = {".jpg", ".jpeg", ".jpe", ".jfif", ".jp2", ".j2k", ".jpx", ".avif", ".heic", ".heif",
         ".jxl", ".gif"}
EIGHT_BIT_ONLY = {".bmp", ".dib", ".webp", ".ras", ".sr", ".pbm"}
CHANNELS_OK = {".bmp": (1, 3, 4), ".dib": (1, 3, 4), ".pgm": (1,), ".ppm": (3,), ".pnm": (1, 3),
               ".webp": (3, 4), ".ras": (1, 3), ".sr": (1, 3), ".pam": (1, 2, 3, 4),
               ".pbm": (1,), ".png": (1, 2, 3, 4), ".tif": (1, 2, 3, 4), ".tiff": (1, 2, 3, 4)}


_opencv = []          # the cv2 module, once imported and silenced


def _cv2():
    """OpenCV, imported on first use and told to be silent. OpenCV reads
    OPENCV_IO_MAX_IMAGE_PIXELS once, at its import: a second line of defence for formats
    whose header linr does not parse itself (a value the user set is left alone)."""
    if not _opencv:
        if "cv2" not in sys.modules:
            os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(limits.MAX_SAMPLES))
        import cv2
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _opencv.append(cv2)
    return _opencv[0]


def _decode_tiff_tifffile(raw: bytes) -> np.ndarray:
    tifffile = import_tifffile()
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


def _opencv_premultiplies(header) -> bool:
    """An 8-bit RGBA TIFF with unassociated alpha: OpenCV reads it through libtiff's RGBA
    reader, which multiplies the colour by alpha, so its pixels would not be the stored ones."""
    return (header is not None and header.kind == "TIFF" and header.channels == 4
            and header.bytes_per_sample == 1 and header.tiff_kind[2] == 2 and header.unassoc_alpha)


def _plain_tiff(header, any_bits: bool = False) -> bool:
    """A TIFF whose stored samples are the image, as tifffile gives them: gray or RGB(A)
    (photometric 1 or 2), 8 or 16 bits unsigned (any_bits: 9-15 too)."""
    if header is None or header.kind != "TIFF" or header.tiff_kind is None:
        return False
    kind, _size, photometric, _depth = header.tiff_kind
    return (kind == "u" and (header.bits in (8, 16) or any_bits and 8 < header.bits < 16)
            and (photometric, header.channels) in {(1, 1), (2, 3), (2, 4)})


def _planar_wide(header) -> bool:
    """A planar TIFF (PlanarConfiguration 2, one plane per sample) of more than 8 bits: OpenCV
    reads its planes as if they were interleaved, which scrambles the samples."""
    return (header is not None and header.kind == "TIFF" and header.planar
            and header.channels > 1 and header.bits > 8)


def _tiff_as_opencv(raw: bytes, header) -> np.ndarray:
    """A plain TIFF read with tifffile, in OpenCV's conventions: B, G, R (, A) order and the
    Orientation tag applied (ImportError without tifffile)."""
    img = _decode_tiff_tifffile(raw)
    if img.ndim == 3 and img.shape[2] in (3, 4):
        img = swap_rb(img)
    return np.ascontiguousarray(_ORIENT.get(header.orientation, lambda a: a)(img))


def _wide_odd_tiff(header) -> bool:
    """A TIFF of 9 to 15 bits a sample: OpenCV scales its samples up to 16 bits (a 12-bit
    value v comes back as 16 v), so they are read with tifffile, which gives them as stored."""
    return header is not None and header.kind == "TIFF" and 8 < header.bits < 16


def _odd_bits_tiff(raw: bytes, header) -> np.ndarray:
    if not _plain_tiff(header, any_bits=True):
        raise ImageError(f"{header.bits}-bit TIFF with photometric {header.tiff_kind[2]} is not "
                         "supported (linr reads 9-15 bit gray and RGB(A) TIFFs)")
    try:
        return _tiff_as_opencv(raw, header)
    except ImportError:
        img = _pillow_image(raw, header)
        if img is None:
            raise ImageError(f"{header.bits}-bit TIFF needs the tifffile package (pip install tifffile): "
                             "OpenCV would scale its samples") from None
        return img


def _bmp16_full_range(img: np.ndarray, masks) -> np.ndarray:
    """A 16-bit BMP's 5- and 6-bit samples v scaled to 8 bits as Pillow does, v * 255 // 31
    (or // 63: 31 -> 255), not by OpenCV's plain shift (31 -> 248, never white)."""
    if tuple(masks) not in (BMP_555, BMP_565) or img.dtype != np.uint8 or img.ndim != 3:
        raise ImageError("16-bit BMP with colour masks " + "/".join(f"{m:#x}" for m in masks)
                         + " is not supported (linr reads 5-5-5 and 5-6-5)")
    out = img.copy()
    for c, bits in enumerate((5, 6 if tuple(masks) == BMP_565 else 5, 5)):       # B, G, R
        v = img[:, :, c] >> (8 - bits)
        if (img[:, :, c] != v << (8 - bits)).any():
            raise ImageError("16-bit BMP: OpenCV's reading is not its 5/6-bit samples")
        out[:, :, c] = (v.astype(np.uint16) * 255 // ((1 << bits) - 1)).astype(np.uint8)
    return out


# -- Pillow, the reader of last resort ------------------------------------------------

# The formats Pillow may read, by the kind of file sniff found (None: one it does not parse).
# OpenCV's readers of these leave real files out; PNG, JPEG, WebP and PNM are not here: OpenCV
# reads every valid one, and Pillow's leniency with a damaged one would hide the damage.
_PILLOW_FORMATS = {"TIFF": ("TIFF",), "BMP": ("BMP",), None: ("QOI", "SGI")}
# Pillow modes whose samples are the image's (P and PA: a palette, expanded to its colours)
_PILLOW_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I;16N")


def _pillow_refusal(im, header) -> str | None:
    """Why Pillow's reading of im (opened, not loaded) would not be the stored samples."""
    tile = im.tile[0] if im.tile else None
    args = tile[3] if tile is not None and len(tile) > 3 else None
    rawmode = str(args[0] if isinstance(args, tuple) and args else args or "")
    bits = header.bits if header is not None else (16 if ";16" in rawmode else 8)
    what = f"{bits}-bit {im.mode} {im.format}"
    if im.mode not in _PILLOW_MODES:
        return (f"{what} is not supported: linr codes gray, gray + alpha, RGB and RGBA samples, "
                f"and converting {im.mode} would change them")
    if bits > 8 and not im.mode.startswith("I;16"):
        return f"{what}: Pillow would read it as 8 bits a sample, losing the low bits"
    if "a" in rawmode.split(";")[0]:                  # RGBa, La: premultiplied
        return f"{im.format} with premultiplied alpha: Pillow would divide its colours by alpha"
    if (header is not None and header.kind == "TIFF" and header.tiff_kind[2] in (0, 1, 2)
            and len(im.getbands()) != header.channels):
        return (f"TIFF of {header.channels} samples a pixel, which Pillow reads as {im.mode}: "
                "a sample would be dropped")
    return None


def _pillow_array(im, header) -> np.ndarray:
    """The loaded Pillow image im as OpenCV would give it: B, G, R (, A) order, palettes
    expanded, a 1-bit image as 0 and 255, the TIFF Orientation applied.

    Gray TIFF samples of 2 to 7 bits are their integer levels, 0 .. 2^n - 1 with 0 black
    (MinIsWhite inverted, as OpenCV does at 8 bits), not Pillow's 0 .. 255: a 2-bit TIFF is
    uint8 0..3, a 4-bit one 0..15, so linr codes 2 or 4 bits a sample (its bit depth is that of
    the largest sample) and nothing is rescaled. A 1-bit image is 0 and 255, as OpenCV reads
    1-bit TIFF, PNG and BMP files (linr's constant bit-planes cost nothing)."""
    mode = im.mode
    if mode == "1":
        arr = np.asarray(im.convert("L"))
    elif mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in im.info or getattr(im.palette, "mode", "") == "RGBA"
        arr = np.asarray(im.convert("RGBA" if alpha else "RGB"))
    else:
        arr = np.asarray(im)
    arr = arr.astype(np.uint16) if mode.startswith("I;16") else np.asarray(arr, np.uint8)
    if header is not None and header.kind == "TIFF":
        bits = header.bits
        if mode == "L" and 1 < bits < 8:
            top = (1 << bits) - 1
            step = 255 // top
            if 255 % top or (arr % step).any():
                raise ImageError(f"{bits}-bit gray TIFF: Pillow's reading is not its {bits}-bit samples")
            arr = arr // step
        if header.orientation != 1 and 274 in getattr(im, "tag_v2", {}):
            arr = _ORIENT.get(header.orientation, lambda a: a)(arr)   # Pillow < 12 leaves it
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = swap_rb(arr)
    return np.ascontiguousarray(arr)


def _pillow_image(raw: bytes, header):
    """The image as Pillow reads it (_pillow_array), or None: Pillow not installed, a format
    not in _PILLOW_FORMATS, or a file Pillow cannot read either. ImageError where Pillow's
    reading would not be the stored samples (_pillow_refusal), LimitError over the limits."""
    formats = _PILLOW_FORMATS.get(None if header is None else header.kind)
    if not formats:
        return None
    try:
        from PIL import Image
    except ImportError:
        return None
    with warnings.catch_warnings(), quiet_stderr():
        warnings.simplefilter("ignore")          # Pillow's warnings on odd EXIF, bombs...
        try:
            im = Image.open(io.BytesIO(raw), formats=formats)
        except Exception:
            return None
        with im:
            if header is None:                   # sizes not checked yet
                ImageHeader(im.format, im.width, im.height, 4 if "P" in im.mode else len(im.getbands()),
                            pages=getattr(im, "n_frames", 1), note="frames").check()
            problem = _pillow_refusal(im, header)
            if problem:
                raise ImageError(problem)
            try:
                im.load()
            except MemoryError:
                raise
            except Exception:
                return None
            return _pillow_array(im, header)


def image_from_bytes(raw: bytes) -> np.ndarray:
    """Decode image file bytes (header checked first) to a uint8/uint16 array."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise ImageError(f"image bytes expected, not {type(raw).__name__}")
    raw = bytes(raw)
    if not raw:
        raise ImageError("empty file")
    header = image_header(raw)
    if header is None:
        if len(raw) > limits.MAX_UNPARSED_INPUT_BYTES:
            raise LimitError(f"image file of {len(raw)} bytes in a format linr cannot check "
                             f"before decoding; the limit is {limits.MAX_UNPARSED_INPUT_BYTES}")
    else:
        header.check()
    img = None
    try:
        if header is not None and header.kind == "PNG" and (img := pngio.read(raw)) is not None:
            pass                                  # most PNGs, without OpenCV's import
        elif header is not None and header.kind == "TIFF" and header.channels == 2:
            try:
                img = _decode_tiff_tifffile(raw)
            except ImportError:
                raise ImageError("2-channel TIFF needs the tifffile package (pip install tifffile)") from None
        elif _planar_wide(header) and not _plain_tiff(header):
            raise ImageError(f"planar {header.bits}-bit TIFF with photometric {header.tiff_kind[2]} "
                             "is not supported (linr reads planar gray and RGB(A) TIFFs)")
        elif _planar_wide(header):
            try:
                img = _tiff_as_opencv(raw, header)
            except ImportError:
                raise ImageError(f"planar {header.bits}-bit TIFF needs the tifffile package "
                                 "(pip install tifffile): OpenCV would scramble its samples") from None
        elif _opencv_premultiplies(header):
            try:
                img = _tiff_as_opencv(raw, header)
            except ImportError:
                raise ImageError("RGBA TIFF with unassociated alpha needs the tifffile package "
                                 "(pip install tifffile): OpenCV would premultiply its colours") from None
        elif _wide_odd_tiff(header):
            img = _odd_bits_tiff(raw, header)
        else:
            cv2 = _cv2()
            with quiet_stderr():
                img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
            if img is not None and header is not None and header.kind == "BMP" and header.bmp_masks:
                img = _bmp16_full_range(img, header.bmp_masks)
    except LinrError:
        raise
    except MemoryError:
        raise LimitError("out of memory: image too large for this machine") from None
    except Exception:  # cv2.error, tifffile errors on a corrupt file
        img = None
    if img is None and _plain_tiff(header):
        # a layout or compression OpenCV refuses (uncompressed tiles, zstd, LZMA...): tifffile's
        # reading of a plain TIFF is the stored samples
        try:
            img = _tiff_as_opencv(raw, header)
        except MemoryError:
            raise LimitError("out of memory: image too large for this machine") from None
        except Exception:  # ImportError, tifffile or imagecodecs on a corrupt file
            img = None
    if img is None:
        try:
            img = _pillow_image(raw, header)      # the last resort, when Pillow is installed
        except MemoryError:
            raise LimitError("out of memory: image too large for this machine") from None
    if img is None:
        raise ImageError("cannot read this image (unsupported or corrupt)")
    signed_tiff = img.dtype in (np.int8, np.int16) and header is not None and header.kind == "TIFF"
    if img.dtype not in (np.uint8, np.uint16) and not signed_tiff:
        raise ImageError(f"unsupported sample type {img.dtype} (linr codes 1-16 bit integers)")
    if header is not None and header.png_color == 4 and img.ndim == 3 and img.shape[2] == 4:
        img = np.ascontiguousarray(img[:, :, [0, 3]])      # gray + alpha as stored
    if header is not None:
        size = (header.height, header.width)
        if header.kind == "TIFF" and header.orientation in (5, 6, 7, 8):
            size = size[::-1]                   # OpenCV turned the pixels a quarter turn
        if img.shape[:2] != size:
            raise ImageError("corrupt image (decoded size differs from its header)")
    return as_image(img)


def read_image(path) -> np.ndarray:
    """Read an image file (or stdin for "-"): header checked before pixels are decoded."""
    return image_from_bytes(read_bytes(path, MAX_INPUT_BYTES, "image file"))


# -- writing --------------------------------------------------------------------

def _tiff_2channel(image: np.ndarray) -> bytes:
    try:
        tifffile = import_tifffile()
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


def same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """The same samples, an H x W x 1 array being the same as H x W."""
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
    wide = image.dtype.itemsize == 2
    hint = "use .png or .tif"
    if image.dtype.kind == "i" and ext not in (".tif", ".tiff"):
        raise ImageError(f"{ext} cannot hold signed ({image.dtype}) samples; use .tif")
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
    if ext == ".png":
        data = pngio.write(image[:, :, 0] if image.ndim == 3 and c == 1 else image)
    elif c == 2 and ext in (".tif", ".tiff"):
        data = _tiff_2channel(image)
    else:
        cv2 = _cv2()
        params = {".webp": [cv2.IMWRITE_WEBP_QUALITY, 101]}.get(ext, [])
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
    if back is None or not same_pixels(back, image):
        raise ImageError(f"{ext} would not hold this image exactly; {hint}")
    return data


def write_image(path, image: np.ndarray, force: bool = False, inputs=()) -> None:
    """Write an image in the format its extension asks for, exactly or not at all (see
    files.write_bytes for the rules). "-" writes PNG to stdout; no extension means PNG.
    """
    if is_stdio(path):
        ext = ".png"
    else:
        p = fspath(path)
        ext = os.path.splitext(p)[1].lower() or ".png"
        check_output(p, force, inputs)
    write_bytes(path, image_to_bytes(image, ext), force, inputs)
