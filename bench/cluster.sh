#!/bin/sh
# The module on a Redis Cluster vs one Redis, both on loopback.
#
# One nginx worker (CPU 0), the record cache off (every request is a round
# trip), one Redis or a cluster of 3 primaries + 3 replicas (all Redis
# processes and wrk on CPU 1, as in bench/module.sh), the same dataset
# loaded into both with skipctl (--cluster for the cluster).  Requests go
# round robin over 25 users x 50 tracks, so user and track keys land on
# different nodes of the cluster.  Reported:
#   - req/s, single vs cluster (median of 3 alternating runs), and the
#     ratio (target >= 0.8);
#   - median latency at one connection (the round trip: two nodes asked in
#     parallel cost one round trip, not two) and HMGETs per request;
#   - a failover: a primary SIGKILLed while wrk runs: failed (non-2xx or
#     socket errors) requests (target 0), and, from a second client that
#     reads $skip_source, how long after the kill predictions of every key
#     came from Redis again.
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
bench_setup cluster-bench

RPORT=$(freeport)
HPORT=$(freeport)
OPORT=$(freeport)
bench_redis "$RPORT"

bench_cluster --cluster-allow-reads-when-down yes

"$SKIPCTL" gen --out "$WORK/data" --scale 0.01 --seed 7 --quiet
for r in "--redis 127.0.0.1:$RPORT" "--redis $SEED --cluster"; do
    "$SKIPCTL" features load $r --data "$WORK/data" \
        --model "$ROOT/models/default.model" >/dev/null 2>&1
done
USERS=$(head -25 "$WORK/data/users.jsonl" | sed 's/.*"user_id":\([0-9]*\).*/\1/')
TRACKS=$(head -50 "$WORK/data/tracks.jsonl" | sed 's/.*"id":"\([^"]*\)".*/\1/')

mkdir -p "$WORK/html"
echo x > "$WORK/html/x"

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
error_log $WORK/error-$2.log info;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/body;
    skip_redis $1;
    skip_model default $ROOT/models/default.model;
    skip_record_cache off;
    skip_redis_timeout 50ms;

    server {
        listen 127.0.0.1:$HPORT;
        root $WORK/html;
        location ~ ^/on/(?<track>[^/]+)\$ {
            skip_predict on;
            skip_user \$http_x_user_id;
            skip_track \$track;
            add_header X-Skip-Source \$skip_source;
            try_files /x =404;
        }
    }
}
EOF
}
conf "127.0.0.1:$RPORT" single > "$WORK/single.conf"
conf "$(echo $NODES | cut -d' ' -f1,2) cluster" cluster > "$WORK/cluster.conf"

