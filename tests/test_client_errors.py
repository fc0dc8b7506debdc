"""dlmsmesh.client.errors: every result code a meter returns maps to one
exception class a caller can catch, with a message in words, that pickles."""

from __future__ import annotations

import pickle

import pytest

from dlmsmesh.acse_pdu import AcseServiceProviderDiagnostic, AcseServiceUserDiagnostic, AssociationResult
from dlmsmesh.apdu_model import (
    ActionResult,
    ConfirmedServiceError,
    ConfirmedServiceErrorChoice,
    DataAccessResult,
    ServiceError,
    ServiceErrorChoice,
    StateError,
)
from dlmsmesh.client import errors as ce
from dlmsmesh.errors import AssociationError, AuthenticationError, DlmsError, ReplayError, SecurityError

DATA_ACCESS = {
    DataAccessResult.HARDWARE_FAULT: ce.HardwareFault,
    DataAccessResult.TEMPORARY_FAILURE: ce.TemporaryFailure,
    DataAccessResult.READ_WRITE_DENIED: ce.ReadWriteDenied,
    DataAccessResult.OBJECT_UNDEFINED: ce.ObjectUndefined,
    DataAccessResult.OBJECT_CLASS_INCONSISTENT: ce.ObjectClassInconsistent,
    DataAccessResult.OBJECT_UNAVAILABLE: ce.ObjectUnavailable,
    DataAccessResult.TYPE_UNMATCHED: ce.TypeUnmatched,
    DataAccessResult.SCOPE_OF_ACCESS_VIOLATED: ce.ScopeOfAccessViolated,
    DataAccessResult.DATA_BLOCK_UNAVAILABLE: ce.DataBlockUnavailable,
    DataAccessResult.LONG_GET_ABORTED: ce.LongGetAborted,
    DataAccessResult.NO_LONG_GET_IN_PROGRESS: ce.NoLongGetInProgress,
    DataAccessResult.LONG_SET_ABORTED: ce.LongSetAborted,
    DataAccessResult.NO_LONG_SET_IN_PROGRESS: ce.NoLongSetInProgress,
    DataAccessResult.DATA_BLOCK_NUMBER_INVALID: ce.DataBlockNumberInvalid,
    DataAccessResult.OTHER_REASON: ce.OtherReason,
}

ACTION = {
    ActionResult.HARDWARE_FAULT: ce.ActionHardwareFault,
    ActionResult.TEMPORARY_FAILURE: ce.ActionTemporaryFailure,
    ActionResult.READ_WRITE_DENIED: ce.ActionReadWriteDenied,
    ActionResult.OBJECT_UNDEFINED: ce.ActionObjectUndefined,
    ActionResult.OBJECT_CLASS_INCONSISTENT: ce.ActionObjectClassInconsistent,
    ActionResult.OBJECT_UNAVAILABLE: ce.ActionObjectUnavailable,
    ActionResult.TYPE_UNMATCHED: ce.ActionTypeUnmatched,
    ActionResult.SCOPE_OF_ACCESS_VIOLATED: ce.ActionScopeOfAccessViolated,
    ActionResult.DATA_BLOCK_UNAVAILABLE: ce.ActionDataBlockUnavailable,
    ActionResult.LONG_ACTION_ABORTED: ce.LongActionAborted,
    ActionResult.NO_LONG_ACTION_IN_PROGRESS: ce.NoLongActionInProgress,
    ActionResult.OTHER_REASON: ce.ActionOtherReason,
}


def _roundtrip(exc: BaseException) -> BaseException:
    return pickle.loads(pickle.dumps(exc))


def test_every_data_access_result_but_success_has_its_own_class() -> None:
    failures = [r for r in DataAccessResult if r is not DataAccessResult.SUCCESS]
    assert set(failures) == set(DATA_ACCESS)
    assert len(set(DATA_ACCESS.values())) == len(DATA_ACCESS)


@pytest.mark.parametrize("result", list(DATA_ACCESS))
def test_data_access_error_picks_the_class_and_keeps_the_code(result: DataAccessResult) -> None:
    exc = ce.data_access_error(int(result))
    assert type(exc) is DATA_ACCESS[result]
    assert isinstance(exc, ce.DataAccessFailure) and isinstance(exc, ce.ClientError) and isinstance(exc, DlmsError)
    assert exc.result is result
    assert "_" not in str(exc) and result.asn1_name not in str(exc)  # words, not a key
    back = _roundtrip(exc)
    assert type(back) is type(exc) and back.result is result and str(back) == str(exc)  # type: ignore[attr-defined]


def test_data_access_messages() -> None:
    exc = ce.data_access_error(DataAccessResult.OBJECT_UNDEFINED, "reading 3/1.0.1.8.0.255/2")
    assert str(exc) == "reading 3/1.0.1.8.0.255/2: the meter has no such object or attribute"
    assert exc.context == "reading 3/1.0.1.8.0.255/2"
    assert str(ce.ReadWriteDenied()) == "access denied: this association may not read or write the attribute"
    assert ce.ReadWriteDenied().result is DataAccessResult.READ_WRITE_DENIED
    assert str(_roundtrip(exc)) == str(exc)


