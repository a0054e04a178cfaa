"""Ingest: points per second that PutSamples accepts (durable on return), on SQLite and PostgreSQL.

Several client processes (multiprocessing, spawn), each with its own channel, send
pre-serialized PutSamplesRequests in a loop for a fixed time; the figure is the
points the server said it accepted per second, with 100 alarms attached to the
ingested metric (so every batch is also handed to the Alarm service).

Raw limits, measured in the same run on the same requests:
  * parse: `PutSamplesRequest.FromString(bytes)` and one row dict per point
    ({"series_id", "time", "value"}, the series id found in a dict) in a bare loop,
    right before and right after the service's run of the same batches (the mean of the two);
  * insert: the database's own bulk insert (SQLAlchemy executemany, one transaction
    per request, as the service commits each batch) into a table of one row per point
    (series id, time, value) with an index by series and time and one by time (the
    product's layout before packed storage), on the same database kind.
A longer run on SQLite checks the server's RSS does not grow while it ingests.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa

from autoscale.v1 import alarm_pb2, common_pb2, metrics_pb2
from bench import harness
from bench.harness import BenchResult, Figure

METRIC = "bench_ingest"
ATTACHED_ALARMS = 100
SOAK_BASELINE_SHARE = 0.5
"""How far into the soak its baseline RSS is taken (see _run_soak)."""


@dataclass(frozen=True)
class Shape:
    """A batch: `series` series of `points` points each."""

    series: int
    points: int

    @property
    def label(self) -> str:
        return f"{self.series}x{self.points}"

    @property
    def points_per_request(self) -> int:
        return self.series * self.points


SHAPES = (Shape(1000, 1), Shape(100, 10))


@dataclass(frozen=True)
class Sizes:
    clients: int
    seconds: float
    raw_seconds: float
    soak_seconds: float
    databases: tuple[str, ...]


FULL = Sizes(clients=4, seconds=10.0, raw_seconds=2.0, soak_seconds=90.0, databases=("sqlite", "postgres"))
QUICK = Sizes(clients=2, seconds=2.0, raw_seconds=0.5, soak_seconds=4.0, databases=("sqlite",))


# Requests


def build_requests(shape: Shape, client: int, variants: int = 8, metric: str = METRIC) -> list[bytes]:
    """Serialized requests of one client: its own series (dimension client=<n>), points a few seconds old."""
    now = time.time()
    requests = []
    for variant in range(variants):
        request = metrics_pb2.PutSamplesRequest()
        for number in range(shape.series):
            series = request.series.add(metric=metric)
            series.dimensions["host"] = f"h{number}"
            series.dimensions["client"] = str(client)
            for index in range(shape.points):
                point = series.points.add(value=float((number + index + variant) % 50))
                point.time.FromNanoseconds(int((now - index - variant * 0.001) * 1e9))
        requests.append(request.SerializeToString())
    return requests


# Client processes


def client_process(
    address: str,
    payloads: list[bytes],
    barrier: Any,
    seconds: float,
    results: Any,
    slot: int,
    pause: float = 0.0,
    access: harness.Access | None = None,
) -> None:
    """Send `payloads` round-robin for `seconds` once every client is ready; put (slot, points, calls, errors, latencies, elapsed).

    `barrier` (None: start at once) is passed when every client has warmed up (the first batch creates the
    series). With `pause` > 0 the client waits that long between calls (background load, not a benchmark).
    `access`: how the server is reached (TLS, a bearer token; None: plaintext).
    """
    channel = harness.channel(address, access)
    put = channel.unary_unary(
        "/autoscale.v1.MetricsService/PutSamples",
        request_serializer=None,  # the payloads are serialized already
        response_deserializer=metrics_pb2.PutSamplesResponse.FromString,
    )
    put(payloads[0], timeout=60)
    if barrier is not None:
        barrier.wait(120)
    points = calls = errors = 0
    latencies: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    index = 0
    while time.perf_counter() < end:
        begin = time.perf_counter()
        try:
            response = put(payloads[index % len(payloads)], timeout=60)
            points += response.accepted_points
            calls += 1
        except grpc.RpcError:
            errors += 1
        latencies.append(time.perf_counter() - begin)
        index += 1
        if pause:
            time.sleep(pause)
    elapsed = time.perf_counter() - start
    channel.close()
    results.put((slot, points, calls, errors, latencies, elapsed))


def run_clients(
    address: str,
    shape: Shape,
    clients: int,
    seconds: float,
    *,
    payloads_for: Callable[[Shape, int], list[bytes]] | None = None,
    client: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Run `clients` client processes for `seconds` from a common start; points/s accepted and call latencies.

    `client` (a module-level function, run in a spawned process, with the arguments of `client_process`) sends what
    `payloads_for(shape, slot)` makes: PutSamples requests by default (bench/otlp_ingest.py sends OTLP Exports).
    """
    payloads_for = payloads_for or build_requests
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    barrier = context.Barrier(clients)
    children = [
        context.Process(
            target=client or client_process, args=(address, payloads_for(shape, slot), barrier, seconds, results, slot), daemon=True
        )
        for slot in range(clients)
    ]
    for child in children:
        child.start()
    collected = [results.get(timeout=seconds + 300) for _ in children]
    for child in children:
        child.join(30)
    latencies = [latency for r in collected for latency in r[4]]
    # Each client's rate over its own window (the last call may end a little after `seconds`).
    rate = sum(r[1] / r[5] for r in collected)
    return {
        "points_per_s": rate,
        "points": sum(r[1] for r in collected),
        "calls": sum(r[2] for r in collected),
        "errors": sum(r[3] for r in collected),
        "call_p50_ms": harness.percentile(latencies, 0.5) * 1000,
        "call_p99_ms": harness.percentile(latencies, 0.99) * 1000,
    }


