"""What can go wrong between the head-end and a meter, as exceptions a caller can act on.

Every class is a :class:`dlmsmesh.errors.DlmsError`.  Results the meter
returns (a Data-Access-Result, an Action-Result, an exception-response, a
confirmedServiceError, an AARE diagnostic) each map to one class, so a
caller catches exactly the case it can handle (``except ObjectUndefined``)
or a whole family (``except DataAccessFailure``).  The factories
:func:`data_access_error`, :func:`action_error`,
:func:`exception_response_error` and :func:`association_refused` pick the
class from the codes; a code no edition defines yet still gives the family's
base class, never a crash.

Several classes have two parents where the failure belongs to two families
and a caller may reasonably catch either: :class:`AuthenticationFailed` is an
:class:`AssociationRefused` and an :class:`~dlmsmesh.errors.AuthenticationError`;
:class:`StaleAssociation` is an :class:`ExceptionResponseError` and an
:class:`~dlmsmesh.errors.AssociationError`.

Messages say what happened in words.  Every exception pickles (a
multiprocessing worker can hand one back), rebuilt through ``__reduce__``.
"""

from __future__ import annotations

from typing import ClassVar

from ..acse_pdu import (
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    AssociationResult,
    Diagnostic,
)
from ..apdu_model import (
    ActionResult,
    ConfirmedServiceError,
    ConfirmedServiceErrorChoice,
    DataAccessResult,
    ServiceError,
    ServiceErrorChoice,
    StateError,
)
from ..errors import AssociationError, AuthenticationError, DlmsError, ReplayError, SecurityError

__all__ = [
    "ClientError",
    # Data-Access-Result
    "DataAccessFailure",
    "HardwareFault",
    "TemporaryFailure",
    "ReadWriteDenied",
    "ObjectUndefined",
    "ObjectClassInconsistent",
    "ObjectUnavailable",
    "TypeUnmatched",
    "ScopeOfAccessViolated",
    "DataBlockUnavailable",
    "LongGetAborted",
    "NoLongGetInProgress",
    "LongSetAborted",
    "NoLongSetInProgress",
    "DataBlockNumberInvalid",
    "OtherReason",
    "data_access_error",
    # Action-Result
    "ActionFailure",
    "ActionHardwareFault",
    "ActionTemporaryFailure",
    "ActionReadWriteDenied",
    "ActionObjectUndefined",
    "ActionObjectClassInconsistent",
    "ActionObjectUnavailable",
    "ActionTypeUnmatched",
    "ActionScopeOfAccessViolated",
    "ActionDataBlockUnavailable",
    "LongActionAborted",
    "NoLongActionInProgress",
    "ActionOtherReason",
    "action_error",
    # exception-response
    "ExceptionResponseError",
    "DecipheringFailed",
    "InvocationCounterRejected",
    "StaleAssociation",
    "exception_response_error",
    # confirmedServiceError
    "ConfirmedServiceFailure",
    # AARE
    "AssociationRefused",
    "ApplicationContextNotSupported",
    "CallingTitleNotRecognized",
    "MechanismNotRecognized",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "association_refused",
    # the client's own
    "HlsFailed",
    "NoAddress",
]


class ClientError(DlmsError):
    """A request the head-end made that the meter (or the client) could not complete."""


def _prefixed(context: str | None, words: str) -> str:
    return f"{context}: {words}" if context else words


# --------------------------------------------------------------------------
# Data-Access-Result (GET and SET)
# --------------------------------------------------------------------------

