"""How the pages load: each page's HTML preloads every module its boot script imports, so the
browser fetches the whole module graph at once instead of one import level per round trip
(first paint, docs/dashboard.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
# Static imports, and the dynamic `import("./x.js")` a boot script uses to send its first
# requests before the rest of the page has loaded (boot/compare.js).
IMPORT = re.compile(
    r'^\s*import\s[^;]*?from\s+"(\.[^"]+)"|^\s*import\s+"(\.[^"]+)"|\bimport\("(\.[^"]+)"\)', re.M
)
PAGES = {
    "index.html": "js/boot/runs.js",
    "run.html": "js/boot/run.js",
    "compare.html": "js/boot/compare.js",
}


def module_graph(entry: Path) -> list[Path]:
    seen: list[Path] = []
    todo = [entry.resolve()]
    while todo:
        module = todo.pop(0)
        if module in seen:
            continue
        seen.append(module)
        for found in IMPORT.finditer(module.read_text()):
            todo.append((module.parent / next(g for g in found.groups() if g)).resolve())
    return seen


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_page_preloads_every_module_its_boot_script_imports(page: str) -> None:
    html = (WEB / page).read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', html))
    needed = {str(m.relative_to(WEB)) for m in module_graph(WEB / PAGES[page])[1:]}
    missing = sorted(needed - preloaded)
    assert not missing, f"add to web/{page}: " + " ".join(
        f'<link rel="modulepreload" href="{m}">' for m in missing
    )
    assert not preloaded - needed, (
        f"web/{page} preloads modules it does not import: {sorted(preloaded - needed)}"
    )


@pytest.mark.parametrize("page", ["run.html", "compare.html"])
def test_plotly_is_preloaded_not_executed_by_the_html(page: str) -> None:
    # The page executes it (charts.js startPlotly) once its first data request is in flight.
    html = (WEB / page).read_text()
    assert '<link rel="preload" href="/vendor/plotly-basic.min.js" as="script">' in html
    assert '<script src="/vendor/plotly' not in html
