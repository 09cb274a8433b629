"""Parallel coordinates on the compare page: config keys and categorical config values with
Plotly markup (<a href>, <b>) as axis labels and tick texts."""
from harness import browser_page, open_ready, start_server, training_run
from playwright.sync_api import sync_playwright

EVIL_V = '<a href="https://attacker.example/">clk</a>'
EVIL_K = "<b>boldkey</b>"
server = start_server()
base = server.url
try:
    runs = [training_run(base, name=f"r{i}", lr=0.001 * (i + 1), config={EVIL_K: i, "opt": EVIL_V if i == 0 else f"plain{i}"}) for i in range(3)]
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        open_ready(page, f"{base}/compare.html?runs={','.join(r['id'] for r in runs)}&scope=epoch")
        page.wait_for_selector("#parcoords .parcoords, #parcoords svg", timeout=30000)
        page.wait_for_timeout(1500)
        markup = page.evaluate("() => [...document.querySelectorAll('#parcoords a, #parcoords b, #parcoords [href]')].map(e => e.outerHTML.slice(0, 90))")
        texts = page.evaluate("() => [...document.querySelectorAll('#parcoords text')].map(e => e.textContent).filter(t => /clk|bold/.test(t))")
        print("markup elements in parcoords:", markup)
        print("texts:", texts)
        print("errors:", errors[:3])
        browser.close()
finally:
    server.stop()