_DATA_ACCESS_WORDS: dict[DataAccessResult, str] = {
    DataAccessResult.HARDWARE_FAULT: "the meter reports a hardware fault",
    DataAccessResult.TEMPORARY_FAILURE: "the meter failed temporarily; a later try may succeed",
    DataAccessResult.READ_WRITE_DENIED: "access denied: this association may not read or write the attribute",
    DataAccessResult.OBJECT_UNDEFINED: "the meter has no such object or attribute",
    DataAccessResult.OBJECT_CLASS_INCONSISTENT: "the object exists on the meter with another interface class",
    DataAccessResult.OBJECT_UNAVAILABLE: "the object is unavailable at the moment",
    DataAccessResult.TYPE_UNMATCHED: "the value has a data type the attribute does not take",
    DataAccessResult.SCOPE_OF_ACCESS_VIOLATED: "the selective access asks for more than the object allows",
    DataAccessResult.DATA_BLOCK_UNAVAILABLE: "the meter has no such data block",
    DataAccessResult.LONG_GET_ABORTED: "the meter aborted the GET block transfer",
    DataAccessResult.NO_LONG_GET_IN_PROGRESS: "the meter has no GET block transfer in progress",
    DataAccessResult.LONG_SET_ABORTED: "the meter aborted the SET block transfer",
    DataAccessResult.NO_LONG_SET_IN_PROGRESS: "the meter has no SET block transfer in progress",
    DataAccessResult.DATA_BLOCK_NUMBER_INVALID: "the block number is not the one the meter expected",
    DataAccessResult.OTHER_REASON: "the meter refused for a reason it does not name",
}


class DataAccessFailure(ClientError):
    """A GET or SET the meter answered with a Data-Access-Result other than success.

    ``result`` is the code; ``context`` (optional) names what was asked, for the message.
    """

    RESULT: ClassVar[DataAccessResult | None] = None

    def __init__(self, result: DataAccessResult | int | None = None, context: str | None = None) -> None:
        if result is None:
            if self.RESULT is None:
                raise TypeError("DataAccessFailure needs a result")
            result = self.RESULT
        code = DataAccessResult(result)
        if code is DataAccessResult.SUCCESS:
            raise ValueError("success is not a failure")
        if self.RESULT is not None and code is not self.RESULT:
            raise ValueError(f"{type(self).__name__} is {self.RESULT.asn1_name}, not {code.asn1_name}")
        words = _DATA_ACCESS_WORDS.get(code, f"the meter answered with the unknown data access result {int(code)}")
        super().__init__(_prefixed(context, words))
        self.result = code
        self.context = context

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (int(self.result), self.context))


class HardwareFault(DataAccessFailure):
    RESULT = DataAccessResult.HARDWARE_FAULT


class TemporaryFailure(DataAccessFailure):
    RESULT = DataAccessResult.TEMPORARY_FAILURE


class ReadWriteDenied(DataAccessFailure):
    RESULT = DataAccessResult.READ_WRITE_DENIED


class ObjectUndefined(DataAccessFailure):
    RESULT = DataAccessResult.OBJECT_UNDEFINED


class ObjectClassInconsistent(DataAccessFailure):
    RESULT = DataAccessResult.OBJECT_CLASS_INCONSISTENT


class ObjectUnavailable(DataAccessFailure):
    RESULT = DataAccessResult.OBJECT_UNAVAILABLE


class TypeUnmatched(DataAccessFailure):
    RESULT = DataAccessResult.TYPE_UNMATCHED


class ScopeOfAccessViolated(DataAccessFailure):
    RESULT = DataAccessResult.SCOPE_OF_ACCESS_VIOLATED


class DataBlockUnavailable(DataAccessFailure):
    RESULT = DataAccessResult.DATA_BLOCK_UNAVAILABLE


class LongGetAborted(DataAccessFailure):
    RESULT = DataAccessResult.LONG_GET_ABORTED


class NoLongGetInProgress(DataAccessFailure):
    RESULT = DataAccessResult.NO_LONG_GET_IN_PROGRESS


class LongSetAborted(DataAccessFailure):
    RESULT = DataAccessResult.LONG_SET_ABORTED


class NoLongSetInProgress(DataAccessFailure):
    RESULT = DataAccessResult.NO_LONG_SET_IN_PROGRESS


class DataBlockNumberInvalid(DataAccessFailure):
    RESULT = DataAccessResult.DATA_BLOCK_NUMBER_INVALID


