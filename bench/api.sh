#!/bin/sh
# The prediction API (skip_api): what the original's FastAPI +
# pandas service did at ~157 req/s (51 ms mean, 8 connections, 2 cores),
# served by one nginx worker.
#
#   single   POST /recommend {"user_id": U, "track_id": T}, wrk at CONNS
#            connections (8); the (user, track) pairs are PAIRS plays
#            sampled from the generated dataset's sessions (Zipf-popular
#            tracks, every user), each request the next pair; record cache
#            OFF, so every answer costs one Redis round trip (2 pipelined
#            HMGETs).  Reported: req/s, p50/p99 latency (wrk --latency),
#            and the ratio to 157 req/s.
#   batch    POST /recommend {"user_id": U, "track_ids": [100 tracks]}
#            (tracks drawn from the plays: popular ones more often), one
#            connection (the server time, not throughput); record cache off
#            (101 HMGETs in one round trip), then on as shipped
#            (skip_record_cache 16384 2s track=30s: only the misses go to Redis).  Reported: wrk's p50/p99
#            at one connection (server time plus loopback and client: an
#            upper bound of the server time) and nginx's own $request_time
#            (millisecond resolution only), and HMGETs per batch.
#   tracks   for comparison: GET /tracks/T with X-User-Id: U, skip_predict
#            on, the same pairs: the same lookup in the preaccess phase
#            (one round trip per request), in the same run.
# With 2+ cores the nginx worker runs on CPU 0, wrk and redis-server on
# CPU 1.  The load average (other work on the machine) is printed: the
# figures move with it.
#
# Environment: SKIP_BUILD (default ./build), DURATION (s per run, 10),
# CONNS (8), PAIRS (20000), SCALE (dataset scale, 0.05: 250 users, 6.5 k
# tracks).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKIP_BUILD:-$ROOT/build}
DURATION=${DURATION:-10}
CONNS=${CONNS:-8}
PAIRS=${PAIRS:-20000}
SCALE=${SCALE:-0.05}
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so

