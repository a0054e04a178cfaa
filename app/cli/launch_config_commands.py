"""`autoscale launch-config ...`: what each instance of a group is made from."""

from __future__ import annotations

import shlex
from typing import IO, Any

import click

from app.cli.client import GROUP, Client, client_command
from app.cli.output import pairs_text, time_text
from app.cli.params import DURATION, KEY_VALUE, as_dict, duration_or_none, resource_id
from app.cli.resources import ResourceKind, add_standard_commands
from autoscale.timeutil import from_duration
from autoscale.v1 import group_pb2


def launch_config_kind(config: group_pb2.LaunchConfig) -> str:
    """`process` or `openstack`: which driver starts instances of it."""
    return "openstack" if config.HasField("openstack_server") else "process"


def _launches(config: group_pb2.LaunchConfig) -> str:
    if config.HasField("openstack_server"):
        return f"{config.openstack_server.image} on {config.openstack_server.flavor}"
    return shlex.join(config.process.command)


def _row(config: group_pb2.LaunchConfig) -> list[str]:
    return [resource_id(config.name), launch_config_kind(config), _launches(config), time_text(config, "create_time")]


def _details(config: group_pb2.LaunchConfig) -> list[tuple[str, str]]:
    fields = [("name", config.name), ("kind", launch_config_kind(config))]
    if config.HasField("openstack_server"):
        server = config.openstack_server
        fields += [
            ("image", server.image),
            ("flavor", server.flavor),
            ("key name", server.key_name or "-"),
            ("networks", ", ".join(server.networks) or "-"),
            ("security groups", ", ".join(server.security_groups) or "-"),
            ("nics", ", ".join(_nic_text(nic) for nic in server.nics) or "-"),
            ("availability zone", server.availability_zone or "-"),
            ("server group", server.server_group or "-"),
            ("boot volume", f"{server.boot_volume_size_gb} GiB, deleted with the server" if server.boot_volume_size_gb else "-"),
            ("config drive", "yes" if server.config_drive else "no"),
            ("metadata", pairs_text(server.metadata)),
            ("user data", f"{len(server.user_data.encode())} bytes" if server.user_data else "-"),
        ]
    else:
        fields += [("command", shlex.join(config.process.command)), ("env", pairs_text(config.process.env))]
    return [*fields, ("health check", _health_check_text(config)), ("created", time_text(config, "create_time"))]


def _health_check_text(config: group_pb2.LaunchConfig) -> str:
    """e.g. `HTTP GET /healthz on port 8080, every 10s, timeout 5s, unhealthy after 3 failures in a row`."""
    if not config.HasField("health_check"):
        return "- (running is healthy)"
    check = config.health_check
    probe = check.WhichOneof("probe")
    if probe == "command":
        what = f"command {shlex.join(check.command.command)}"
    else:
        port = check.http.port if probe == "http" else check.tcp.port
        where = f"port {port}" if port else "the instance's own port"
        what = f"HTTP GET {check.http.path} on {where}" if probe == "http" else f"TCP connect to {where}"
    return (
        f"{what}, every {from_duration(check.interval):g}s, timeout {from_duration(check.timeout):g}s, "
        f"unhealthy after {check.unhealthy_threshold} failures in a row"
    )


def _nic_text(nic: group_pb2.ServerNic) -> str:
    if nic.port:
        return f"port={nic.port}"
    return f"network={nic.network}" + (f",fixed-ip={nic.fixed_ip}" if nic.fixed_ip else "")


class ServerNicType(click.ParamType[group_pb2.ServerNic]):
    """A `--nic`: `network=NAME_OR_ID[,fixed-ip=IP]` or `port=ID` (the service checks the values themselves)."""

    name = "nic"
    _KEYS = {"network": "network", "port": "port", "fixed-ip": "fixed_ip"}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> group_pb2.ServerNic:
        if isinstance(value, group_pb2.ServerNic):
            return value
        fields: dict[str, str] = {}
        for part in str(value).split(","):
            key, separator, item = part.partition("=")
            if not separator or key not in self._KEYS or self._KEYS[key] in fields:
                self.fail(f"expected network=NAME_OR_ID[,fixed-ip=IP] or port=ID, got {value!r}", param, ctx)
            fields[self._KEYS[key]] = item
        return group_pb2.ServerNic(**fields)