def test_an_unknown_data_access_code_is_the_base_class() -> None:
    exc = ce.data_access_error(77)
    assert type(exc) is ce.DataAccessFailure
    assert int(exc.result) == 77
    assert str(exc) == "the meter answered with the unknown data access result 77"
    back = _roundtrip(exc)
    assert type(back) is ce.DataAccessFailure and int(back.result) == 77  # type: ignore[attr-defined]


def test_success_is_not_a_failure() -> None:
    with pytest.raises(ValueError):
        ce.data_access_error(DataAccessResult.SUCCESS)
    with pytest.raises(ValueError):
        ce.action_error(0)
    with pytest.raises(TypeError):
        ce.DataAccessFailure()


def test_a_class_holds_only_its_own_code() -> None:
    assert ce.ObjectUndefined(4).result is DataAccessResult.OBJECT_UNDEFINED
    with pytest.raises(ValueError, match="ObjectUndefined is object-undefined, not read-write-denied"):
        ce.ObjectUndefined(3)
    with pytest.raises(ValueError):
        ce.ActionObjectUndefined(ActionResult.OTHER_REASON)


def test_every_action_result_but_success_has_its_own_class() -> None:
    assert {r for r in ActionResult if r is not ActionResult.SUCCESS} == set(ACTION)
    for result, cls in ACTION.items():
        exc = ce.action_error(result, "calling 70/0.0.96.3.10.255/1")
        assert type(exc) is cls and exc.result is result
        assert isinstance(exc, ce.ActionFailure) and not isinstance(exc, ce.DataAccessFailure)
        assert str(exc).startswith("calling 70/0.0.96.3.10.255/1: ")
        back = _roundtrip(exc)
        assert type(back) is cls and str(back) == str(exc)
    assert str(ce.action_error(200)) == "the meter answered with the unknown action result 200"
    assert type(ce.action_error(200)) is ce.ActionFailure


@pytest.mark.parametrize(
    ("service", "cls"),
    [
        (ServiceError.DECIPHERING_ERROR, ce.DecipheringFailed),
        (ServiceError.INVOCATION_COUNTER_ERROR, ce.InvocationCounterRejected),
        (ServiceError.PDU_TOO_LONG, ce.ExceptionResponseError),
        (ServiceError.SERVICE_NOT_SUPPORTED, ce.ExceptionResponseError),
    ],
)
def test_exception_response_classes(service: ServiceError, cls: type[ce.ExceptionResponseError]) -> None:
    counter = 1234 if service is ServiceError.INVOCATION_COUNTER_ERROR else None
    exc = ce.exception_response_error(StateError.SERVICE_UNKNOWN, int(service), counter)
    assert type(exc) is cls
    assert exc.state_error is StateError.SERVICE_UNKNOWN and exc.service_error is service
    assert exc.invocation_counter == counter
    back = _roundtrip(exc)
    assert type(back) is cls and str(back) == str(exc) and back.invocation_counter == counter  # type: ignore[attr-defined]


def test_security_exception_responses_are_security_errors() -> None:
    deciphering = ce.exception_response_error(1, 5)
    assert isinstance(deciphering, SecurityError)
    assert (
        str(deciphering)
        == "the service is not allowed in the meter's present state: the meter could not decipher the request"
    )
    counter = ce.exception_response_error(1, 6, 4096)
    assert isinstance(counter, ReplayError) and isinstance(counter, ce.ExceptionResponseError)
    assert counter.invocation_counter == 4096
    assert str(counter).endswith("the meter rejected the invocation counter (it expects invocation counter 4096)")


def test_service_not_allowed_operation_not_possible_is_a_stale_association() -> None:
    exc = ce.exception_response_error(StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE)
    assert type(exc) is ce.StaleAssociation
    assert isinstance(exc, AssociationError) and isinstance(exc, ce.ExceptionResponseError)
    assert str(exc) == (
        "the meter no longer knows this association "
        "(the service is not allowed in the meter's present state: the operation is not possible)"
    )
    assert str(_roundtrip(exc)) == str(exc)
    assert (
        type(ce.StaleAssociation()) is ce.StaleAssociation
        and ce.StaleAssociation().service_error is ServiceError.OPERATION_NOT_POSSIBLE
    )
    # service-unknown is the meter not knowing the service, not the association
    assert type(ce.exception_response_error(2, 1)) is ce.ExceptionResponseError


def test_unknown_exception_response_codes_keep_their_values() -> None:
    exc = ce.exception_response_error(9, 42)
    assert type(exc) is ce.ExceptionResponseError
    assert int(exc.state_error) == 9 and int(exc.service_error) == 42
    assert str(exc) == "the meter reports the unknown state error 9: with the unknown service error 42"


