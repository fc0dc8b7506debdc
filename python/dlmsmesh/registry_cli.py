"""``dlmsmesh registry``: list, show, export, import and admit registry bindings (skeleton)."""

from __future__ import annotations