LAUNCH_CONFIG = ResourceKind(
    service=GROUP,
    singular="LaunchConfig",
    plural="LaunchConfigs",
    collection="launchConfigs",
    field="launch_config",
    list_field="launch_configs",
    label="launch config",
    columns=("ID", "KIND", "LAUNCHES", "CREATED"),
    row=_row,
    details=_details,
)


def _command_words(command_line: str | None, args: tuple[str, ...], option: str = "'--command'") -> list[str]:
    try:
        words = shlex.split(command_line) if command_line else []
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option) from None
    return words + list(args)


@click.group("launch-config")
def launch_config() -> None:
    """Launch configs: the local process or OpenStack server each instance of a group is."""


@launch_config.command("create")
@click.argument("launch_config_id", metavar="ID")
@click.option("--command", "command_line", metavar="TEXT", help="Local process: program and arguments, split as a shell would.")
@click.option("--arg", "args", multiple=True, help="Local process: one more argument, kept verbatim (repeatable; after --command's).")
@click.option("--env", multiple=True, type=KEY_VALUE, help="Local process: an environment variable (repeatable).")
@click.option("--image", help="OpenStack server: image name or id.")
@click.option("--flavor", help="OpenStack server: flavor name or id.")
@click.option("--key-name", help="OpenStack server: key pair name.")
@click.option("--network", "networks", multiple=True, help="OpenStack server: a network name or id to attach (repeatable).")
@click.option(
    "--nic", "nics", multiple=True, type=ServerNicType(),
    help="OpenStack server: a NIC network=NAME_OR_ID[,fixed-ip=IP] or port=ID (repeatable; after those of --network).",
)
@click.option("--security-group", "security_groups", multiple=True, help="OpenStack server: a security group (repeatable).")
@click.option("--availability-zone", help="OpenStack server: the availability zone to boot in.")
@click.option("--server-group", help="OpenStack server: a server group name or id to join (e.g. of policy anti-affinity).")
@click.option(
    "--boot-volume-size", "boot_volume_size_gb", type=click.IntRange(min=1), metavar="GIB",
    help="OpenStack server: boot from a new volume of this size made from the image, deleted with the server.",
)
@click.option("--config-drive", is_flag=True, default=None, help="OpenStack server: attach a config drive.")
@click.option("--user-data-file", type=click.File("r"), help="OpenStack server: cloud-init user data, read from this file ('-': stdin).")
@click.option("--metadata", multiple=True, type=KEY_VALUE, help="OpenStack server: a metadata item (repeatable).")
@click.option("--health-check-http", "health_http_path", metavar="PATH",
              help="Health check: an HTTP GET of PATH answers 2xx or 3xx (e.g. /healthz).")
@click.option("--health-check-tcp", "health_tcp", is_flag=True, help="Health check: the port accepts TCP connections.")
@click.option("--health-check-command", "health_command", metavar="TEXT",
              help="Health check: this program, run on the service's host, exits 0 (it gets AUTOSCALE_INSTANCE_HOST and _PORT).")
@click.option("--health-check-port", "health_port", type=click.IntRange(0, 65535), default=0,
              help="Health check: the port (default: a local process's own AUTOSCALE_PORT; required for OpenStack servers).")
@click.option("--health-check-interval", "health_interval", type=DURATION, help="Health check: time between checks  [default: 10s]")
@click.option("--health-check-timeout", "health_timeout", type=DURATION, help="Health check: time a check may take  [default: 5s]")
@click.option("--unhealthy-threshold", type=int, default=0,
              help="Health check: failures in a row that make an instance unhealthy  [default: 3]")
