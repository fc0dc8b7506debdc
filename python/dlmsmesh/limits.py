"""Explicit limits of the decoders, in one place (the C core's twins are in csrc/dlmsmesh.h)."""

DEFAULT_MAX_DEPTH = 64
#: the BER walk's default nesting depth (ACSE PDUs nest a handful of levels)
DEFAULT_BER_MAX_DEPTH = 16
