"""linr: a lossless image codec whose payload is a neural network.

    >>> import inrcodec
    >>> data = inrcodec.encode(image)          # uint8/uint16, H x W (x C)
    >>> assert (inrcodec.decode(data) == image).all()
"""
from .codec import DEFAULT_EFFORT, MAX_EFFORT, decode, encode, info
from .errors import (FormatError, ImageError, LimitError, LinrError, PriorError,
                     TruncatedError, VerificationError)
from .imageio import decode_file, encode_file, read_image, write_image
from .batch import decode_many, encode_many
from .training import train_prior

__version__ = "0.4.0"

__all__ = [
    "encode", "decode", "info", "encode_file", "decode_file", "read_image", "write_image",
    "encode_many", "decode_many", "train_prior",
    "LinrError", "FormatError", "TruncatedError", "LimitError", "PriorError", "ImageError",
    "VerificationError", "DEFAULT_EFFORT", "MAX_EFFORT", "__version__",
]
