"""Every limit of linr in one place, each with the reason it exists.

A decoder reads files from strangers: every size a file declares is checked
against these before anything is allocated or computed. Writers obey the same
limits, so a file linr writes is always a file linr reads.
"""
from __future__ import annotations

# -- the container ----------------------------------------------------------
# A chunk larger than this is refused before it is read: no real image needs
# it (a 2^28-sample image codes to well under 2^30 bytes), and it caps what a
# hostile length field can make a reader buffer.
MAX_CHUNK_BYTES = 1 << 30
# Varints are at most 5 bytes (32 bits of payload); longer or overlong forms
# would let two byte strings mean the same file.
MAX_VARINT_BYTES = 5

# -- the image --------------------------------------------------------------
# Width and height: 16-bit fields in most image formats, and the largest side
# OpenCV writes to PNG.
MAX_SIDE = 1 << 16
# Samples (width x height x channels): bounds the decoder's arrays (values are
# kept as uint16: 2 bytes a sample, 512 MiB at the limit); a 6000x4000 RGBA
# photograph (96 M samples) fits.
MAX_SAMPLES = 1 << 28
# Default decoding budget in pixels (Pillow's MAX_IMAGE_PIXELS is 89.5 M);
# raisable with decode(..., max_pixels=) and `linr decode --max-pixels`.
DEFAULT_MAX_PIXELS = 1 << 26

# Colours of a palette (chunk P): indices fit one byte, and the table (at most
# 2 KiB) stays small beside the image it serves.
MAX_PALETTE = 256

# -- the network ------------------------------------------------------------
# Hidden width and depth: with integer weights below 2^20 and activations
# below 2^20, partial sums of MAX_WIDTH + 1 products stay below 2^53, so
# float64 evaluation is exact (see exact.py).
MAX_WIDTH = 256
MAX_LAYERS = 8

# -- the encoder's options -----------------------------------------------------
# Effort 0 ranks the priors only; each step up fits longer (encoder.py says how).
MAX_EFFORT = 9
DEFAULT_EFFORT = 2

# -- input files --------------------------------------------------------------
# Image and .linr files larger than this are refused before they are read.
MAX_INPUT_BYTES = 1 << 30
# Image files in a format whose header linr does not parse itself (not PNG,
# TIFF, PNM, BMP, JPEG or WebP) are refused above this size: their pixel count
# cannot be checked before OpenCV decodes them.
MAX_UNPARSED_INPUT_BYTES = 1 << 26

# -- decoding work ------------------------------------------------------------
# A file whose image has a coded plane must hold at least
# pixels * max(parameters, MIN_PIXEL_WORK) / WORK_PER_FILE_BYTE bytes (encoders
# pad with an ancillary `p` chunk; with the built-in priors only images coded
# below about 0.01 bpp ever need it). The network costs about its parameter
# count in multiply-adds a pixel, so this bounds the work a small file can
# demand, whatever network its header declares: a 1 kB file, a few seconds.
WORK_PER_FILE_BYTE = 1 << 24
MIN_PIXEL_WORK = 1 << 14
