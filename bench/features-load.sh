#!/bin/sh
# Feature store load: `skipctl features load` of the --scale 1
# dataset (5,000 users + 129,648 tracks) into a private redis-server,
# target: records written and the snapshot active in under 3 s.  Printed
# next to what redis-benchmark gets from the same server in the same run:
# pipelined (-P 64) HSET of one field (-t hset), and of the six fields of a
# track record (custom command): what the server does with plain HSETs
#
# Environment: SKIP_BUILD (build dir, default ../build), SKIP_BENCH_DATA
# (dataset dir, generated once with `skipctl gen --scale 1` if missing),
# RUNS (loads to run, default 3).
set -eu
cd "$(dirname "$0")/.."
BUILD=${SKIP_BUILD:-$PWD/build}
SKIPCTL=$BUILD/skipctl
DATA=${SKIP_BENCH_DATA:-${TMPDIR:-/tmp}/ngx_skip-bench-scale1}
RUNS=${RUNS:-3}

[ -x "$SKIPCTL" ] || { echo "no $SKIPCTL (make first)" >&2; exit 1; }
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null \
    || { echo "needs redis-server and redis-benchmark (redis-tools)" >&2; exit 1; }

if [ ! -s "$DATA/sessions.jsonl" ] || [ ! -s "$DATA/track_storage.jsonl" ]; then
    echo "generating the --scale 1 dataset in $DATA (once)" >&2
    "$SKIPCTL" gen --out "$DATA" --scale 1 --quiet
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/features-bench.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
       || echo 16399)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" --daemonize yes --pidfile "$WORK/redis.pid" \
    --logfile "$WORK/redis.log"
cleanup() {
    [ -s "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true
    sleep 0.2
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

echo "features load, --scale 1 ($DATA), redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$PORT, $(nproc) cores"
i=1
while [ "$i" -le "$RUNS" ]; do
    "$SKIPCTL" features load --data "$DATA" --model naive \
        --redis "127.0.0.1:$PORT" --keep 1 >"$WORK/out" 2>"$WORK/err" \
        || { cat "$WORK/err" >&2; exit 1; }
    # "read+compute R s, write W s (N records/s), hand-over H s (...), total T s"
    line=$(grep 'read+compute' "$WORK/err")
    r=$(echo "$line" | sed 's/.*read+compute \([0-9.]*\) s.*/\1/')
    w=$(echo "$line" | sed 's/.*, write \([0-9.]*\) s.*/\1/')
    n=$(echo "$line" | sed 's/.*(\([0-9]*\) records\/s).*/\1/')
    h=$(echo "$line" | sed 's/.*hand-over \([0-9.]*\) s.*/\1/')
    tot=$(echo "$line" | sed 's/.*total \([0-9.]*\) s.*/\1/')
    redis_s=$(echo "$w $h" | awk '{ printf "%.2f", $1 + $2 }')
    printf '  run %d: into Redis and active %s s (write %s s = %s records/s, hand-over %s s); reading+computing the dataset %s s; total %s s\n' \
        "$i" "$redis_s" "$w" "$n" "$h" "$r" "$tot"
    echo "$redis_s" >>"$WORK/times"
    i=$((i + 1))
done
best=$(sort -n "$WORK/times" | head -1)
median=$(sort -n "$WORK/times" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
verdict=$(echo "$median" | awk '{ print ($1 < 3.0) ? "met" : "MISSED" }')
echo "  records into Redis + activation: median $median s, best $best s (target < 3 s: $verdict)"

# The same server, same run: what Redis does with pipelined HSETs.
one=$(redis-benchmark -p "$PORT" -P 64 -n 1000000 -r 1000000 -t hset -q 2>/dev/null \
      | tr '\r' '\n' | grep 'requests per second' | tail -1 | sed 's/.*: \([0-9.]*\) requests.*/\1/')
# a track record as format 2 stores it (docs/feature-store.md): a 162-byte
# packed field, four counters, the genre list
packed=$(head -c 162 /dev/zero | tr '\0' 'b')
# shellcheck disable=SC2086
wide=$(redis-benchmark -p "$PORT" -P 64 -n 300000 -r 1000000 -q HSET 'bench:__rand_int__' \
       b "$packed" plays 1234 skips 567 fan_plays 89 fan_skips 12 genres 'indie rock,pop' 2>/dev/null \
       | tr '\r' '\n' | grep 'requests per second' | tail -1 | sed 's/.*: \([0-9.]*\) requests.*/\1/')
echo "  redis-benchmark -P 64 -t hset (1 field):          $one HSET/s"
echo "  redis-benchmark -P 64 HSET of a track's 6 fields: $wide HSET/s"
echo "  => skipctl's write rate / redis-benchmark's:      $(echo "$n $wide" | awk '{ printf "%.0f%%", 100 * $1 / $2 }') (last run)"