class OtherReason(DataAccessFailure):
    RESULT = DataAccessResult.OTHER_REASON


_DATA_ACCESS_CLASSES: dict[int, type[DataAccessFailure]] = {
    int(cls.RESULT): cls
    for cls in (
        HardwareFault,
        TemporaryFailure,
        ReadWriteDenied,
        ObjectUndefined,
        ObjectClassInconsistent,
        ObjectUnavailable,
        TypeUnmatched,
        ScopeOfAccessViolated,
        DataBlockUnavailable,
        LongGetAborted,
        NoLongGetInProgress,
        LongSetAborted,
        NoLongSetInProgress,
        DataBlockNumberInvalid,
        OtherReason,
    )
    if cls.RESULT is not None
}


def data_access_error(result: DataAccessResult | int, context: str | None = None) -> DataAccessFailure:
    """The exception for a failed Data-Access-Result (a code no edition defines
    gives a plain :class:`DataAccessFailure`); ``ValueError`` for success."""
    code = DataAccessResult(result)
    return _DATA_ACCESS_CLASSES.get(int(code), DataAccessFailure)(code, context)


# --------------------------------------------------------------------------
# Action-Result (ACTION)
# --------------------------------------------------------------------------

_ACTION_WORDS: dict[ActionResult, str] = {
    ActionResult.HARDWARE_FAULT: "the meter reports a hardware fault",
    ActionResult.TEMPORARY_FAILURE: "the meter failed temporarily; a later try may succeed",
    ActionResult.READ_WRITE_DENIED: "access denied: this association may not invoke the method",
    ActionResult.OBJECT_UNDEFINED: "the meter has no such object or method",
    ActionResult.OBJECT_CLASS_INCONSISTENT: "the object exists on the meter with another interface class",
    ActionResult.OBJECT_UNAVAILABLE: "the object is unavailable at the moment",
    ActionResult.TYPE_UNMATCHED: "the method parameter has a data type the method does not take",
    ActionResult.SCOPE_OF_ACCESS_VIOLATED: "the method parameter is outside what the method allows",
    ActionResult.DATA_BLOCK_UNAVAILABLE: "the meter has no such data block",
    ActionResult.LONG_ACTION_ABORTED: "the meter aborted the ACTION block transfer",
    ActionResult.NO_LONG_ACTION_IN_PROGRESS: "the meter has no ACTION block transfer in progress",
    ActionResult.OTHER_REASON: "the meter refused for a reason it does not name",
}


class ActionFailure(ClientError):
    """An ACTION the meter answered with an Action-Result other than success."""

    RESULT: ClassVar[ActionResult | None] = None

    def __init__(self, result: ActionResult | int | None = None, context: str | None = None) -> None:
        if result is None:
            if self.RESULT is None:
                raise TypeError("ActionFailure needs a result")
            result = self.RESULT
        code = ActionResult(result)
        if code is ActionResult.SUCCESS:
            raise ValueError("success is not a failure")
        if self.RESULT is not None and code is not self.RESULT:
            raise ValueError(f"{type(self).__name__} is {self.RESULT.asn1_name}, not {code.asn1_name}")
        words = _ACTION_WORDS.get(code, f"the meter answered with the unknown action result {int(code)}")
        super().__init__(_prefixed(context, words))
        self.result = code
        self.context = context

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (int(self.result), self.context))


class ActionHardwareFault(ActionFailure):
    RESULT = ActionResult.HARDWARE_FAULT


class ActionTemporaryFailure(ActionFailure):
    RESULT = ActionResult.TEMPORARY_FAILURE


class ActionReadWriteDenied(ActionFailure):
    RESULT = ActionResult.READ_WRITE_DENIED


class ActionObjectUndefined(ActionFailure):
    RESULT = ActionResult.OBJECT_UNDEFINED


class ActionObjectClassInconsistent(ActionFailure):
    RESULT = ActionResult.OBJECT_CLASS_INCONSISTENT


class ActionObjectUnavailable(ActionFailure):
    RESULT = ActionResult.OBJECT_UNAVAILABLE


