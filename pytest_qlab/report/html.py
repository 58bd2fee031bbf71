"""The verdict banner pytest-html shows above the results table."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pytest_qlab.core.modes import MODES
from pytest_qlab.core.profiles import CODEC_NAMES, RASTER_NAMES
from pytest_qlab.report.entries import TestEntry
from pytest_qlab.report.history_html import history_block, this_run_row
from pytest_qlab.report.matrix import MatrixCell
from pytest_qlab.report.model import MediaReport, ProfileReport, QlabReport, VolumeReport
from pytest_qlab.report.text import (
    rehearsal_notice,
    system_disk_warning,
    verdict_line,
    volume_line,
    window_lines,
)

_COLOURS = {True: "#1b7837", False: "#b2182b"}  # green / red, distinguishable in greyscale too


def report_title(report: QlabReport) -> str:
    verdicts = "; ".join(verdict_line(report, volume) for volume in report.volumes)
    return f"pytest-qlab: {verdicts}"


MODE_TITLES = {mode.name: mode.title for mode in MODES} | {"other": "Other tests"}
_OUTCOME_COLOURS = {"passed": "#1b7837", "failed": "#b2182b", "error": "#b2182b"}


def verdict_banner(report: QlabReport) -> list[str]:
    """The decided verdict per volume, then the profile, the summary tables and the matrices."""
    blocks: list[str] = []
    if report.rehearsal:
        blocks.append(_notice(rehearsal_notice(report.time_scale), "#8c510a"))
    if report.interrupted_by:
        blocks.append(
            _notice(f"INTERRUPTED by {report.interrupted_by}: results are partial.", "#b2182b")
        )
    for volume in report.volumes:
        if volume.system_default:
            blocks.append(_notice(system_disk_warning(volume.path), "#b2182b"))
        colour = _COLOURS[volume.ready]
        reasons = "".join(f"<li>{escape(reason)}</li>" for reason in volume.rating_reasons)
        blocks.append(
            f'<div class="qlab-verdict" style="border:3px solid {colour};'
            'padding:12px;margin:8px 0;">'
            f'<h2 style="margin:0;color:{colour}">'
            f"{escape(verdict_line(report, volume))}</h2>"
            f"<p>{escape(volume_line(volume))}</p>"
            + _drive_paragraph(volume)
            + f"<ul>{reasons}</ul>"
            + _window_list(volume)
            + _capacity_paragraph(volume.max_streams)
            + _advisory_list(volume)
            + media_table(volume.media)
            + "</div>"
        )
    blocks.append(profile_block(report.profile))
    blocks += summary_tables(report.tests, several_volumes=len(report.volumes) > 1)
    for volume in report.volumes:
        blocks.append(matrix_table(volume.matrix, f"Will it work? {volume.name}"))
    for volume in report.volumes:
        blocks.append(history_block(volume, this_run_row(volume, report.time_scale)))
    return blocks


def summary_tables(tests: Sequence[TestEntry], *, several_volumes: bool) -> list[str]:
    """One table per mode: each test's measured figure next to what it had to reach, so an
    engineer finds every number without opening a row."""
    by_mode: dict[str, list[TestEntry]] = {}
    for entry in tests:
        by_mode.setdefault(entry.mode, []).append(entry)
    tables = []
    for mode, entries in by_mode.items():
        phases = any(entry.phase for entry in entries)
        head = ["volume"] if several_volumes else []
        head += ["test", *(["phase"] if phases else []), "measured", "required", "result"]
        rows = []
        for entry in entries:
            cells = [entry.volume or ""] if several_volumes else []
            cells += [entry.name, *([entry.phase or ""] if phases else [])]
            cells += [entry.measured, entry.required]
            colour = _OUTCOME_COLOURS.get(entry.outcome, "#555555")
            result = f'<td style="color:{colour};font-weight:bold">{entry.outcome.upper()}</td>'
            rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + result + "</tr>")
        header = "".join(f"<th>{escape(name)}</th>" for name in head)
        title = MODE_TITLES.get(mode, mode)
        tables.append(
            f'<div class="qlab-summary" data-mode="{escape(mode)}"><h3>{escape(title)}</h3>'
            f'<table border="1" cellpadding="3"><tr>{header}</tr>{"".join(rows)}</table></div>'
        )
    return tables


def profile_block(profile: ProfileReport) -> str:
    """How each required figure was derived, so production can check it against the show."""
    lines = "".join(f"<li>{escape(line)}</li>" for line in profile.derivation)
    return (
        f'<div class="qlab-profile"><h3>Show profile: {escape(profile.name)}</h3>'
        f"<p>player buffer {profile.player_buffer_frames} frames, headroom "
        f"{profile.headroom:g}, crossfade {profile.crossfade_duration_s:g} s every "
        f"{profile.crossfade_every_s:g} s</p><ul>{lines}</ul></div>"
    )


def matrix_table(cells: list[MatrixCell], title: str) -> str:
    """Rows: flavour and raster; columns: frame rate; a tick marks a replayed (verified) cell."""
    if not cells:
        return ""
    rates = sorted({cell.fps for cell in cells})
    rows: dict[tuple[str, str], dict[int, MatrixCell]] = {}
    for cell in cells:
        rows.setdefault((cell.codec, cell.raster), {})[cell.fps] = cell
    header = "".join(f"<th>{fps} fps</th>" for fps in rates)
    body = []
    for (codec, raster), by_fps in rows.items():
        tds = []
        for fps in rates:
            found = by_fps.get(fps)
            if found is None:
                tds.append("<td></td>")
            elif found.verified_streams is not None:
                tds.append(f"<td><b>{found.verified_streams} &#10003;</b></td>")
            else:
                tds.append(f"<td>{found.estimated_streams}</td>")
        name = f"{RASTER_NAMES.get(raster, raster)} {CODEC_NAMES[codec]}"
        body.append(f"<tr><th>{escape(name)}</th>{''.join(tds)}</tr>")
    return (
        f'<div class="qlab-matrix"><h3>{escape(title)}</h3>'
        "<p>Streams the drive carries at once: estimated from the sustained read; "
        "&#10003; = replayed frame by frame without a drop.</p>"
        f'<table border="1" cellpadding="3"><tr><th>ProRes</th>{header}</tr>'
        f"{''.join(body)}</table></div>"
    )


MEDIA_COLUMNS = (
    "file",
    "codec",
    "raster",
    "fps",
    "frames",
    "mean MB/s",
    "peak MB/s",
    "frames played",
    "dropped frames",
    "worst lateness (ms)",
    "p99.9 latency (ms)",
    "bytes read",
)


def media_table(media: Sequence[MediaReport]) -> str:
    """The show's own files and how each played: what production recognises by name."""
    if not media:
        return ""

    def cells(item: MediaReport) -> list[str]:
        played = [
            item.frames_played,
            item.dropped_frames,
            item.worst_lateness_ms,
            item.latency_p999_ms,
            item.bytes_read,
        ]
        return [
            item.path,
            f"{item.codec} ({item.fourcc})",
            item.raster,
            f"{item.fps:g}",
            str(item.frames),
            f"{item.mean_mb_s:.1f}",
            f"{item.peak_mb_s:.1f}",
            *("not played" if value is None else f"{value:g}" for value in played),
        ]

    head = "".join(f"<th>{escape(name)}</th>" for name in MEDIA_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells(item)) + "</tr>"
        for item in media
    )
    return (
        '<div class="qlab-media"><h3>The show\'s media</h3>'
        f'<table border="1" cellpadding="3"><tr>{head}</tr>{rows}</table>'
        f"{cache_notes(media)}</div>"
    )


