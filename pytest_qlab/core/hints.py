"""Which run adds a missing proof, in one line the user can act on: derived from the modes that
ran, so a show-pattern run is told to add the setup check, not to start over."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pytest_qlab.core.modes import MODES, SETUP_CHECK, Mode


def proof_hint(setup_items: Sequence[str], modes_run: Collection[Mode]) -> str:
    """`setup_items`: the setup check's items that measure what is missing. The setup check
    measures every requirement, in about 30 seconds, so it is the run to add."""
    if SETUP_CHECK in modes_run:
        items = " and ".join(setup_items)
        them = "it" if len(setup_items) == 1 else "them"
        return f"run the setup check's {items} too (this run left {them} out)"
    names = [SETUP_CHECK.name, *(m.name for m in MODES if m in modes_run and m != SETUP_CHECK)]
    return f'add the setup check: pytest suites/ -m "{" or ".join(names)}"'
