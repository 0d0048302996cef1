"""The README is the door to docs/: every page is linked, and every relative link resolves."""

from __future__ import annotations

import re
from pathlib import Path

from tests.airflow_env import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(page.read_text()) if "://" not in target]


def test_the_readme_stays_short_and_links_every_docs_page():
    assert len(README.read_text()) <= 12_000
    linked = {(ROOT / target).resolve() for target in relative_links(README)}
    assert PAGES, "docs/ has pages"
    assert set(PAGES) <= linked


def test_every_relative_link_resolves():
    for page in [README, *PAGES]:
        for target in relative_links(page):
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def settings_table(page: Path) -> dict[str, str]:
    """`FRUITS_X` -> its default cell, from a page's table of settings."""
    rows = re.findall(r"^\| `(FRUITS_\w+)` *\| *([^|]*?) *\|", page.read_text(), re.MULTILINE)
    return dict(rows)


def test_the_dag_pages_table_is_every_setting_with_its_default():
    """PipelineConfig is the settings' one definition: the docs' table follows it."""
    from fruit_pipeline.config import PREFIX, PipelineConfig

    table = settings_table(ROOT / "docs/dag.md")
    assert set(table) == {PREFIX + name.upper() for name in PipelineConfig.model_fields}
    for name, field in PipelineConfig.model_fields.items():
        if field.default not in ("", None):
            assert table[PREFIX + name.upper()] == f"`{field.default}`", name


def test_the_readmes_settings_are_settings():
    from fruit_pipeline.config import PREFIX, PipelineConfig

    assert set(settings_table(README)) <= {
        PREFIX + name.upper() for name in PipelineConfig.model_fields
    }
