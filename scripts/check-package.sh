#!/usr/bin/env bash
# The package as a user gets it (`npm run check:package`): `npm pack`, the tarball's contents, an
# install into a fresh prefix, then flowinit run from a folder outside the checkout: --version,
# validate, run, a green flag, shutdown. Needs the npm registry for the dependencies.
set -euo pipefail
CHECK=check-package
# shellcheck source=check-lib.sh
. "$(dirname "$0")/check-lib.sh"

say "npm pack (builds dist/ through prepare)"
(cd "$ROOT" && timeout 600 npm pack --pack-destination "$WORK" >"$WORK/pack.log" 2>&1) || {
  cat "$WORK/pack.log" >&2
  fail "npm pack"
}
tarball=$(echo "$WORK"/flowinit-*.tgz)
[ -f "$tarball" ] || fail "npm pack made no flowinit-*.tgz"

say "contents of $(basename "$tarball")"
mkdir "$WORK/unpacked"
tar -xzf "$tarball" -C "$WORK/unpacked"
node "$ROOT/scripts/check-tarball.mjs" "$WORK/unpacked/package" || fail "the tarball has the problems above"

say "npm install --global into a fresh prefix"
prefix="$WORK/prefix"
# --prefix moves npm's global config file along with the prefix: keep the one in use (registry, CA).
globalconfig=$(npm config get globalconfig)
timeout 600 npm install --global --prefix "$prefix" --globalconfig "$globalconfig" --no-audit --no-fund "$tarball" \
  >"$WORK/install.log" 2>&1 || {
  cat "$WORK/install.log" >&2
  fail "npm install"
}
installed="$prefix/lib/node_modules/flowinit"
[ -d "$installed" ] && [ ! -L "$installed" ] || fail "$installed is not a copy of the package"

# From here on nothing comes from the checkout: another folder, another HOME, the installed bin.
run="$WORK/run"
mkdir -p "$run" "$WORK/home"
cd "$run"
export HOME="$WORK/home" TMPDIR="$WORK"
unset FLOWINIT_CONFIG FLOWINIT_CONTROL FLOWINIT_STATUS
flowinit() { timeout 30 "$prefix/bin/flowinit" "$@"; }

version=$(flowinit --version)
expected=$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")
[ "$version" = "$expected" ] || fail "flowinit --version printed '$version', not $expected"
say "flowinit --version: $version"

id="flowinit-check-$$-$RANDOM"
cat >services.yaml <<EOF
settings:
  control: ipc://@$id/control
  status: ipc://@$id/status
  log_dir: ./logs
services:
  gated:
    command: exec sleep 1000
EOF
# Every command below finds services.yaml in the working directory, and through it the daemon.
out=$(flowinit validate) || fail "validate: $out"
[ "$out" = "services.yaml: ok, 1 service" ] || fail "validate printed '$out'"
say "flowinit validate: $out"

"$prefix/bin/flowinit" run >"$WORK/daemon.log" 2>&1 &
daemon=$!
PIDS+=("$daemon")
snapshot() { flowinit status --json 2>/dev/null; }
daemon_up() {
  alive "$daemon" || {
    cat "$WORK/daemon.log" >&2
    fail "flowinit run exited"
  }
  snapshot >/dev/null
}
retry 30 daemon_up || fail "no answer from flowinit run"
[ "$(snapshot | json .daemon.pid)" = "$daemon" ] || fail "another daemon answers at ipc://@$id/control"
say "flowinit run: pid $daemon answers"

flowinit flag green || fail "flag green"
gated() { snapshot | json ".services.find((s) => s.name === 'gated')?.$1"; }
running() { [ "$(gated state)" = running ]; }
retry 30 running || fail "gated is $(gated state) after the green flag"
service=$(gated pid)
PIDS+=("$service")
say "flowinit flag green: gated runs, pid $service"

flowinit shutdown || fail "shutdown"
until_gone 30 "$daemon" || fail "flowinit run still runs after shutdown"
code=0
wait "$daemon" || code=$?
[ "$code" = 0 ] || fail "flowinit run exited $code after shutdown: $(cat "$WORK/daemon.log")"
alive "$service" && fail "gated (pid $service) outlived the daemon"
say "flowinit shutdown: the daemon exited 0, gated is gone"
say "ok"
