"""Pillow plugin: ``import inrcodec.pillow`` and Pillow opens and saves `.linr` files.

    >>> import inrcodec.pillow
    >>> from PIL import Image
    >>> im = Image.open("photo.linr")            # lazy: pixels are decoded on first use
    >>> im.save("copy.linr", effort=0)           # options go to inrcodec.encode

Format ``LINR``, extension ``.linr``, MIME type ``image/x-linr``.

Modes when opening (from the file's channels and sample type):

    channels  uint8   uint16
    1         L       I;16
    2         LA      refused (see below)
    3         RGB     refused
    4         RGBA    refused

Pillow has no 16-bit mode with more than one channel. ``Image.open`` refuses such a file
with :class:`inrcodec.ImageError` naming ``inrcodec.decode``, which returns the exact
uint16 array (no mode it could report would be the file's). Setting
``inrcodec.pillow.COLOR16 = "reduce"`` opens it as LA / RGB / RGBA with the top 8 bits
instead (``im.info["linr_dtype"] == "uint16"``), with a warning on load. Colour comes out in RGB(A) order whatever order the file states
(``im.info["linr_color_order"]``).

Modes when saving: ``L``, ``LA``, ``RGB``, ``RGBA``, ``I;16`` (also ``I;16L``/``I;16B``, and
``I`` when every value is in 0..65535) are stored as they are; ``1`` is stored as ``L``
(0/255) and ``P`` as ``RGB`` or ``RGBA`` (when the palette has transparency). Other modes
(``CMYK``, ``F``, ``YCbCr``...) are refused: convert them first. Keyword arguments of
``save`` are passed to :func:`inrcodec.encode` (``effort``, ``prior``...); colour is stored
as RGB(A) with ``color_order="rgb"``. The ICC profile, EXIF and XMP of the image
(``icc_profile=``/``exif=``/``xmp=`` or ``im.info``) are stored too.
"""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, ImageFile

from . import container
from .codec import decode, encode, info
from .errors import ImageError, LinrError
from .metadata import from_chunks

FORMAT = "LINR"
EXTENSION = ".linr"
MIME = "image/x-linr"
SIGNATURE = b"\x89LNR\r\n"

#: What ``load()`` does with a 16-bit file of 2 to 4 channels: "refuse" (raise ImageError) or
#: "reduce" (keep the 8 most significant bits, with a warning).
COLOR16 = "refuse"

_MODES8 = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
# Pillow's own keys in im.encoderinfo, never encoder options
_PILLOW_KEYS = {"save_all", "append_images", "format", "icc_profile", "exif", "xmp", "pnginfo"}


def _accept(prefix: bytes) -> bool:
    return prefix[:len(SIGNATURE)] == SIGNATURE


def _file_metadata(data: bytes) -> dict:
    """ICC/EXIF/XMP/text stored in the file's ancillary chunks, for ``im.info`` (best effort:
    bad metadata is skipped with a warning, the image still opens)."""
    chunks = container.read(data).ancillary
    if not chunks:
        return {}
    try:
        return from_chunks(chunks)
    except LinrError as e:
        warnings.warn(f"LINR metadata ignored: {e}", stacklevel=3)
        return {}


class LinrImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "linr lossless neural image"

    def _open(self):
        data = self.fp.read()
        head = info(data)  # FormatError etc. propagate: the signature matched, the file is bad
        channels, dtype = int(head["channels"]), str(head["dtype"])
        if channels not in _MODES8 or dtype not in ("uint8", "uint16"):
            raise ImageError(f"LINR file with {channels} channels of {dtype} has no Pillow mode")
        if dtype == "uint16" and channels > 1 and COLOR16 != "reduce":
            # refused here, not at load(): no mode Pillow reports would be the file's
            raise ImageError(
                f"this LINR file is 16-bit with {channels} channels, which Pillow has no mode for; "
                "use inrcodec.decode(data) for the exact uint16 array "
                "(or set inrcodec.pillow.COLOR16 = 'reduce' to open it as 8 bits)")
        mode = "I;16" if dtype == "uint16" and channels == 1 else _MODES8[channels]
        self._size = (int(head["width"]), int(head["height"]))
        if isinstance(getattr(type(self), "mode", None), property):
            self._mode = mode
        else:  # Pillow < 10.1
            self.mode = mode
        self.info.update(linr_dtype=dtype, linr_bit_depth=head["bit_depth"],
                         linr_color_order=head["color_order"])
        meta = _file_metadata(data)
        for key, name in (("icc", "icc_profile"), ("exif", "exif"), ("xmp", "xmp")):
            if key in meta:
                self.info[name] = meta[key]
        for keyword, text in meta.get("text", []):
            self.info.setdefault(keyword, text)
        self._linr = (mode, channels, dtype)
        self._set_tile(1)

    def _set_tile(self, factor: int, region=None) -> None:
        tile = ("linr", (0, 0) + self._size, 0, (*self._linr, factor, region))
        self.tile = [ImageFile._Tile(*tile) if hasattr(ImageFile, "_Tile") else tile]

    def draft(self, mode, size):
        """Decode a preview at least `size` large: every r-th row and column (r a power
        of two), exact, from linr's coarse passes alone, as JPEG's draft() scales down."""
        if self.tile is None or not self.tile or size is None:
            return None
        w, h = self.size
        r = 1
        while r < 1 << 16 and -(-w // (2 * r)) >= size[0] and -(-h // (2 * r)) >= size[1]:
            r *= 2
        if r == 1:
            return None
        self._size = (-(-w // r), -(-h // r))
        self._set_tile(r)
        return self.mode, (0, 0, w / r, h / r)

    def reduce(self, factor, box=None):
        """Before load(), a power-of-two factor is linr's preview: every factor-th row and
        column, exactly (not Pillow's box average); with a box whose corner is on that grid,
        of the box alone, decoded from the groups it meets. Else Pillow's reduce."""
        power = (isinstance(factor, int) and not isinstance(factor, bool) and factor >= 1
                 and factor & (factor - 1) == 0)
        if self.tile and power and (box is None or _on_grid(box, factor, self.size)) \
                and (factor > 1 or box is not None):
            w, h = self.size
            x0, y0, x1, y1 = box if box is not None else (0, 0, w, h)
            self._size = (-(-(x1 - x0) // factor), -(-(y1 - y0) // factor))
            self._set_tile(factor, None if box is None else (x0, y0, x1 - x0, y1 - y0))
            self.load()
            return self.copy()
        return super().reduce(factor, box)


def _on_grid(box, factor: int, size) -> bool:
    """Whether box (left, upper, right, lower) is a non-empty integer box inside the image
    whose corner is at a multiple of factor."""
    if not isinstance(box, (tuple, list)) or len(box) != 4 or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in box):
        return False
    x0, y0, x1, y1 = box
    return 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1] and x0 % factor == 0 and y0 % factor == 0


class LinrDecoder(ImageFile.PyDecoder):
    """Decodes the whole file in one call (``inrcodec.decode``, colour in R, G, B order) and
    hands Pillow the raw pixels."""

    _pulls_fd = True

    def decode(self, buffer):
        mode, channels, dtype, factor, region = self.args
        self.fd.seek(0)
        data = self.fd.read()
        if dtype == "uint16" and channels > 1:
            if COLOR16 != "reduce":
                raise ImageError(
                    f"this LINR file is 16-bit with {channels} channels, which Pillow cannot hold; "
                    "use inrcodec.decode(data) for the exact uint16 array "
                    "(or set inrcodec.pillow.COLOR16 = 'reduce' for 8 bits)")
            warnings.warn("16-bit LINR colour reduced to 8 bits for Pillow "
                          "(inrcodec.decode gives the exact array)", stacklevel=2)
        arr = decode(data, color_order="rgb", reduce=factor, region=region)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[..., 0]
        if dtype == "uint16" and channels > 1:
            arr = (arr >> 8).astype(np.uint8)
        if mode == "I;16":
            raw, rawmode = arr.astype("<u2").tobytes(), "I;16"
        else:
            raw, rawmode = np.ascontiguousarray(arr, np.uint8).tobytes(), mode
        self.set_as_raw(raw, rawmode)
        return -1, 0


def _to_array(im: Image.Image) -> np.ndarray:
    """The pixels of ``im`` as linr stores them (uint8/uint16, RGB(A) order)."""
    mode = im.mode
    if mode == "P":
        transparent = "transparency" in im.info or (im.palette is not None and im.palette.mode == "RGBA")
        im, mode = (im.convert("RGBA"), "RGBA") if transparent else (im.convert("RGB"), "RGB")
    elif mode == "1":
        im, mode = im.convert("L"), "L"
    elif mode == "PA":
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im, dtype=np.uint8)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16)
    if mode == "I":
        arr = np.asarray(im)
        if arr.size and (arr.min() < 0 or arr.max() > 65535):
            raise ImageError("mode I image has values outside 0..65535: LINR stores at most 16 bits")
        return arr.astype(np.uint16)
    raise ImageError(f"cannot save mode {mode} as LINR (modes 1, L, LA, I;16, I, RGB, RGBA, P); "
                     "convert the image first")


def _save(im: Image.Image, fp, filename):
    arr = _to_array(im)
    options = {k: v for k, v in im.encoderinfo.items() if k not in _PILLOW_KEYS}
    meta = {}
    for key, name in (("icc", "icc_profile"), ("exif", "exif"), ("xmp", "xmp")):
        value = im.encoderinfo.get(name, im.info.get(name))
        if isinstance(value, Image.Exif):
            value = value.tobytes()
        if isinstance(value, str):
            value = value.encode("utf-8")
        if value:
            meta[key] = value[6:] if key == "exif" and value[:6] == b"Exif\x00\x00" else value
    if meta:
        options.setdefault("metadata", meta)
    fp.write(encode(arr, color_order="rgb", **options))       # ignored for gray and gray + alpha


def register() -> None:
    """Register the LINR format with Pillow (done on import; calling it again is harmless)."""
    Image.register_open(FORMAT, LinrImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)
    Image.register_decoder("linr", LinrDecoder)


register()
