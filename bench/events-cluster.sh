#!/bin/sh
# Live events on a Redis Cluster vs one Redis, both on loopback
# (docs/cluster.md, "Live events on a cluster").
#
# One nginx worker (CPU 0), one Redis or a cluster of 3 primaries + 3
# replicas (Redis and wrk on CPU 1, as bench/cluster.sh), the same dataset
# loaded into both.  wrk posts batches of BATCH Play events of fresh
# (session, track) pairs over 25 users x 50 tracks, so every event counts.
# Reported:
#   - events/s acknowledged (200), one Redis (the single-server script:
#     labels and counts in one EVALSHA) vs the cluster (the journal script
#     on the listener's shard + WAIT 1 on that primary's events
#     connection), and the median latency of a batch;
#   - the applier: `skipctl features apply --cluster` over the cluster's
#     whole backlog, entries per second.
# Neither side persists to disk here (--appendonly no): what is measured
# is the protocol; with appendfsync always both add an fsync per write.
#
# Environment: SKIP_BUILD (default ./build), DURATION (s per run, 5),
# CONNS (wrk connections, 16), BATCH (events per POST, 20).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKIP_BUILD:-$ROOT/build}
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
BATCH=${BATCH:-20}
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so

[ -f "$MODULE" ] || { echo "no $MODULE (make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

. bench/lib.sh
bench_setup events-cluster-bench

RPORT=$(freeport)
HPORT=$(freeport)
bench_redis "$RPORT"

bench_cluster

"$SKIPCTL" gen --out "$WORK/data" --scale 0.01 --seed 7 --quiet
for r in "--redis 127.0.0.1:$RPORT" "--redis $SEED --cluster"; do
    "$SKIPCTL" features load $r --data "$WORK/data" \
        --model "$ROOT/models/default.model" >/dev/null 2>&1
done
USERS=$(head -25 "$WORK/data/users.jsonl" | sed 's/.*"user_id":\([0-9]*\).*/\1/')
TRACKS=$(head -50 "$WORK/data/tracks.jsonl" | sed 's/.*"id":"\([^"]*\)".*/\1/')

USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
AFFINITY=""
[ -n "$PIN" ] && AFFINITY="worker_cpu_affinity 01;"
conf() {
    cat <<EOF
load_module $MODULE;
$USER_LINE
worker_processes 1;
$AFFINITY
pid $WORK/nginx.pid;
error_log $WORK/error-$2.log error;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body;
    skip_redis $1;
    skip_model default $ROOT/models/default.model;
    server {
        listen 127.0.0.1:$HPORT;
        location = /events { skip_events; skip_events_max 1000; }
    }
}
EOF
}
conf "127.0.0.1:$RPORT" single > "$WORK/single.conf"
conf "$(echo $NODES | cut -d' ' -f1,2) cluster" cluster > "$WORK/cluster.conf"

# fresh sessions on every request (one wrk thread: one counter)
cat > "$WORK/post.lua" <<EOF
local users, tracks = {}, {}
for u in string.gmatch("$(echo $USERS)", "%S+") do users[#users + 1] = u end
for t in string.gmatch("$(echo $TRACKS)", "%S+") do tracks[#tracks + 1] = t end
local s = math.random(1, 1000000) * 1000000
local stamp = os.date("!%Y-%m-%d %H:%M:%S.000 +00:00:00")
request = function()
    local b = {}
    for k = 1, $BATCH do
        s = s + 1
        b[k] = '{"user_id":' .. users[s % #users + 1] .. ',"track_id":"'
            .. tracks[math.floor(s / #users) % #tracks + 1] .. '","event_type":"Play",'
            .. '"timestamp":"' .. stamp .. '","session_id":' .. s .. '}'
    end
    return wrk.format("POST", "/events", nil, table.concat(b, "\n"))
end
EOF

start_nginx() {
    nginx -p "$WORK/" -c "$WORK/$1.conf" -e "$WORK/error-$1.log"
    sleep 1.5
}
stop_nginx() {
    kill -QUIT "$(cat "$WORK/nginx.pid")"
    sleep 0.5
}
run() {
    $PIN wrk -t 1 -c "$CONNS" -d "${DURATION}s" --latency -s "$WORK/post.lua" \
        "http://127.0.0.1:$HPORT" > "$WORK/wrk-$1.out" 2>&1
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk-$1.out")
    p50=$(awk '$1 == "50%" { print $2 }' "$WORK/wrk-$1.out")
    errs=$(grep 'Non-2xx\|Socket errors' "$WORK/wrk-$1.out" || true)
    echo "$rps $p50 ${errs:+errors}"
}

echo "skip_events, 1 worker, $(nproc) cores, wrk $CONNS connections ${DURATION}s, batches of $BATCH Play events; one Redis vs a cluster of 3 primaries + 3 replicas"
for m in single cluster; do
    start_nginx $m
    set -- $(run $m)
    echo "$m $1 $2 ${3:-}" | awk -v b="$BATCH" '{ printf "  %-7s %8.0f events/s acknowledged (%.0f batches/s), median batch %s %s\n", $1, $2 * b, $2, $3, $4 }'
    stop_nginx
done
grep 'Non-2xx\|Socket errors' "$WORK"/wrk-*.out || true

T0=$(perl -MTime::HiRes=time -e 'printf "%.3f", time')
OUT=$("$SKIPCTL" features apply --redis "$SEED" --cluster)
T1=$(perl -MTime::HiRes=time -e 'printf "%.3f", time')
echo "$OUT" | sed 's/^/  apply: /'
echo "$OUT $T0 $T1" | awk '{ for (i = 1; i <= NF; i++) if ($(i+1) == "read,") n = $i;
    t = $(NF) - $(NF-1); printf "  applier: %d entries in %.2f s = %.0f entries/s (3 key scripts each)\n", n, t, n / t }'
