"""The verdict banner pytest-html shows above the results table."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_qlab.core.modes import MODES
from pytest_qlab.core.profiles import CODEC_NAMES, RASTER_NAMES
from pytest_qlab.core.units import format_bytes
from pytest_qlab.report.entries import TestEntry
from pytest_qlab.report.history_html import history_block, this_run_row
from pytest_qlab.report.matrix import MatrixCell, show_rows
from pytest_qlab.report.model import (
    FrameTimesReport,
    MediaReport,
    ProfileReport,
    QlabReport,
    VolumeReport,
)
from pytest_qlab.report.text import (
    rehearsal_notice,
    system_disk_warning,
    verdict_line,
    volume_line,
    window_lines,
)


def report_title(report: QlabReport) -> str:
    verdicts = "; ".join(verdict_line(report, volume) for volume in report.volumes)
    return f"pytest-qlab: {verdicts}"


if TYPE_CHECKING:
    from pytest_qlab.report.plots import Plot

MODE_TITLES = {mode.name: mode.title for mode in MODES} | {"other": "Other tests"}


@dataclass(frozen=True)
class ItemEvidence:
    """What a qualification item showed, for its place in the evidence: its plots and its
    scalar measurements (lists and tables stay in the technical details)."""

    plots: tuple[Plot, ...] = ()
    figures: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunFacts:
    """Who made the report, where and when: the certificate's first page names them."""

    generated: str
    host: str


def verdict_banner(
    report: QlabReport,
    items: Mapping[str, ItemEvidence] | None = None,
    facts: RunFacts | None = None,
) -> list[str]:
    """The report's reading order: the verdict screen, the evidence with a plot for every
    measurement, the matrix, the profile, then the heading above pytest-html's own tables."""
    items = items or {}
    blocks = [first_screen(report, facts)]
    blocks.append(evidence_section(report, items))
    for volume in report.volumes:
        blocks.append(matrix_section(volume.matrix, report.profile, volume.name))
    blocks.append(profile_block(report.profile))
    for volume in report.volumes:
        blocks.append(history_block(volume, this_run_row(volume, report.time_scale)))
    blocks.append(
        '<h2 class="qlab-technical" id="technical-details">Technical details</h2>'
        '<p class="qlab-technical-note">What pytest recorded: the environment, every test item '
        "with its log, and tracebacks of errors inside pytest-qlab.</p>"
    )
    return blocks


def first_screen(report: QlabReport, facts: RunFacts | None) -> str:
    """Title, notices and each volume's verdict card: what production needs on one screen."""
    parts = [_title(report, facts)]
    if report.interrupted_by:
        parts.append(
            _notice(f"INTERRUPTED by {report.interrupted_by}: results are partial.", "stop")
        )
    if report.rehearsal:
        parts.append(_notice(rehearsal_notice(report.time_scale), "rehearsal"))
    if report.fleet is not None:
        # the fleet's answer before the hosts' cards: with several hosts they fill the screen
        ready = report.fleet.ready_hosts == report.fleet.hosts
        parts.append(_notice(report.fleet.line, "fleet-ready" if ready else "stop"))
    for volume in report.volumes:
        if volume.system_default:
            parts.append(_notice(system_disk_warning(volume.path), "stop"))
        parts.append(verdict_card(report, volume))
    return f'<section class="qlab-first">{"".join(parts)}</section>'


def _title(report: QlabReport, facts: RunFacts | None) -> str:
    names = ", ".join(volume.name for volume in report.volumes) or "no volume"
    drives = ", ".join(
        volume.drive.model or f"{volume.drive.bus} drive"
        for volume in report.volumes
        if volume.drive is not None
    )
    heading = f"Show drive qualification: {names}" + (f" ({drives})" if drives else "")
    meta = "" if facts is None else f"{facts.generated} on {facts.host}"
    return (
        f'<header class="qlab-title"><h1>{escape(heading)}</h1>'
        f'<p class="qlab-meta">{escape(meta)}'
        f"{' - ' if meta else ''}pytest-qlab, {escape(report.fio_version)}, show profile "
        f"<b>{escape(report.profile.name)}</b></p></header>"
    )


