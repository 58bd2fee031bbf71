"""Which run adds a missing proof, in one line the user can act on: derived from the modes that
ran, so a show-pattern run is told to add the setup check, not to start over."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pytest_qlab.core.modes import MODES, SETUP_CHECK, Mode


def proof_hint(
    setup_items: Sequence[str], modes_run: Collection[Mode], *, interrupted: bool = False
) -> str:
    """`setup_items`: the setup check's items that measure what is missing. The setup check
    measures every requirement, in about 30 seconds, so it is the run to add. An interrupted
    run left nothing out on purpose: it is to be run again, to its end."""
    if interrupted:
        cut = " and ".join(setup_items) if SETUP_CHECK in modes_run else "it"
        return f"the run was interrupted before {cut} finished: run it again to its end"
    if SETUP_CHECK in modes_run:
        items = " and ".join(setup_items)
        them = "it" if len(setup_items) == 1 else "them"
        return f"run the setup check's {items} too (this run left {them} out)"
    names = [SETUP_CHECK.name, *(m.name for m in MODES if m in modes_run and m != SETUP_CHECK)]
    return f'add the setup check: pytest suites/ -m "{" or ".join(names)}"'
