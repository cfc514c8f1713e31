"""The codecs under test, one small class each.

A codec turns an image (HxW or HxWxC, uint8/uint16, OpenCV BGR order) into
bytes and back.  ``bytes`` is the whole file a user would store, headers
included, so ``8 * len(bytes) / (H * W)`` is an honest bits-per-pixel figure.

The imagecodecs-based codecs are handed RGB(A) order (what those formats
assume; it matters for WebP's colour transforms) and give BGR(A) back.
"""

from __future__ import annotations

import importlib

import cv2
import numpy as np

from .. import channels
from . import BenchError


def _imagecodecs():
    """imagecodecs, imported on first use (an optional dependency: ``pip install 'linr[bench]'``)."""
    try:
        return importlib.import_module("imagecodecs")
    except ImportError:
        raise BenchError("imagecodecs is not installed; pip install 'linr[bench]' "
                         "or use --codecs png,linr") from None


def _ic_version(lib: str) -> str:
    ic = _imagecodecs()
    return f"{lib} {ic.version(dict).get(lib, '?')} (imagecodecs {ic.__version__})"


def swap_rb(img: np.ndarray) -> np.ndarray:
    """BGR(A) <-> RGB(A) (channels.swap_rb); gray images are returned unchanged."""
    return channels.swap_rb(img) if img.ndim == 3 and img.shape[2] in (3, 4) else img


class Codec:
    """Base class.  Subclasses set ``name`` and implement encode/decode."""

    name = "codec"
    options: dict = {}
    # exceptions of encode() that mean "this codec does not take this image" (n/a);
    # any other exception fails the run. Libraries we do not own: anything.
    refusals: tuple = (Exception,)

    @property
    def version(self) -> str:
        return "?"

    def reason(self, img: np.ndarray) -> str | None:
        """Why this codec cannot take ``img`` (None if it can)."""
        return None

    def applicable(self, img: np.ndarray) -> bool:
        return self.reason(img) is None

    def encode(self, img: np.ndarray) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes, shape: tuple | None = None) -> np.ndarray:
        """Decode ``data``.  ``shape`` is the original image shape, which an
        application storing e.g. a gray image as RGB WebP would know."""
        raise NotImplementedError


class PNG(Codec):
    name = "png"
    options = {"compression": 9}

    @property
    def version(self):
        return f"opencv {cv2.__version__}"

    def encode(self, img):
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise RuntimeError("cv2.imencode('.png') failed")
        return buf.tobytes()

    def decode(self, data, shape=None):
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


class WebP(Codec):
    """Lossless WebP, 8-bit only; gray images are stored as 3 equal channels."""

    name = "webp"
    options = {"lossless": True, "level": 100, "method": 6}

    @property
    def version(self):
        return _ic_version("libwebp")

    def reason(self, img):
        if img.dtype != np.uint8:
            return "WebP is 8-bit only"
        if img.ndim == 3 and img.shape[2] not in (3, 4):
            return f"WebP takes 1, 3 or 4 channels, not {img.shape[2]}"
        return None

    def encode(self, img):
        if img.ndim == 2:
            rgb = np.dstack([img] * 3)
        elif img.shape[2] == 1:
            rgb = np.dstack([img[..., 0]] * 3)
        else:
            rgb = swap_rb(img)
        return bytes(_imagecodecs().webp_encode(rgb, **self.options))

    def decode(self, data, shape=None):
        out = _imagecodecs().webp_decode(data)
        gray_input = shape is not None and (len(shape) == 2 or shape[2] == 1)
        # Back to one channel only if the three channels really are equal;
        # otherwise return them all so the comparison fails loudly.
        if gray_input and (out[..., 0] == out[..., 1]).all() and (out[..., 0] == out[..., 2]).all():
            return out[..., 0]
        return swap_rb(out)


class JPEG2000(Codec):
    """Reversible (lossless) JPEG 2000, raw J2K codestream (no JP2 box)."""

    name = "jpeg2k"
    options = {"level": 0, "reversible": True, "codecformat": "J2K"}

    @property
    def version(self):
        return _ic_version("openjpeg")

    def encode(self, img):
        return bytes(
            _imagecodecs().jpeg2k_encode(
                swap_rb(img), level=0, reversible=True, codecformat=_imagecodecs().JPEG2K.CODEC.J2K
            )
        )

    def decode(self, data, shape=None):
        return swap_rb(_imagecodecs().jpeg2k_decode(data))


