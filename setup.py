"""Only wires the cffi build; everything else is in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["python/dlmsmesh/_build.py:ffibuilder"])