class ActionTypeUnmatched(ActionFailure):
    RESULT = ActionResult.TYPE_UNMATCHED


class ActionScopeOfAccessViolated(ActionFailure):
    RESULT = ActionResult.SCOPE_OF_ACCESS_VIOLATED


class ActionDataBlockUnavailable(ActionFailure):
    RESULT = ActionResult.DATA_BLOCK_UNAVAILABLE


class LongActionAborted(ActionFailure):
    RESULT = ActionResult.LONG_ACTION_ABORTED


class NoLongActionInProgress(ActionFailure):
    RESULT = ActionResult.NO_LONG_ACTION_IN_PROGRESS


class ActionOtherReason(ActionFailure):
    RESULT = ActionResult.OTHER_REASON


_ACTION_CLASSES: dict[int, type[ActionFailure]] = {
    int(cls.RESULT): cls
    for cls in (
        ActionHardwareFault,
        ActionTemporaryFailure,
        ActionReadWriteDenied,
        ActionObjectUndefined,
        ActionObjectClassInconsistent,
        ActionObjectUnavailable,
        ActionTypeUnmatched,
        ActionScopeOfAccessViolated,
        ActionDataBlockUnavailable,
        LongActionAborted,
        NoLongActionInProgress,
        ActionOtherReason,
    )
    if cls.RESULT is not None
}


def action_error(result: ActionResult | int, context: str | None = None) -> ActionFailure:
    """The exception for a failed Action-Result (an unknown code gives a plain
    :class:`ActionFailure`); ``ValueError`` for success."""
    code = ActionResult(result)
    return _ACTION_CLASSES.get(int(code), ActionFailure)(code, context)


# --------------------------------------------------------------------------
# exception-response
# --------------------------------------------------------------------------

_STATE_WORDS: dict[StateError, str] = {
    StateError.SERVICE_NOT_ALLOWED: "the service is not allowed in the meter's present state",
    StateError.SERVICE_UNKNOWN: "the meter does not know the service",
}

_SERVICE_WORDS: dict[ServiceError, str] = {
    ServiceError.OPERATION_NOT_POSSIBLE: "the operation is not possible",
    ServiceError.SERVICE_NOT_SUPPORTED: "the service is not supported",
    ServiceError.OTHER_REASON: "for a reason the meter does not name",
    ServiceError.PDU_TOO_LONG: "the request is longer than the meter accepts",
    ServiceError.DECIPHERING_ERROR: "the meter could not decipher the request",
    ServiceError.INVOCATION_COUNTER_ERROR: "the meter rejected the invocation counter",
}


class ExceptionResponseError(ClientError):
    """The meter answered with an exception-response instead of a result.

    ``invocation_counter`` is the counter the meter expects next when
    ``service_error`` is invocation-counter-error, else ``None``.
    """

    def __init__(
        self,
        state_error: StateError | int,
        service_error: ServiceError | int,
        invocation_counter: int | None = None,
    ) -> None:
        state = StateError(state_error)
        service = ServiceError(service_error)
        state_words = _STATE_WORDS.get(state, f"the meter reports the unknown state error {int(state)}")
        service_words = _SERVICE_WORDS.get(service, f"with the unknown service error {int(service)}")
        message = f"{state_words}: {service_words}"
        if invocation_counter is not None:
            message += f" (it expects invocation counter {invocation_counter})"
        super().__init__(message)
        self.state_error = state
        self.service_error = service
        self.invocation_counter = invocation_counter

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (int(self.state_error), int(self.service_error), self.invocation_counter))


class DecipheringFailed(ExceptionResponseError, SecurityError):
    """The meter could not decipher or authenticate the request (service error 5):
    wrong keys, wrong security suite or a corrupted datagram."""


class InvocationCounterRejected(ExceptionResponseError, ReplayError):
    """The meter rejected the request's invocation counter (service error 6);
    ``invocation_counter`` is the one it expects, from which the client resynchronises."""


