#!/usr/bin/env bash
# What a study store costs per trial: 200 tiny trials (digits, 1 epoch, 16 hidden units) run
#   - on SQLite by one `nn tune run --parallel 4`, and
#   - on PostgreSQL by a coordinator (`--parallel 0`) and 4 `nn tune worker` processes,
# on a private PostgreSQL server this script starts on loopback (and stops). For each store it
# prints the study's wall time, trials per second, and the overhead per trial: the slot-seconds
# not spent inside a trial's `nn train` process (4 × wall − Σ trial durations) / trials, which is
# everything the tuner and its store add (claims, heartbeats, metrics, starting processes).
#
#   bash Benchmarks/tune-storage.sh [TRIALS] [SLOTS]      # defaults 200 and 4; needs a release build:
#   swift build -c release --product nn
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS="${1:-200}"
SLOTS="${2:-4}"
NN="$PWD/.build/release/nn"
[ -x "$NN" ] || { echo "build nn first: swift build -c release --product nn"; exit 1; }
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
[ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL server; apt-get install postgresql"; exit 1; }

work="$(mktemp -d)"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_postgres "$PG_BIN/initdb" -D "$work/pg" -U nn --auth=trust --no-sync >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
trap 'as_postgres "$PG_BIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null; rm -rf "$work"' EXIT
URL="postgresql://nn@127.0.0.1:$port/postgres"

echo '{"lr": "logUniform(1e-3, 0.1)"}' > "$work/space.json"
TRAIN=(-- --data "$PWD/Tests/Fixtures/digits.csv" --epochs 1 --layers 16 --backend native)
export NN_NATIVE_THREADS=1

# Prints "wall_seconds sum_of_trial_seconds done_trials" of a finished study.
summarise() {  # $1 wall seconds, $2 "sqlite PATH" or "postgres SCHEMA"
  if [ "$2" = sqlite ]; then
    python3 - "$3" "$1" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT finished_at - started_at FROM trials WHERE status = 'done'").fetchall()
print(sys.argv[2], sum(r[0] for r in rows), len(rows))
PY
  else
    psql -At -h 127.0.0.1 -p "$port" -U nn postgres \
      -c "SELECT $1, SUM(finished_at - started_at), COUNT(*) FROM nn_study_$3.trials WHERE status = 'done'" | tr '|' ' '
  fi
}

report() {  # name wall trial_seconds done
  python3 - "$@" "$SLOTS" <<'PY'
import sys
name, wall, busy, done, slots = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"{name:<22} {done:>6} {wall:>9.1f} {done / wall:>9.2f} {busy / done:>12.3f} {(slots * wall - busy) / done:>12.3f}")
PY
}

echo "==> SQLite, nn tune run --parallel $SLOTS, $TRIALS trials"
start=$(date +%s.%N)
"$NN" tune run --study sq --root "$work/sqlite" --space "$work/space.json" --trials "$TRIALS" --parallel "$SLOTS" "${TRAIN[@]}" > "$work/sqlite.log"
wall=$(python3 -c "print($(date +%s.%N) - $start)")
read -r w busy done < <(summarise "$wall" sqlite "$work/sqlite/sq/study.sqlite")
sqlite_line=$(report "SQLite (1 tuner)" "$w" "$busy" "$done")

echo "==> PostgreSQL, coordinator --parallel 0 and $SLOTS workers, $TRIALS trials"
start=$(date +%s.%N)
"$NN" tune run --study pg --root "$work/pgroot" --storage "$URL" --space "$work/space.json" --trials "$TRIALS" \
  --parallel 0 "${TRAIN[@]}" > "$work/coordinator.log" &
coordinator=$!
until psql -At -h 127.0.0.1 -p "$port" -U nn postgres -c "SELECT COUNT(*) FROM nn_study_pg.trials" 2>/dev/null | grep -qx "$TRIALS"; do sleep 0.1; done
workers=()
for i in $(seq "$SLOTS"); do
  "$NN" tune worker --study pg --root "$work/pgroot" --storage "$URL" > "$work/worker-$i.log" & workers+=($!)
done
wait "$coordinator"
wait "${workers[@]}"
wall=$(python3 -c "print($(date +%s.%N) - $start)")
read -r w busy done < <(summarise "$wall" postgres pg)
pg_line=$(report "PostgreSQL ($SLOTS workers)" "$w" "$busy" "$done")

echo
printf '%-22s %6s %9s %9s %12s %12s\n' store trials "wall s" trials/s "s in trial" "overhead s"
echo "$sqlite_line"
echo "$pg_line"
echo "(overhead per trial = ($SLOTS × wall − Σ trial seconds) / trials; $(nproc) cores, NN_NATIVE_THREADS=1)"
