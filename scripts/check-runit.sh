#!/usr/bin/env bash
# The service that `flowinit service install` writes, under a real runsvdir (`npm run check:runit`):
# runsv starts the daemon, starts it again after kill -9 and after `flowinit shutdown`, `sv hup`
# reloads, `sv -w 10 down` returns once every service is down, and the log is plain JSON lines.
# Termux's layout is rebuilt in a temporary PREFIX. Skips, saying why, where runit is not installed.
set -euo pipefail
for tool in runsvdir runsv sv svlogd; do
  command -v "$tool" >/dev/null || {
    echo "check-runit: skipped: runit is not installed ($tool not found)"
    exit 0
  }
done
CHECK=check-runit
# shellcheck source=check-lib.sh
. "$(dirname "$0")/check-lib.sh"

prefix="$WORK/prefix"
svc="$prefix/var/service/flowinit"
log="$prefix/var/log/sv/flowinit/current"
id="flowinit-check-$$-$RANDOM"
mkdir -p "$prefix/bin" "$WORK/home"
# The run scripts start with #!$PREFIX/bin/sh, as Termux has no /bin/sh.
ln -s /bin/sh "$prefix/bin/sh"
export PREFIX="$prefix" HOME="$WORK/home" TMPDIR="$WORK"
unset FLOWINIT_CONFIG FLOWINIT_CONTROL FLOWINIT_STATUS
cd "$HOME"
cat >services.yaml <<EOF
settings:
  control: ipc://@$id/control
  status: ipc://@$id/status
  log_dir: $WORK/logs
services:
  idle:
    command: exec sleep 1000
    nowait: true
EOF
# Clients find the daemon through ./services.yaml, as in Termux.
flowinit() { timeout 30 node "$ROOT/bin/flowinit.js" "$@"; }

flowinit service install >"$WORK/install.log" || fail "service install: $(cat "$WORK/install.log")"
[ -f "$svc/down" ] || fail "service install wrote no down file for a new service"
say "flowinit service install: $(grep -c '^wrote ' "$WORK/install.log") files in $svc"

runsvdir "$prefix/var/service" >"$WORK/runsvdir.log" 2>&1 &
runsvdir=$!
PIDS+=("$runsvdir")
stop_supervisors() {
  # On SIGHUP runsvdir has each runsv stop its service for good, and exits; each runsv exits once
  # its service and its log are down.
  alive "$runsvdir" || return 0
  local runsv
  runsv=$(cat "/proc/$runsvdir/task/$runsvdir/children" 2>/dev/null || true)
  kill -HUP "$runsvdir"
  # shellcheck disable=SC2086
  until_gone 30 "$runsvdir" $runsv
}
retry 20 sv status "$svc" >/dev/null 2>&1 || fail "runsvdir started no runsv for $svc"
case $(sv status "$svc") in down:*) ;; *) fail "the service is not down before sv up: $(sv status "$svc")" ;; esac
say "runsvdir: runsv supervises $svc, down until sv up"

snapshot() { flowinit status --json 2>/dev/null; }
idle() { snapshot | json ".services.find((s) => s.name === '$1')?.${2:-state}"; }
supervised() { cat "$svc/supervise/pid" 2>/dev/null; }
# Waits for a daemon other than $1 to answer, started by runsv (its pid is runsv's child's: run execs
# node), with the service $2 running; sets $daemon and $service and lists both for the cleanup.
until_daemon() {
  local before=$1 name=$2
  answers() {
    daemon=$(snapshot | json .daemon.pid) || return 1
    [ "$daemon" != null ] && [ "$daemon" != "$before" ] && [ "$daemon" = "$(supervised)" ] && [ "$(idle "$name")" = running ]
  }
  retry 30 answers || fail "no new daemon with $name running (log: $(tail -5 "$log" 2>/dev/null))"
  service=$(idle "$name" pid)
  PIDS+=("$daemon" "$service")
}

sv up "$svc" || fail "sv up"
until_daemon none idle
say "sv up: runsv started the daemon, pid $daemon; idle runs, pid $service"

old_daemon=$daemon old_service=$service
kill -KILL "$daemon"
until_daemon "$old_daemon" idle
until_gone 10 "$old_service" || fail "idle of the killed daemon (pid $old_service) still runs"
say "kill -9: runsv started daemon $daemon, which stopped the old idle and runs its own, pid $service"

old_daemon=$daemon old_service=$service
flowinit shutdown || fail "shutdown"
until_daemon "$old_daemon" idle
alive "$old_service" && fail "idle of the shut down daemon (pid $old_service) still runs"
say "flowinit shutdown: runsv started a fresh daemon at once, pid $daemon, as docs/termux.md says"

printf '  added:\n    command: exec sleep 1001\n    nowait: true\n' >>services.yaml
sv hup "$svc" || fail "sv hup"
added() { [ "$(idle added)" = running ]; }
retry 30 added || fail "added is $(idle added) after sv hup"
added_pid=$(idle added pid)
PIDS+=("$added_pid")
[ "$(supervised)" = "$daemon" ] || fail "sv hup restarted the daemon"
say "sv hup: the same daemon reloaded; added runs, pid $added_pid"

reloaded() { grep -q '"msg":"reloaded"' "$log" 2>/dev/null; }
retry 10 reloaded || fail "no reloaded line in $log"
node -e '
  const [file] = process.argv.slice(1);
  const lines = require("fs").readFileSync(file, "utf8").trimEnd().split("\n");
  const entry = (line) => { try { return JSON.parse(line); } catch { return null; } };
  const bad = lines.findIndex((line) => typeof entry(line)?.time !== "number" || typeof entry(line)?.msg !== "string");
  if (bad >= 0) {
    console.error(`check-runit: ${file}:${bad + 1}: not a JSON object with time and msg: ${lines[bad]}`);
    process.exit(1);
  }
  console.log(`check-runit: ${file}: ${lines.length} lines, each a JSON object with time and msg`);
' "$log" || fail "the daemon's log is not JSON lines"

sv -w 10 down "$svc" >"$WORK/down.log" || fail "sv -w 10 down: $(cat "$WORK/down.log")"
for pid in "$daemon" "$service" "$added_pid"; do alive "$pid" && fail "pid $pid still runs after sv -w 10 down returned"; done
case $(sv status "$svc") in down:*) ;; *) fail "not down after sv -w 10 down: $(sv status "$svc")" ;; esac
say "sv -w 10 down: returned once the daemon and both services were gone"

stop_supervisors || fail "runsvdir and its runsv did not exit on SIGHUP"
say "ok"
