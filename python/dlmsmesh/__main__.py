"""``python -m dlmsmesh``: the same command line as the ``dlmsmesh`` script."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
