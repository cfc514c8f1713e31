"""linr: a lossless image codec whose payload is a neural network.

    >>> import inrcodec
    >>> data = inrcodec.encode(image)          # uint8/uint16, H x W (x C)
    >>> assert (inrcodec.decode(data) == image).all()

The API is imported on first use (PEP 562): `import inrcodec` loads only the
errors and the limits, so a process pays for numpy, OpenCV or torch only
when it calls what needs them.
"""
from .errors import (FormatError, ImageError, LimitError, LinrError, PriorError,
                     TruncatedError, VerificationError)
from .limits import DEFAULT_EFFORT, MAX_EFFORT

__version__ = "0.14.2"

# public name -> the module (in this package) that defines it
_LAZY = {
    "encode": "codec", "decode": "codec", "info": "codec",
    "encode_file": "imageio", "decode_file": "imageio",
    "read_image": "imageio", "write_image": "imageio",
    "encode_many": "batch", "decode_many": "batch",
    "train_prior": "training",
}

__all__ = [
    "encode", "decode", "info", "encode_file", "decode_file", "read_image", "write_image",
    "encode_many", "decode_many", "train_prior",
    "LinrError", "FormatError", "TruncatedError", "LimitError", "PriorError", "ImageError",
    "VerificationError", "DEFAULT_EFFORT", "MAX_EFFORT", "__version__",
]


def _submodules() -> frozenset:
    import pkgutil
    return frozenset(m.name for m in pkgutil.iter_modules(__path__))


def __getattr__(name: str):
    import importlib
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value        # later look-ups skip this function
        return value
    # `inrcodec.container` after a bare `import inrcodec`, as when __init__ imported the codec
    if not name.startswith("__") and name in _submodules():
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))
