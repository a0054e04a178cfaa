"""Smoke tests of the benchmark suite: `python -m bench --quick --only ingest` (and the others) run and write figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _quick(benchmark: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    """Run `python -m bench --quick --only BENCHMARK`, which must succeed; its output, and the results document it wrote."""
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", benchmark, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=100,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed, json.loads(out.read_text())


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_ingest_writes_figures(tmp_path: Path) -> None:
    completed, document = _quick("ingest", tmp_path)
    assert document["quick"] is True
    (result,) = document["results"]
    assert result["benchmark"] == "ingest" and not result["error"]
    figures = {figure["name"]: figure for figure in result["figures"]}
    for shape in ("1000x1", "100x10"):
        figure = figures[f"ingest sqlite {shape}"]
        assert figure["value"] > 0 and figure["raw"] > 0 and figure["ratio"] > 0
        assert figure["details"]["errors"] == 0
        assert figure["details"]["raw_db_insert_rows_per_s"] > 0
    assert "ingest memory growth (sqlite, soak)" in figures
    assert result["peak_rss_mb"] and all(mb > 0 for mb in result["peak_rss_mb"].values())
    assert "ingest" in completed.stdout  # the table was printed


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_otlp_ingest_writes_figures_beside_the_parse_limit(tmp_path: Path) -> None:
    _, document = _quick("otlp_ingest", tmp_path)
    (result,) = document["results"]
    assert result["benchmark"] == "otlp_ingest" and not result["error"]
    figures = {figure["name"]: figure for figure in result["figures"]}
    for shape in ("1000x1", "100x10"):
        figure = figures[f"otlp ingest sqlite {shape}"]
        assert figure["value"] > 0 and figure["raw"] > 0 and figure["ratio"] > 0
        assert figure["details"]["errors"] == 0


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_reaction_changes_the_capacity_on_every_firing_and_writes_figures(tmp_path: Path) -> None:
    _, document = _quick("reaction", tmp_path)
    (result,) = document["results"]
    assert result["benchmark"] == "reaction" and not result["error"]
    figures = {figure["name"]: figure for figure in result["figures"]}
    p99 = figures["reaction (up), PutSamples → new capacity in GetGroup p99"]
    assert p99["value"] > 0 and p99["raw"] > 0 and p99["details"]["missed"] == 0
    assert p99["details"]["measured"] == p99["details"]["firings"]
    assert p99["details"]["to_adjust_entered_p50_ms"] > 0
    assert figures["reaction (up) no-op (min = max = 0), PutSamples answered → Adjust entered p50"]["value"] > 0


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_authenticated_reaction_runs_over_tls_with_api_keys_and_writes_figures(tmp_path: Path) -> None:
    _, document = _quick("reaction_auth", tmp_path)
    (result,) = document["results"]
    assert result["benchmark"] == "reaction_auth" and not result["error"]
    figures = {figure["name"]: figure for figure in result["figures"]}
    p99 = figures["reaction (up, keys + TLS), PutSamples → new capacity in GetGroup p99"]
    assert p99["value"] > 0 and p99["raw"] > 0 and p99["details"]["missed"] == 0
    assert p99["details"]["measured"] == p99["details"]["firings"]
    assert p99["target"] == "<= 10 x raw and < 25 ms"
    assert "over TLS with the bearer token" in p99["raw_what"]
    for check in ("cached API-key check", "cached Keystone token check"):
        (figure,) = [figure for name, figure in figures.items() if name.startswith(check)]
        assert figure["unit"] == "µs" and figure["value"] > 0 and figure["target"] == "< 50 µs"
        assert figure["details"]["checks"] >= 10_000


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_receiver_reaction_adjusts_on_every_signal_and_writes_figures(tmp_path: Path) -> None:
    _, document = _quick("receiver_reaction", tmp_path)
    (result,) = document["results"]
    assert result["benchmark"] == "receiver_reaction" and not result["error"], result
    figures = {figure["name"]: figure for figure in result["figures"]}
    p99 = figures["receiver (up), Alertmanager POST sent → Adjust entered p99"]
    assert p99["value"] > 0 and p99["raw"] > 0 and p99["target"] == "< 20 ms"
    assert p99["details"]["measured"] == p99["details"]["firings"] and p99["details"]["missed"] == 0
    assert not result["notes"]


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_prometheus_sweep_evaluates_every_alarm_and_writes_its_figure_beside_the_raw_limit(tmp_path: Path) -> None:
    _, document = _quick("prometheus_sweep", tmp_path)
    (result,) = document["results"]
    assert result["benchmark"] == "prometheus_sweep" and not result["error"]
    if not result["figures"]:
        pytest.skip(" ".join(result["notes"]))
    (figure,) = result["figures"]
    assert figure["value"] > 0 and figure["raw"] > 0 and figure["ratio"] > 0
    assert figure["details"]["complete"] and figure["details"]["ok_after_sweep"] == figure["details"]["alarms"]


@pytest.mark.e2e
@pytest.mark.timeout(110)
def test_quick_nova_scale_reaches_its_capacity_through_faults_and_leaks_no_server(tmp_path: Path) -> None:
    _, document = _quick("nova_scale", tmp_path)
    (result,) = document["results"]
    assert result["benchmark"] == "nova_scale" and not result["error"]
    out, back = result["figures"]
    assert out["met"] and out["details"]["leaked"] == 0 and out["value"] > 0 and out["raw"] > 0
    assert back["met"] and back["details"]["servers_left"] == 0
