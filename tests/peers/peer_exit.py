"""Shared start-up of the test peers: exit cleanly (status 0) on SIGTERM or SIGINT, also
while a slow import or start-up is still running; an asyncio loop installs its own
handlers once it serves."""

from __future__ import annotations

import signal
import sys


def _exit_now(_signum, _frame) -> None:
    sys.exit(0)


def exit_cleanly_on_signals() -> None:
    signal.signal(signal.SIGTERM, _exit_now)
    signal.signal(signal.SIGINT, _exit_now)
