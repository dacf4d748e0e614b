#!/bin/sh
# The nginx module: what a prediction costs in the request path.
#
# One nginx worker serves a small track (4 kB) from proxy_cache (every
# request a cache HIT after the first) in three locations, measured with
# wrk on loopback in the same run:
#   off       skip_predict off: the baseline
#   on        skip_predict on, per-worker record cache (skip_record_cache
#             4096 2s): the configuration we ship
#   nocache   skip_predict on, skip_record_cache off, one user and 50
#             tracks round robin: one Redis round trip (2 pipelined HMGETs)
#             for every request, the cost without the cache
#   stopped   skip_predict on while redis-server is SIGSTOPped: the TCP
#             connection stays up and nothing is answered (worst case)
# Reported: requests/s and the ratio to "off" (median of 3 alternating
# runs); median latency at one connection and what "on" adds (median of
# 3); Redis commands per request (INFO commandstats).  With 2+ cores the
# nginx worker runs on CPU 0, wrk and redis-server on CPU 1, so that they
# do not steal each other's time slices.  The decision is computed and sent as a header in every
# "on" request; proxy_cache_bypass is not wired here so that every
# location serves the same cache HIT.
#
# Environment: SKIP_BUILD (default ./build), DURATION (s per run, 5),
# CONNS (wrk connections, 50).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKIP_BUILD:-$ROOT/build}
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so

