#!/bin/sh
# What configuring prefetch costs when it has nothing to do: every slice
# of every track already in the cache (target: >= 0.9 of
# the requests/s without prefetch, measured in the same run).
#
# One nginx worker, three server blocks sharing one proxy_cache: "plain"
# (no skip module in the location: what nginx costs alone), "off"
# (skip_predict on, no skip_prefetch) and "prefetch" (the same plus
# skip_prefetch with slices, AHEAD slices ahead: 1 as conf/nginx-skip.conf,
# or all), the shipped record cache on both.
# The workload is realistic, not one hot URL: the first plays of a
# generated dataset's sessions in session order (many listeners, many
# tracks), each play requested as its 4 slices of 64 kB with Range headers
# and X-User-Id, cycled by wrk (a Lua script per connection).  Before
# measuring, every slice is fetched once through "off" (cache warm) and the
# request list is replayed once through "prefetch" (its ledger warm: each
# slice's prefetch found a cache hit once, and the ledger then remembers
# it for skip_prefetch_zone's window); then 3 alternating wrk runs of each,
# the median reported.  The cold pass is reported too: it pays one
# header-only cache-hit subrequest per slice.
#
# Environment: SKIP_BUILD (default ./build), DURATION (s per run, 5),
# CONNS (wrk connections, 50), PLAYS (plays in the request list, 5000),
# AHEAD (skip_prefetch_ahead, 1).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKIP_BUILD:-$ROOT/build}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
PLAYS=${PLAYS:-5000}
AHEAD=${AHEAD:-1}
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so

[ -f "$MODULE" ] || { echo "no $MODULE (make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

. bench/lib.sh
bench_setup prefetch-bench
RPORT=$(freeport)
OFF=$(freeport)
ON=$(freeport)
PLAIN=$(freeport)
OPORT=$(freeport)
bench_redis "$RPORT"

echo "generating a dataset and loading its features..." >&2
"$SKIPCTL" gen --out "$WORK/data" --scale 0.01 --seed 7 --quiet
"$SKIPCTL" features load --redis "127.0.0.1:$RPORT" --data "$WORK/data" \
    --model "$ROOT/models/default.model" >/dev/null 2>&1

# The first PLAYS Play events in file order (sessions in order), as
# "user track" lines; one 256 kB file per track (sparse: no disk).
grep '"event_type":"Play"' "$WORK/data/sessions.jsonl" | head -n "$PLAYS" \
    | sed 's/.*"user_id":\([0-9]*\).*"track_id":"\([^"]*\)".*/\1 \2/' \
    > "$WORK/plays"
mkdir -p "$WORK/origin/tracks" "$WORK/cache"
cut -d' ' -f2 "$WORK/plays" | sort -u | while read -r t; do
    truncate -s 262144 "$WORK/origin/tracks/$t"
done
echo "$(wc -l < "$WORK/plays") plays of $(ls "$WORK/origin/tracks" | wc -l) tracks, 4 slices each" >&2

# wrk: each connection walks the request list from its own offset
{
    echo 'local reqs = {}'
    awk '{ for (k = 0; k < 4; k++)
             printf "reqs[#reqs+1] = {\"%s\", \"%s\", %d}\n", $1, $2, k }' \
        "$WORK/plays"
    cat <<'EOF'
local i = 0
function setup(thread) end
function init(args) i = math.random(#reqs) end
function request()
    i = i % #reqs + 1
    local r = reqs[i]
    local s = r[3] * 65536
    return wrk.format("GET", "/tracks/" .. r[2],
        { ["X-User-Id"] = r[1], ["Range"] = "bytes=" .. s .. "-" .. (s + 65535) })
end
EOF
} > "$WORK/plays.lua"

USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
AFFINITY=""
[ -n "$PIN" ] && AFFINITY="worker_cpu_affinity 01;"
cat > "$WORK/nginx.conf" <<EOF
load_module $MODULE;
$USER_LINE
worker_processes 1;
$AFFINITY
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    skip_redis 127.0.0.1:$RPORT;
    skip_model default $ROOT/models/default.model;
    skip_record_cache 4096 2s;
    skip_zone skip 4m;
    skip_prefetch_zone 16m 10m;
    proxy_cache_path $WORK/cache levels=1:2 keys_zone=tracks:64m;
    upstream origin { server 127.0.0.1:$OPORT; keepalive 16; }

    map \$uri \$trk { ~^/tracks/(?<t>.+)\$ \$t; }

    server {
        listen 127.0.0.1:$PLAIN;
        location /tracks/ {
            slice 64k;
            proxy_cache tracks; proxy_cache_key \$uri\$slice_range;
            proxy_set_header Range \$slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_pass http://origin;
        }
    }
    server {
        listen 127.0.0.1:$OFF;
        location /tracks/ {
            skip_predict on; skip_user \$http_x_user_id; skip_track \$trk;
            slice 64k;
            proxy_cache tracks; proxy_cache_key \$uri\$slice_range;
            proxy_set_header Range \$slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_http_version 1.1; proxy_set_header Connection "";
            add_header X-Skip-Decision \$skip_decision;
            proxy_pass http://origin;
        }
    }
    server {
        listen 127.0.0.1:$ON;
        location /tracks/ {
            skip_predict on; skip_user \$http_x_user_id; skip_track \$trk;
            slice 64k;
            proxy_cache tracks; proxy_cache_key \$uri\$slice_range;
            proxy_set_header Range \$slice_range;
            proxy_cache_valid 200 206 1h;
            proxy_http_version 1.1; proxy_set_header Connection "";
            add_header X-Skip-Decision \$skip_decision;
            skip_prefetch /prefetch; skip_prefetch_slice 64k;
            skip_prefetch_ahead $AHEAD;
            proxy_pass http://origin;
        }
        location /prefetch/ {
            internal;
            rewrite ^/prefetch(/.*)\$ \$1 break;
            proxy_cache tracks; proxy_cache_key \$uri\$skip_prefetch_range;
            proxy_set_header Range \$skip_prefetch_range;
            proxy_cache_valid 200 206 1h;
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_pass http://origin;
        }
        location = /metrics { skip_metrics; }
    }
    server {
        listen 127.0.0.1:$OPORT;
        root $WORK/origin;
    }
}
EOF
/usr/sbin/nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log"
sleep 0.5

