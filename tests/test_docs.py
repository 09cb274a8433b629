"""Docs that are tested: the README's commands and API tour, docs/api.md's examples against a
live server, and every file the docs and code comments cite exists in this repo."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text()) if lang == language]


def test_the_readme_starts_with_exactly_two_commands_and_ci_runs_them_as_written() -> None:
    first = [line for line in blocks(ROOT / "README.md", "bash")[0].splitlines() if line.strip()]
    assert len(first) == 2
    assert first[0].startswith("pip install -e '.[server]' && fitwatch server ")
    assert first[1].startswith("pip install -e '.[dev]' && python -m pytest ")
    printed = subprocess.run(
        [str(ROOT / ".ci" / "readme_commands"), str(ROOT / "README.md")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert printed.stdout.splitlines() == first
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python3 -m venv "$WORK/venv"' in ci and 'WORK="$(mktemp -d)"' in ci
    assert 'bash -c "${README_COMMANDS[0]}"' in ci and 'bash -c "${README_COMMANDS[1]}"' in ci


def test_the_readme_api_tour_pastes_into_a_shell(live_server: str) -> None:
    require(shutil.which("curl") is not None, "curl is not installed (apt-get install curl)")
    (tour,) = [b for b in blocks(ROOT / "README.md", "bash") if "RUN=$(curl" in b]
    # The tour is written for the default server; this one listens on another port.
    script = tour.replace("localhost:8000", live_server.removeprefix("http://"))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = httpx.get(f"{live_server}/api/v1/runs").json()["runs"]
    assert run["name"] == "mlp" and run["config"] == {"optimizer": {"learning_rate": 0.001}}
    stored = {
        (s["key"], s["scope"]): s["count"]
        for s in httpx.get(f"{live_server}/api/v1/runs/{run['id']}").json()["series"]
    }
    assert stored == {("loss", "batch"): 4, ("val_loss", "epoch"): 2}
    out = result.stdout
    assert '"total":1' in out  # the search found the run
    assert f'"run_id":"{run["id"]}"' in out and '"downsampled":false' in out
    assert "key,scope,step,epoch,value,wall_time\nloss,batch,0,0,2.3," in out


def test_the_api_docs_examples_are_accepted_by_a_live_server(live_server: str) -> None:
    api = f"{live_server}/api/v1"
    examples = []
    for body in blocks(ROOT / "docs" / "api.md", "json"):
        try:
            examples.append(json.loads(body))
        except json.JSONDecodeError:
            continue  # a shape with "..." in it, not a request
    (create,) = [e for e in examples if "project" in e and "config" in e]
    made = httpx.post(f"{api}/runs", json=create)
    assert made.status_code == 201, made.text
    assert httpx.post(f"{api}/runs", json=create).status_code == 200  # idempotent, as it says
    (points,) = [
        e for e in examples if isinstance(e.get("series"), list) and "steps" in e["series"][0]
    ]
    stored = httpx.post(f"{api}/runs/{create['id']}/points", json=points)
    assert stored.status_code == 200 and stored.json() == {"points": 4, "series": 2}
    (layout,) = [e for e in examples if set(e) == {"order", "hidden"}]
    saved = httpx.put(f"{api}/projects/{create['project']}/layout", params={"page": "run"}, json=layout)
    assert saved.status_code == 200 and saved.json()["order"] == layout["order"], saved.text
    text = (ROOT / "docs" / "api.md").read_text()
    filters = FENCE.findall(text[text.index("### Filter language") :])[0][1]
    for line in filters.splitlines():
        answered = httpx.get(f"{api}/runs", params={"filter": line})
        assert answered.status_code == 200, (line, answered.text)
    sorts = text[text.index("`sort=` is") + len("`sort=` is") :].split("\n\n")[0]
    for sort in [s for s in re.findall(r"`([-\w(), ]+)`", sorts) if re.search(r"[a-z]", s)]:
        answered = httpx.get(f"{api}/runs", params={"sort": sort})
        assert answered.status_code == 200, (sort, answered.text)


CITING = [
    *(ROOT / "server").rglob("*.py"),
    *(ROOT / "client_sdk").rglob("*.py"),
    *(ROOT / "web").rglob("*.js"),
    *(ROOT / "bench").rglob("*.py"),
    *(ROOT / "tests").rglob("*.py"),
    *(ROOT / "migrations").rglob("*.py"),
    ROOT / ".ci" / "run",
    ROOT / "Dockerfile",
    ROOT / "docker-compose.yml",
    ROOT / "pyproject.toml",
]
# The docs name files from the repo root or from the package they are in (`store/tokens.py`).
BASES = [
    ROOT,
    ROOT / "server" / "fitwatch_server",
    ROOT / "server" / "fitwatch_server" / "store",
    ROOT / "web",
    ROOT / "client_sdk",
]
DOCS = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "migrations" / "README.md"]


def test_code_comments_cite_only_docs_that_are_in_the_repo() -> None:
    missing = sorted(
        f"{path.relative_to(ROOT)}: {cited}"
        for path in CITING
        if path != Path(__file__).resolve()  # this file names docs as strings, not citations
        for cited in set(re.findall(r"(?<![\w/.-])((?:[\w-]+/)*[\w.-]+\.md)\b", path.read_text()))
        if not (ROOT / cited).exists()
    )
    assert missing == []
    # The team's notes outside the repo, also when cited without their `.md`.
    outside = sorted(
        f"{path.relative_to(ROOT)}: {found}"
        for path in CITING
        if path != Path(__file__).resolve()
        for found in set(re.findall(r"\b(?:keras|perf)-notes\b", path.read_text()))
    )
    assert outside == []


def test_the_docs_cite_only_files_that_are_in_the_repo() -> None:
    missing = sorted(
        f"{path.relative_to(ROOT)}: {cited}"
        for path in DOCS
        for cited in set(
            re.findall(
                r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|md|js|html|css|yml|toml|mako))`", path.read_text()
            )
        )
        if not any((base / cited).exists() for base in BASES + [path.parent])
    )
    assert missing == []


def test_the_readme_token_block_runs(tmp_path: Path) -> None:
    """The "Sharing a server" commands, with one change: the server listens on loopback on a
    free port (tests never bind 0.0.0.0), and the script waits for it before the token commands,
    which a person typing them does by reading the server's first line."""
    import os
    import sys

    from tests.helpers.server import free_port

    require(shutil.which("curl") is not None, "curl is not installed (apt-get install curl)")
    (block,) = [b for b in blocks(ROOT / "README.md", "bash") if "fitwatch token create" in b]
    port = free_port()
    started = f"--host 127.0.0.1 --port {port} &"
    wait = (
        "SERVER=$!; trap 'kill $SERVER' EXIT\n"
        f"until curl -s -o /dev/null http://127.0.0.1:{port}/api/v1/auth/whoami; do sleep 0.2; done\n"
    )
    assert "--host 0.0.0.0 &" in block
    script = block.replace("--host 0.0.0.0 &", started, 1).replace("\n", "\n" + wait, 1)
    env = {
        **os.environ,
        "FITWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tokens = re.findall(r"^fw_[A-Za-z0-9_-]{20,}$", done.stdout, re.MULTILINE)
    assert len(tokens) == 2, done.stdout  # each create prints its token once, on its own line
    assert "token 'ci' (id 2) revoked" in done.stderr
    after = subprocess.run(
        ["fitwatch", "token", "ls"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    rows = {line.split()[1]: line for line in after[1:]}
    assert rows["admin"].split()[2] == "admin" and rows["admin"].rstrip().endswith("active")
    assert "digits" in rows["ci"] and "revoked" in rows["ci"]
