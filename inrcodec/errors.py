"""The LinrError family: every failure a user can cause ends in one of these."""


class LinrError(ValueError):
    """Base class of every error linr raises for bad input or a bad file."""


class FormatError(LinrError):
    """The bytes are not a valid .linr file (bad signature, CRC, size, field...)."""


class TruncatedError(FormatError):
    """The file ends before the data it declares."""


class LimitError(FormatError):
    """A declared size is larger than the limits this decoder accepts."""


class PriorError(LinrError):
    """The prior a file needs is missing, unknown or altered."""


class ImageError(LinrError):
    """The input image cannot be read or is not a supported array."""


class VerificationError(LinrError):
    """Decoding did not give back the input: a bug, never written as a file."""


class FileError(LinrError):
    """A file cannot be read or written: missing, not a regular file, exists, is the input..."""
