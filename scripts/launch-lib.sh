# Shared by scripts/start-head, start-workers, stop, status (sourced, not run).
# Every started process gets a PID file in $STATE/pids and a log in
# $STATE/logs; a name whose PID file points at a live process is not started
# again, so the scripts are idempotent.

ns_bin() {
  if [ -n "${NIGHTSHIFT_BIN:-}" ]; then echo "$NIGHTSHIFT_BIN"; return; fi
  local here; here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ -x "$here/build/apps/nightshift" ]; then echo "$here/build/apps/nightshift"; return; fi
  command -v nightshift || { echo "nightshift binary not found (set NIGHTSHIFT_BIN)" >&2; exit 2; }
}

ns_alive() {  # NAME: 0 when its PID file names a live process group leader of ours
  local pidfile="$STATE/pids/$1.pid"
  [ -f "$pidfile" ] || return 1
  local pid; pid="$(cat "$pidfile")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# ns_start NAME RESTART(yes|no) COMMAND...: runs COMMAND in its own session
# (so `stop` can signal the whole group), output appended to logs/NAME.log.
# With RESTART=yes a loop starts it again when it exits, until stopped.
ns_start() {
  local name="$1" restart="$2"; shift 2
  mkdir -p "$STATE/pids" "$STATE/logs"
  if ns_alive "$name"; then
    echo "$name: already running (pid $(cat "$STATE/pids/$name.pid"))"
    return 0
  fi
  local log="$STATE/logs/$name.log"
  if [ "$restart" = yes ]; then
    setsid bash -c 'trap "exit 0" TERM; while true; do "$@" & wait $!; rc=$?; \
      echo "$(date -u +%FT%TZ) exited $rc; restarting in 1 s"; sleep 1; done' \
      ns-loop "$@" >>"$log" 2>&1 </dev/null &
  else
    setsid "$@" >>"$log" 2>&1 </dev/null &
  fi
  echo $! >"$STATE/pids/$name.pid"
  echo "$name: started (pid $!), log $log"
}

ns_stop_one() {  # NAME
  local pidfile="$STATE/pids/$1.pid"
  local pid; pid="$(cat "$pidfile" 2>/dev/null)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
      echo "$1: killed (pid $pid did not stop in 20 s)"
    else
      echo "$1: stopped"
    fi
  else
    echo "$1: not running"
  fi
  rm -f "$pidfile"
}
