#!/usr/bin/env python3
"""Modbus TCP test peer for mimic's integration tests.

Usage:
    modbus_server.py --port 0 --map tests/peers/typed_map.json [--mode MODE] [--unit N]
                     [--delay-ms MS]
                     [--writes accept|reject|ignore|die]

Prints exactly one line ``READY <port>`` on stdout once listening, then serves
until SIGTERM/SIGINT (clean exit, status 0).

Modes:
    normal     serves the map (pymodbus). Addresses inside the map's
               "exception_ranges" answer Modbus exception 2 (illegal data
               address); everything else answers normally, on the same
               connection.
    exception  (pymodbus) every request answers exception 2.
    close      plain TCP: accepts, then closes the socket when a request arrives.
    silent     plain TCP: accepts and reads requests but never answers.
    slow       like normal, but every read is answered only after --delay-ms
               (a device near the client's timeout).
    pipeline   serves the map with pyModbusTCP instead of pymodbus: it takes
               the requests off the stream one frame at a time, so several
               requests sent before their answers (pipelined, told apart by
               transaction id) are each answered, in order. pymodbus 3.16
               answers only the first frame of such a burst. Exception ranges
               as in normal mode; writes are accepted.
    garbage    plain TCP: answers every request with garbage: random bytes, a
               frame echoing the transaction id whose PDU contradicts its own
               lengths, or a header with a wrong protocol id (in turn).

Register space served in normal mode, per table: every address from 0 up to
(highest address used by a point or an exception range) + 16 is valid; the
ones no point covers read 0 (False for bits). Addresses past that end answer
exception 2. Writes are accepted (except in exception ranges).

--illegal-function TABLES (pymodbus modes; comma-separated hr, ir, coil, di): reads
of these tables answer exception 1 (illegal function), as from a device that
has no such table.

Writes (pymodbus modes, --writes; default accept):
    accept     writes land in the served map and read back as written.
    reject     every write request answers exception 3 (illegal data value).
    ignore     writes are acknowledged normally, but the registers keep their
               old values (a device that silently keeps the old value).
    die        nothing is acknowledged: on the first write request the server
               closes every connection and exits (status 0), so the outcome of
               that write is unknown to the client.

The value -> register encoding is defined in typed_map.json's "comment";
``encode_point`` below implements exactly that definition. When a point
carries a "registers" list, the server checks its own encoding against it at
start-up and refuses to start on a mismatch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import struct
import sys
import threading

from peer_exit import exit_cleanly_on_signals

# Size in bytes and struct code of each numeric type (big-endian packing).
NUMERIC = {
    "u16": (2, "H"),
    "i16": (2, "h"),
    "u32": (4, "I"),
    "i32": (4, "i"),
    "f32": (4, "f"),
    "f64": (8, "d"),
}
ORDERS_16 = ("AB", "BA")
ORDERS_WIDE = ("ABCD", "CDAB", "BADC", "DCBA")
TABLES = ("hr", "ir", "coil", "di")


class MapError(Exception):
    """The map file is inconsistent."""


def encode_numeric(typ: str, order: str, value) -> list[int]:
    """Encode an engineering value into register words (ints 0..0xFFFF).

    Start from the big-endian bytes of the value (A = most significant byte)
    and split them into 16-bit words W0, W1, ... (each word = two bytes, the
    first byte being the high byte of the register).
      AB / ABCD : words in big-endian order, bytes as they are.
      BA / BADC : words in big-endian order, the two bytes of each word swapped.
      CDAB      : word order reversed, bytes within each word as they are.
      DCBA      : word order reversed and bytes of each word swapped
                  (= all bytes reversed = little-endian).
    """
    size, code = NUMERIC[typ]
    if typ.startswith(("u", "i")):
        if not isinstance(value, int) or isinstance(value, bool):
            raise MapError(f"{typ} value must be an integer, got {value!r}")
    elif not isinstance(value, (int, float)) or isinstance(value, bool):
        raise MapError(f"{typ} value must be a number, got {value!r}")
    if typ == "f32" and struct.unpack(">f", struct.pack(">f", value))[0] != value:
        raise MapError(f"f32 value {value!r} is not exactly representable in f32")
    try:
        raw = struct.pack(">" + code, value)
    except struct.error as exc:
        raise MapError(f"{typ} value {value!r}: {exc}") from exc
    words = [raw[i : i + 2] for i in range(0, size, 2)]
    allowed = ORDERS_16 if size == 2 else ORDERS_WIDE
    if order not in allowed:
        raise MapError(f"order {order!r} is not valid for {typ} (use one of {allowed})")
    if order in ("CDAB", "DCBA"):
        words.reverse()
    if order in ("BA", "BADC", "DCBA"):
        words = [w[::-1] for w in words]
    return [int.from_bytes(w, "big") for w in words]


def point_words(point: dict) -> int:
    """Number of registers (or bits) a point occupies."""
    if point["type"] == "bool":
        return 1
    return NUMERIC[point["type"]][0] // 2


def load_map(path: str):
    """Read the map; return ({table: {address: value}}, {table: [(lo, hi)]})."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    cells: dict[str, dict[int, int | bool]] = {t: {} for t in TABLES}
    owner: dict[tuple[str, int], str] = {}
    for p in doc["points"]:
        name, table, addr, typ = p["name"], p["table"], p["address"], p["type"]
        if table not in TABLES:
            raise MapError(f"{name}: unknown table {table!r}")
        if not isinstance(addr, int) or not 0 <= addr <= 65535:
            raise MapError(f"{name}: bad address {addr!r}")
        if table in ("coil", "di"):
            if typ != "bool" or not isinstance(p["value"], bool):
                raise MapError(f"{name}: {table} points must be bool with a bool value")
            if (table, addr) in owner:
                raise MapError(f"{name} overlaps {owner[(table, addr)]}")
            owner[(table, addr)] = name
            cells[table][addr] = p["value"]
            continue
        if typ == "bool":
            bit = p["bit"]
            if not isinstance(bit, int) or not 0 <= bit <= 15:
                raise MapError(f"{name}: bit must be 0..15")
            if not isinstance(p["value"], bool):
                raise MapError(f"{name}: bool value must be true/false")
            prev = owner.get((table, addr))
            if prev is not None and not prev.startswith("bits:"):
                raise MapError(f"{name} overlaps {prev}")
            owner[(table, addr)] = "bits:" + name
            word = cells[table].get(addr, 0)
            if p["value"]:
                word |= 1 << bit
            cells[table][addr] = word
            words = [word]  # checked below only for single-bit registers
        else:
            if typ not in NUMERIC:
                raise MapError(f"{name}: unknown type {typ!r}")
            words = encode_numeric(typ, p["order"], p["value"])
            for i, w in enumerate(words):
                key = (table, addr + i)
                if key in owner:
                    raise MapError(f"{name} overlaps {owner[key]}")
                owner[key] = name
                cells[table][addr + i] = w
        expected = p.get("registers")
        if expected is not None and typ != "bool":
            want = [int(x, 16) if isinstance(x, str) else x for x in expected]
            if want != words:
                got = ", ".join(f"0x{w:04X}" for w in words)
                raise MapError(f"{name}: encoder gives [{got}] but map says {expected}")
    ranges: dict[str, list[tuple[int, int]]] = {t: [] for t in TABLES}
    for r in doc.get("exception_ranges", []):
        lo, hi = r["start"], r["end"]
        if r["table"] not in TABLES or not 0 <= lo <= hi <= 65535:
            raise MapError(f"bad exception range {r!r}")
        ranges[r["table"]].append((lo, hi))
    return cells, ranges


