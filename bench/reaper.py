#!/usr/bin/env python3
"""Runs a command as a child subreaper that reaps every orphan re-parented to it,
as Android's init does, so that a tree's orphans do not linger as zombies the
way they do under a container's pid 1 that never reaps. Exits with the
command's own status as soon as the command itself ends (orphans still alive
then go on to the next reaper up). Signals TERM, INT and HUP are passed on.

    python3 bench/reaper.py node bin/flowinit.js run ...
"""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36

libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("reaper: prctl(PR_SET_CHILD_SUBREAPER) failed")

pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])

for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, lambda n, _f: os.kill(pid, n))

while True:
    try:
        p, status = os.wait()
    except ChildProcessError:
        sys.exit(0)
    except InterruptedError:
        continue
    if p == pid:
        code = os.waitstatus_to_exitcode(status)
        sys.exit(code if code >= 0 else 128 - code)