[ -f "$MODULE" ] || { echo "no $MODULE (make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

. bench/lib.sh
bench_setup module-bench
RPORT=$(freeport)
HPORT=$(freeport)
OPORT=$(freeport)
bench_redis "$RPORT"

"$SKIPCTL" gen --out "$WORK/data" --scale 0.01 --seed 7 --quiet
"$SKIPCTL" features load --redis "127.0.0.1:$RPORT" --data "$WORK/data" \
    --model "$ROOT/models/default.model" >/dev/null 2>&1
USER_ID=$(head -1 "$WORK/data/users.jsonl" | sed 's/.*"user_id":\([0-9]*\).*/\1/')
TRACKS=$(head -50 "$WORK/data/tracks.jsonl" | sed 's/.*"id":"\([^"]*\)".*/\1/')
TRACK=$(echo "$TRACKS" | head -1)

mkdir -p "$WORK/origin/t" "$WORK/cache"
for t in $TRACKS; do head -c 4096 /dev/zero | tr '\0' 'x' > "$WORK/origin/t/$t"; done

AFFINITY=""
[ -n "$PIN" ] && AFFINITY="worker_cpu_affinity 01;"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
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
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;

    skip_redis 127.0.0.1:$RPORT;
    skip_model default $ROOT/models/default.model;
    skip_record_cache 4096 2s;

    proxy_cache_path $WORK/cache levels=1:2 keys_zone=tracks:4m;

    server {
        listen 127.0.0.1:$HPORT;
        proxy_cache tracks;
        proxy_cache_valid 200 1h;
        proxy_cache_key \$uri;

        location ~ ^/off/(?<track>[^/]+)\$ {
            proxy_pass http://127.0.0.1:$OPORT/t/\$track;
        }

        location ~ ^/on/(?<track>[^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$track;
            add_header X-Skip-Decision \$skip_decision;
            proxy_pass http://127.0.0.1:$OPORT/t/\$track;
        }
    }

    server {
        listen 127.0.0.1:$OPORT;
        root $WORK/origin;
    }
}
EOF
# the no-record-cache variant: same server, one directive different
sed -e 's/skip_record_cache 4096 2s;/skip_record_cache off;/' \
    -e "s|pid $WORK/nginx.pid|pid $WORK/nginx2.pid|" \
    "$WORK/nginx.conf" > "$WORK/nginx-nocache.conf"

start_nginx() {
    nginx -p "$WORK/" -c "$1" -e "$WORK/error.log"
    sleep 0.5
}

# wrk over the 50 tracks round robin (every one cached after warm-up)
cat > "$WORK/rr.lua" <<EOF
local tracks = {}
for t in string.gmatch("$(echo $TRACKS)", "%S+") do tracks[#tracks + 1] = t end
local i = 0
request = function()
    i = i % #tracks + 1
    return wrk.format("GET", wrk.path .. tracks[i], { ["X-User-Id"] = "$USER_ID" })
end
EOF

hmgets() {
    redis-cli -p "$RPORT" info commandstats | tr -d '\r' \
        | sed -n 's/^cmdstat_hmget:calls=\([0-9]*\).*/\1/p' | grep . || echo 0
}

# run NAME PATH CONNS -> "rps p50(us) requests"
run() {
    $PIN wrk -t 1 -c "$3" -d "${4:-$DURATION}s" --latency -s "$WORK/rr.lua" \
        "http://127.0.0.1:$HPORT$2" > "$WORK/wrk.out" 2>&1
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.out")
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")
    p50=$(awk '$1 == "50%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
               if (u == "ms") v *= 1000; else if (u == "s") v *= 1000000; print v }' "$WORK/wrk.out")
    errs=$(grep -c 'Non-2xx\|Socket errors' "$WORK/wrk.out" || true)
    [ "$errs" = 0 ] || { echo "  $1: errors:" >&2; grep 'Non-2xx\|Socket' "$WORK/wrk.out" >&2; }
    echo "$rps $p50 $reqs"
}

ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
median3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -n | sed -n 2p; }

# three alternating off/on runs: "off_median on_median"
alternate() {
    c=$1 d=$2
    set -- $(run off /off/ "$c" "$d"); o1=$1 ol1=$2
    set -- $(run on /on/ "$c" "$d"); n1=$1 nl1=$2
    set -- $(run off /off/ "$c" "$d"); o2=$1 ol2=$2
    set -- $(run on /on/ "$c" "$d"); n2=$1 nl2=$2
    set -- $(run off /off/ "$c" "$d"); o3=$1 ol3=$2
    set -- $(run on /on/ "$c" "$d"); n3=$1 nl3=$2
    echo "$(median3 "$o1" "$o2" "$o3") $(median3 "$n1" "$n2" "$n3")" \
         "$(median3 "$ol1" "$ol2" "$ol3") $(median3 "$nl1" "$nl2" "$nl3")"
}

start_nginx "$WORK/nginx.conf"
# warm the proxy cache and the record cache
wrk -t 1 -c 4 -d 1s -s "$WORK/rr.lua" "http://127.0.0.1:$HPORT/off/" >/dev/null
wrk -t 1 -c 4 -d 1s -s "$WORK/rr.lua" "http://127.0.0.1:$HPORT/on/" >/dev/null

echo "nginx module, 1 worker, $(nproc) cores, wrk $CONNS connections ${DURATION}s per run, 4 kB cached track, redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"

h0=$(hmgets)
set -- $(alternate "$CONNS" "$DURATION"); OFF=$1; ON=$2
h1=$(hmgets)
printf '  throughput: off %.0f req/s, on %.0f req/s -> ratio %s (target >= 0.8)\n' \
    "$OFF" "$ON" "$(ratio "$ON" "$OFF")"
ONREQ=$(echo "$ON $DURATION" | awk '{ printf "%d", $1 * $2 * 3 }')
echo "$h0 $h1 $ONREQ" | awk '{ printf "  Redis commands per request with the record cache: %.4f (%d HMGET for ~%d requests)\n", ($2 - $1) / $3, $2 - $1, $3 }'

set -- $(alternate 1 3); LOFF=$3; LON=$4
echo "$LOFF $LON" | awk '{ printf "  median latency, 1 connection: off %d us, on %d us -> added %d us (target < 100 us)\n", $1, $2, $2 - $1 }'

# without the record cache: a Redis round trip for every request
kill -QUIT "$(cat "$WORK/nginx.pid")"; sleep 0.5
start_nginx "$WORK/nginx-nocache.conf"
wrk -t 1 -c 4 -d 1s -s "$WORK/rr.lua" "http://127.0.0.1:$HPORT/on/" >/dev/null
h0=$(hmgets)
set -- $(run nocache /on/ "$CONNS"); NC=$1; NCREQ=$3
h1=$(hmgets)
set -- $(run nocache /on/ 1 3); LNC=$2
echo "$NC $(ratio "$NC" "$OFF") $LNC $LOFF" | awk '{ printf "  no record cache: %.0f req/s -> ratio %s; median latency at 1 connection %d us (+%d us)\n", $1, $2, $3, $3 - $4 }'
echo "$h0 $h1 $NCREQ" | awk '{ printf "  Redis commands per request without it: %.2f HMGET (one round trip)\n", ($2 - $1) / $3 }'

# worst case: Redis accepts but answers nothing
kill -STOP "$(cat "$WORK/redis.pid")"
set -- $(run stopped /on/ "$CONNS"); ST=$1
kill -CONT "$(cat "$WORK/redis.pid")"
printf '  Redis stopped (SIGSTOP, connection up, no answers): %.0f req/s -> ratio %s (target > 0.5)\n' \
    "$ST" "$(ratio "$ST" "$OFF")"
kill -QUIT "$(cat "$WORK/nginx2.pid")"; sleep 0.3
if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/error.log"; then
    echo "  error.log has entries above warn:" >&2
    grep '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/error.log" | head -5 >&2
fi
