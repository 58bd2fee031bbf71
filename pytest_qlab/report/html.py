"""The verdict banner pytest-html shows above the results table."""

from __future__ import annotations

from html import escape

from pytest_qlab.report.text import rehearsal_notice, system_disk_warning, target_line, verdict_line
from pytest_qlab.session import QlabSession

_COLOURS = {True: "#1b7837", False: "#b2182b"}  # green / red, distinguishable in greyscale too


def report_title(session: QlabSession) -> str:
    verdicts = "; ".join(verdict_line(session, record) for record in session.volumes.values())
    return f"pytest-qlab: {verdicts}"


def verdict_banner(session: QlabSession) -> list[str]:
    blocks: list[str] = []
    if session.options.rehearsal:
        blocks.append(_notice(rehearsal_notice(session.options.time_scale), "#8c510a"))
    if session.interrupted_by:
        blocks.append(
            _notice(f"INTERRUPTED by {session.interrupted_by}: results are partial.", "#b2182b")
        )
    for record in session.volumes.values():
        if record.target.is_system_default:
            blocks.append(_notice(system_disk_warning(record.target), "#b2182b"))
        decision = session.decision(record)
        ready = session.ready(record)
        reasons = "".join(f"<li>{escape(reason)}</li>" for reason in decision.reasons)
        blocks.append(
            f'<div class="qlab-verdict" style="border:3px solid {_COLOURS[ready]};'
            'padding:12px;margin:8px 0;">'
            f'<h2 style="margin:0;color:{_COLOURS[ready]}">'
            f"{escape(verdict_line(session, record))}</h2>"
            f"<p>{escape(target_line(record.target))}</p><ul>{reasons}</ul></div>"
        )
    return blocks


def _notice(text: str, colour: str) -> str:
    return (
        f'<p class="qlab-notice" style="font-weight:bold;color:#fff;background:{colour};'
        f'padding:8px;">{escape(text)}</p>'
    )
