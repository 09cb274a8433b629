"""A metric key holding Plotly-HTML (<a href=javascript:>) used as the x axis (axis title) and
as a chart title: is any link or markup made of it in the SVG?"""
from urllib.parse import quote

from harness import browser_page, create_run, open_ready, post_series, series, start_server
from playwright.sync_api import sync_playwright

EVIL = "<a href=\"javascript:window.__pwned=1\">clk</a><b>B</b>"
server = start_server()
base = server.url
try:
    a = create_run(base, name=EVIL)
    b = create_run(base, name="b")
    for r in (a, b):
        post_series(base, r["id"], series(EVIL, "batch", [0, 1, 2], [1, 2, 3]), series("loss", "batch", [0, 1, 2], [3, 2, 1]))
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        for url in (f"{base}/run.html?run={a['id']}&scope=batch&x={quote('metric:' + EVIL)}",
                    f"{base}/compare.html?runs={a['id']},{b['id']}&scope=batch&x={quote('metric:' + EVIL)}"):
            open_ready(page, url)
            page.wait_for_timeout(800)
            for box in page.query_selector_all(".chart .nsewdrag")[:3]:
                box.hover()
                page.wait_for_timeout(200)
            links = page.evaluate("() => [...document.querySelectorAll('.chart a, .chart [href], .chart b')].map(e => e.outerHTML.slice(0, 80))")
            titles = page.evaluate("() => [...document.querySelectorAll('.chart .xtitle, .chart .gtitle')].map(e => e.textContent).slice(0, 3)")
            for link in page.query_selector_all(".chart a"):
                link.click(force=True)
            print(url.split("/")[-1][:8], "links/markup in charts:", links, "| titles:", titles, "| pwned:", page.evaluate("() => window.__pwned || null"))
        print("errors:", errors[:3])
        browser.close()
finally:
    server.stop()
