"""Fuzz targets of affect_core's boundaries: profiles and counts from tests.fuzzing.

Importing tests.fuzzing registers the ``fuzz-short`` and ``fuzz-long`` hypothesis
profiles; its summary hook, imported here, prints the inputs each target ran.
"""

from __future__ import annotations

from tests.fuzzing import pytest_terminal_summary  # noqa: F401
