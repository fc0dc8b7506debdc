"""Group requests as a head-end runs them, above the client and the Registry:

- :mod:`.admin` — put meters into groups and out of them (IPv6 setup
  attribute 5 by ACTION or SET, condition entries), recorded in the Registry;
- :mod:`.read` — a group read: the window of answers, then the missing
  members one by one by unicast, paced (:func:`read_group`);
- :mod:`.stats` — the answer times judged: a Kolmogorov-Smirnov test of
  uniformity over the window, and their distribution as a table.

The request itself is :meth:`dlmsmesh.client.Client.broadcast`; the meter
side (membership, fan-out, delayed answers) is :mod:`dlmsmesh.server`.
"""

from __future__ import annotations

from .admin import (
    add_condition,
    conditions_of,
    groups_of,
    join,
    leave,
    remove_condition,
    set_groups,
)
from .read import GroupRead, read_group
from .stats import KsResult, distribution_table, histogram, kolmogorov_sf, ks_uniform

__all__ = [
    "join",
    "leave",
    "groups_of",
    "set_groups",
    "conditions_of",
    "add_condition",
    "remove_condition",
    "GroupRead",
    "read_group",
    "KsResult",
    "ks_uniform",
    "kolmogorov_sf",
    "histogram",
    "distribution_table",
]
