"""Read what a server stored over its REST API (NaN/Inf names decoded)."""

from __future__ import annotations

import math
from typing import Any

import httpx

from fitwatch.codec import decode_value


class Stored:
    """Reads a run back over the REST API, decoding the NaN/Inf names."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=10.0, headers=headers)

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(f"/runs/{run_id}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def run_or_none(self, run_id: str) -> dict[str, Any] | None:
        """The run, or None while the sender has not created it yet."""
        response = self.http.get(f"/runs/{run_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def series_counts(self, run_id: str) -> dict[tuple[str, str], int]:
        response = self.http.get(f"/runs/{run_id}")
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        return {(s["key"], s["scope"]): s["count"] for s in response.json()["series"] or []}

    def points(self, run_id: str, key: str, scope: str) -> dict[int, float]:
        response = self.http.get(f"/runs/{run_id}/series/{key}", params={"scope": scope})
        response.raise_for_status()
        body = response.json()
        assert not body["downsampled"]
        return {step: _decode(v) for step, v in zip(body["steps"], body["values"], strict=True)}

    def series(self, run_id: str, key: str, scope: str) -> dict[str, Any]:
        response = self.http.get(f"/runs/{run_id}/series/{key}", params={"scope": scope})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self.http.close()


_decode = decode_value  # the one codec (client_sdk/fitwatch/codec.py)


def same(a: float, b: float) -> bool:
    """Equality that treats NaN as equal to NaN (a NaN loss is data)."""
    return (math.isnan(a) and math.isnan(b)) or a == b
