"""Project-level test configuration: pytester for the plugin's own tests.

pytest only honours `pytest_plugins` in the top-level conftest.
"""

from __future__ import annotations

pytest_plugins = ("pytester",)
