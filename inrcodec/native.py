"""linr's compiled library (`_kernels.c`, built with the package), found and opened once.

kernels.py declares the decision kernels and checks the constants they were built with;
pngio.py takes the PNG row filter from the same library without importing the model's modules.
"""
from __future__ import annotations

import ctypes
import importlib.machinery
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def library() -> ctypes.CDLL:
    here = Path(__file__).resolve().parent
    found = [here / ("_kernels" + s) for s in importlib.machinery.EXTENSION_SUFFIXES
             if (here / ("_kernels" + s)).exists()]
    if not found:
        raise ImportError("linr's compiled kernels (inrcodec/_kernels.c) are not built: "
                          "reinstall the package (pip install linr, or pip install -e . in a checkout)")
    return ctypes.CDLL(str(found[0]))