class StaleAssociation(ExceptionResponseError, AssociationError):
    """The meter no longer knows the association the client holds (it rebooted
    or timed the association out): it answers a request with service-not-allowed
    / operation-not-possible, which it only does outside an association.  The
    client re-opens the association, once, when configured to."""

    def __init__(
        self,
        state_error: StateError | int = StateError.SERVICE_NOT_ALLOWED,
        service_error: ServiceError | int = ServiceError.OPERATION_NOT_POSSIBLE,
        invocation_counter: int | None = None,
    ) -> None:
        super().__init__(state_error, service_error, invocation_counter)
        self.args = (f"the meter no longer knows this association ({self.args[0]})",)


def exception_response_error(
    state_error: StateError | int,
    service_error: ServiceError | int,
    invocation_counter: int | None = None,
) -> ExceptionResponseError:
    """The exception for an exception-response received inside an association
    the client believes open (which is why service-not-allowed /
    operation-not-possible means :class:`StaleAssociation`)."""
    service = ServiceError(service_error)
    state = StateError(state_error)
    cls: type[ExceptionResponseError] = ExceptionResponseError
    if service is ServiceError.DECIPHERING_ERROR:
        cls = DecipheringFailed
    elif service is ServiceError.INVOCATION_COUNTER_ERROR:
        cls = InvocationCounterRejected
    elif state is StateError.SERVICE_NOT_ALLOWED and service is ServiceError.OPERATION_NOT_POSSIBLE:
        cls = StaleAssociation
    return cls(state, service, invocation_counter)


# --------------------------------------------------------------------------
# confirmedServiceError
# --------------------------------------------------------------------------

_SERVICE_ERROR_VALUES: dict[ServiceErrorChoice, tuple[str, ...]] = {
    ServiceErrorChoice.APPLICATION_REFERENCE: (
        "other",
        "time elapsed",
        "application unreachable",
        "application reference invalid",
        "application context unsupported",
        "provider communication error",
        "deciphering error",
    ),
    ServiceErrorChoice.HARDWARE_RESOURCE: (
        "other",
        "memory unavailable",
        "processor resource unavailable",
        "mass storage unavailable",
        "other resource unavailable",
    ),
    ServiceErrorChoice.VDE_STATE_ERROR: (
        "other",
        "no DLMS context",
        "loading data set",
        "status no change",
        "status inoperable",
    ),
    ServiceErrorChoice.SERVICE: ("other", "PDU size", "service unsupported"),
    ServiceErrorChoice.DEFINITION: (
        "other",
        "object undefined",
        "object class inconsistent",
        "object attribute inconsistent",
    ),
    ServiceErrorChoice.ACCESS: (
        "other",
        "scope of access violated",
        "object access invalid",
        "hardware fault",
        "object unavailable",
    ),
    ServiceErrorChoice.INITIATE: (
        "other",
        "DLMS version too low",
        "incompatible conformance",
        "PDU size too short",
        "refused by the VDE handler",
    ),
    ServiceErrorChoice.LOAD_DATA_SET: (
        "other",
        "primitive out of sequence",
        "not loadable",
        "data set size too large",
        "not awaited segment",
        "interpretation failure",
        "storage failure",
        "data set not ready",
    ),
    ServiceErrorChoice.TASK: ("other", "no remote control", "TI stopped", "TI running", "TI unusable"),
}

_CONFIRMED_SERVICE_WORDS: dict[ConfirmedServiceErrorChoice, str] = {
    ConfirmedServiceErrorChoice.INITIATE_ERROR: "the meter refused the xDLMS initiate",
    ConfirmedServiceErrorChoice.READ: "the meter refused the read",
    ConfirmedServiceErrorChoice.WRITE: "the meter refused the write",
}


def _service_error_words(error: ServiceErrorChoice, value: int) -> str:
    names = _SERVICE_ERROR_VALUES.get(error, ())
    name = names[value] if value < len(names) else f"unknown value {value}"
    return f"{error.asn1_name.replace('-', ' ')} error, {name}"