def verdict_card(report: QlabReport, volume: VolumeReport) -> str:
    from pytest_qlab.report.chart import chart_svg, requirement_figures  # loads matplotlib

    state = "ready" if volume.ready else "not-ready"
    reasons = "".join(f"<li>{escape(reason)}</li>" for reason in volume.rating_reasons)
    chart = chart_svg(requirement_figures(volume))
    chart_html = (
        ""
        if chart is None
        else '<figure class="qlab-chart"><img alt="required vs measured" '
        f'src="{_data_uri(chart)}"/><figcaption>Required vs measured</figcaption></figure>'
    )
    return (
        f'<div class="qlab-verdict qlab-{state}">'
        f'<h2 class="qlab-banner">{escape(verdict_line(report, volume))}</h2>'
        f'<div class="qlab-card"><div class="qlab-card-text">'
        f'<p class="qlab-volume">Volume {escape(volume_line(volume))}</p>'
        + _drive_paragraph(volume)
        + f'<ul class="qlab-reasons">{reasons}</ul>'
        + _capacity_paragraph(volume.max_streams)
        + drops_table(volume)
        + _advisory_list(volume)
        + _window_list(volume)
        + "</div>"
        + chart_html
        + "</div></div>"
    )


def drops_table(volume: VolumeReport) -> str:
    """Dropped frames per replay and per media file, in one small table."""
    rows = []
    for item in volume.evidence:
        for proof in item.proofs:
            if proof.dropped_frames is not None:
                frames = "" if proof.frames is None else f" of {proof.frames}"
                rows.append((proof.measurement.phrase, f"{proof.dropped_frames}{frames}"))
    for media in volume.media:
        if media.dropped_frames is not None:
            rows.append((media.path, f"{media.dropped_frames} of {media.frames_played}"))
    if not rows:
        return ""
    seen: dict[str, str] = dict(rows)
    body = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(count)}</td></tr>" for name, count in seen.items()
    )
    return (
        '<table class="qlab-drops"><tr><th>played frame by frame</th><th>dropped frames</th>'
        f"</tr>{body}</table>"
    )


def evidence_section(report: QlabReport, items: Mapping[str, ItemEvidence]) -> str:
    """Per mode: the measured-vs-required table, then each item with its message, its figures
    and its plots at full width."""
    several = len(report.volumes) > 1
    parts = ['<section class="qlab-evidence"><h2>Evidence</h2>']
    by_mode: dict[str, list[TestEntry]] = {}
    for entry in report.tests:
        by_mode.setdefault(entry.mode, []).append(entry)
    for mode, entries in by_mode.items():
        parts.append(summary_table(mode, entries, several_volumes=several))
        for entry in entries:
            parts.append(item_block(entry, items.get(entry.nodeid, ItemEvidence())))
    for volume in report.volumes:
        parts.append(media_table(volume.media))
    parts.append(frametimes_note(report.frametimes))
    parts.append("</section>")
    return "".join(parts)


def frametimes_note(saved: FrameTimesReport | None) -> str:
    """Where --qlab-frametimes saved every replayed frame's timing, for a closer look."""
    if saved is None:
        return ""
    if saved.path is None:
        where = f"could not be saved ({saved.cause})"
    elif saved.path == saved.wanted_path:
        where = f"are in {Path(saved.path).name}, beside this report"
    else:
        where = f"are in {saved.path}: the report folder failed ({saved.cause})"
    return (
        f'<p class="qlab-frametimes">Every replayed frame\'s timing ({saved.rows} frames: '
        f"due, completed, latency, lateness, dropped) {escape(where)}.</p>"
    )


def item_block(entry: TestEntry, evidence: ItemEvidence) -> str:
    if not evidence.plots and (entry.message is None or entry.outcome == "skipped"):
        return ""  # e.g. an advisory that passed or does not apply: its row says all
    colour = _OUTCOME_CLASSES.get(entry.outcome, "other")
    message = (
        "" if entry.message is None else f'<p class="qlab-message">{escape(entry.message)}</p>'
    )
    figures = "".join(
        f"<span><b>{escape(key)}</b> {escape(value)}</span>" for key, value in evidence.figures
    )
    plots = "".join(
        f'<figure class="qlab-plot"><img alt="{escape(plot.name)}" src="{_data_uri(plot.svg)}"/>'
        f"<figcaption>{escape(plot.name)}</figcaption></figure>"
        for plot in evidence.plots
    )
    return (
        f'<article class="qlab-item" data-nodeid="{escape(entry.nodeid)}">'
        f'<h4><span class="qlab-outcome qlab-{colour}">{entry.outcome.upper()}</span> '
        f"{escape(entry.name)}</h4>{message}"
        + (f'<p class="qlab-figures">{figures}</p>' if figures else "")
        + plots
        + "</article>"
    )


