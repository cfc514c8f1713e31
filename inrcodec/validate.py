"""Checking what a caller passes to the API, before any work is done.

`as_image` turns whatever a caller gives `encode` into a plain, C-contiguous
uint8/uint16 ndarray of a supported shape, or raises ImageError/LimitError;
`encode_options` type- and range-checks every option of `encode` and returns
them normalised (plain Python ints, bools and strings). Both raise only
LinrError subclasses, whatever they are given: the API never lets a caller's
mistake surface as a TypeError, a numpy error or a crash.

Deliberately strict: bool is not an integer here (effort=True is a mistake),
floats are not integers (layers=2.0), strings are not numbers (hidden='32'),
and lists are not images (their dtype would have to be guessed).
"""
from __future__ import annotations

import numbers
import os
import re
import sys

import numpy as np

from . import limits
from .errors import ImageError, LimitError, LinrError
from .filters import KINDS as FILTER_KINDS
from .model import ACTIVATIONS

MODES = ("smallest", "ber0")
DEVICES = ("auto", "cpu", "cuda")


def _name(obj) -> str:
    return type(obj).__name__


# -- images ------------------------------------------------------------------

def as_image(obj) -> np.ndarray:
    """The image as a plain C-contiguous uint8/uint16 ndarray, checked.

    Accepted: numpy arrays (and anything exposing the array interface, such as
    a PIL image or a CPU tensor) of dtype uint8, uint16, int8 or int16 in any byte order,
    H x W or H x W x C with C = 1..4. np.matrix and other ndarray subclasses
    are converted to a plain ndarray; masked arrays are refused (the mask
    would be lost). Lists, tuples and scalars are refused: their dtype would
    have to be guessed.
    """
    masked = sys.modules.get("numpy.ma")          # not imported for it: 8 ms of every command
    if masked is not None and isinstance(obj, masked.MaskedArray):
        raise ImageError("masked arrays are not supported (the mask would be lost); "
                         "pass arr.filled(...) or arr.data")
    if isinstance(obj, (list, tuple, str, bytes, bytearray, memoryview, numbers.Number, bool)) \
            or obj is None:
        raise ImageError(f"image must be a numpy array of dtype uint8 or uint16 (or int8, int16), "
                         f"not {_name(obj)}")
    if not isinstance(obj, np.ndarray):
        if not (hasattr(obj, "__array__") or hasattr(obj, "__array_interface__")
                or hasattr(obj, "__array_struct__")):
            raise ImageError(f"image must be a numpy array of dtype uint8 or uint16, not {_name(obj)}")
        try:
            arr = np.asarray(obj)
        except Exception as exc:  # a foreign object's conversion failed
            raise ImageError(f"cannot convert {_name(obj)} to an array: {type(exc).__name__}") from None
    else:
        arr = obj.view(np.ndarray) if type(obj) is not np.ndarray else obj
    if not isinstance(arr, np.ndarray):
        raise ImageError(f"image must be a numpy array, not {_name(obj)}")
    dt = arr.dtype
    if dt.fields is not None or dt.kind not in "ui" or dt.itemsize not in (1, 2):
        raise ImageError(f"image dtype must be uint8, uint16, int8 or int16, not {dt} "
                         "(convert explicitly, e.g. arr.astype(np.uint8))")
    if arr.ndim not in (2, 3):
        raise ImageError(f"image must be H x W or H x W x C, not {arr.ndim}-dimensional {arr.shape}")
    if arr.ndim == 3 and not 1 <= arr.shape[2] <= 4:
        raise ImageError(f"image must have 1 to 4 channels, not {arr.shape[2]} (shape {arr.shape})")
    h, w = int(arr.shape[0]), int(arr.shape[1])
    c = 1 if arr.ndim == 2 else int(arr.shape[2])
    if h < 1 or w < 1:
        raise ImageError(f"image is empty (shape {arr.shape})")
    if h > limits.MAX_SIDE or w > limits.MAX_SIDE:
        raise LimitError(f"image of {w}x{h} exceeds the largest side linr accepts ({limits.MAX_SIDE})")
    if h * w * c > limits.MAX_SAMPLES:
        raise LimitError(f"image of {w}x{h}x{c} has more samples than linr accepts "
                         f"({limits.MAX_SAMPLES})")
    native = np.dtype(f"{dt.kind}{dt.itemsize}")      # uint8, uint16, int8, int16 in native order
    try:
        # A copy whenever the input is a subclass, a foreign byte order, or
        # not C-contiguous (negative/zero strides included); else the array.
        out = np.ascontiguousarray(arr, dtype=native)
        if type(obj) is not np.ndarray and out is obj:
            out = out.copy()
    except MemoryError:
        raise LimitError("out of memory: image too large for this machine") from None
    if type(out) is not np.ndarray:
        out = np.array(out, dtype=native, copy=True, subok=False)
    return out


