#!/bin/sh
# What $skip_admit costs nginx: one worker serves small cached slices
# (4 kB, every request a cache HIT after the first) in two locations,
# measured with wrk on loopback in the same run, alternating:
#   predict   skip_predict on (record cache 4096 2s): the baseline, what
#             the module already costs without admission
#   admit     the same plus skip_admit on: the sketch counts every
#             request, the admission model scores it, $skip_admit goes
#             out in a header; the same cache HITs as predict
# Reported: requests/s of both (median of 3 alternating runs) and the
# ratio (issue 18's target: >= 0.9).  Then, for information, one run of
#   nocache   admit plus proxy_no_cache $skip_no_admit: the tracks the
#             model refuses are never stored and go to the origin every
#             time (a cache policy's effect, not the cost of computing it)  With 2+ cores the nginx worker runs
# on CPU 0, wrk and redis-server on CPU 1.
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
bench_setup admit-bench
RPORT=$(freeport)
HPORT=$(freeport)
OPORT=$(freeport)
bench_redis "$RPORT"

"$SKIPCTL" gen --out "$WORK/data" --scale 0.01 --seed 7 --quiet
"$SKIPCTL" features load --redis "127.0.0.1:$RPORT" --data "$WORK/data" \
    --model "$ROOT/models/default.model" >/dev/null 2>&1
"$SKIPCTL" admit-train --data "$WORK/data" --model "$ROOT/models/default.model" \
    --cache-size 5% --out "$WORK/admit.model" --quiet > /dev/null
USER_ID=$(head -1 "$WORK/data/users.jsonl" | sed 's/.*"user_id":\([0-9]*\).*/\1/')
TRACKS=$(head -50 "$WORK/data/tracks.jsonl" | sed 's/.*"id":"\([^"]*\)".*/\1/')

mkdir -p "$WORK/origin/t" "$WORK/cache"
for t in $TRACKS; do head -c 4096 /dev/zero | tr '\0' 'x' > "$WORK/origin/t/$t"; done

AFFINITY=""
[ -n "$PIN" ] && AFFINITY="worker_cpu_affinity 01;"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat > "$WORK/nginx.conf" <<CONF
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
    skip_admit_zone admit 32m;
    skip_admit_model $WORK/admit.model;

    proxy_cache_path $WORK/cache levels=1:2 keys_zone=tracks:4m;

    server {
        listen 127.0.0.1:$HPORT;
        proxy_cache tracks;
        proxy_cache_valid 200 1h;
        proxy_cache_key \$uri;
        skip_user \$http_x_user_id;

        location ~ ^/predict/(?<track>[^/]+)\$ {
            skip_predict on;
            skip_track \$track;
            add_header X-Skip-Decision \$skip_decision;
            proxy_pass http://127.0.0.1:$OPORT/t/\$track;
        }

        location ~ ^/admit/(?<track>[^/]+)\$ {
            skip_predict on;
            skip_track \$track;
            skip_admit on;
            skip_admit_range \$http_range;
            add_header X-Skip-Decision \$skip_decision;
            add_header X-Skip-Admit \$skip_admit;
            proxy_pass http://127.0.0.1:$OPORT/t/\$track;
        }

        location ~ ^/nocache/(?<track>[^/]+)\$ {
            skip_predict on;
            skip_track \$track;
            skip_admit on;
            skip_admit_range \$http_range;
            proxy_no_cache \$skip_no_admit;
            add_header X-Skip-Admit \$skip_admit;
            proxy_cache_key \$uri;
            proxy_pass http://127.0.0.1:$OPORT/t/\$track;
        }
    }

    server {
        listen 127.0.0.1:$OPORT;
        root $WORK/origin;
    }
}
CONF

cat > "$WORK/rr.lua" <<LUA
local tracks = {}
for t in string.gmatch("$(echo $TRACKS)", "%S+") do tracks[#tracks + 1] = t end
local i = 0
request = function()
    i = i % #tracks + 1
    return wrk.format("GET", wrk.path .. tracks[i], { ["X-User-Id"] = "$USER_ID" })
end
LUA

run() {
    $PIN wrk -t 1 -c "$CONNS" -d "${DURATION}s" -s "$WORK/rr.lua" \
        "http://127.0.0.1:$HPORT$1" > "$WORK/wrk.out" 2>&1
    if grep -q 'Non-2xx\|Socket errors' "$WORK/wrk.out"; then
        echo "  $1: errors:" >&2
        grep 'Non-2xx\|Socket' "$WORK/wrk.out" >&2
    fi
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.out"
}
median3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -n | sed -n 2p; }

nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log"
sleep 0.5
# warm the proxy cache, the record cache (both locations cache each track)
for p in /predict/ /admit/ /nocache/; do
    wrk -t 1 -c 4 -d 1s -s "$WORK/rr.lua" "http://127.0.0.1:$HPORT$p" >/dev/null
done

echo "\$skip_admit in nginx, 1 worker, $(nproc) cores, wrk $CONNS connections" \
     "${DURATION}s per run, 4 kB cached slices, 3 alternating runs"
p1=$(run /predict/); a1=$(run /admit/)
p2=$(run /predict/); a2=$(run /admit/)
p3=$(run /predict/); a3=$(run /admit/)
P=$(median3 "$p1" "$p2" "$p3")
A=$(median3 "$a1" "$a2" "$a3")
echo "$P $A" | awk '{ printf "  skip_predict only %.0f req/s, with skip_admit %.0f req/s -> ratio %.3f (target >= 0.9)\n", $1, $2, $2 / $1 }'
N=$(run /nocache/)
echo "$N $P" | awk '{ printf "  with proxy_no_cache $skip_no_admit too (refused tracks from the origin each time): %.0f req/s (%.3f)\n", $1, $1 / $2 }'
curl -s "http://127.0.0.1:$HPORT/admit/$(echo "$TRACKS" | head -1)" \
    -H "X-User-Id: $USER_ID" -o /dev/null -D - | grep -i '^x-skip' | sed 's/^/  /'
kill -QUIT "$(cat "$WORK/nginx.pid")"; sleep 0.3
if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/error.log"; then
    echo "  error.log has entries above warn:" >&2
    grep '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/error.log" | head -5 >&2
fi