cat > "$WORK/rr.lua" <<EOF
local users, tracks = {}, {}
for u in string.gmatch("$(echo $USERS)", "%S+") do users[#users + 1] = u end
for t in string.gmatch("$(echo $TRACKS)", "%S+") do tracks[#tracks + 1] = t end
local i = 0
request = function()
    i = i + 1
    return wrk.format("GET", "/on/" .. tracks[i % #tracks + 1],
                      { ["X-User-Id"] = users[i % #users + 1] })
end
EOF

start_nginx() {
    nginx -p "$WORK/" -c "$WORK/$1.conf" -e "$WORK/error-$1.log"
    sleep 1.5           # the cluster's map, connections and snapshot
}
stop_nginx() {
    kill -QUIT "$(cat "$WORK/nginx.pid")"
    sleep 0.5
}

hmgets() {
    n=0
    for p in $RPORT $(for x in $NODES; do echo "${x#127.0.0.1:}"; done); do
        c=$(redis-cli -p "$p" info commandstats 2>/dev/null | tr -d '\r' \
            | sed -n 's/^cmdstat_hmget:calls=\([0-9]*\).*/\1/p')
        n=$((n + ${c:-0}))
    done
    echo $n
}

# run CONNS SECONDS -> "rps p50(us) requests"
run() {
    $PIN wrk -t 1 -c "$1" -d "$2s" --latency -s "$WORK/rr.lua" \
        "http://127.0.0.1:$HPORT" > "$WORK/wrk.out" 2>&1
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.out")
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")
    p50=$(awk '$1 == "50%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
               if (u == "ms") v *= 1000; else if (u == "s") v *= 1000000; print v }' "$WORK/wrk.out")
    errs=$(grep -c 'Non-2xx\|Socket errors' "$WORK/wrk.out" || true)
    [ "$errs" = 0 ] || { echo "  errors:" >&2; grep 'Non-2xx\|Socket' "$WORK/wrk.out" >&2; }
    echo "$rps $p50 $reqs"
}
median3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -n | sed -n 2p; }

echo "nginx module, 1 worker, record cache off, $(nproc) cores, wrk $CONNS connections ${DURATION}s per run; one Redis vs a cluster of 3 primaries + 3 replicas (redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'))"

S="" C="" SL="" CL=""
for k in 1 2 3; do
    for m in single cluster; do
        start_nginx $m
        wrk -t 1 -c 4 -d 1s -s "$WORK/rr.lua" "http://127.0.0.1:$HPORT" >/dev/null
        h0=$(hmgets)
        set -- $(run "$CONNS" "$DURATION")
        rps=$1 reqs=$3
        h1=$(hmgets)
        set -- $(run 1 2)
        lat=$2
        stop_nginx
        if [ $m = single ]; then S="$S $rps"; SL="$SL $lat"; SH=$(( (h1 - h0) * 1000 / reqs ))
        else C="$C $rps"; CL="$CL $lat"; CH=$(( (h1 - h0) * 1000 / reqs )); fi
    done
done
set -- $S; SM=$(median3 "$1" "$2" "$3")
set -- $C; CM=$(median3 "$1" "$2" "$3")
set -- $SL; SLM=$(median3 "$1" "$2" "$3")
set -- $CL; CLM=$(median3 "$1" "$2" "$3")
echo "$SM $CM" | awk '{ printf "  throughput: single %.0f req/s, cluster %.0f req/s -> ratio %.2f (target >= 0.8)\n", $1, $2, $2 / $1 }'
echo "  median latency, 1 connection: single $SLM us, cluster $CLM us (one round trip each)"
echo "$SH $CH" | awk '{ printf "  HMGET per request: single %.2f, cluster %.2f\n", $1 / 1000, $2 / 1000 }'
grep -h 'sk\|skip' "$WORK"/error-*.log | grep -c '\[warn\]' | sed 's/^/  warnings in error.log: /'

# ---- failover: SIGKILL a primary under load ------------------------------
start_nginx cluster
VICTIM=$(redis-cli -p "${SEED#127.0.0.1:}" cluster nodes | awk '/master/ && !/myself/ { split($2, a, "[:@]"); print a[2]; exit }')
cat > "$WORK/probe.pl" <<'EOF'
# sequential requests over all pairs; prints "time source" per request
use IO::Socket::INET; use Time::HiRes qw(time);
my ($port, $secs, @pairs) = @ARGV;
my $end = time + $secs; my $i = 0; $| = 1;
while (time < $end) {
    my ($u, $t) = split /,/, $pairs[$i++ % @pairs];
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or next;
    print $s "GET /on/$t HTTP/1.0\r\nX-User-Id: $u\r\n\r\n";
    local $/; my $r = <$s>;
    my ($st) = $r =~ m{^HTTP/1\.\d (\d+)};
    my ($src) = $r =~ /^X-Skip-Source: (\S+)/mi;
    printf "%.3f %s %s\n", time, $st // 0, $src // '-';
}
EOF
PAIRS=$(for u in $USERS; do for t in $(echo "$TRACKS" | head -8); do echo "$u,$t"; done; done)
perl "$WORK/probe.pl" "$HPORT" 12 $PAIRS > "$WORK/probe.out" &
PROBE=$!
$PIN wrk -t 1 -c "$CONNS" -d 12s -s "$WORK/rr.lua" "http://127.0.0.1:$HPORT" > "$WORK/wrk-failover.out" 2>&1 &
WRK=$!
sleep 3
KILLED=$(perl -MTime::HiRes=time -e 'printf "%.3f", time')
kill -9 "$(cat "$WORK/c$VICTIM/redis.pid")"
# promoted: CLUSTER SLOTS (as a surviving node sees it) no longer names the
# dead node, which it lists while it is still the primary of its slots
ASK=$(echo $NODES | tr ' ' '\n' | grep -v ":$VICTIM\$" | head -1)
for _ in $(seq 1 200); do
    sleep 0.05
    redis-cli -p "${ASK#127.0.0.1:}" cluster slots 2>/dev/null | grep -qx "$VICTIM" || break
done
PROMOTED=$(perl -MTime::HiRes=time -e 'printf "%.3f", time')
wait $WRK $PROBE
sed -n 's/^ *\([0-9]*\) requests in.*/  failover: wrk \1 requests/p' "$WORK/wrk-failover.out"
FAILS=$(grep -c 'Non-2xx\|Socket errors' "$WORK/wrk-failover.out" || true)
echo "  failed track requests during the failover: $FAILS lines of non-2xx/socket errors (target 0)"
grep 'Non-2xx\|Socket errors' "$WORK/wrk-failover.out" || true
awk -v k="$KILLED" -v p="$PROMOTED" '
    $2 != 200 { bad++ }
    $1 > k { after++; if ($3 != "redis" && $3 != "missing") { fb++; last = $1 } }
    END { printf "  probe: %d requests after the kill, %d not 200, %d fell back; replica promoted (CLUSTER SLOTS) after %.2f s; predictions of every key from Redis again %.2f s after the kill\n",
                 after, bad, fb, p - k, (last ? last - k : 0) }' "$WORK/probe.out"
stop_nginx
