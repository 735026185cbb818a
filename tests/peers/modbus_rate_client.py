#!/usr/bin/env python3
"""pymodbus's own client, as a yardstick for mimic's Modbus TCP throughput bench.

Usage: modbus_rate_client.py --port PORT [--seconds 3] [--count 10]

Sends sequential read-input-registers requests (one outstanding at a time, one
connection) for the given time and prints ``RATE <requests per second>``.
"""
import argparse
import sys
import time

from pymodbus.client import ModbusTcpClient


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--count", type=int, default=10)
    args = ap.parse_args()
    client = ModbusTcpClient("127.0.0.1", port=args.port, timeout=2)
    if not client.connect():
        print("cannot connect", file=sys.stderr)
        return 1
    n = 0
    end = time.perf_counter() + args.seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        rr = client.read_input_registers(0, count=args.count, device_id=1)
        if rr.isError() or len(rr.registers) != args.count:
            print(f"bad answer: {rr}", file=sys.stderr)
            return 1
        n += 1
    elapsed = time.perf_counter() - start
    client.close()
    print(f"RATE {n / elapsed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