class JPEGXL(Codec):
    """Lossless JPEG-XL (``lossless=True``: without it libjxl is lossy)."""

    def __init__(self, effort: int):
        self.effort = effort
        self.name = f"jpegxl-e{effort}"
        self.options = {"lossless": True, "effort": effort}

    @property
    def version(self):
        return _ic_version("libjxl")

    def encode(self, img):
        return bytes(_imagecodecs().jpegxl_encode(swap_rb(img), lossless=True, effort=self.effort))

    def decode(self, data, shape=None):
        return swap_rb(_imagecodecs().jpegxl_decode(data))


class JPEGLS(Codec):
    name = "jpegls"
    options = {"near": 0}

    @property
    def version(self):
        return _ic_version("charls")

    def reason(self, img):
        if not _imagecodecs().JPEGLS.available:
            return "imagecodecs was built without JPEG-LS (CharLS)"
        return None

    def encode(self, img):
        return bytes(_imagecodecs().jpegls_encode(swap_rb(img)))

    def decode(self, data, shape=None):
        return swap_rb(_imagecodecs().jpegls_decode(data))


class LinrCodec(Codec):
    """linr: ``inrcodec.encode(img, **options)`` / ``inrcodec.decode(data)``.

    The image is passed exactly as loaded (BGR order).  ``inrcodec`` is
    imported here, not at module import, so the benchmark works without it.
    """

    name = "linr"

    def __init__(self, **options):
        try:
            import inrcodec
        except ImportError as e:
            raise BenchError(f"cannot import inrcodec for the linr codec: {e}") from None
        self.lib = inrcodec
        self.options = dict(options)
        # linr refuses with these; anything else it raises is a bug to report, not n/a
        self.refusals = (inrcodec.ImageError, inrcodec.LimitError)

    @property
    def version(self):
        return str(getattr(self.lib, "__version__", "?"))

    def encode(self, img):
        return bytes(self.lib.encode(img, **self.options))

    def decode(self, data, shape=None):
        prior = self.options.get("prior")
        if isinstance(prior, (bytes, str)) and prior not in ("auto", "none") \
                and (isinstance(prior, bytes) or prior.endswith(".linrp")):
            return np.asarray(self.lib.decode(data, prior=prior))   # a prior file: the decoder needs it too
        return np.asarray(self.lib.decode(data))


CLASSICAL = ["png", "webp", "jpeg2k", "jpegxl-e7", "jpegxl-e9", "jpegls"]
# codecs that need the optional imagecodecs package (PNG is OpenCV's, linr is ours)
NEEDS_IMAGECODECS = ("webp", "jpeg2k", "jpegxl-e", "jpegls")
ALL_CODECS = CLASSICAL + ["linr"]


def make_codec(name: str, linr_options: dict | None = None) -> Codec:
    """Build a codec from its command-line name."""
    simple = {"png": PNG, "webp": WebP, "jpeg2k": JPEG2000, "jpegls": JPEGLS}
    if name.startswith(NEEDS_IMAGECODECS):
        _imagecodecs()  # a missing optional dependency is reported now, before any work
    if name in simple:
        return simple[name]()
    if name.startswith("jpegxl-e") and name[len("jpegxl-e") :].isdigit():
        effort = int(name[len("jpegxl-e") :])
        if 1 <= effort <= 10:
            return JPEGXL(effort)
    if name == "linr":
        return LinrCodec(**(linr_options or {}))
    raise BenchError(f"unknown codec {name!r} (known: {', '.join(ALL_CODECS)}; jpegxl-eN for N in 1..10)")


def parse_value(text: str):
    """'3' -> 3, '0.5' -> 0.5, 'true'/'false' -> bool, anything else stays a string."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_options(pairs) -> dict:
    """``['k=v', ...]`` -> ``{'k': parsed v}``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BenchError(f"--linr-opt expects key=value, got {pair!r}")
        options[key.strip()] = parse_value(value.strip())
    return options
