#!/usr/bin/env python3
"""A stand-in for a sensor driver, supervised by flowinit.

flowinit starts it once the app raises the green flag (see services.yaml),
restarts it if it crashes, keeps its output in its log file
(`flowinit logs sensor -f`) and stops it with SIGTERM, which it answers by
closing cleanly. Only the standard library: nothing to install.

Its health, in sd_notify's words on the descriptor flowinit names in
FLOWINIT_NOTIFY_FD (services.yaml: `ready: {fd: 3}`, `watchdog: 3s`):
READY=1 once the first reading is in, so that what depends on it starts
only then; WATCHDOG=1 after every reading, so that a sensor that hangs is
killed and restarted; STATUS= with the last reading, shown by
`flowinit status`. SENSOR_HANG_AFTER=N makes it hang after N readings, to
see the watchdog at work.
"""
import json
import math
import os
import signal
import time

HZ = float(os.environ.get("SENSOR_HZ", "2"))
HANG_AFTER = int(os.environ.get("SENSOR_HANG_AFTER", "0"))
running = True

# Unset when run by hand, or by a manifest without ready or notify_fd.
NOTIFY_FD = int(os.environ["FLOWINIT_NOTIFY_FD"]) if "FLOWINIT_NOTIFY_FD" in os.environ else None


def notify(*lines):
    """One write of newline-ended lines, as sd_notify sends one datagram."""
    if NOTIFY_FD is not None:
        os.write(NOTIFY_FD, "".join(line + "\n" for line in lines).encode())


def on_sigterm(signum, frame):
    global running
    running = False


signal.signal(signal.SIGTERM, on_sigterm)

# flowinit captures stdout through a pipe: flush each line so the log is live.
print(f"sensor: up at {HZ} Hz", flush=True)
n = 0
while running:
    n += 1
    speed = 20 + 5 * math.sin(n / 10)  # a made-up reading, in m/s
    print(json.dumps({"n": n, "time": time.time(), "speed": round(speed, 2)}), flush=True)
    notify(*(["READY=1"] if n == 1 else []), "WATCHDOG=1", f"STATUS=reading {n}: {speed:.1f} m/s")
    if n == HANG_AFTER:
        print("sensor: hanging (SENSOR_HANG_AFTER)", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        while True:
            time.sleep(3600)
    time.sleep(1 / HZ)
print("sensor: SIGTERM, device closed", flush=True)
