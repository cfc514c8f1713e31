"""The compiled decision kernels (inrcodec/_kernels.c): plain C, built with the package
and loaded with ctypes (no Python API). Everything else is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("inrcodec._kernels", ["inrcodec/_kernels.c"],
                             extra_compile_args=["-O2"] if __import__("os").name != "nt" else [])])