# Raw limits


def parse_rows(payload: bytes, ids: dict[tuple[str, tuple[tuple[str, str], ...]], int]) -> list[dict[str, Any]]:
    """A serialized request decoded and turned into one row per point (series ids found in, or added to, `ids`)."""
    request = metrics_pb2.PutSamplesRequest.FromString(payload)
    rows = []
    for series in request.series:
        key = (series.metric, tuple(sorted(series.dimensions.items())))
        series_id = ids.get(key)
        if series_id is None:
            series_id = ids[key] = len(ids) + 1
        for point in series.points:
            rows.append({"series_id": series_id, "time": point.time.seconds + point.time.nanos / 1e9, "value": point.value})
    return rows


def raw_parse_rate(payloads: list[bytes], seconds: float) -> float:
    """Points per second of decode + row building (`parse_rows`) in a bare loop."""
    ids: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    points = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    index = 0
    while time.perf_counter() < end:
        points += len(parse_rows(payloads[index % len(payloads)], ids))
        index += 1
    return points / (time.perf_counter() - start)


_raw_metadata = sa.MetaData()
RAW_POINTS = sa.Table(
    "bench_raw_points",
    _raw_metadata,
    sa.Column("series_id", sa.Integer, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_bench_raw_points_series_time", "series_id", "time"),
    sa.Index("ix_bench_raw_points_time", "time"),
)


def raw_insert_rate(database_url: str, rows: list[dict[str, Any]], seconds: float) -> float:
    """Rows per second of executemany inserts of `rows`, one committed transaction per batch (as PutSamples)."""
    from autoscale.database import create_engine  # the service's engine settings (SQLite WAL, synchronous=NORMAL, ...)

    engine = create_engine(database_url)
    try:
        _raw_metadata.create_all(engine)
        inserted = 0
        end = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            with engine.begin() as connection:
                connection.execute(RAW_POINTS.insert(), rows)
            inserted += len(rows)
        return inserted / (time.perf_counter() - start)
    finally:
        engine.dispose()


# Alarms


def attach_alarms(address: str, count: int, metric: str = METRIC) -> None:
    """`count` alarms on the ingested metric (one host each), never firing (threshold above every value sent)."""
    requests = []
    for number in range(count):
        alarm = alarm_pb2.Alarm(
            threshold_rule=alarm_pb2.ThresholdRule(
                metric=metric,
                dimensions={"host": f"h{number}"},
                statistic=common_pb2.STATISTIC_AVERAGE,
                comparison_operator=alarm_pb2.COMPARISON_OPERATOR_GREATER_THAN,
                threshold=1000.0,
                evaluation_periods=1,
            )
        )
        alarm.threshold_rule.period.FromSeconds(60)
        requests.append(alarm_pb2.CreateAlarmRequest(alarm_id=f"ingest-{number}", alarm=alarm))
    harness.create_alarms(address, requests)


# The benchmark


def run(quick: bool = False, soak_seconds: float | None = None) -> BenchResult:
    sizes = QUICK if quick else FULL
    if soak_seconds:
        sizes = replace(sizes, soak_seconds=soak_seconds)
    result = BenchResult("ingest")
    databases = [kind for kind in sizes.databases if kind == "sqlite" or harness.postgres_available()]
    if len(databases) < len(sizes.databases):
        result.notes.append("PostgreSQL not reachable: ingest measured on SQLite only")
    with harness.workspace("ingest") as workdir:
        for kind in databases:
            _run_database(kind, sizes, workdir / kind, result)
        _run_soak(sizes, workdir / "soak", result)
    return result


def _run_database(kind: str, sizes: Sizes, workdir: Path, result: BenchResult) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    sampler = harness.RssSampler()
    with harness.temp_database(kind, workdir, "raw") as raw_url:
        raw = {}
        for shape in SHAPES:
            payloads = build_requests(shape, 0)
            rows = parse_rows(payloads[0], {})
            raw[shape] = (payloads, raw_insert_rate(raw_url, rows, sizes.raw_seconds))
    with harness.temp_database(kind, workdir, "service") as url:
        # A long sweep interval: the figure is ingest with alarms evaluated on arrival, not the periodic sweep.
        with harness.mesh("up", url, workdir, sampler, alarm_sweep_interval=3600) as services, _stopping(sampler):
            attach_alarms(services.metrics, ATTACHED_ALARMS)
            for shape in SHAPES:
                payloads, insert_rate = raw[shape]
                # NOTE: the parse limit is taken right before and right after the service's run, and the two
                # averaged: this machine's speed drifts within minutes, and a limit taken minutes apart from
                # the figure moved the ratio by half.
                parse_before = raw_parse_rate(payloads, sizes.raw_seconds)
                measured = run_clients(services.metrics, shape, sizes.clients, sizes.seconds)
                parse_after = raw_parse_rate(payloads, sizes.raw_seconds)
                parse_rate = (parse_before + parse_after) / 2
                value = measured["points_per_s"]
                share = value / parse_rate
                result.add(
                    Figure(
                        name=f"ingest {kind} {shape.label}",
                        value=round(value),
                        unit="points/s",
                        raw=round(parse_rate),
                        raw_unit="points/s",
                        raw_what="bare decode + row building, 1 thread",
                        ratio=round(share, 3),
                        target=">= 0.4 x raw",
                        met=share >= 0.4 and measured["errors"] == 0,
                        details={
                            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in measured.items()},
                            "clients": sizes.clients,
                            "seconds": sizes.seconds,
                            "attached_alarms": ATTACHED_ALARMS,
                            "raw_parse_before_points_per_s": round(parse_before),
                            "raw_parse_after_points_per_s": round(parse_after),
                            "raw_db_insert_rows_per_s": round(insert_rate),
                            "ratio_to_db_insert": round(value / insert_rate, 3),
                        },
                    )
                )
                sampler.sample("up")
        result.peak_rss_mb[f"up ({kind})"] = sampler.peak_mb().get("up", 0.0)


