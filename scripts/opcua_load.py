#!/usr/bin/env python3
"""OPC UA subscription load on mimic's own server (issue 16's target: 10,000 tags served,
5 clients each subscribed to 2,000 items at 1 s; the daemon's extra <= 3 % of a core and
<= 30 MiB).

Starts `mimic sim --units 100` and `mimic run` on a site of 10,000 tags (100 Modbus TCP
devices x 100 tags at 1 Hz, the layout of scripts/soak.sh) with an `[opcua_server]`
(security none, anonymous viewers), lets the daemon settle, and measures the daemon
alone (CPU from utime + stime in /proc as % of one core, RSS sampled every second)
over a window without clients; then starts the asyncua clients (each its own process,
each subscribed to its own 2,000 tags: sampling 1 s, publishing 1 s, created in calls
of 1,000), lets them settle, and measures the same window again. Prints both and the
difference, and the notifications the clients received.

    MIMIC_PYTHON=.venv/bin/python; $MIMIC_PYTHON scripts/opcua_load.py \
        [--bin target/release/mimic] [--clients 5] [--items 2000] [--window 60] \
        [--settle 30] [--out DIR] [--no-server]

With --no-server the site has no [opcua_server] and only the first window is measured
(what the served address space itself costs).

With --tags N (a multiple of 100) the site is the demo plant's instead, N/100 pump skids
of 100 tags each from `mimic sim --units N/100 --emit-site` (what scripts/scale.sh runs),
and only the window without clients is measured: the memory and CPU of serving N tags.
Run it with and without --no-server to get what the server costs per tag:

    $MIMIC_PYTHON scripts/opcua_load.py --tags 50000 [--no-server] [--window 60] [--settle 60]

The python running it needs asyncua (the test venv). The daemon's log and the site go
to DIR (default: a temporary folder, removed afterwards). The machine's load average is
printed at each measurement: CPU figures on a busy machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_NAME = "opcua load"
NS_URI = "urn:mimic:opcua-load"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tag_name(i: int) -> str:
    return f"D{i // 100 + 1:03d}.T{i % 100:03d}"


def site_text(sim_port: int, ua_port: int | None, data: Path) -> str:
    out = [f'[site]\nname = "{SITE_NAME}"\ndata_dir = "{data}"\n']
    for d in range(1, 101):
        out.append(
            f'[[device]]\nname = "plc{d:03d}"\nprotocol = "modbus-tcp"\nendpoint = "127.0.0.1:{sim_port}"\n'
            f'unit = {d}\npoll = "1s"\ntimeout = "1s"\n'
        )
        for k in range(100):
            addr = 32 + k if k < 96 else k - 96
            out.append(
                f'[[tag]]\nname = "D{d:03d}.T{k:03d}"\ndevice = "plc{d:03d}"\naddress = "ir:{addr}"\nscale = 0.1\n'
            )
    if ua_port is None:
        return "\n".join(out)
    out.append(
        f'[opcua_server]\nbind = "127.0.0.1:{ua_port}"\nsecurity = ["none"]\nanonymous = "viewer"\n'
        "max_sessions = 20\nmax_monitored_items = 10000\n"
    )
    return "\n".join(out)


def usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used, RSS kB) of a process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return cpu, rss


def measure(pid: int, window: float) -> dict:
    cpu0, _ = usage(pid)
    t0 = time.monotonic()
    rss = []
    while time.monotonic() - t0 < window:
        time.sleep(1.0)
        rss.append(usage(pid)[1])
    cpu1, _ = usage(pid)
    elapsed = time.monotonic() - t0
    return {
        "cpu_pct": (cpu1 - cpu0) * 100.0 / elapsed,
        "rss_mib": sum(rss) / len(rss) / 1024.0,
        "rss_max_mib": max(rss) / 1024.0,
        "load": os.getloadavg()[0],
        "seconds": elapsed,
    }


async def client(url: str, first: int, count: int, seconds: float) -> None:
    """One subscriber: `count` tags from `first`, 1 s sampling and publishing."""
    from asyncua import Client, ua

    class Count:
        n = 0

        def datachange_notification(self, node, val, data):
            Count.n += 1

    c = Client(url, timeout=60)
    await c.connect()
    ns = await c.get_namespace_index(NS_URI)
    sub = await c.create_subscription(1000, Count())
    nodes = [c.get_node(ua.NodeId(tag_name(i), ns)) for i in range(first, first + count)]
    bad = 0
    for i in range(0, len(nodes), 1000):
        got = await sub.subscribe_data_change(nodes[i : i + 1000], sampling_interval=1000, queuesize=1)
        bad += sum(1 for g in got if isinstance(g, ua.StatusCode))
    print(json.dumps({"ready": True, "bad_items": bad}), flush=True)
    start, n0 = time.monotonic(), Count.n
    await asyncio.sleep(seconds)
    rate = (Count.n - n0) / (time.monotonic() - start)
    print(json.dumps({"notifications_per_s": rate}), flush=True)
    await c.disconnect()


def wait_port(port: int, limit: float) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"opcua_load: nothing listens on {port} after {limit:.0f} s")


def line(name: str, m: dict) -> str:
    return (
        f"{name}: daemon CPU {m['cpu_pct']:.2f} % of one core, RSS mean {m['rss_mib']:.1f} MiB "
        f"(max {m['rss_max_mib']:.1f}) over {m['seconds']:.0f} s; load average {m['load']:.2f}"
    )


def start_daemon(args, site: Path, data: Path, out: Path) -> subprocess.Popen:
    log = open(out / "daemon.log", "wb")
    return subprocess.Popen(
        [args.bin, "run", str(site), "--data", str(data)],
        stdout=log,
        stderr=log,
        env={**os.environ, "MIMIC_LOG": "warn"},
    )


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def run_plant(args, out: Path) -> None:
    """--tags: the demo plant's site from the simulator; the daemon alone, no client."""
    site, data = out / "site.toml", out / "data"
    procs: list[subprocess.Popen] = []
    try:
        sim_log = open(out / "sim.log", "wb")
        cmd = [args.bin, "sim", "--port", "0", "--units", str(args.tags // 100), "--emit-site", str(site)]
        procs.append(subprocess.Popen(cmd, stdout=sim_log, stderr=sim_log))
        end = time.monotonic() + 60
        while not (site.exists() and b"site file" in (out / "sim.log").read_bytes()):
            if time.monotonic() > end or procs[0].poll() is not None:
                sys.exit("opcua_load: no site file from the simulator (see sim.log)")
            time.sleep(0.2)
        ua_port = free_port()
        if not args.no_server:
            with open(site, "a") as f:
                f.write(
                    f'\n[opcua_server]\nbind = "127.0.0.1:{ua_port}"\nsecurity = ["none"]\n'
                    'anonymous = "viewer"\nmax_sessions = 20\nmax_monitored_items = 10000\n'
                )
        daemon = start_daemon(args, site, data, out)
        procs.append(daemon)
        if not args.no_server:
            wait_port(ua_port, 120)
        name = f"{args.tags} tags, " + ("without the OPC UA server" if args.no_server else "with the OPC UA server, no client")
        print(f"opcua_load: {name}; daemon pid {daemon.pid}; settling {args.settle} s", flush=True)
        time.sleep(args.settle)
        print(line(name, measure(daemon.pid, args.window)), flush=True)
    finally:
        stop(procs)


def run(args, out: Path) -> None:
    if args.tags:
        run_plant(args, out)
        return
    sim_port, ua_port = free_port(), free_port()
    data = out / "data"
    site = out / "site.toml"
    site.write_text(site_text(sim_port, None if args.no_server else ua_port, data))
    procs: list[subprocess.Popen] = []
    try:
        sim = subprocess.Popen(
            [args.bin, "sim", "--port", str(sim_port), "--units", "100"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(sim)
        wait_port(sim_port, 30)
        daemon = start_daemon(args, site, data, out)
        procs.append(daemon)
        if args.no_server:
            time.sleep(args.settle)
            print(line("without the OPC UA server", measure(daemon.pid, args.window)), flush=True)
            return
        wait_port(ua_port, 60)
        print(f"opcua_load: daemon pid {daemon.pid}, OPC UA on {ua_port}; settling {args.settle} s", flush=True)
        time.sleep(args.settle)
        without = measure(daemon.pid, args.window)
        print(line("without clients", without), flush=True)

        url = f"opc.tcp://127.0.0.1:{ua_port}/"
        seconds = args.settle + args.window + 5
        clients = []
        for k in range(args.clients):
            cmd = [sys.executable, __file__, "--client", url, str(k * args.items), str(args.items), str(seconds)]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            procs.append(p)
            clients.append(p)
        for p in clients:
            ready = json.loads(p.stdout.readline() or "{}")
            if not ready.get("ready"):
                sys.exit("opcua_load: a client did not subscribe")
            if ready["bad_items"]:
                sys.exit(f"opcua_load: a client had {ready['bad_items']} items refused")
        print(f"opcua_load: {args.clients} clients x {args.items} items subscribed; settling {args.settle} s", flush=True)
        time.sleep(args.settle)
        loaded = measure(daemon.pid, args.window)
        print(line(f"with {args.clients} clients", loaded), flush=True)
        rates = [json.loads(p.stdout.readline() or "{}").get("notifications_per_s", 0.0) for p in clients]
        print(
            f"extra: CPU {loaded['cpu_pct'] - without['cpu_pct']:+.2f} % of one core, "
            f"RSS {loaded['rss_mib'] - without['rss_mib']:+.1f} MiB "
            f"(max {loaded['rss_max_mib'] - without['rss_max_mib']:+.1f}); "
            f"notifications received {sum(rates):.0f}/s ({', '.join(f'{r:.0f}' for r in rates)})",
            flush=True,
        )
    finally:
        stop(procs)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, first, count, seconds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
        asyncio.run(client(url, first, count, seconds))
        return 0
    p = argparse.ArgumentParser(description="OPC UA subscription load on mimic's server")
    p.add_argument("--bin", default=str(ROOT / "target" / "release" / "mimic"))
    p.add_argument("--clients", type=int, default=5)
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=30.0)
    p.add_argument("--out")
    p.add_argument("--no-server", action="store_true", help="the same site without [opcua_server], for comparison")
    p.add_argument("--tags", type=int, help="the demo plant's site of this many tags, no client (memory per tag)")
    args = p.parse_args()
    if args.tags is not None and (args.tags < 100 or args.tags % 100):
        sys.exit("opcua_load: --tags wants a multiple of 100")
    if args.clients * args.items > 10_000:
        sys.exit("opcua_load: the site has 10,000 tags")
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"opcua_load: {args.bin} is not an executable (cargo build --release)")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        run(args, out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