# warm the cache through "off": every slice of every track once
cut -d' ' -f2 "$WORK/plays" | sort -u | while read -r t; do
    for k in 0 1 2 3; do
        s=$((k * 65536))
        curl -s -o /dev/null -H "X-User-Id: 1" -H "Range: bytes=$s-$((s + 65535))" \
            "http://127.0.0.1:$OFF/tracks/$t"
    done
done

run() {    # port -> requests/s
    $PIN wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WORK/plays.lua" \
        "http://127.0.0.1:$1" 2>/dev/null | awk '/Requests\/sec/ { print $2 }'
}
median() { sort -n | sed -n 2p; }

# the cold pass: one walk of the list at the wrk rate (ledger empty)
COLD_ON=$(run "$ON")
OFF_RUNS="" ON_RUNS="" PLAIN_RUNS=""
for _ in 1 2 3; do
    PLAIN_RUNS="$PLAIN_RUNS $(run "$PLAIN")"
    OFF_RUNS="$OFF_RUNS $(run "$OFF")"
    ON_RUNS="$ON_RUNS $(run "$ON")"
done
PLAIN_MED=$(echo "$PLAIN_RUNS" | tr ' ' '\n' | grep . | median)
OFF_MED=$(echo "$OFF_RUNS" | tr ' ' '\n' | grep . | median)
ON_MED=$(echo "$ON_RUNS" | tr ' ' '\n' | grep . | median)

FETCHED=$(curl -s "http://127.0.0.1:$ON/metrics" | awk '/^skip_prefetch_bytes_total/ { s += $2 } END { print s + 0 }')
CACHED=$(curl -s "http://127.0.0.1:$ON/metrics" | awk '/^skip_prefetches_total.*result="cached"/ { s += $2 } END { print s + 0 }')
DEDUP=$(curl -s "http://127.0.0.1:$ON/metrics" | awk '/^skip_prefetches_total.*result="deduplicated"/ { s += $2 } END { print s + 0 }')

echo "requests/s (median of 3): off $OFF_MED, prefetch configured (ahead $AHEAD) $ON_MED" \
     "ratio $(echo "$ON_MED $OFF_MED" | awk '{ printf "%.3f", $1 / $2 }')"
echo "the module's cost on this stream: skip_predict off $PLAIN_MED req/s," \
     "on $OFF_MED: ratio $(echo "$OFF_MED $PLAIN_MED" | awk '{ printf "%.3f", $1 / $2 }')"
echo "runs: plain$PLAIN_RUNS; off$OFF_RUNS; prefetch$ON_RUNS; first (cold ledger) prefetch run $COLD_ON"
echo "prefetch: slices found cached $CACHED, deduplicated by the ledger $DEDUP," \
     "bytes fetched from the origin $FETCHED"