# -- options -----------------------------------------------------------------

def _int(name, value, lo, hi, *, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise LinrError(f"{name} must be an integer {lo}..{hi}, not {_name(value)} {value!r:.40}")
    value = int(value)
    if not lo <= value <= hi:
        raise LinrError(f"{name} must be an integer {lo}..{hi}, not {value}")
    return value


def _bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise LinrError(f"{name} must be True or False, not {_name(value)} {value!r:.40}")
    return bool(value)


def _choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise LinrError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, "
                        f"not {value!r:.40}")
    return value


def _device(value):
    if not isinstance(value, str) or not (value in DEVICES or re.fullmatch(r"cuda:\d{1,3}", value)):
        raise LinrError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', not {value!r:.40}")
    if value.startswith("cuda"):
        torch = sys.modules.get("torch")
        if torch is not None:
            try:
                ok = torch.cuda.is_available()
                count = torch.cuda.device_count() if ok else 0
            except Exception:
                ok, count = False, 0
            if not ok:
                raise LinrError(f"device {value!r}: CUDA is not available here (use 'auto' or 'cpu')")
            if ":" in value and int(value.split(":")[1]) >= count:
                raise LinrError(f"device {value!r}: only {count} CUDA device(s) here")
    return value


def _prior(value):
    if isinstance(value, str):
        if not value or "\x00" in value or len(value) > 4096:
            raise LinrError(f"prior must be 'auto', 'none', a prior name or a path, not {value!r:.40}")
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        if not len(value):
            raise LinrError("prior bytes are empty")
        return bytes(value)
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or not path or "\x00" in path:
            raise LinrError("prior path is not a valid path")
        return value
    raise LinrError(f"prior must be 'auto', 'none', a prior name, a path or bytes, not {_name(value)}")


PALETTE_CHOICES = ("auto", "never", "always")
FILTER_CHOICES = ("auto", "never", *FILTER_KINDS)


def encode_options(*, effort, prior, mode, seed, device, hidden=None, layers=None,
                   activation=None, progress=False, verify=True,
                   palette="auto", group_size=None, filter="auto") -> dict:
    """Every option of `encode`, checked and normalised; raises only LinrError.

    Returns a dict with the same keys: ints as int, flags as bool, strings
    unchanged, prior as given (str / os.PathLike) or bytes.
    """
    out = {
        "effort": _int("effort", effort, 0, limits.MAX_EFFORT),
        "prior": _prior(prior),
        "mode": _choice("mode", mode, MODES),
        "seed": _int("seed", seed, 0, 2 ** 32 - 1),
        "device": _device(device),
        "hidden": _int("hidden", hidden, 1, limits.MAX_WIDTH, optional=True),
        "layers": _int("layers", layers, 1, limits.MAX_LAYERS, optional=True),
        "activation": None if activation is None else _choice("activation", activation, ACTIVATIONS),
        "progress": _bool("progress", progress),
        "verify": _bool("verify", verify),
        "palette": _choice("palette", palette, PALETTE_CHOICES),
        "group_size": _group_size(group_size),
        "filter": _choice("filter", filter, FILTER_CHOICES),
    }
    return out


def _group_size(value):
    """A group side, or a (width, height) pair: multiples of 32 (groups.GROUP_UNIT) up to
    2**16; or None (the encoder's default)."""
    from .groups import GROUP_LOG2_MAX, GROUP_UNIT
    if value is None:
        return None
    pair = isinstance(value, (tuple, list))
    if pair and len(value) != 2:
        raise LinrError(f"group_size must be a side or a (width, height) pair, not {value!r}")
    sides = [_int("group_size", v, GROUP_UNIT, 1 << GROUP_LOG2_MAX) for v in (value if pair else [value])]
    if any(v % GROUP_UNIT for v in sides):
        raise LinrError(f"group_size sides must be multiples of {GROUP_UNIT} from {GROUP_UNIT} to "
                        f"{1 << GROUP_LOG2_MAX}, not {value!r}")
    return tuple(sides) if pair else sides[0]


def region(value):
    """A decoding region: None, or (x, y, width, height) of non-negative integers, the
    sides at least 1 (the decoder checks it against the image)."""
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 4:
        raise LinrError(f"region must be (x, y, width, height), not {_name(value)} {value!r:.40}")
    x, y = (_int(f"region's {n}", v, 0, 1 << 32) for n, v in zip("xy", value[:2]))
    w, h = (_int(f"region's {n}", v, 1, 1 << 32) for n, v in zip(("width", "height"), value[2:]))
    return x, y, w, h


def max_pixels(value) -> int:
    """A decoding budget in pixels: a positive integer (None: the default)."""
    if value is None:
        return limits.DEFAULT_MAX_PIXELS
    return _int("max_pixels", value, 1, 1 << 62)
