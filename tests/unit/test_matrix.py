from __future__ import annotations

import math

import pytest

from pytest_qlab.core.profiles import rate_table
from pytest_qlab.report.matrix import will_it_work


def test_one_cell_per_rate_table_row() -> None:
    cells = will_it_work(1000.0, 1.0, {})

    assert len(cells) == 210 == len(rate_table().target_mbit_s)
    assert {(cell.codec, cell.raster, cell.fps) for cell in cells} == set(
        rate_table().target_mbit_s
    )
    assert all(cell.verified_streams is None for cell in cells)


def _cell(
    read_mb_s: float, headroom: float, codec: str, raster: str, fps: int
) -> tuple[float, int]:
    (cell,) = [
        cell
        for cell in will_it_work(read_mb_s, headroom, {})
        if (cell.codec, cell.raster, cell.fps) == (codec, raster, fps)
    ]
    return cell.mb_s_each, cell.estimated_streams


def test_uhd_hq_30_cell() -> None:
    # 884 Mb/s = 110.5 MB/s per stream.
    assert _cell(1000.0, 1.0, "hq", "3840x2160", 30) == (110.5, 9)
    assert _cell(221.0, 1.0, "hq", "3840x2160", 30) == (110.5, 2)
    assert _cell(220.9, 1.0, "hq", "3840x2160", 30) == (110.5, 1)
    assert _cell(1000.0, 1.2, "hq", "3840x2160", 30) == (110.5, 7)
    assert _cell(100.0, 1.0, "hq", "3840x2160", 30) == (110.5, 0)


@pytest.mark.parametrize(("read_mb_s", "headroom"), [(656.0, 1.0), (2100.0, 1.2), (55.5, 1.5)])
def test_estimated_streams_is_read_over_stream_rate_times_headroom(
    read_mb_s: float, headroom: float
) -> None:
    for cell in will_it_work(read_mb_s, headroom, {}):
        target = rate_table().target_mbit_s[(cell.codec, cell.raster, cell.fps)]
        mb_s_each = target / 8
        assert cell.mb_s_each == pytest.approx(mb_s_each, abs=0.001)
        assert cell.estimated_streams == math.floor(read_mb_s / (mb_s_each * headroom))


def test_no_bandwidth_carries_no_stream() -> None:
    assert {cell.estimated_streams for cell in will_it_work(0.0, 1.0, {})} == {0}


def test_verified_cells_are_carried_through() -> None:
    verified = {("hq", "3840x2160", 30): 4, ("4444", "1920x1080", 25): 2}

    cells = will_it_work(800.0, 1.0, verified)

    found = {
        (cell.codec, cell.raster, cell.fps): cell.verified_streams
        for cell in cells
        if cell.verified_streams is not None
    }
    assert found == verified
    (uhd,) = [
        cell for cell in cells if (cell.codec, cell.raster, cell.fps) == ("hq", "3840x2160", 30)
    ]
    assert uhd.estimated_streams == 7, "the estimate stays beside the verified count"


def test_an_exact_whole_number_of_streams_is_not_floored_to_one_less() -> None:
    """7 x 8K ProRes 4444 XQ 50 at headroom 1.2 is 14863.8 MB/s: exactly 7 streams, not 6."""
    each_mb_s = rate_table().lookup("4444xq", "8192x4320", 50) / 8
    read_mb_s = 7 * each_mb_s * 1.2

    cells = will_it_work(read_mb_s, 1.2, {})

    (cell,) = [c for c in cells if (c.codec, c.raster, c.fps) == ("4444xq", "8192x4320", 50)]
    assert cell.estimated_streams == 7
