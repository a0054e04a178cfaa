"""The error choke point: domain errors become rich gRPC statuses."""

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2

from autoscale.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, to_status


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgument.field("group.min_size", "must be >= 0"), code_pb2.INVALID_ARGUMENT),
        (NotFound("groups/web"), code_pb2.NOT_FOUND),
        (AlreadyExists("groups/web"), code_pb2.ALREADY_EXISTS),
        (FailedPrecondition("launchConfigs/lc is used by groups/web"), code_pb2.FAILED_PRECONDITION),
    ],
)
def test_each_domain_error_maps_to_its_grpc_code(error, code):
    assert to_status(error).code == code
    assert error.code.name == code_pb2.Code.Name(code)


def test_invalid_argument_carries_every_field_violation_in_bad_request():
    error = InvalidArgument([FieldViolation("group.min_size", "must be >= 0"), FieldViolation("group_id", "is required")])
    status = to_status(error, "autoscale.v1.GroupService")
    bad_request = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad_request) for detail in status.details)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("group.min_size", "must be >= 0"),
        ("group_id", "is required"),
    ]
    assert "group.min_size: must be >= 0" in status.message


def test_not_found_names_the_resource_in_error_info():
    status = to_status(NotFound("alarms/high-cpu"))
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.metadata["resource"] == "alarms/high-cpu"
    assert info.domain == "autoscale.v1"


def test_status_codes_are_grpc_status_codes():
    assert InvalidArgument.code is grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("users", "named"),
    [
        (["policies/a"], "1 policy (policies/a)"),
        ([f"policies/p{n}" for n in range(5)], "5 policies (policies/p0, policies/p1, policies/p2, policies/p3, policies/p4)"),
        ([f"policies/p{n}" for n in range(8)], "8 policies (policies/p0, policies/p1, policies/p2, policies/p3, policies/p4 and 3 more)"),
    ],
)
def test_a_resource_in_use_names_its_first_users_and_counts_them_all(users, named):
    error = FailedPrecondition.in_use("groups/web", users, ("policy", "policies"), "delete them first")
    assert error.message == f"groups/web is used by {named}; delete them first"
