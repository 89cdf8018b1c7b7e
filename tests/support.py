"""What tests share: the repo root, the course files' folder and its skip marker, shown text.

A module of its own (not conftest): tests/ and tests/browser/ each have a conftest.py, so
`from conftest import ...` would pick whichever was imported first.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.exists(), reason="../shared/data is absent (fresh clone without the course files)"
)


def shown(markdown: str) -> str:
    """The text a person sees for a markdown source whose user text was escaped (ui.render.md_escape)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def nav(page, title: str, heading: bool = True) -> None:
    """Open a page from the sidebar by its link (section headers can carry the same word);
    heading=False for a page that only points elsewhere (no model yet)."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    if heading:
        expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox whose label starts with `label`."""
    from playwright.sync_api import expect

    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option").filter(has_text=option).first.click()
    expect(page.get_by_role("option")).to_have_count(0)  # the list closed on the choice
