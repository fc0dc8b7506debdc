"""SAP assignment (class 17, version 0), IEC 62056-6-2: which logical device
answers at which server SAP (the wrapper wPort, IEC 62056-8-20)."""

from __future__ import annotations

from collections.abc import Iterable

from ..apdu_model import ActionResult
from ..types import Array, LongUnsigned, Obis, OctetString, Structure
from .base import READ_ONLY, ActionError, CosemObject, attribute, method
from .typespec import ArrayOf, Octets, StructureOf

__all__ = ["SapAssignment", "SAP_ENTRY", "SAP_ASSIGNMENT"]

#: {SAP long-unsigned, logical_device_name octet-string}
SAP_ENTRY = StructureOf(LongUnsigned, Octets())
SAP_ASSIGNMENT = Obis("0.0.41.0.0.255")


def _entry(sap: int, name: bytes) -> Structure:
    return Structure((LongUnsigned(sap), bytes.__new__(OctetString, bytes(name))))


class SapAssignment(CosemObject):
    """SAP assignment: ``devices`` maps each server SAP to its logical device name
    (SAP 1, the management logical device, is always there on a real meter)."""

    class_id = 17
    version = 0

    sap_assignment_list = attribute(2, ArrayOf(SAP_ENTRY), access=READ_ONLY, default=Array())

    def __init__(
        self, logical_name: Obis | str | bytes = SAP_ASSIGNMENT, devices: Iterable[tuple[int, bytes]] = ()
    ) -> None:
        super().__init__(logical_name)
        self.sap_assignment_list = Array(_entry(sap, name) for sap, name in sorted(dict(devices).items()))

    @property
    def devices(self) -> dict[int, bytes]:
        return {int(sap): bytes(name) for sap, name in self.sap_assignment_list}

    @method(1, SAP_ENTRY)
    def connect_logical_device(self, parameters: Structure) -> None:
        """Assign a logical device name to a SAP; an empty name removes the SAP."""
        sap, name = int(parameters[0]), bytes(parameters[1])
        devices = self.devices
        if not name:
            if sap not in devices:
                raise ActionError(ActionResult.OBJECT_UNAVAILABLE, f"no logical device at SAP {sap}")
            del devices[sap]
        else:
            devices[sap] = name
        self.sap_assignment_list = Array(_entry(s, n) for s, n in sorted(devices.items()))