[ -f "$MODULE" ] || { echo "no $MODULE (make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

. bench/lib.sh
bench_setup api-bench
RPORT=$(freeport)
HPORT=$(freeport)
bench_redis "$RPORT"

"$SKIPCTL" gen --out "$WORK/data" --scale "$SCALE" --seed 7 --quiet
"$SKIPCTL" features load --redis "127.0.0.1:$RPORT" --data "$WORK/data" \
    --model "$ROOT/models/default.model" >/dev/null 2>&1

# PAIRS plays sampled from the sessions, and 200 batches of 100 tracks
# (each a user and 100 tracks of the catalogue) as wrk Lua tables
python3 - "$WORK" "$PAIRS" <<'EOF'
import json, random, sys
work, n = sys.argv[1], int(sys.argv[2])
random.seed(14)
plays = []
with open(work + "/data/sessions.jsonl") as f:
    for line in f:
        e = json.loads(line)
        # listens only (the sessions also hold ads and other events
        # without a track)
        if e.get("track_id") and e.get("event_type") in ("Play", "Skip"):
            plays.append((e["user_id"], e["track_id"]))
users = sorted({u for u, _ in plays})
tracks = [json.loads(l)["id"] for l in open(work + "/data/tracks.jsonl")]
pairs = random.sample(plays, min(n, len(plays)))
def lua_str(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'
with open(work + "/single.lua", "w") as f:
    f.write("local bodies = {\n")
    for u, t in pairs:
        f.write(lua_str(json.dumps({"user_id": u, "track_id": t},
                                   separators=(",", ":"))) + ",\n")
    f.write("}\n")
with open(work + "/tracks.lua", "w") as f:
    f.write("local pairs_ = {\n")
    for u, t in pairs:
        f.write('{"%s",%s},\n' % (u, lua_str(t)))
    f.write("}\nlocal i = 0\nrequest = function()\n"
            "    i = i % #pairs_ + 1\n"
            "    return wrk.format('GET', '/tracks/' .. pairs_[i][2],\n"
            "                      { ['X-User-Id'] = pairs_[i][1] })\nend\n")
with open(work + "/batch.lua", "w") as f:
    f.write("local bodies = {\n")
    for _ in range(200):
        # candidates as a recommender would have them: tracks people play
        # (popularity-weighted), 100 distinct ones
        ids = []
        while len(ids) < 100:
            t = random.choice(plays)[1]
            if t not in ids:
                ids.append(t)
        body = {"user_id": random.choice(users), "track_ids": ids}
        f.write(lua_str(json.dumps(body, separators=(",", ":"))) + ",\n")
    f.write("}\n")
print("%d distinct pairs of %d users, %d tracks in the sample" % (
    len(set(pairs)), len({u for u, _ in pairs}), len({t for _, t in pairs})),
    file=sys.stderr)
EOF
for f in single batch; do
    cat >> "$WORK/$f.lua" <<'EOF'
local i = 0
local headers = { ["Content-Type"] = "application/json" }
local threads = {}
setup = function(thread)
    thread:set("id", math.random(1, #bodies))
    threads[#threads + 1] = thread
end
done = function(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + (t:get("bad") or 0) end
    print("unexpected answers total: " .. n)
end
request = function()
    i = i % #bodies + 1
    return wrk.format("POST", "/recommend", headers,
                      bodies[(i + (id or 0)) % #bodies + 1])
end
response = function(status, headers, body)
    if status ~= 200 or string.find(body, '"score":null', 1, true) then
        bad = (bad or 0) + 1
        if bad < 3 then
            print("unexpected answer: " .. status .. " "
                  .. (string.match(body, '"source":"(%a+)"[^"]*$') or body))
        end
    end
end
EOF
done

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
    client_body_temp_path $WORK/body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    log_format rt '\$request_time';
    access_log off;

    skip_redis 127.0.0.1:$RPORT;
    skip_model default $ROOT/models/default.model;
    skip_record_cache off;

    server {
        listen 127.0.0.1:$HPORT;
        skip_redis_timeout 50ms;

        location = /recommend {
            skip_api;
            access_log $WORK/api.log rt if=\$log_on;
        }

        # the same lookup for a track request, for comparison
        location ~ ^/tracks/(?<track>[^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$track;
            add_header X-Skip-Score \$skip_score_exact;
            root $WORK;
            try_files /x =404;
        }
    }

    map \$http_x_log \$log_on { default 0; 1 1; }
}
EOF
echo ok > "$WORK/x"
nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log"
sleep 0.5
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores, shared)"

WRK="wrk"
[ -n "$PIN" ] && WRK="taskset -c 1 wrk"

echo "== single predictions: record cache off, 1 worker, $CONNS connections, ${DURATION}s"
# warm-up
$WRK -t1 -c"$CONNS" -d2s -s "$WORK/single.lua" "http://127.0.0.1:$HPORT" >/dev/null
$WRK -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/single.lua" \
    "http://127.0.0.1:$HPORT" > "$WORK/single.out"
RPS=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/single.out")
P50=$(awk '$1 == "50%" { print $2 }' "$WORK/single.out")
P99=$(awk '$1 == "99%" { print $2 }' "$WORK/single.out")
ERRS=$(sed -n 's/^unexpected answers total: //p' "$WORK/single.out")
printf 'requests/s %s (%.0fx the original 157 req/s)  p50 %s  p99 %s  unexpected answers %s\n' \
    "$RPS" "$(echo "$RPS / 157" | bc -l)" "$P50" "$P99" "$ERRS"
grep 'unexpected answer:' "$WORK/single.out" | head -2 || true
grep -E 'Non-2xx|Socket errors' "$WORK/single.out" || true

sed -i 's/local headers = { \["Content-Type"\] = "application\/json" }/local headers = { ["Content-Type"] = "application\/json", ["X-Log"] = "1" }/' \
    "$WORK/batch.lua"

hmgets() {
    redis-cli -p "$RPORT" info commandstats | tr -d '\r' \
        | sed -n 's/^cmdstat_hmget:calls=\([0-9]*\).*/\1/p'
}

batch() {
    : > "$WORK/api.log"
    kill -USR1 "$(cat "$WORK/nginx.pid")"; sleep 0.2
    # warm-up (the record cache, when on)
    $WRK -t1 -c1 -d2s -s "$WORK/batch.lua" "http://127.0.0.1:$HPORT" >/dev/null
    : > "$WORK/api.log"
    kill -USR1 "$(cat "$WORK/nginx.pid")"; sleep 0.2
    HM0=$(hmgets)
    $WRK -t1 -c1 -d"${DURATION}s" --latency -s "$WORK/batch.lua" \
        "http://127.0.0.1:$HPORT" > "$WORK/batch.out"
    HM1=$(hmgets)
    N=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/batch.out")
    BRPS=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/batch.out")
    B50=$(awk '$1 == "50%" { print $2 }' "$WORK/batch.out")
    B99=$(awk '$1 == "99%" { print $2 }' "$WORK/batch.out")
    SRV=$(sort -n "$WORK/api.log" | awk '{ a[NR] = $1 } END {
        printf "p50 %.3f ms  p99 %.3f ms", a[int(NR * 0.5) + 1] * 1000,
               a[int(NR * 0.99) + 1] * 1000 }')
    printf 'batches/s %s  client-side p50 %s  p99 %s  server $request_time %s  HMGETs per batch %.1f  unexpected answers %s\n' \
        "$BRPS" "$B50" "$B99" "$SRV" "$(echo "($HM1 - $HM0) / $N" | bc -l)" \
        "$(sed -n 's/^unexpected answers total: //p' "$WORK/batch.out")"
    grep 'unexpected answer:' "$WORK/batch.out" | head -2 || true
}

echo "== for comparison: track requests (GET /tracks/T, X-User-Id: U, skip_predict on), same pairs, same lookup"
$WRK -t1 -c"$CONNS" -d"${DURATION}s" --latency -s "$WORK/tracks.lua" \
    "http://127.0.0.1:$HPORT" > "$WORK/tracks.out"
printf 'requests/s %s  p50 %s  p99 %s\n' \
    "$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/tracks.out")" \
    "$(awk '$1 == "50%" { print $2 }' "$WORK/tracks.out")" \
    "$(awk '$1 == "99%" { print $2 }' "$WORK/tracks.out")"

echo "== batch of 100 tracks: record cache off, 1 connection, ${DURATION}s"
batch

echo "== batch of 100 tracks: record cache on (4096 2s), 1 connection, ${DURATION}s"
sed -i 's/skip_record_cache off;/skip_record_cache 16384 2s track=30s;/' "$WORK/nginx.conf"
kill -HUP "$(cat "$WORK/nginx.pid")"
sleep 1
batch
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