def cache_notes(media: Sequence[MediaReport]) -> str:
    """Whether the frames came from the drive or may have come from memory: files that share
    a note are named together, a file that may be cached is marked."""
    by_note: dict[str, list[str]] = {}
    cached: set[str] = set()
    for item in media:
        if item.cache_note is not None:
            by_note.setdefault(item.cache_note, []).append(item.path)
            if item.may_be_cached:
                cached.add(item.cache_note)
    items = "".join(
        f"<li>{'<b>WARN</b> ' if note in cached else ''}{escape(', '.join(paths))}: "
        f"{escape(note)}</li>"
        for note, paths in by_note.items()
    )
    return f'<div class="qlab-cache"><p>Caches:</p><ul>{items}</ul></div>' if items else ""


def _drive_paragraph(volume: VolumeReport) -> str:
    if volume.drive is None:
        return ""
    return f'<p class="qlab-drive">Drive: {escape(volume.drive.summary())}</p>'


def _advisory_list(volume: VolumeReport) -> str:
    """Warnings the technician should act on before the show (failures are among the
    verdict's reasons)."""
    items = "".join(
        f"<li><b>WARN</b> {escape(advisory.title)}: {escape(advisory.message)}</li>"
        for advisory in volume.advisories
        if advisory.severity == "warn"
    )
    return (
        f'<div class="qlab-advisories"><p>Pre-show advisories:</p><ul>{items}</ul></div>'
        if items
        else ""
    )


def _window_list(volume: VolumeReport) -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in window_lines(volume))
    return f'<ul class="qlab-windows">{items}</ul>' if items else ""


def _capacity_paragraph(summary: str | None) -> str:
    return f"<p><b>{escape(summary)}</b></p>" if summary else ""


def _notice(text: str, colour: str) -> str:
    return (
        f'<p class="qlab-notice" style="font-weight:bold;color:#fff;background:{colour};'
        f'padding:8px;">{escape(text)}</p>'
    )
