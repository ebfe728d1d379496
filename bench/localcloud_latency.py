"""Request latency of the local cloud's Cloud Files on two HTTP stacks: h11 and httptools.

The local cloud serves with uvicorn's httptools parser (``localcloud/httpserver.py``)
because h11 refuses requests Swift accepts.  This measures what that costs or saves:
sequential requests over one keep-alive connection (httpx), per request kind, after a
warm-up, rounds alternating between the stacks.

    .venv/bin/python bench/localcloud_latency.py --requests 400 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable

import httpx
import uvicorn

from cloudimages.localcloud import LocalCloud, LocalCloudSettings
from cloudimages.localcloud.httpserver import SwiftTolerantProtocol

STACKS: dict[str, object] = {
    "h11": "h11",
    "httptools (SwiftTolerantProtocol)": SwiftTolerantProtocol,
}


class _CloudOn(LocalCloud):
    """The local cloud with another uvicorn HTTP protocol."""

    def __init__(self, http: object, settings: LocalCloudSettings) -> None:
        super().__init__(settings)
        self._http = http

    def _prepare(self) -> uvicorn.Server:
        server = super()._prepare()
        server.config.http = self._http  # type: ignore[assignment]  # read when it runs
        return server


def _login(cloud: LocalCloud) -> tuple[str, dict[str, str]]:
    body = {
        "auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "alice", "apiKey": "alice-api-key"}}
    }
    access = httpx.post(f"{cloud.identity_url}/tokens", json=body).json()["access"]
    files = next(s for s in access["serviceCatalog"] if s["type"] == "object-store")
    url = next(e["publicURL"] for e in files["endpoints"] if e["region"] == "DFW")
    return url, {"X-Auth-Token": access["token"]["id"]}


def _kinds(http: httpx.Client, url: str) -> dict[str, Callable[[], httpx.Response]]:
    small, big = os.urandom(1024), os.urandom(1024 * 1024)
    http.put(f"{url}/bench")
    http.put(f"{url}/bench/small", content=small)
    http.put(f"{url}/bench/big", content=big)
    return {
        "HEAD object": lambda: http.head(f"{url}/bench/small"),
        "GET 1 KiB": lambda: http.get(f"{url}/bench/small"),
        "PUT 1 KiB": lambda: http.put(f"{url}/bench/put", content=small),
        "GET 1 MiB": lambda: http.get(f"{url}/bench/big"),
        "GET listing": lambda: http.get(f"{url}/bench", params={"format": "json"}),
    }


def measure(stack: object, requests: int) -> dict[str, list[float]]:
    """Per kind, the wall time of each request in milliseconds."""
    with (
        tempfile.TemporaryDirectory() as data,
        _CloudOn(stack, LocalCloudSettings(data_dir=data)) as cloud,
    ):
        url, headers = _login(cloud)
        with httpx.Client(headers=headers, timeout=30) as http:
            kinds = _kinds(http, url)
            out: dict[str, list[float]] = {}
            for name, call in kinds.items():
                for _ in range(20):  # warm-up
                    call()
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    response = call()
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code < 300, (name, response.status_code)
                out[name] = times
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}  load {os.getloadavg()}  Python {platform.python_version()}")
    print(
        f"uvicorn {uvicorn.__version__}  {args.rounds} rounds x {args.requests} requests per kind"
    )
    results: dict[str, dict[str, list[float]]] = {name: {} for name in STACKS}
    for round_no in range(args.rounds):
        order = list(STACKS) if round_no % 2 == 0 else list(reversed(STACKS))
        for name in order:
            for kind, times in measure(STACKS[name], args.requests).items():
                results[name].setdefault(kind, []).extend(times)
    print("\n| request | stack | median ms | p95 ms | mean ms |\n|---|---|---:|---:|---:|")
    for kind in next(iter(results.values())):
        for name in STACKS:
            times = sorted(results[name][kind])
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"| {kind} | {name} | {statistics.median(times):.2f} | {p95:.2f} "
                f"| {statistics.fmean(times):.2f} |"
            )


if __name__ == "__main__":
    main()
