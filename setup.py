"""The compiled decision kernels (inrcodec/_kernels.c): plain C, built with the package
and loaded with ctypes (no Python API). Everything else is in pyproject.toml."""
from setuptools import Extension, setup

# -O3: the decisions of a Kodak decode 7% faster than -O2 (integer code: the same results)
setup(ext_modules=[Extension("inrcodec._kernels", ["inrcodec/_kernels.c"],
                             extra_compile_args=["-O3"] if __import__("os").name != "nt" else [])])
