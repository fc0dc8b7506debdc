"""Registration: meters announce system title <-> address bindings, the head-end keeps them.

The registration message and the meter-side announcer follow spec note
mesh-profile §4.2-4.4 (DESIGN choices, documented in README.md); the
:class:`Registry` keeps the bindings (SQLite by default, behind a store
interface chosen by URL: ``sqlite:///PATH`` or ``postgresql://...``, also
from ``$DLMSMESH_DATABASE``; :func:`open_registry`) and is the Client's
address resolver.
"""

from __future__ import annotations

from .announce import REGISTRATION_PORT, REGISTRATION_PUSH, UPDATE_PUSH, Announcement, AnnouncementKind
from .announcer import Announcer
from .errors import KeysFileError, RegistrationError
from .keys_file import load_keys
from .registry import Binding, Change, ChangeKind, Outcome, Registration, Registry, Status, open_registry
from .store import StoreError

__all__ = [
    "Announcement",
    "AnnouncementKind",
    "Announcer",
    "RegistrationError",
    "KeysFileError",
    "load_keys",
    "REGISTRATION_PORT",
    "REGISTRATION_PUSH",
    "UPDATE_PUSH",  # fmt: skip
    "Binding",
    "Change",
    "ChangeKind",
    "Outcome",
    "Registration",
    "Registry",
    "open_registry",
    "Status",
    "StoreError",
]
