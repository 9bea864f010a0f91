"""Streamlit's AppTest runs a page as ``__main__`` and leaves it there; put the real one back.

Otherwise a process pool started later in the same pytest worker (spawn or forkserver) would
re-run the last page script in its children as their ``__main__`` and die.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_main_module() -> Iterator[None]:
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