@client_command(GROUP)
def create(
    client: Client,
    launch_config_id: str,
    command_line: str | None,
    args: tuple[str, ...],
    env: tuple[tuple[str, str], ...],
    image: str | None,
    flavor: str | None,
    key_name: str | None,
    networks: tuple[str, ...],
    nics: tuple[group_pb2.ServerNic, ...],
    security_groups: tuple[str, ...],
    availability_zone: str | None,
    server_group: str | None,
    boot_volume_size_gb: int | None,
    config_drive: bool | None,
    user_data_file: IO[str] | None,
    metadata: tuple[tuple[str, str], ...],
    health_http_path: str | None,
    health_tcp: bool,
    health_command: str | None,
    health_port: int,
    health_interval: float | None,
    health_timeout: float | None,
    unhealthy_threshold: int,
) -> None:
    """Create launch config ID: a local process (--command/--arg, --env) or an OpenStack server (--image, --flavor, ...).

    \b
    autoscale launch-config create worker --command 'python -m worker' --env MODE=fast
    autoscale launch-config create web --image ubuntu-24.04 --flavor m1.small --network private
    autoscale launch-config create api --command 'python -m api' --health-check-http /healthz
    autoscale launch-config create db --image ubuntu-24.04 --flavor m1.large --nic network=private,fixed-ip=10.0.0.5 \\
        --server-group db-anti --availability-zone az-2 --boot-volume-size 40 --config-drive
    """
    is_process = bool(command_line or args or env)
    is_server = bool(
        image or flavor or key_name or networks or nics or security_groups or availability_zone or server_group
        or boot_volume_size_gb or config_drive or user_data_file or metadata
    )
    if is_process == is_server:
        raise click.UsageError(
            "give either a local process (--command or --arg, --env) or an OpenStack server (--image, --flavor, ...)"
            + (", not both" if is_process else "")
        )
    config = group_pb2.LaunchConfig()
    if is_process:
        config.process.CopyFrom(group_pb2.ProcessSpec(command=_command_words(command_line, args), env=as_dict(env)))
    else:
        config.openstack_server.CopyFrom(
            group_pb2.OpenStackServerSpec(
                image=image or "",
                flavor=flavor or "",
                key_name=key_name or "",
                networks=networks,
                nics=nics,
                security_groups=security_groups,
                availability_zone=availability_zone or "",
                server_group=server_group or "",
                boot_volume_size_gb=boot_volume_size_gb or 0,
                config_drive=bool(config_drive),
                user_data=user_data_file.read() if user_data_file else "",
                metadata=as_dict(metadata),
            )
        )
    probes = [given for given in (health_http_path is not None, health_tcp, health_command is not None) if given]
    if len(probes) > 1:
        raise click.UsageError("give one health check: --health-check-http, --health-check-tcp or --health-check-command")
    if probes:
        check = group_pb2.HealthCheck(
            interval=duration_or_none(health_interval), timeout=duration_or_none(health_timeout), unhealthy_threshold=unhealthy_threshold
        )
        if health_command is not None:
            check.command.command.extend(_command_words(health_command, (), "'--health-check-command'"))
        elif health_tcp:
            check.tcp.port = health_port
        else:
            check.http.CopyFrom(group_pb2.HttpHealthCheck(port=health_port, path=health_http_path or ""))
        config.health_check.CopyFrom(check)
    elif health_port or health_interval is not None or health_timeout is not None or unhealthy_threshold:
        raise click.UsageError("the health check options need a check: --health-check-http, --health-check-tcp or --health-check-command")
    request = group_pb2.CreateLaunchConfigRequest(launch_config_id=launch_config_id, launch_config=config)
    LAUNCH_CONFIG.emit_one(client, client.call("CreateLaunchConfig", request))


add_standard_commands(launch_config, LAUNCH_CONFIG)
