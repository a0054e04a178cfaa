"""TLS: the files are read and checked at start, a TLS server answers TLS clients only, mutual TLS only clients its CA
signed, and the services of one process call each other through its own TLS port."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from autoscale import tls
from autoscale.config import ConfigurationError, Settings
from autoscale.v1 import group_pb2, group_pb2_grpc, metrics_pb2, metrics_pb2_grpc
from services.registry import builders
from tests.certificates import SERVICE_NAME, TlsFiles
from tests.support import running_server

FLAGS = {
    "tls_cert": "--tls-cert",
    "tls_key": "--tls-key",
    "tls_client_ca": "--tls-client-ca",
    "peer_tls_ca": "--peer-tls-ca",
    "peer_tls_cert": "--peer-tls-cert",
    "peer_tls_key": "--peer-tls-key",
}


def mutual_tls(files: TlsFiles, **settings: object) -> Settings:
    """Settings of a server that requires client certificates and presents its own to its peers."""
    return Settings(
        tls_cert=str(files.server_cert),
        tls_key=str(files.server_key),
        tls_client_ca=str(files.ca),
        peer_tls_ca=str(files.ca),
        peer_tls_cert=str(files.client_cert),
        peer_tls_key=str(files.client_key),
        **settings,  # type: ignore[arg-type]
    )


def refusal(settings: Settings, *, services_call_each_other: bool = False) -> str:
    with pytest.raises(ConfigurationError) as raised:
        tls.server_tls(settings, services_call_each_other=services_call_each_other)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_complete_mutual_tls_settings_make_a_tls_port_and_tls_calls_to_peers(tls_files):
    security = tls.server_tls(mutual_tls(tls_files), services_call_each_other=True)
    assert security.credentials is not None and security.peers is not None and security.own_port is not None


def test_without_any_tls_file_the_port_and_the_calls_stay_plaintext():
    security = tls.server_tls(Settings(), services_call_each_other=True)
    assert (security.credentials, security.peers, security.own_port) == (None, None, None)


@pytest.mark.parametrize("field", FLAGS)
def test_a_missing_file_is_refused_naming_the_flag_and_the_file(tls_files, tmp_path, field):
    missing = tmp_path / "missing.pem"
    message = refusal(replace(mutual_tls(tls_files), **{field: str(missing)}))
    assert f"{FLAGS[field]} {missing}: cannot read it (No such file or directory)" in message


@pytest.mark.parametrize(("field", "complaint"), [
    ("tls_cert", "no PEM certificate in it"),
    ("tls_key", "no PEM private key in it"),
    ("tls_client_ca", "no PEM certificate in it"),
    ("peer_tls_ca", "no PEM certificate in it"),
    ("peer_tls_cert", "no PEM certificate in it"),
    ("peer_tls_key", "no PEM private key in it"),
])
def test_a_file_without_pem_in_it_is_refused_naming_the_flag_and_the_file(tls_files, tmp_path, field, complaint):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert f"{FLAGS[field]} {garbage}: {complaint}" in refusal(replace(mutual_tls(tls_files), **{field: str(garbage)}))


def test_a_key_that_is_not_the_certificates_is_refused_naming_both(tls_files):
    message = refusal(replace(mutual_tls(tls_files), tls_key=str(tls_files.client_key)))
    assert f"--tls-key {tls_files.client_key} is not the key of --tls-cert {tls_files.server_cert}" in message


def test_a_peer_key_that_is_not_the_peer_certificates_is_refused_naming_both(tls_files):
    message = refusal(replace(mutual_tls(tls_files), peer_tls_key=str(tls_files.other_client_key)))
    assert f"--peer-tls-key {tls_files.other_client_key} is not the key of --peer-tls-cert {tls_files.client_cert}" in message


def test_a_password_protected_key_is_refused_saying_grpc_cannot_use_it(tls_files, tmp_path):
    protected = tmp_path / "protected.key"
    subprocess.run(["openssl", "pkey", "-in", str(tls_files.server_key), "-aes256", "-passout", "pass:secret", "-out", str(protected)],
                   check=True, capture_output=True)
    message = refusal(replace(mutual_tls(tls_files), tls_key=str(protected)))
    assert f"--tls-key {protected}: the key is protected by a password, which gRPC cannot use" in message


@pytest.mark.parametrize(("given", "missing"), [
    ("tls_cert", "tls_key"), ("tls_key", "tls_cert"), ("peer_tls_cert", "peer_tls_key"), ("peer_tls_key", "peer_tls_cert"),
])
def test_half_a_key_pair_is_refused_naming_the_flag_missing(tls_files, given, missing):
    message = refusal(replace(mutual_tls(tls_files), **{missing: ""}))
    assert message.startswith(f"{FLAGS[given]} ") and f"needs {FLAGS[missing]} FILE" in message


def test_a_peer_certificate_without_a_peer_ca_is_refused(tls_files):
    settings = Settings(peer_tls_cert=str(tls_files.client_cert), peer_tls_key=str(tls_files.client_key))
    assert f"--peer-tls-cert {tls_files.client_cert} needs --peer-tls-ca FILE" in refusal(settings)


def test_a_client_ca_without_a_server_certificate_is_refused(tls_files):
    message = refusal(Settings(tls_client_ca=str(tls_files.ca)))
    assert f"--tls-client-ca {tls_files.ca} needs --tls-cert and --tls-key" in message


def test_services_that_call_each_other_through_a_tls_port_need_a_peer_ca(tls_files):
    settings = Settings(tls_cert=str(tls_files.server_cert), tls_key=str(tls_files.server_key))
    tls.server_tls(settings, services_call_each_other=False)  # a process of one service never calls its own port
    message = refusal(settings, services_call_each_other=True)
    assert f"--tls-cert {tls_files.server_cert}: the services of this process call each other through its TLS port" in message
    assert "--peer-tls-ca" in message


def test_services_that_call_each_other_through_a_tls_port_need_a_peer_ca_that_signed_its_certificate(tls_files):
    message = refusal(replace(mutual_tls(tls_files), peer_tls_ca=str(tls_files.other_ca)), services_call_each_other=True)
    assert f"--peer-tls-ca {tls_files.other_ca} did not sign --tls-cert {tls_files.server_cert}" in message


def test_services_that_call_each_other_through_a_mutual_tls_port_need_a_client_certificate_of_its_client_ca(tls_files):
    without = refusal(replace(mutual_tls(tls_files), peer_tls_cert="", peer_tls_key=""), services_call_each_other=True)
    assert f"--tls-client-ca {tls_files.ca}: the services of this process call each other" in without
    assert "--peer-tls-cert FILE and --peer-tls-key FILE" in without
    another = replace(mutual_tls(tls_files), peer_tls_cert=str(tls_files.other_client_cert), peer_tls_key=str(tls_files.other_client_key))
    assert f"--tls-client-ca {tls_files.ca} did not sign --peer-tls-cert {tls_files.other_client_cert}" in refusal(
        another, services_call_each_other=True
    )


def test_calls_to_the_own_port_check_a_name_of_its_certificate_and_calls_to_others_the_host_called(tls_files):
    security = tls.server_tls(mutual_tls(tls_files), services_call_each_other=True).peer_security("127.0.0.1:7000")
    own, other = security.for_address("127.0.0.1:7000"), security.for_address("127.0.0.1:7001")
    assert own is not None and own.server_name == "localhost"
    assert other is not None and other.server_name == ""


def test_the_cli_credentials_need_a_ca_for_a_client_certificate(tls_files):
    with pytest.raises(ConfigurationError, match=f"--tls-cert {tls_files.client_cert} needs --tls-ca FILE"):
        tls.channel_credentials(tls.PemFile("--tls-ca", ""), tls.PemFile("--tls-cert", str(tls_files.client_cert)),
                                tls.PemFile("--tls-key", str(tls_files.client_key)))
    assert tls.channel_credentials(tls.PemFile("--tls-ca", ""), tls.PemFile("--tls-cert", ""), tls.PemFile("--tls-key", "")) is None


# Real servers on ephemeral ports.


def client_credentials(ca: Path, certificate: Path | None = None, key: Path | None = None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=certificate.read_bytes() if certificate else None,
    )


def list_metrics(channel: grpc.Channel) -> metrics_pb2.ListMetricsResponse:
    response: metrics_pb2.ListMetricsResponse = metrics_pb2_grpc.MetricsServiceStub(channel).ListMetrics(
        metrics_pb2.ListMetricsRequest(), timeout=5
    )
    return response


def refused_code(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.StatusCode:
    channel = grpc.insecure_channel(address) if credentials is None else grpc.secure_channel(address, credentials)
    with channel, pytest.raises(grpc.RpcError) as raised:
        list_metrics(channel)
    code: grpc.StatusCode = raised.value.code()
    return code


def test_a_tls_server_answers_a_tls_client_and_refuses_a_plaintext_one(tls_files, sqlite_url):
    settings = Settings(database_url=sqlite_url, tls_cert=str(tls_files.server_cert), tls_key=str(tls_files.server_key))
    with running_server(builders(("metrics",)), settings, channel_credentials=client_credentials(tls_files.ca)) as (server, channel):
        assert list_metrics(channel) == metrics_pb2.ListMetricsResponse()
        assert refused_code(f"127.0.0.1:{server.port}", None) is grpc.StatusCode.UNAVAILABLE


def test_a_tls_client_refuses_a_server_whose_certificate_another_ca_signed(tls_files, sqlite_url):
    settings = Settings(database_url=sqlite_url, tls_cert=str(tls_files.server_cert), tls_key=str(tls_files.server_key))
    with running_server(builders(("metrics",)), settings, channel_credentials=client_credentials(tls_files.ca)) as (server, _):
        assert refused_code(f"127.0.0.1:{server.port}", client_credentials(tls_files.other_ca)) is grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_answers_a_client_certificate_of_its_ca_and_refuses_none_and_one_another_ca_signed(tls_files, sqlite_url):
    settings = Settings(database_url=sqlite_url, tls_cert=str(tls_files.server_cert), tls_key=str(tls_files.server_key),
                        tls_client_ca=str(tls_files.ca))
    credentials = client_credentials(tls_files.ca, tls_files.client_cert, tls_files.client_key)
    with running_server(builders(("metrics",)), settings, channel_credentials=credentials) as (server, channel):
        assert list_metrics(channel) == metrics_pb2.ListMetricsResponse()
        address = f"127.0.0.1:{server.port}"
        assert refused_code(address, client_credentials(tls_files.ca)) is grpc.StatusCode.UNAVAILABLE
        intruder = client_credentials(tls_files.ca, tls_files.other_client_cert, tls_files.other_client_key)
        assert refused_code(address, intruder) is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("certificate", ["server", "service"], ids=["naming-127.0.0.1", "naming-only-the-service"])
def test_the_services_of_one_process_call_each_other_through_its_mutual_tls_port(tls_files, sqlite_url, tmp_path, certificate):
    # Deleting a group asks the policy service which policies name it: a call through the process's own port (at
    # 127.0.0.1, which the service's certificate does not name).
    settings = replace(mutual_tls(tls_files, database_url=sqlite_url, instance_log_dir=str(tmp_path)),
                       tls_cert=str(getattr(tls_files, f"{certificate}_cert")), tls_key=str(getattr(tls_files, f"{certificate}_key")))
    credentials = client_credentials(tls_files.ca, tls_files.client_cert, tls_files.client_key)
    options = [("grpc.ssl_target_name_override", SERVICE_NAME)] if certificate == "service" else []
    with running_server(builders(), settings, channel_credentials=credentials, channel_options=options) as (_, channel):
        groups = group_pb2_grpc.GroupServiceStub(channel)
        groups.CreateLaunchConfig(group_pb2.CreateLaunchConfigRequest(
            launch_config_id="idle", launch_config=group_pb2.LaunchConfig(process=group_pb2.ProcessSpec(command=["true"]))), timeout=5)
        groups.CreateGroup(group_pb2.CreateGroupRequest(
            group_id="web", group=group_pb2.Group(launch_config="launchConfigs/idle", min_size=0, max_size=1)), timeout=5)
        groups.DeleteGroup(group_pb2.DeleteGroupRequest(name="groups/web"), timeout=10)
        with pytest.raises(grpc.RpcError) as raised:
            groups.GetGroup(group_pb2.GetGroupRequest(name="groups/web"), timeout=5)
        assert raised.value.code() is grpc.StatusCode.NOT_FOUND
