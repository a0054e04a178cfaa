"""`python -m bench`: run the benchmarks, print a table, write the results as JSON.

    python -m bench                       # everything (under ten minutes on 2 cores)
    python -m bench --quick               # small sizes (smoke test, CI: under a minute)
    python -m bench --only ingest,reaction --json /tmp/results.json
    python -m bench --only ingest --soak-seconds 600   # with the 10-minute memory soak
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.harness import BenchResult

BENCHMARKS = {
    "ingest": "bench.ingest",
    "otlp_ingest": "bench.otlp_ingest",
    "reaction": "bench.reaction",
    "reaction_auth": "bench.reaction_auth",
    "alarm_scale": "bench.alarm_scale",
    "group_scale": "bench.group_scale",
    "nova_scale": "bench.nova_scale",
    "receiver_reaction": "bench.receiver_reaction",
    "prometheus_sweep": "bench.prometheus_sweep",
}
DEFAULT_JSON = Path(__file__).parent / "results" / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the smoke test and CI")
    parser.add_argument(
        "--soak-seconds", type=float, default=None, help="length of the ingest memory soak (default 40 s; the 10-minute run is 600)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the results (default {DEFAULT_JSON})")
    args = parser.parse_args(argv)
    names = [name.strip().replace("-", "_") for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.names = names
    return args


def run_one(name: str, quick: bool, console: Console, options: dict[str, Any] | None = None) -> BenchResult:
    console.print(f"[bold]{name}[/bold] ...")
    started = time.monotonic()
    try:
        result = importlib.import_module(BENCHMARKS[name]).run(quick=quick, **(options or {}))
    except Exception as error:  # a benchmark that fails is reported, the others still run
        result = BenchResult(name, error=f"{type(error).__name__}: {error}")
        console.print(f"[red]{name} failed[/red]\n{traceback.format_exc()}")
    result.seconds = round(time.monotonic() - started, 1)
    console.print(f"  {name} done in {result.seconds:.0f} s")
    return result


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(results: list[BenchResult]) -> Table:
    out = Table(title="autoscale benchmarks", show_lines=False)
    for column in ("benchmark", "figure", "value", "raw limit", "ratio", "target", "met?"):
        out.add_column(column, justify="right" if column in ("value", "raw limit", "ratio") else "left")
    for result in results:
        if result.error:
            out.add_row(result.benchmark, "[red]error[/red]", "", "", "", "", f"[red]{result.error[:80]}[/red]")
        for figure in result.figures:
            met = {True: "[green]yes[/green]", False: "[red]NO[/red]", None: "-"}[figure.met]
            raw = f"{_number(figure.raw)} {figure.raw_unit}" if figure.raw is not None else ""
            out.add_row(
                result.benchmark, figure.name, f"{_number(figure.value)} {figure.unit}", raw, _number(figure.ratio), figure.target, met
            )
        if result.peak_rss_mb:
            peaks = ", ".join(f"{name} {mb:.0f}" for name, mb in result.peak_rss_mb.items())
            out.add_row(result.benchmark, "peak RSS (MB)", "", "", "", "", "", style="dim")
            out.add_row("", f"[dim]{peaks}[/dim]", "", "", "", "", "")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=max(160, Console().width))
    started = time.monotonic()
    soak = {"soak_seconds": args.soak_seconds} if args.soak_seconds else {}
    results = [run_one(name, args.quick, console, soak if name == "ingest" else None) for name in args.names]
    total = time.monotonic() - started
    console.print(table(results))
    for result in results:
        for note in result.notes:
            console.print(f"[dim]{result.benchmark}: {note}[/dim]")
    document: dict[str, Any] = {
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - total)),
        "seconds": round(total, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": [result.to_json() for result in results],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"total {total:.0f} s; results in {args.json}")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
