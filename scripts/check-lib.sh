# Shared by the check-*.sh scripts: sourced, never run. Each check names itself in $CHECK, works in
# $WORK (removed at exit) and lists in $PIDS every process it starts; at exit, whatever still lives
# of those gets SIGTERM, then SIGKILL, so that no check leaves a daemon or a service behind.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flowinit-$CHECK.XXXXXX")
PIDS=()

say() { echo "$CHECK: $*"; }
fail() {
  echo "$CHECK: FAILED: $*" >&2
  exit 1
}

# Alive and not a zombie: an orphan that init never reaps would otherwise look alive forever.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Returns once none of the given processes lives, or fails after $1 seconds.
until_gone() {
  local seconds=$1 pid
  shift
  local deadline=$((SECONDS + seconds))
  for pid in "$@"; do
    while alive "$pid"; do
      [ "$SECONDS" -lt "$deadline" ] || return 1
      sleep 0.1
    done
  done
}

# Runs the command until it succeeds, for at most $1 seconds; a shell has no event to wait on here.
retry() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# A JSON value from stdin: `json '.daemon.pid'` prints it, `null` when absent.
json() {
  node -e 'let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
    const v = new Function("it", `return it${process.argv[1]}`)(JSON.parse(t));
    console.log(typeof v === "string" ? v : JSON.stringify(v ?? null));
  });' "$1"
}

cleanup() {
  local pid live=()
  # A check that runs a supervisor stops it first: nothing may restart what is stopped below.
  if declare -F stop_supervisors >/dev/null; then stop_supervisors || true; fi
  for pid in "${PIDS[@]}"; do alive "$pid" && live+=("$pid"); done
  if [ ${#live[@]} -gt 0 ]; then
    kill -TERM "${live[@]}" 2>/dev/null || true
    until_gone 15 "${live[@]}" || kill -KILL "${live[@]}" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
