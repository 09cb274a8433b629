"""Small requests (what the SDK sends every 0.1 s per run) against the HTTP floor (issue 8).

Side by side in one run, with `wrk` (Debian package `wrk`) as the load generator so the
client costs almost no CPU: 8 keep-alive connections post batches of 10 points over 5
series to
- fitwatch's points endpoint (`fitwatch server`, one worker, SQLite), and
- a bare FastAPI route that parses the same body with the same pydantic model and stores
  nothing (bench/bare_app.py): the floor for one request on this machine.
Rounds alternate A/B so a noisy neighbour hits both. Prints requests/s, p50/p99 latency and
the ratio (goal: fitwatch >= 60% of the bare figure, p99 < 50 ms).

    python bench/small_requests.py [--seconds 10] [--rounds 2] [--connections 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.server import free_port  # noqa: E402
from tests.helpers.wait import wait_until  # noqa: E402

# Each wrk thread writes its own run; every request appends 10 new steps to 5 series.
LUA = r"""
local counter = 0
local offset = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  run = "bench-" .. tid
  -- Each round starts after the steps of the rounds before: appends, not overwrites.
  offset = tonumber(args[1] or "0")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  local base = offset + counter * 10
  counter = counter + 1
  local series = {}
  for s = 0, 4 do
    local steps, values, times = {}, {}, {}
    for i = 0, 9 do
      steps[#steps + 1] = tostring(base + i)
      values[#values + 1] = string.format("%.6f", 1.0 / (base + i + 1))
      times[#times + 1] = string.format("%.3f", 1700000000 + (base + i) * 0.01)
    end
    series[#series + 1] = '{"key":"m' .. s .. '","scope":"batch","steps":[' .. table.concat(steps, ",")
      .. '],"values":[' .. table.concat(values, ",") .. '],"times":[' .. table.concat(times, ",") .. ']}'
  end
  return wrk.format(nil, "/api/v1/runs/" .. run .. "/points", nil, '{"series":[' .. table.concat(series, ",") .. ']}')
end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors))
end
"""


def start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def ready() -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return True
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=60, interval=0.1)
    return process


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system CPU the server process has used (Linux /proc): CPU per request is what
    bounds requests/s on a quiet machine, and it is far less noisy than wall time on a shared one."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(process: subprocess.Popen[bytes]) -> dict[int, float]:
    """User + system CPU per thread of the process, by thread id (the event loop's is the
    process id): where the server's CPU per request goes, without a profiler's distortion."""
    found = {}
    for task in Path(f"/proc/{process.pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def wrk(
    port: int, script: Path, seconds: int, connections: int, offset: int, threads: int = 2,
    process: subprocess.Popen[bytes] | None = None,
) -> dict[str, float]:
    cpu_before = cpu_seconds(process) if process is not None else 0.0
    threads_before = thread_cpu_seconds(process) if process is not None else {}
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), "--latency",
         f"http://127.0.0.1:{port}", "--", str(offset)],
        capture_output=True, text=True, check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, float] = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / result["seconds"]
    if process is not None:
        requests = max(result["requests"], 1)
        result["cpu_ms"] = (cpu_seconds(process) - cpu_before) * 1000 / requests
        # The event loop's thread, and the busiest other one (fitwatch: the ingest writer).
        spent = {
            tid: cpu - threads_before.get(tid, 0.0)
            for tid, cpu in thread_cpu_seconds(process).items()
        }
        loop = spent.pop(process.pid, 0.0)
        result["loop_ms"] = loop * 1000 / requests
        result["thread_ms"] = max(spent.values(), default=0.0) * 1000 / requests
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/small_requests.py needs wrk: apt-get install wrk")

    tmp = Path(tempfile.mkdtemp(prefix="fitwatch-small-"))
    script = tmp / "points.lua"
    script.write_text(LUA)
    bare_port, fw_port = free_port(), free_port()
    bare = start([sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(bare_port),
                  "--log-level", "warning"], bare_port, tmp / "bare.log")
    env_db = f"sqlite:///{tmp / 'fitwatch.db'}"
    fitwatch = start([sys.executable, "-m", "fitwatch.cli", "server", "--port", str(fw_port),
                      "--database-url", env_db], fw_port, tmp / "fitwatch.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{fw_port}") as client:
            for tid in range(2):
                client.post("/api/v1/runs", json={"project": "bench", "id": f"bench-{tid}"}).raise_for_status()
        results: dict[str, list[dict[str, float]]] = {"bare": [], "fitwatch": []}
        for n in range(args.rounds):
            offset = n * 100_000_000
            results["bare"].append(wrk(bare_port, script, args.seconds, args.connections, offset, process=bare))
            results["fitwatch"].append(wrk(fw_port, script, args.seconds, args.connections, offset, process=fitwatch))
        for name, rounds in results.items():
            for r in rounds:
                print(f"{name:9s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms"
                      f"  server CPU {r['cpu_ms']:5.2f} ms/request (event loop {r['loop_ms']:4.2f},"
                      f" busiest other thread {r['thread_ms']:4.2f})  errors {r['errors']:.0f}")
        bare_rps = sum(r["rps"] for r in results["bare"]) / args.rounds
        fw_rps = sum(r["rps"] for r in results["fitwatch"]) / args.rounds
        fw_p99 = max(r["p99_ms"] for r in results["fitwatch"])
        bare_cpu = sum(r["cpu_ms"] for r in results["bare"]) / args.rounds
        fw_cpu = sum(r["cpu_ms"] for r in results["fitwatch"]) / args.rounds
        stored = httpx.get(f"http://127.0.0.1:{fw_port}/api/v1/runs/bench-0/series").json()["series"]
        print(f"fitwatch / bare: {fw_rps / bare_rps:.0%} (goal >= 60%); fitwatch p99 {fw_p99:.1f} ms "
              f"(goal < 50 ms); run bench-0 holds {sum(s['count'] for s in stored)} points")
        print(f"load average {os.getloadavg()}")
        print(f"server CPU per request: bare {bare_cpu:.2f} ms, fitwatch {fw_cpu:.2f} ms "
              f"(bare / fitwatch {bare_cpu / fw_cpu:.0%}: the ratio a quiet machine would show)")
    finally:
        for process in (bare, fitwatch):
            process.terminate()
            process.wait(15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
