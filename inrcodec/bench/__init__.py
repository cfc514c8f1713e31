"""linr benchmark: bits per pixel and speed of linr against classical lossless codecs.

Run ``python -m inrcodec.bench --help`` (or ``linr bench --help``); see ``README.md`` in this
folder for the exact commands.  Results go to the current directory or ``--out-dir``.

Modules:
    datasets  -- image loaders (MNIST / Fashion-MNIST IDX files, image folders)
    codecs    -- one small class per codec (PNG, WebP, JPEG 2000, JPEG-XL, JPEG-LS, linr)
    run       -- the runner: encode, decode, verify, time; writes JSON + markdown
    plot      -- matplotlib plots of one or several result files
"""


class BenchError(Exception):
    """An expected failure (bad argument, missing data...): printed as one line ``bench: ...``."""
