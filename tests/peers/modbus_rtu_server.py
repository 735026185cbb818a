#!/usr/bin/env python3
"""Modbus RTU serial test peer (pymodbus RTU framer) for mimic's integration tests.

Usage:
    modbus_rtu_server.py --device PATH [--baud 19200] [--units 1,2] [--garbage-unit N]

Serves several units on one serial port (normally one end of a socat pty pair):
unit U answers holding and input registers 0..31, where register i holds
U * 100 + i; coil i is on when i is odd. Requests for units not listed get no
answer at all (a silent unit on the line).

--garbage-unit N: unit N is served too, but its answers cycle through four
variants: valid; CRC corrupted; three garbage bytes then the valid frame; pure
junk of the same length. So one answer in four is clean, one is recoverable
(a valid frame behind noise) and two are unusable.

Prints ``READY 0`` on stdout once the port is open, then serves until
SIGTERM/SIGINT (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from peer_exit import exit_cleanly_on_signals


def build_devices(units: list[int]):
    from pymodbus.simulator import DataType, SimData, SimDevice

    devices = []
    for u in units:
        regs = [u * 100 + i for i in range(32)]
        coils = [bool(i % 2) for i in range(32)]
        devices.append(
            SimDevice(
                id=u,
                simdata=(
                    [SimData(0, values=coils, datatype=DataType.BITS)],
                    [SimData(0, values=coils, datatype=DataType.BITS)],
                    [SimData(0, values=regs, datatype=DataType.REGISTERS)],
                    [SimData(0, values=regs, datatype=DataType.REGISTERS)],
                ),
            )
        )
    return devices


def corrupter(units: list[int], garbage_unit: int | None):
    state = {"n": 0}

    def trace(sending: bool, data: bytes) -> bytes:
        if not sending or not data:
            return data
        if data[0] not in units:
            # pymodbus answers a unit it does not serve with exception 4; a real
            # multi-drop line has nobody there: stay silent.
            return b""
        if garbage_unit is None or data[0] != garbage_unit:
            return data
        variant = state["n"] % 4
        state["n"] += 1
        if variant == 1:
            return data[:-1] + bytes([data[-1] ^ 0x5A])
        if variant == 2:
            return b"\x00\xff\x13" + data
        if variant == 3:
            return bytes((0xA5 + 7 * i) & 0xFF for i in range(len(data)))
        return data

    return trace


async def serve(args) -> None:
    from pymodbus.framer import FramerType
    from pymodbus.server import ModbusSerialServer

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # a silent unit is not an error here
    units = [int(u) for u in args.units.split(",") if u]
    if args.garbage_unit is not None and args.garbage_unit not in units:
        units.append(args.garbage_unit)
    server = ModbusSerialServer(
        build_devices(units),
        framer=FramerType.RTU,
        port=args.device,
        baudrate=args.baud,
        bytesize=8,
        parity="N",
        stopbits=1,
        ignore_missing_devices=True,
        trace_packet=corrupter(units, args.garbage_unit),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.serve_forever(background=True)
    sys.stdout.write("READY 0\n")
    sys.stdout.flush()
    await stop.wait()
    await server.shutdown()


def main() -> int:
    exit_cleanly_on_signals()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", required=True, help="serial device path (e.g. a socat pty link)")
    ap.add_argument("--baud", type=int, default=19200)
    ap.add_argument("--units", default="1", help="comma-separated unit ids served normally")
    ap.add_argument("--garbage-unit", type=int, default=None, help="unit whose answers are corrupted")
    args = ap.parse_args()
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
