"""Hostile names everywhere: run name, tags, notes, config keys/values, metric keys, project.
Opens runs table (one project and all projects), run page (every scope), compare page; a
payload that runs sets window.__pwned."""
import httpx
from harness import browser_page, create_run, open_ready, post_series, series, start_server
from playwright.sync_api import sync_playwright

P = ['<img src=x onerror="window.__pwned=(window.__pwned||[]).concat(1)">',
     '"><svg onload="window.__pwned=(window.__pwned||[]).concat(2)">',
     "<b>bold</b>%{x}<br>\u202e\u0000",
     "javascript:window.__pwned=3", "</script><script>window.__pwned=4</script>"]
server = start_server()
base = server.url
try:
    proj = "p<img src=x onerror=window.__pwned=5>"
    ids = []
    for i, name in enumerate(P):
        name = name.replace("\u0000", "")
        r = create_run(base, project=proj, name=name + str(i), tags=[P[0][:60], "t<svg onload=window.__pwned=6>"],
                       config={P[1]: P[0], "optimizer": {"name": P[0], P[0]: 1}, "batch_size": P[4]})
        ids.append(r["id"])
        post_series(base, r["id"], series(P[0][:100], "batch", [0, 1, 2], [1, 2, 3]),
                    series(P[2].replace("\u0000", ""), "epoch", [0, 1], [1, 2]),
                    series("val_" + P[1], "epoch", [0, 1], [3, 4]),
                    series(P[4], "eval", [0], [1]))
        httpx.patch(f"{base}/api/v1/runs/{r['id']}", json={"notes": P[0] + "\n[x](javascript:alert(1))"}).raise_for_status()
    from urllib.parse import quote
    urls = [f"{base}/?project={quote(proj)}", f"{base}/", f"{base}/?all=1"]
    urls += [f"{base}/run.html?run={ids[0]}&scope={s}" for s in ("batch", "epoch", "eval", "batch_derived")]
    urls += [f"{base}/compare.html?runs={','.join(ids)}&scope={s}" for s in ("batch", "epoch")]
    urls += [f"{base}/compare.html?runs={','.join(ids)}&scope=epoch&group=seed"]
    with sync_playwright() as p:
        browser, page, errors = browser_page(p)
        for u in urls:
            try:
                open_ready(page, u)
            except Exception as e:  # noqa: BLE001
                print("not ready:", u, str(e)[:80])
            page.wait_for_timeout(700)
            # hover every chart to trigger hover templates
            for box in page.query_selector_all(".chart .nsewdrag")[:4]:
                try:
                    box.hover()
                except Exception:  # noqa: BLE001
                    pass
            pw = page.evaluate("() => window.__pwned || null")
            bad = page.evaluate("() => document.querySelectorAll('main img[src=x], main svg[onload], main b:not(.x)').length"); bad = page.evaluate("() => [...document.querySelectorAll('main img[src=x], main svg[onload], main b')].map(e => e.outerHTML.slice(0,60))") if bad else bad
            print(u[len(base):][:70], "pwned:", pw, "injected elements:", bad)
        print("errors:", errors[:5])
        browser.close()
finally:
    server.stop()