READ_FUNCTION = {"coil": 1, "di": 2, "hr": 3, "ir": 4}


def build_device(
    cells,
    ranges,
    unit: int,
    all_exception: bool,
    writes: str = "accept",
    delay_s: float = 0.0,
    no_tables: tuple[str, ...] = (),
):
    """Build the pymodbus (3.16 SimData/SimDevice API) device."""
    from pymodbus.constants import ExcCodes
    from pymodbus.simulator import DataType, SimData, SimDevice

    def blocks(table: str, bits: bool) -> list:
        used = list(cells[table]) + [hi for _, hi in ranges[table]]
        end = (max(used) if used else 0) + 16
        if bits:  # bit blocks are laid out 16 bits per register
            end = (end // 16 + 1) * 16 - 1
        bad = set()
        for lo, hi in ranges[table]:
            bad.update(range(lo, hi + 1))
        out, run, run_start = [], [], None
        for addr in range(end + 1):
            if addr in bad:
                if run:
                    out.append((run_start, run))
                run, run_start = [], None
                continue
            if run_start is None:
                run_start = addr
            run.append(cells[table].get(addr, False if bits else 0))
        if run:
            out.append((run_start, run))
        kind = DataType.BITS if bits else DataType.REGISTERS
        return [SimData(a, values=[bool(v) for v in vals] if bits else vals, datatype=kind)
                for a, vals in out]

    refused_functions = {READ_FUNCTION[t] for t in no_tables}

    async def action(function_code, _start, _address, _count, current_registers, set_values):
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if all_exception:
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code in refused_functions:
            return ExcCodes.ILLEGAL_FUNCTION
        if set_values is None:
            # a read (also the read-back a write function does after writing)
            return None
        if writes == "reject":
            return ExcCodes.ILLEGAL_VALUE
        if writes == "die":
            print("modbus_server: write received, dying (--writes die)", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(0)  # closes the listener and every connection; no answer is sent
        if writes == "ignore":
            # pymodbus applies the write right after this returns (no await in
            # between); put the old block back before the next request is served.
            kept = list(current_registers)

            def restore() -> None:
                current_registers[:] = kept

            asyncio.get_running_loop().call_soon(restore)
        return None

    plain = not all_exception and writes == "accept" and delay_s <= 0 and not refused_functions
    return SimDevice(
        id=unit,
        simdata=(blocks("coil", True), blocks("di", True), blocks("hr", False), blocks("ir", False)),
        action=None if plain else action,
    )


def ready(port: int) -> None:
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()


def stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve_pymodbus(args) -> None:
    from pymodbus.server import ModbusTcpServer

    cells, ranges = load_map(args.map)
    delay_s = args.delay_ms / 1000.0 if args.mode == "slow" else 0.0
    no_tables = tuple(t for t in args.illegal_function.split(",") if t)
    device = build_device(cells, ranges, args.unit, args.mode == "exception", args.writes, delay_s, no_tables)
    stop = stop_event()
    server = ModbusTcpServer(device, address=(args.host, args.port))
    await server.serve_forever(background=True)
    port = server.transport.sockets[0].getsockname()[1]
    ready(port)
    await stop.wait()
    await server.shutdown()


def serve_pymodbustcp(args) -> None:
    """`--mode pipeline`: the map served by pyModbusTCP (threaded, blocking sockets)."""
    from pyModbusTCP.constants import EXP_DATA_ADDRESS
    from pyModbusTCP.server import DataBank, DataHandler, ModbusServer

    cells, ranges = load_map(args.map)
    bank = DataBank()
    for addr, v in cells["coil"].items():
        bank.set_coils(addr, [bool(v)])
    for addr, v in cells["di"].items():
        bank.set_discrete_inputs(addr, [bool(v)])
    for addr, v in cells["hr"].items():
        bank.set_holding_registers(addr, [v])
    for addr, v in cells["ir"].items():
        bank.set_input_registers(addr, [v])

    def refused(table: str, address: int, count: int) -> bool:
        return any(address <= hi and lo <= address + count - 1 for lo, hi in ranges[table])

    class Handler(DataHandler):
        """Reads touching an exception range answer illegal data address."""

    def guard(read: str, table: str):
        def guarded(self, address, count, srv_info):
            if refused(table, address, count):
                return DataHandler.Return(exp_code=EXP_DATA_ADDRESS)
            return getattr(DataHandler, read)(self, address, count, srv_info)

        return guarded

    for read, table in (("read_coils", "coil"), ("read_d_inputs", "di"), ("read_h_regs", "hr"), ("read_i_regs", "ir")):
        setattr(Handler, read, guard(read, table))

    server = ModbusServer(host=args.host, port=args.port, no_block=True, data_hdl=Handler(bank))
    server.start()
    ready(server._service.server_address[1])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _s, _f: stop.set())
    stop.wait()
    server.stop()


def garbage_answer(request: bytes, n: int, rng: random.Random) -> bytes:
    """The n-th garbage answer to `request` (three kinds in turn)."""
    tid = request[:2] if len(request) >= 2 else b"\x00\x00"
    kind = n % 3
    if kind == 0:  # noise
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 1:  # right header, PDU claims 10 bytes of data but carries 3
        pdu = bytes([3, 10, 1, 2, 3])
        return tid + b"\x00\x00" + struct.pack(">H", len(pdu) + 1) + bytes([request[6] if len(request) > 6 else 1]) + pdu
    # wrong protocol id, absurd length
    return tid + b"\xde\xad\xff\xff" + bytes(rng.randrange(256) for _ in range(8))


async def serve_raw(args) -> None:
    conns: set[asyncio.StreamWriter] = set()
    rng = random.Random(1234)
    answered = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        conns.add(writer)
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                if args.mode == "close":
                    break
                if args.mode == "garbage":
                    writer.write(garbage_answer(data, answered, rng))
                    answered += 1
                    await writer.drain()
                # silent: swallow the request, never answer
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            conns.discard(writer)
            writer.close()

    stop = stop_event()
    server = await asyncio.start_server(handle, args.host, args.port)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()
    for w in list(conns):
        w.close()


def main() -> int:
    # Clean exit even when killed during the (slow) pymodbus import / start-up;
    # the asyncio loop installs its own handlers once serving.
    exit_cleanly_on_signals()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port, 0 = pick a free one")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--map", required=True, help="typed map JSON")
    ap.add_argument(
        "--mode",
        choices=("normal", "exception", "close", "silent", "slow", "garbage", "pipeline"),
        default="normal",
    )
    ap.add_argument("--delay-ms", type=int, default=400, help="answer delay of --mode slow (default 400)")
    ap.add_argument("--unit", type=int, default=1, help="Modbus unit id served (default 1)")
    ap.add_argument(
        "--writes",
        choices=("accept", "reject", "ignore", "die"),
        default="accept",
        help="how writes are answered in the pymodbus modes (default accept)",
    )
    ap.add_argument(
        "--illegal-function",
        default="",
        help="comma-separated tables (hr, ir, coil, di) whose reads answer exception 1",
    )
    args = ap.parse_args()
    bad = [t for t in args.illegal_function.split(",") if t and t not in READ_FUNCTION]
    if bad:
        print(f"modbus_server: unknown table(s) in --illegal-function: {bad}", file=sys.stderr)
        return 2
    try:
        load_map(args.map)  # validate in every mode
    except (OSError, ValueError, KeyError, MapError) as exc:
        print(f"modbus_server: bad map {args.map}: {exc!r}", file=sys.stderr)
        return 2
    if args.mode == "pipeline":
        serve_pymodbustcp(args)
        return 0
    runner = serve_raw if args.mode in ("close", "silent", "garbage") else serve_pymodbus
    asyncio.run(runner(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
