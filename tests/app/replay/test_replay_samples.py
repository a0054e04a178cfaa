"""The samples a replay reads from a CSV file (app.replay.samples): what a spreadsheet writes is read, what is no CSV
file is refused naming the file, never read forever."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.replay.samples import Sample, SamplesError, WindowSums, read_csv


def test_a_header_after_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufefftime,metric,value\n100,cpu,42\n".encode())
    assert read_csv(path) == [Sample(100.0, "cpu", {}, 42.0)]


def test_a_device_is_refused_rather_than_read_forever() -> None:
    with pytest.raises(SamplesError, match="^/dev/zero: not a regular file$"):
        read_csv(Path("/dev/zero"))


def test_a_field_longer_than_csv_reads_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("time,metric,value\n100,cpu," + "9" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(SamplesError, match="long.csv: not CSV: field larger than field limit"):
        read_csv(path)


def test_window_sums_count_the_samples_of_the_series_that_hold_the_dimensions_in_start_to_end() -> None:
    samples = [
        Sample(10.0, "cpu", {"group": "web", "instance": "i-1"}, 1.0),
        Sample(20.0, "cpu", {"group": "web", "instance": "i-2"}, 2.0),
        Sample(20.0, "cpu", {"group": "db"}, 100.0),
        Sample(30.0, "mem", {"group": "web"}, 100.0),
    ]
    sums = WindowSums("cpu", {"group": "web"}, samples)
    assert (sums(10.0, 20.0), sums(10.0, 20.5), sums(21.0, 99.0)) == (1.0, 3.0, None)  # [start, end), as the Metrics service
