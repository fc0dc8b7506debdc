"""Explicit limits of the decoders, in one place (the C core's twins are in csrc/dlmsmesh.h)."""

DEFAULT_MAX_DEPTH = 64
