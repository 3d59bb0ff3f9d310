#!/usr/bin/env python3
"""A stand-in for a sensor driver, supervised by flowinit.

flowinit starts it once the app raises the green flag (see services.yaml),
restarts it if it crashes, keeps its output in its log file
(`flowinit logs sensor -f`) and stops it with SIGTERM, which it answers by
closing cleanly. Only the standard library: nothing to install.
"""
import json
import math
import os
import signal
import time

HZ = float(os.environ.get("SENSOR_HZ", "2"))
running = True


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
    time.sleep(1 / HZ)
print("sensor: SIGTERM, device closed", flush=True)