@contextlib.contextmanager
def _stopping(sampler: harness.RssSampler) -> Iterator[None]:
    try:
        yield
    finally:
        sampler.stop()


def _run_soak(sizes: Sizes, workdir: Path, result: BenchResult) -> None:
    """A longer ingest on SQLite: the server's RSS half-way into the run against its RSS at the end.

    NOTE: the metrics service holds up to --metrics-head-points points in its head and as many compacted
    ones for reads (bounded by design); at this benchmark's rate they fill within about half a minute.
    The baseline is taken once they are full (half-way), so that growth means a leak, not that warm-up.
    """
    shape = SHAPES[0]
    workdir.mkdir(parents=True, exist_ok=True)
    soak_sampler = harness.RssSampler(interval=0.5)
    try:
        with harness.temp_database("sqlite", workdir, "soak") as url, harness.mesh(
            "up", url, workdir, soak_sampler, alarm_sweep_interval=3600
        ) as services:
            attach_alarms(services.metrics, ATTACHED_ALARMS)
            pid = services.process("up").pid
            measured = run_clients(services.metrics, shape, sizes.clients, sizes.soak_seconds)
            end_kb = harness.read_status_kb(pid, "VmRSS") or 0
            series = soak_sampler.series.get("up", [])
    finally:
        soak_sampler.stop()
    # The series covers start-up and warm-up too: the ingest ran during its last soak_seconds.
    if not series:
        result.notes.append("soak: no RSS samples")
        return
    ingest_end = series[-1][0]
    ingest_start = ingest_end - sizes.soak_seconds
    during = [(t, kb) for t, kb in series if t >= ingest_start]
    warm = [kb for t, kb in during if t <= ingest_start + sizes.soak_seconds * SOAK_BASELINE_SHARE]
    start_kb = max(warm) if warm else during[0][1]
    growth = (end_kb - start_kb) / start_kb if start_kb else 0.0
    result.add(
        Figure(
            name="ingest memory growth (sqlite, soak)",
            value=round(growth * 100, 1),
            unit="% RSS",
            raw=round(start_kb / 1024, 1),
            raw_unit="MB half-way",
            raw_what="server RSS half-way into the run",
            ratio=round(end_kb / start_kb, 3) if start_kb else None,
            target="<= 10 % growth",
            met=growth <= 0.10,
            details={
                "rss_start_mb": round(start_kb / 1024, 1),
                "rss_end_mb": round(end_kb / 1024, 1),
                "rss_max_mb": round(max(kb for _, kb in during) / 1024, 1),
                "seconds": sizes.soak_seconds,
                "points_per_s": round(measured["points_per_s"]),
                "errors": measured["errors"],
            },
        )
    )
    result.peak_rss_mb["up (soak)"] = soak_sampler.peak_mb().get("up", 0.0)