class ConfirmedServiceFailure(ClientError):
    """A confirmedServiceError: ``service`` failed with the ServiceError
    ``error`` (which family) and ``value`` (which failure in it)."""

    def __init__(
        self,
        service: ConfirmedServiceErrorChoice | int,
        error: ServiceErrorChoice | int,
        value: int,
    ) -> None:
        svc = ConfirmedServiceErrorChoice(service)
        err = ServiceErrorChoice(error)
        lead = _CONFIRMED_SERVICE_WORDS.get(svc, f"the meter refused the {svc.asn1_name.replace('-', ' ')} service")
        super().__init__(f"{lead}: {_service_error_words(err, value)}")
        self.service = svc
        self.error = err
        self.value = value

    @classmethod
    def from_apdu(cls, apdu: ConfirmedServiceError) -> ConfirmedServiceFailure:
        return cls(apdu.service, apdu.error, apdu.value)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (int(self.service), int(self.error), self.value))


# --------------------------------------------------------------------------
# AARE: the association refused
# --------------------------------------------------------------------------

_USER_DIAGNOSTIC_WORDS: dict[AcseServiceUserDiagnostic, str] = {
    AcseServiceUserDiagnostic.NULL: "no diagnostic given",
    AcseServiceUserDiagnostic.NO_REASON_GIVEN: "no reason given",
    AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED: "the application context is not supported",
    AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED: "the meter does not recognise the client's system title",
    AcseServiceUserDiagnostic.CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: "calling AP invocation identifier not recognised",
    AcseServiceUserDiagnostic.CALLING_AE_QUALIFIER_NOT_RECOGNIZED: "calling AE qualifier not recognised",
    AcseServiceUserDiagnostic.CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: "calling AE invocation identifier not recognised",
    AcseServiceUserDiagnostic.CALLED_AP_TITLE_NOT_RECOGNIZED: "called AP title not recognised",
    AcseServiceUserDiagnostic.CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: "called AP invocation identifier not recognised",
    AcseServiceUserDiagnostic.CALLED_AE_QUALIFIER_NOT_RECOGNIZED: "called AE qualifier not recognised",
    AcseServiceUserDiagnostic.CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: "called AE invocation identifier not recognised",
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED: "the meter does not support the authentication mechanism",
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED: "the meter requires an authentication mechanism",
    AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE: "authentication failed (wrong password or key)",
    AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED: "the meter requires authentication",
}

_PROVIDER_DIAGNOSTIC_WORDS: dict[AcseServiceProviderDiagnostic, str] = {
    AcseServiceProviderDiagnostic.NULL: "no diagnostic given",
    AcseServiceProviderDiagnostic.NO_REASON_GIVEN: "no reason given",
    AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION: "no common ACSE version",
}

_RESULT_WORDS: dict[AssociationResult, str] = {
    AssociationResult.ACCEPTED: "the meter accepted the association yet refused it",
    AssociationResult.REJECTED_PERMANENT: "the meter refused the association",
    AssociationResult.REJECTED_TRANSIENT: "the meter refused the association for now",
}


def _diagnostic_words(diagnostic: Diagnostic) -> str:
    if isinstance(diagnostic, AcseServiceProviderDiagnostic):
        return _PROVIDER_DIAGNOSTIC_WORDS.get(diagnostic, f"unknown provider diagnostic {int(diagnostic)}")
    return _USER_DIAGNOSTIC_WORDS.get(diagnostic, f"unknown diagnostic {int(diagnostic)}")


