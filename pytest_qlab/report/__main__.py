"""`python -m pytest_qlab.report summary|compare|schema`: see pytest_qlab.report.cli."""

from __future__ import annotations

import sys

from pytest_qlab.report.cli import main

sys.exit(main())
