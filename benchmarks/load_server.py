"""Load test of ``uniroute serve`` on the loopback: latency added, throughput, reloads, RSS.

Runs a stub backend that answers at once and ``uniroute serve`` (both as subprocesses on
127.0.0.1, ephemeral ports), then, from this process:

1. **direct**: open-loop requests at ``--rate`` req/s for ``--seconds`` to the stub;
2. **gateway**: the same through the gateway (``model: "uniroute"``): the added latency is
   the gateway's percentile minus the direct one (p50, p99);
3. **sweep**: rates rising until the added p99 passes 20 ms (the throughput at 20 ms);
4. **closed loop**: ``--clients`` concurrent clients as fast as they go: requests/s;
5. **reloads**: ``--reloads`` hot reloads (admin endpoint, alternating router files)
   during a ``--reload-seconds`` run at ``--rate``: failed requests must be 0;
6. **RSS**: the gateway's RSS after a warm-up and after ``--rss-requests`` more requests.

Open-loop latency is measured from each request's scheduled send time (no coordinated
omission). Every figure is written to ``--out`` (JSON); ``--table FILE.json`` prints the
Markdown table of docs/gateway.md from such a file. ``--encoder use`` is the package's
default encoder; ``--encoder hash`` a benchmark-only stand-in (see load_stub.py).

    python benchmarks/load_server.py --encoder hash --out load_hash.json
    python benchmarks/load_server.py --quick        # a bounded smoke run (CI)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "load-test-admin-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(cmd: list[str], url: str, env: dict[str, str], seconds: float = 120) -> Any:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[2:4]} exited: {proc.stderr.read()[-2000:]}")
        try:
            httpx.get(url, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{cmd} did not start in {seconds} s")


def _percentiles(lat: list[float]) -> dict[str, float]:
    a = np.asarray(lat) * 1e3
    if a.size == 0:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "n": 0}
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "n": int(a.size)}


_JSON = {"content-type": "application/json"}


def _session(clients: int) -> aiohttp.ClientSession:
    # aiohttp: the load generator must cost little CPU (it shares the 2 cores)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients),
                                 timeout=aiohttp.ClientTimeout(total=30), trust_env=False)


async def _one(client: aiohttp.ClientSession, url: str, body: bytes, t0: float,
               out: dict[str, Any]) -> None:
    try:
        async with client.post(url, data=body, headers=_JSON) as r:
            await r.read()
            ok = r.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        ok = False
    if ok:
        out["lat"].append(time.perf_counter() - t0)
    else:
        out["errors"] += 1


def _bodies(n: int) -> list[bytes]:
    from uniroute import datasets

    prompts = datasets.load("routerbench_partial").prompts
    return [json.dumps({"model": "uniroute", "messages": [
        {"role": "user", "content": prompts[i % len(prompts)]}]}).encode() for i in range(n)]


async def open_loop(url: str, bodies: list[bytes], rate: float, seconds: float,
                    clients: int) -> dict[str, Any]:
    """``rate`` req/s for ``seconds``; latency from each scheduled send time."""
    out: dict[str, Any] = {"lat": [], "errors": 0}
    async with _session(clients) as client:
        n = int(rate * seconds)
        start = time.perf_counter()
        tasks = []
        for i in range(n):
            t = start + i / rate
            delay = t - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(client, url, bodies[i % len(bodies)], t, out)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"rate": rate, "achieved_rps": len(out["lat"]) / elapsed, "errors": out["errors"],
            **_percentiles(out["lat"])}


async def closed_loop(url: str, bodies: list[bytes], clients: int, seconds: float = 0.0,
                      requests: int = 0) -> dict[str, Any]:
    """``clients`` workers back to back, for ``seconds`` or until ``requests`` are done."""
    out: dict[str, Any] = {"lat": [], "errors": 0}
    counter = iter(range(requests or 10**12))
    async with _session(clients) as client:
        start = time.perf_counter()

        async def worker() -> None:
            for i in counter:
                if seconds and time.perf_counter() - start > seconds:
                    return
                await _one(client, url, bodies[i % len(bodies)], time.perf_counter(), out)
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {"clients": clients, "requests": len(out["lat"]) + out["errors"],
            "rps": len(out["lat"]) / elapsed, "errors": out["errors"], **_percentiles(out["lat"])}


async def reload_run(base: str, bodies: list[bytes], rate: float, seconds: float, clients: int,
                     reloads: int, path: Path, variants: list[bytes]) -> dict[str, Any]:
    """Traffic at ``rate`` while the router file is swapped and reloaded ``reloads`` times."""
    async def reloader() -> dict[str, int]:
        done = {"ok": 0, "failed": 0}
        async with _session(2) as admin:
            for i in range(reloads):
                await asyncio.sleep(seconds / (reloads + 1))
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(variants[i % len(variants)])
                os.replace(tmp, path)  # atomic, as a deploy would do
                r = await admin.post(base + "/admin/reload",
                                     headers={"authorization": f"Bearer {TOKEN}"})
                async with r:
                    done["ok" if r.status == 200 else "failed"] += 1
        return done
    traffic, done = await asyncio.gather(
        open_loop(base + "/v1/chat/completions", bodies, rate, seconds, clients), reloader())
    return {**traffic, "reloads_ok": done["ok"], "reloads_failed": done["failed"]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.load_stub import build_router

    work = Path(tempfile.mkdtemp(prefix="uniroute-load-"))
    router_path = work / "router.npz"
    build_router(args.encoder).save(router_path)
    variants = [router_path.read_bytes(),
                build_router(args.encoder, cost_scale=2.0).to_bytes()]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNIROUTE_ADMIN_TOKEN": TOKEN,
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    stub_port, gw_port = _free_port(), _free_port()
    stub_url, base = f"http://127.0.0.1:{stub_port}", f"http://127.0.0.1:{gw_port}"
    from uniroute import datasets

    models = datasets.load("routerbench_partial").models
    lines = ["admin_token_env: UNIROUTE_ADMIN_TOKEN", "timeout: 30", "models:"]
    lines += [f"  {json.dumps(m)}: {{base_url: {json.dumps(stub_url + '/v1')}}}" for m in models]
    (work / "backends.yaml").write_text("\n".join(lines) + "\n")
    py = sys.executable
    stub = _start([py, "-m", "uvicorn", "benchmarks.load_stub:stub_app", "--host", "127.0.0.1",
                   "--port", str(stub_port), "--log-level", "warning", "--no-access-log"],
                  stub_url + "/v1/chat/completions", env)
    cmd = [py, "-m", "uniroute.cli", "serve", str(router_path), "--backends",
           str(work / "backends.yaml"), "--port", str(gw_port), "--log-level", "warning"]
    if args.encoder != "use":
        spec = "benchmarks.load_stub:hashing_encoder" if args.encoder == "hash" else args.encoder
        cmd += ["--encoder", spec, "--inline-decisions"]
    gateway = _start(cmd, base + "/healthz", env)
    bodies = _bodies(2000)
    chat = base + "/v1/chat/completions"
    res: dict[str, Any] = {"encoder": args.encoder, "label": args.label or args.encoder,
                           "argv": sys.argv[1:], "machine": platform.machine(),
                           "cpus": os.cpu_count(), "load_avg_start": os.getloadavg(),
                           "note": "shared machine: 2 cores, 6 helpers working in parallel"}
    try:
        asyncio.run(closed_loop(chat, bodies, args.clients, seconds=min(3.0, args.seconds)))
        res["direct"] = asyncio.run(open_loop(stub_url + "/v1/chat/completions", bodies,
                                              args.rate, args.seconds, args.clients))
        res["gateway"] = asyncio.run(open_loop(chat, bodies, args.rate, args.seconds,
                                               args.clients))
        res["added_p50_ms"] = res["gateway"]["p50_ms"] - res["direct"]["p50_ms"]
        res["added_p99_ms"] = res["gateway"]["p99_ms"] - res["direct"]["p99_ms"]
        res["sweep"] = []
        for rate in args.rates:
            d = asyncio.run(open_loop(stub_url + "/v1/chat/completions", bodies, rate,
                                      args.sweep_seconds, args.clients))
            g = asyncio.run(open_loop(chat, bodies, rate, args.sweep_seconds, args.clients))
            res["sweep"].append({"rate": rate, "direct": d, "gateway": g,
                                 "added_p99_ms": g["p99_ms"] - d["p99_ms"]})
            print(f"rate {rate}: gateway p99 {g['p99_ms']:.2f} ms, direct {d['p99_ms']:.2f} ms, "
                  f"achieved {g['achieved_rps']:.0f} req/s", flush=True)
            if g["p99_ms"] - d["p99_ms"] > 20.0 or g["achieved_rps"] < 0.9 * rate:
                break
        cpu0 = _cpu_seconds(gateway.pid), _cpu_seconds(stub.pid)
        res["closed_loop"] = asyncio.run(closed_loop(chat, bodies, args.clients,
                                                     seconds=args.seconds))
        n = res["closed_loop"]["requests"]
        # CPU time per request: what the gateway costs, less distorted by other load
        res["gateway_cpu_ms_per_request"] = 1e3 * (_cpu_seconds(gateway.pid) - cpu0[0]) / n
        res["stub_cpu_ms_per_request"] = 1e3 * (_cpu_seconds(stub.pid) - cpu0[1]) / n
        res["reload"] = asyncio.run(reload_run(base, bodies, args.reload_rate,
                                               args.reload_seconds, args.clients,
                                               args.reloads, router_path, variants))
        asyncio.run(closed_loop(chat, bodies, args.clients, requests=args.warmup))
        rss0 = _rss_mib(gateway.pid)
        res["rss_run"] = asyncio.run(closed_loop(chat, bodies, args.clients,
                                                 requests=args.rss_requests))
        res["rss_mib_after_warmup"], res["rss_mib_after"] = rss0, _rss_mib(gateway.pid)
        res["rss_growth_mib"] = res["rss_mib_after"] - rss0
        res["load_avg_end"] = os.getloadavg()
    finally:
        for proc in (gateway, stub):
            proc.terminate()
            proc.wait(timeout=30)
    return res


def table(results: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/gateway.md."""
    head = ("| encoder | added p50 / p99 at a rate (ms) | rate where added p99 > 20 ms | "
            "closed-loop req/s (errors) | gateway CPU ms/request | failed requests during "
            "reloads | RSS growth |")
    rows = [head, "|---|---|---|---|---|---|---|"]
    for r in results:
        over = [s["rate"] for s in r["sweep"] if s["added_p99_ms"] > 20.0
                or s["gateway"]["achieved_rps"] < 0.9 * s["rate"]]
        under = [s["rate"] for s in r["sweep"] if s["rate"] not in over]
        cross = (f"between {max(under) if under else 0} and {over[0]} req/s" if over
                 else f"> {r['sweep'][-1]['rate']} req/s (not reached)")
        rl = r["reload"]
        cpu = (f"{r['gateway_cpu_ms_per_request']:.2f}" if "gateway_cpu_ms_per_request" in r
               else "not recorded")
        rows.append(
            f"| {r.get('label', r['encoder'])} | {r['added_p50_ms']:.2f} / {r['added_p99_ms']:.2f} at "
            f"{r['gateway']['rate']:g} req/s ({r['gateway']['errors']} errors) | {cross} | {r['closed_loop']['rps']:.0f} "
            f"({r['closed_loop']['errors']}) | {cpu} | {rl['errors']} of {rl['n'] + rl['errors']} "
            f"({rl['reloads_ok']} reloads ok, {rl['reloads_failed']} failed) | "
            f"{r['rss_growth_mib']:+.1f} MiB over {r['rss_run']['requests']} requests |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--encoder", default="hash",
                   help="use (the default encoder), hash (the benchmark-only stand-in) or "
                        "package.module:name (any encoder, e.g. a faster one)")
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--sweep-seconds", type=float, default=8.0)
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                   default=[100, 200, 300, 400, 600, 800, 1000, 1300, 1600])
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--reloads", type=int, default=100)
    p.add_argument("--reload-seconds", type=float, default=60.0)
    p.add_argument("--reload-rate", type=float, default=100.0)
    p.add_argument("--warmup", type=int, default=5000)
    p.add_argument("--rss-requests", type=int, default=100_000)
    p.add_argument("--label", default=None, help="row name in the table (default: encoder)")
    p.add_argument("--quick", action="store_true", help="small bounded run (CI smoke)")
    p.add_argument("--out", default=None, help="write the results as JSON")
    p.add_argument("--table", nargs="+", default=None, metavar="RESULTS.json",
                   help="print the Markdown table from result files and exit")
    args = p.parse_args()
    if args.table:
        print(table([json.loads(Path(f).read_text()) for f in args.table]))
        return
    if args.quick:
        args.seconds, args.sweep_seconds, args.rates = 2.0, 1.0, [50.0, 100.0]
        args.reloads, args.reload_seconds, args.reload_rate = 5, 3.0, 50.0
        args.warmup, args.rss_requests, args.clients, args.rate = 100, 500, 8, 50.0
    res = run(args)
    text = json.dumps(res, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    print(table([res]))
    failed = res["reload"]["errors"] + res["gateway"]["errors"] + res["closed_loop"]["errors"]
    sys.exit(1 if failed or res["reload"]["reloads_failed"] else 0)


if __name__ == "__main__":
    main()
