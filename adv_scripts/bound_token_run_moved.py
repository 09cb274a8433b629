"""A read token bound to project `a` subscribes (websocket) to a run of `a`; an admin moves the
run to project `b`, then logs points and changes it. Does the bound socket keep receiving a run
of a project it may not see (docs/security.md: a run of another project is as if it did not exist)?"""
import asyncio
import json

import httpx
import websockets
from harness import start_server

ADMIN = "adv-admin-" + "d" * 40
server = start_server({"FITWATCH_AUTH": "on", "FITWATCH_ADMIN_TOKEN": ADMIN})
base = server.url
H = {"Authorization": f"Bearer {ADMIN}"}


async def main():
    run = httpx.post(f"{base}/api/v1/runs", headers=H, json={"project": "a", "name": "r"}).json()
    httpx.post(f"{base}/api/v1/runs", headers=H, json={"project": "b", "name": "other"}).raise_for_status()
    bound = httpx.post(f"{base}/api/v1/tokens", headers=H, json={"name": "ra", "scope": "read", "project": "a"}).json()["token"]
    url = base.replace("http://", "ws://") + "/api/v1/live"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {bound}"}) as ws:
        await ws.send(json.dumps({"type": "subscribe", "runs": [run["id"]], "projects": ["a"]}))
        got = []

        async def reader():
            async for m in ws:
                got.append(json.loads(m))
        task = asyncio.create_task(reader())
        await asyncio.sleep(0.5)
        httpx.patch(f"{base}/api/v1/runs/{run['id']}", headers=H, json={"project": "b"}).raise_for_status()
        await asyncio.sleep(0.3)
        httpx.patch(f"{base}/api/v1/runs/{run['id']}", headers=H, json={"notes": "secret note in b", "config": {"k": "SECRET-B"}})
        httpx.post(f"{base}/api/v1/runs/{run['id']}/points", headers=H, json={"series": [
            {"key": "loss", "scope": "epoch", "steps": [0], "values": [0.5], "times": [1.0]}]}).raise_for_status()
        await asyncio.sleep(1.5)
        task.cancel()
    print("REST with bound token:", httpx.get(f"{base}/api/v1/runs/{run['id']}", headers={"Authorization": f"Bearer {bound}"}).status_code)
    for m in got:
        if m.get("type") in ("run", "points", "run_deleted", "series"):
            print(m["type"], {k: m["run"][k] for k in ("project", "notes", "config")} if m["type"] == "run" else {k: m.get(k) for k in ("project", "key", "steps", "values")})


try:
    asyncio.run(main())
finally:
    server.stop()