def test_confirmed_service_failure() -> None:
    exc = ce.ConfirmedServiceFailure(ConfirmedServiceErrorChoice.INITIATE_ERROR, ServiceErrorChoice.INITIATE, 1)
    assert str(exc) == "the meter refused the xDLMS initiate: initiate error, DLMS version too low"
    apdu = ConfirmedServiceError(ConfirmedServiceErrorChoice.READ, ServiceErrorChoice.ACCESS, 2)
    read = ce.ConfirmedServiceFailure.from_apdu(apdu)
    assert (read.service, read.error, read.value) == (
        ConfirmedServiceErrorChoice.READ,
        ServiceErrorChoice.ACCESS,
        2,
    )
    assert str(read) == "the meter refused the read: access error, object access invalid"
    assert (
        str(ce.ConfirmedServiceFailure(1, 6, 9))
        == "the meter refused the xDLMS initiate: initiate error, unknown value 9"
    )
    back = _roundtrip(read)
    assert type(back) is ce.ConfirmedServiceFailure and str(back) == str(read)


@pytest.mark.parametrize(
    ("diagnostic", "cls"),
    [
        (AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, ce.ApplicationContextNotSupported),
        (AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED, ce.CallingTitleNotRecognized),
        (AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED, ce.MechanismNotRecognized),
        (AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED, ce.MechanismNotRecognized),
        (AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE, ce.AuthenticationFailed),
        (AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED, ce.AuthenticationRequired),
        (AcseServiceUserDiagnostic.NO_REASON_GIVEN, ce.AssociationRefused),
        (AcseServiceUserDiagnostic.CALLED_AP_TITLE_NOT_RECOGNIZED, ce.AssociationRefused),
        (AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION, ce.AssociationRefused),
    ],
)
def test_association_refused_classes(diagnostic: object, cls: type[ce.AssociationRefused]) -> None:
    exc = ce.association_refused(AssociationResult.REJECTED_PERMANENT, diagnostic)  # type: ignore[arg-type]
    assert type(exc) is cls and isinstance(exc, AssociationError)
    assert exc.result is AssociationResult.REJECTED_PERMANENT and exc.diagnostic is diagnostic
    assert not exc.transient
    back = _roundtrip(exc)
    assert type(back) is cls and back.diagnostic is diagnostic and str(back) == str(exc)  # type: ignore[attr-defined]


def test_authentication_failed_is_an_authentication_error() -> None:
    exc = ce.association_refused(1, 13)
    assert isinstance(exc, AuthenticationError) and isinstance(exc, ce.AssociationRefused)
    assert exc.diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert str(exc) == "the meter refused the association: authentication failed (wrong password or key)"


def test_association_refused_with_an_initiate_error() -> None:
    apdu = ConfirmedServiceError(ConfirmedServiceErrorChoice.INITIATE_ERROR, ServiceErrorChoice.INITIATE, 3)
    exc = ce.association_refused(AssociationResult.REJECTED_TRANSIENT, AcseServiceUserDiagnostic.NO_REASON_GIVEN, apdu)
    assert exc.transient
    assert isinstance(exc.initiate_error, ce.ConfirmedServiceFailure) and exc.initiate_error.value == 3
    assert str(exc) == (
        "the meter refused the association for now: no reason given; "
        "the meter refused the xDLMS initiate: initiate error, PDU size too short"
    )
    back = _roundtrip(exc)
    assert str(back) == str(exc) and back.initiate_error.value == 3  # type: ignore[attr-defined]


def test_unknown_diagnostic_keeps_its_value() -> None:
    exc = ce.association_refused(1, 99)
    assert type(exc) is ce.AssociationRefused and int(exc.diagnostic) == 99
    assert str(exc) == "the meter refused the association: unknown diagnostic 99"


def test_hls_failed() -> None:
    three = ce.HlsFailed(3)
    assert isinstance(three, AuthenticationError) and three.pass_number == 3
    assert str(three) == "the meter rejected the client's answer to its challenge (HLS pass 3)"
    four = ce.HlsFailed(4, "GMAC tag mismatch")
    assert str(four) == "the meter's answer to the client's challenge did not verify (HLS pass 4): GMAC tag mismatch"
    assert str(_roundtrip(four)) == str(four)
    with pytest.raises(ValueError):
        ce.HlsFailed(2)


def test_no_address() -> None:
    exc = ce.NoAddress(bytes.fromhex("4d4d4d0000bc614e"))
    assert isinstance(exc, ce.ClientError)
    assert exc.system_title == bytes.fromhex("4D4D4D0000BC614E")
    assert str(exc) == "no address is known for the meter with system title 4D4D4D0000BC614E"
    back = _roundtrip(exc)
    assert type(back) is ce.NoAddress and back.system_title == exc.system_title  # type: ignore[attr-defined]


def test_every_public_name_is_exported_and_is_a_dlms_error_or_factory() -> None:
    for name in ce.__all__:
        obj = getattr(ce, name)
        assert callable(obj)
        if isinstance(obj, type):
            assert issubclass(obj, DlmsError), name