class AssociationRefused(AssociationError):
    """The AARE refused the association: ``result`` (rejected permanently or
    transiently), ``diagnostic`` (ACSE service-user or service-provider) and,
    when the xDLMS initiate failed, ``initiate_error``."""

    def __init__(
        self,
        result: AssociationResult | int,
        diagnostic: Diagnostic | int,
        initiate_error: ConfirmedServiceFailure | None = None,
    ) -> None:
        res = AssociationResult(result)
        diag: Diagnostic = (
            diagnostic
            if isinstance(diagnostic, (AcseServiceUserDiagnostic, AcseServiceProviderDiagnostic))
            else AcseServiceUserDiagnostic(diagnostic)
        )
        lead = _RESULT_WORDS.get(res, f"the meter answered the association with the unknown result {int(res)}")
        message = f"{lead}: {_diagnostic_words(diag)}"
        if initiate_error is not None:
            message += f"; {initiate_error}"
        super().__init__(message)
        self.result = res
        self.diagnostic = diag
        self.initiate_error = initiate_error

    @property
    def transient(self) -> bool:
        """True when the meter said a later try may succeed (rejected-transient)."""
        return self.result is AssociationResult.REJECTED_TRANSIENT

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.result, self.diagnostic, self.initiate_error))


class ApplicationContextNotSupported(AssociationRefused):
    """The meter does not speak the proposed application context (LN/SN, ciphered or not)."""


class CallingTitleNotRecognized(AssociationRefused):
    """The meter does not know the client's system title (calling-AP-title)."""


class MechanismNotRecognized(AssociationRefused):
    """The meter does not support the authentication mechanism, or requires one."""


class AuthenticationFailed(AssociationRefused, AuthenticationError):
    """The meter refused the password or the HLS secret (diagnostic authentication-failure)."""


class AuthenticationRequired(AssociationRefused):
    """The meter requires authentication the AARQ did not carry."""


_REFUSAL_CLASSES: dict[AcseServiceUserDiagnostic, type[AssociationRefused]] = {
    AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED: ApplicationContextNotSupported,
    AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED: CallingTitleNotRecognized,
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED: MechanismNotRecognized,
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED: MechanismNotRecognized,
    AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE: AuthenticationFailed,
    AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED: AuthenticationRequired,
}


def association_refused(
    aare_result: AssociationResult | int,
    diagnostic: Diagnostic | int,
    initiate_error: ConfirmedServiceFailure | ConfirmedServiceError | None = None,
) -> AssociationRefused:
    """The exception for a refusing AARE (a bare int diagnostic is a
    service-user one).  ``initiate_error`` may be the decoded
    confirmedServiceError of the AARE's user-information."""
    if isinstance(initiate_error, ConfirmedServiceError):
        initiate_error = ConfirmedServiceFailure.from_apdu(initiate_error)
    diag: Diagnostic = (
        diagnostic
        if isinstance(diagnostic, (AcseServiceUserDiagnostic, AcseServiceProviderDiagnostic))
        else AcseServiceUserDiagnostic(diagnostic)
    )
    cls = (
        _REFUSAL_CLASSES.get(diag, AssociationRefused)
        if isinstance(diag, AcseServiceUserDiagnostic)
        else AssociationRefused
    )
    return cls(aare_result, diag, initiate_error)


# --------------------------------------------------------------------------
# the client's own
# --------------------------------------------------------------------------


class HlsFailed(AuthenticationError):
    """HLS pass 3 or 4 failed: ``pass_number`` 3 when the meter rejected the
    client's reply to its challenge, 4 when the meter's reply to the client's
    challenge did not verify (a meter without the right key, or an impostor)."""

    def __init__(self, pass_number: int, detail: str | None = None) -> None:
        if pass_number not in (3, 4):
            raise ValueError("HLS passes that can fail are 3 and 4")
        words = (
            "the meter rejected the client's answer to its challenge (HLS pass 3)"
            if pass_number == 3
            else "the meter's answer to the client's challenge did not verify (HLS pass 4)"
        )
        super().__init__(f"{words}: {detail}" if detail else words)
        self.pass_number = pass_number
        self.detail = detail

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.pass_number, self.detail))


class NoAddress(ClientError):
    """The address resolver knows no address for ``system_title``."""

    def __init__(self, system_title: bytes) -> None:
        super().__init__(f"no address is known for the meter with system title {bytes(system_title).hex().upper()}")
        self.system_title = bytes(system_title)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.system_title,))
