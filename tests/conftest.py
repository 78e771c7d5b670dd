"""Test-suite setup: shared helper modules get pytest's assertion messages too."""

import pytest

pytest.register_assert_rewrite("tests.bfcl_support", "tests.tasks.bundled_checks")
