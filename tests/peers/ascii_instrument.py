#!/usr/bin/env python3
"""Line-based ASCII instrument test peer (pyserial) for mimic's integration tests.

Usage:
    ascii_instrument.py --device PATH --kind scale|gas [--period 0.1]

scale: a weigh scale matching profiles/instruments/weigh-scale.toml. It answers
       each "Q" + CRLF command with the next line of SCALE_SCRIPT (cycling).
gas:   a gas analyser matching profiles/instruments/gas-analyser.toml. It sends
       the next line of GAS_SCRIPT every --period seconds, unasked (cycling).

Both scripts mix good lines with damaged ones: truncated, run together (a line
whose terminator was lost), with control bytes (an ANSI escape), over-long,
and lines whose flags make the reading Uncertain or Bad. The script positions
are fixed so that tests can tell exactly what was sent.

Prints ``READY 0`` once the port is open; SIGTERM/SIGINT exit 0.
"""

from __future__ import annotations

import argparse
import sys
import time

from peer_exit import exit_cleanly_on_signals

SCALE_SCRIPT = [
    b"ST,GS,+0012.34 kg\r\n",
    b"ST,GS,+0012.35 kg\r\n",
    b"ST,GS,+00\r\n",  # truncated
    b"US,GS,+0012.40 kg\r\n",  # unstable -> Uncertain
    b"ST,GS,+0012\x1b[2J.36 kg\r\n",  # control bytes inside
    b"ST,GS,+0012.37 kgST,GS,+0012.37 kg\r\n",  # run together
    b"ST,NT,+0012.38 kg\r\n",
    b"X" * 90 + b"\r\n",  # over-long
    b"OL,GS,+9999.99 kg\r\n",  # overload -> Bad (device flag)
    b"ST,GS,-0000.50 kg\r\n",
]

GAS_SCRIPT = [
    b"CO2=  412.5ppm O2=20.91% T=+23.4C OK\n",
    b"CO2=  413.0ppm O2=20.90% T=+23.4C OK\n",
    b"CO2=  41\n",  # truncated
    b"CO2=  414.0ppm O2=20.89% T=+23.5C WARMUP\n",  # Uncertain
    b"CO2=  4\x00\x07415.0ppm O2=20.88% T=+23.5C OK\n",  # control bytes
    b"CO2=  416.0ppm O2=20.87% T=+23.5C OK",  # terminator lost: runs into the next
    b"CO2=  417.0ppm O2=20.86% T=+23.6C OK\n",
    b"CO2=  418.0ppm O2=20.85% T=+23.6C FAULT\n",  # Bad (device flag)
]


def main() -> int:
    exit_cleanly_on_signals()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", required=True)
    ap.add_argument("--kind", choices=("scale", "gas"), required=True)
    ap.add_argument("--period", type=float, default=0.1, help="gas: seconds between lines")
    args = ap.parse_args()

    import serial  # pyserial

    port = serial.Serial(args.device, baudrate=9600, bytesize=8, parity="N", stopbits=1, timeout=0.05)
    sys.stdout.write("READY 0\n")
    sys.stdout.flush()
    n = 0
    if args.kind == "gas":
        while True:
            port.write(GAS_SCRIPT[n % len(GAS_SCRIPT)])
            port.flush()
            n += 1
            time.sleep(args.period)
    buf = b""
    while True:
        # whatever has arrived (at least one byte, or nothing after the 50 ms timeout):
        # answer a command as soon as it is complete
        buf += port.read(max(1, port.in_waiting))
        while b"\r\n" in buf:
            cmd, buf = buf.split(b"\r\n", 1)
            if cmd.strip() == b"Q":
                port.write(SCALE_SCRIPT[n % len(SCALE_SCRIPT)])
                port.flush()
                n += 1
        if len(buf) > 256:
            buf = b""


if __name__ == "__main__":
    sys.exit(main())
