"""The test configuration turns warnings raised from our own package into errors."""

from __future__ import annotations

import warnings

import pytest


def test_a_warning_from_our_package_fails_the_test() -> None:
    for category in (DeprecationWarning, UserWarning, ResourceWarning):
        with pytest.raises(category):
            warnings.warn_explicit("about to go", category, "analysis.py", 1, module="socketguard.engine.analysis")


def test_a_warning_from_a_library_does_not() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn_explicit("about to go", DeprecationWarning, "core.py", 1, module="click.core")
    assert [str(w.message) for w in caught] == ["about to go"]