def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


_OUTCOME_CLASSES = {
    "passed": "pass",
    "failed": "fail",
    "error": "fail",
    "xfailed": "xfail",
    "xpassed": "pass",
    "skipped": "skip",
}


def summary_table(mode: str, entries: Sequence[TestEntry], *, several_volumes: bool) -> str:
    """A mode's items: each measured figure next to what it had to reach."""
    phases = any(entry.phase for entry in entries)
    head = ["volume"] if several_volumes else []
    head += ["test", *(["phase"] if phases else []), "measured", "required", "result"]
    rows = []
    for entry in entries:
        cells = [entry.volume or ""] if several_volumes else []
        cells += [entry.name, *([entry.phase or ""] if phases else [])]
        cells += [entry.measured, entry.required]
        css = _OUTCOME_CLASSES.get(entry.outcome, "other")
        result = f'<td class="qlab-outcome qlab-{css}">{entry.outcome.upper()}</td>'
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + result + "</tr>")
    header = "".join(f"<th>{escape(name)}</th>" for name in head)
    title = MODE_TITLES.get(mode, mode)
    return (
        f'<div class="qlab-summary" data-mode="{escape(mode)}"><h3>{escape(title)}</h3>'
        f"<table><tr>{header}</tr>{''.join(rows)}</table></div>"
    )


def profile_block(profile: ProfileReport) -> str:
    """How each required figure was derived, so production can check it against the show."""
    lines = "".join(f"<li>{escape(line)}</li>" for line in profile.derivation)
    return (
        f'<div class="qlab-profile"><h3>Show profile: {escape(profile.name)}</h3>'
        f"<p>player buffer {profile.player_buffer_frames} frames, headroom "
        f"{profile.headroom:g}, crossfade {profile.crossfade_duration_s:g} s every "
        f"{profile.crossfade_every_s:g} s</p><ul>{lines}</ul></div>"
    )


def matrix_section(cells: list[MatrixCell], profile: ProfileReport, volume: str) -> str:
    """The show's own rows (and one either side) open, the whole table behind a <details>."""
    if not cells:
        return ""
    shown = show_rows(cells, [(codec, raster) for codec, raster in profile.formats])
    compact = matrix_table([cell for cell in cells if (cell.codec, cell.raster) in shown])
    return (
        f'<section class="qlab-matrix"><h3>Will it work? {escape(volume)}</h3>'
        "<p>Streams the drive carries at once: estimated from the sustained read; "
        "&#10003; = replayed frame by frame without a drop. The show's own formats, and "
        "one either side:</p>"
        f'{compact}<details class="qlab-matrix-all"><summary>Every ProRes flavour and '
        f"raster ({len({(c.codec, c.raster) for c in cells})} rows)</summary>"
        f"{matrix_table(cells)}</details></section>"
    )


def matrix_table(cells: Sequence[MatrixCell]) -> str:
    """Rows: flavour and raster; columns: frame rate; a tick marks a replayed (verified) cell."""
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
    return f"<table><tr><th>ProRes</th>{header}</tr>{''.join(body)}</table>"


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
            # in MB, as everywhere else: ":g" printed 5.79584e+06
            "not played" if item.bytes_read is None else format_bytes(item.bytes_read),
        ]

    head = "".join(f"<th>{escape(name)}</th>" for name in MEDIA_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells(item)) + "</tr>"
        for item in media
    )
    return (
        '<div class="qlab-media"><h3>The show\'s media</h3>'
        f"<table><tr>{head}</tr>{rows}</table>"
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


def _notice(text: str, kind: str) -> str:
    return f'<p class="qlab-notice qlab-{kind}">{escape(text)}</p>'
