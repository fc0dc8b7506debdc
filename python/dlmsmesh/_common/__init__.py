"""Code that both backends and the layer modules share.

Nothing here calls a backend or knows a layer above the data model: it
imports only ``dlmsmesh.errors``, ``dlmsmesh._status``, ``dlmsmesh.limits`` and the
data model (``types``, the APDU dataclasses of ``apdu``).
The C twin of the length codec and the byte cursor is ``csrc/bytes.h``.
"""
