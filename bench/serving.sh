#!/bin/sh
# What the module costs per track request on a realistic request stream.
#
# The workload: the first PLAYS Play events of a generated dataset
# (--scale SCALE, seed 7) in file order, i.e. listeners' sessions in
# order, many listeners and many tracks (the counts are printed), one
# request per play with X-User-Id.  wrk cycles through the list, each
# connection from its own random offset, so CONNS listeners' streams run
# interleaved, as at an edge.  One nginx worker; each track is a 4 kB
# file, served two ways:
#   static    from disk (root): the cheapest thing nginx does
#   hit       through proxy_cache, every request a cache HIT (the cache
#             is warmed with the whole list first)
# and for each, the same location without the module ("off") and with
# skip_predict on ("on"), in the same nginx, alternated ROUNDS times (3), medians
# reported.  This runs three times: with the record cache as
# conf/nginx-skip.conf ships it (skip_record_cache 16384 2s track=30s),
# with the module's default (4096 2s), and with skip_record_cache off
# (every request one Redis round trip of two HMGETs).
#
# Reported per configuration: requests/s, the ratio on/off, the worker's
# CPU time per request (utime + stime from /proc over the runs, divided by
# the requests wrk completed) and what "on" adds to it, Redis commands
# and Redis CPU per request (INFO commandstats calls/usec; redis-server's
# own CPU from /proc), and the share of track records the worker's
# record cache answered (skip_track_cache_total).
#
# The module reaches Redis over loopback TCP, as it would a Redis on another
# host; REDIS_UNIX=1 makes it use the unix socket instead (a Redis on the
# same machine), which costs both sides less kernel time per round trip.
#
# IR=1 measures instead the user-space instructions per request under
# valgrind's callgrind (see ir_pass): noise-free, unlike the rates.
#
# Environment: SKIP_BUILD (default ./build), DURATION (s per run, 5),
# ROUNDS (off/on pairs per measurement, 3),
# CONNS (wrk connections, 50), PLAYS (200000), SCALE (0.1), REDIS_UNIX,
# SHIPPED_CACHE (the "shipped" pass's skip_record_cache arguments, default
# those of conf/nginx-skip.conf), PASSES (default "shipped default no-cache"; a build from before
# skip_record_cache's track= has no "shipped"), FEATURES (default: serve
# models/default.model, the "full" set; a feature set such as "taste" or
# "taste+session": train a model with it on the benchmark's own dataset
# and serve that), SESSION=1 (each request names its play's session,
# X-Session-Id, read by skip_session: what a taste+session model costs;
# no events are posted, so every session is read as a first track, one
# HMGET, and the module's expectation is written, one HSET + EXPIRE),
# PERF_DIR (a directory:
# every "on" run is also recorded there with perf record $PERF_ARGS
# (default -g; --call-graph dwarf names callers without frame pointers), one file per
# run; read them with perf report -i; the profiler costs the worker time,
# so figures of such a run are not comparable; PERF_OFF=1 records the
# "off" runs too).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKIP_BUILD:-$ROOT/build}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-50}
PLAYS=${PLAYS:-200000}
SCALE=${SCALE:-0.1}
PASSES=${PASSES:-shipped default no-cache}
FEATURES=${FEATURES:-}
SESSION=${SESSION:-}
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so

[ -f "$MODULE" ] || { echo "no $MODULE (make first)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }

. bench/lib.sh
bench_setup serving-bench
RPORT=$(freeport)
HPORT=$(freeport)
OPORT=$(freeport)
bench_redis "$RPORT"
MODULE_REDIS=127.0.0.1:$RPORT
[ -n "${REDIS_UNIX:-}" ] && MODULE_REDIS=unix:$WORK/redis.sock

echo "generating a dataset (scale $SCALE) and loading its features..." >&2
"$SKIPCTL" gen --out "$WORK/data" --scale "$SCALE" --seed 7 --quiet
SERVE_MODEL=$ROOT/models/default.model
if [ -n "$FEATURES" ]; then
    echo "training a model with --features $FEATURES on it..." >&2
    "$SKIPCTL" train --data "$WORK/data" --name bench --features "$FEATURES" \
        --model-dir "$WORK" --quiet >/dev/null
    SERVE_MODEL=$WORK/bench.model
fi
"$SKIPCTL" features load --redis "127.0.0.1:$RPORT" --data "$WORK/data" \
    --model "$SERVE_MODEL" >/dev/null 2>&1

# "user track session" per play
grep '"event_type":"Play"' "$WORK/data/sessions.jsonl" | head -n "$PLAYS" \
    | sed 's/.*"user_id":\([0-9]*\).*"track_id":"\([^"]*\)".*"session_id":\([0-9]*\).*/\1 \2 \3/' \
    > "$WORK/plays"
NPLAYS=$(wc -l < "$WORK/plays")
NUSERS=$(cut -d' ' -f1 "$WORK/plays" | sort -u | wc -l)
mkdir -p "$WORK/origin/t" "$WORK/cache"
head -c 4096 /dev/zero | tr '\0' 'x' > "$WORK/track"
cut -d' ' -f2 "$WORK/plays" | sort -u > "$WORK/tracks"
NTRACKS=$(wc -l < "$WORK/tracks")
while read -r t; do ln "$WORK/track" "$WORK/origin/t/$t"; done < "$WORK/tracks"

# wrk: each connection walks the play list from its own offset (read from
# the file: a Lua chunk with 200,000 table constructors is over Lua's limit)
cat > "$WORK/plays.lua" <<EOF
local reqs = {}
for line in io.lines("$WORK/plays") do
    local u, t, s = line:match("^(%S+) (%S+) (%S+)\$")
    reqs[#reqs + 1] = { u, t, s }
end
EOF
cat >> "$WORK/plays.lua" <<'EOF'
-- formatted once per thread before the run: wrk shares its CPU with Redis
-- (bench_setup pins both to CPU 1), so a request built per call would
-- charge "on" for wrk's work as Redis takes its share of that CPU
local i, raw = 0, {}
function init(args)
    for k = 1, #reqs do
        raw[k] = wrk.format("GET", wrk.path .. reqs[k][2],
                            { ["X-User-Id"] = reqs[k][1],
                              ["X-Session-Id"] = reqs[k][3] })
    end
    i = math.random(#reqs)
end
function request()
    i = i % #reqs + 1
    return raw[i]
end
EOF

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
    # open file descriptors of the hottest files; kept well under the
    # process' limit (20000 here), which the stream's 2 x 11,881 files
    # (static and cache) would exceed: accept() then fails (EMFILE)
    open_file_cache max=8000 inactive=60s;

    skip_redis $MODULE_REDIS;
    skip_model default $SERVE_MODEL;
    SESSION_LINE
    RECORD_CACHE
    skip_zone skip 4m;

    proxy_cache_path $WORK/cache levels=1:2 keys_zone=tracks:16m;
    upstream origin { server 127.0.0.1:$OPORT; keepalive 16; }

    server {
        listen 127.0.0.1:$HPORT;

        # a prefix location each, the track captured inside it: each side
        # runs one regex (four regex locations in a row made "on" pay for
        # failing "off"'s first)
        location /static/off/ {
            location ~ ^/static/off/(?<track>[^/]+)\$ {
                root $WORK/origin; try_files /t/\$track =404;
            }
        }
        location /static/on/ {
            location ~ ^/static/on/(?<track>[^/]+)\$ {
                skip_predict on; skip_user \$http_x_user_id; skip_track \$track;
                add_header X-Skip-Decision \$skip_decision;
                root $WORK/origin; try_files /t/\$track =404;
            }
        }
        location /hit/off/ {
            location ~ ^/hit/off/(?<track>[^/]+)\$ {
                proxy_cache tracks; proxy_cache_key \$track;
                proxy_cache_valid 200 1h;
                proxy_http_version 1.1; proxy_set_header Connection "";
                proxy_pass http://origin/t/\$track;
            }
        }
        location /hit/on/ {
            location ~ ^/hit/on/(?<track>[^/]+)\$ {
                skip_predict on; skip_user \$http_x_user_id; skip_track \$track;
                add_header X-Skip-Decision \$skip_decision;
                proxy_cache tracks; proxy_cache_key \$track;
                proxy_cache_valid 200 1h;
                proxy_http_version 1.1; proxy_set_header Connection "";
                proxy_pass http://origin/t/\$track;
            }
        }
        location = /metrics { skip_metrics; }
    }

    server {
        listen 127.0.0.1:$OPORT;
        root $WORK/origin;
    }
}
EOF

cpu_ticks() {   # utime + stime of a pid, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
cmdstat() {     # "calls usec" summed over the commands the module sends
    redis-cli -p "$RPORT" info commandstats | tr -d '\r' | awk -F'[=,:]' '
        /^cmdstat_(hmget|hget|get|evalsha|hgetall|hset|expire)/ { c += $3; u += $5 }
        END { printf "%d %d\n", c, u }'
}
cache_hits() {  # "hits lookups" of the track record cache
    curl -s "http://127.0.0.1:$HPORT/metrics" | awk '
        /^skip_track_cache_total/ { n += $2; if ($0 ~ /result="hit"/) h += $2 }
        END { printf "%d %d\n", h, n }'
}

# run PATH -> "rps requests worker_ticks redis_ticks calls usec hits lookups"
run() {
    w0=$(cpu_ticks "$WPID"); r0=$(cpu_ticks "$(cat "$WORK/redis.pid")")
    set -- $(cmdstat) $(cache_hits); c0=$1 u0=$2 h0=$3 l0=$4
    case "${PERF_DIR:-}:$P:${PERF_OFF:-}" in
    :*|*/off/:) ;;
    *)  perf record -q ${PERF_ARGS:--g} -p "$WPID" -o "$PERF_DIR/$PASS.$(echo "$P" | tr -d /).$(date +%s%N).data" \
            -- sleep "$DURATION" >/dev/null 2>&1 & ;;
    esac
    $PIN wrk -t 1 -c "$CONNS" -d "${DURATION}s" -s "$WORK/plays.lua" \
        "http://127.0.0.1:$HPORT$P" > "$WORK/wrk.out" 2>&1
    wait
    w1=$(cpu_ticks "$WPID"); r1=$(cpu_ticks "$(cat "$WORK/redis.pid")")
    set -- $(cmdstat) $(cache_hits); c1=$1 u1=$2 h1=$3 l1=$4
    if grep -q 'Non-2xx\|Socket errors' "$WORK/wrk.out"; then
        echo "  $P: errors:" >&2; grep 'Non-2xx\|Socket' "$WORK/wrk.out" >&2
    fi
    echo "$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$WORK/wrk.out")" \
         "$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")" \
         $((w1 - w0)) $((r1 - r0)) $((c1 - c0)) $((u1 - u0)) \
         $((h1 - h0)) $((l1 - l0))
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
HZ=$(getconf CLK_TCK)

# measure KIND (static|hit): ROUNDS alternating off/on pairs, one report
# line each.  The ratio is the median of the pairs' own on/off ratios, with
# their range: a pair's two runs are seconds apart, so what drifts on a
# shared machine moves both; the range shows how far one run can be trusted.
measure() {
    kind=$1
    : > "$WORK/off.runs"; : > "$WORK/on.runs"
    i=0
    while [ "$i" -lt "$ROUNDS" ]; do
        P=/$kind/off/; run >> "$WORK/off.runs"
        P=/$kind/on/;  run >> "$WORK/on.runs"
        i=$((i + 1))
    done
    off=$(cut -d' ' -f1 "$WORK/off.runs" | median)
    on=$(cut -d' ' -f1 "$WORK/on.runs" | median)
    paste -d' ' "$WORK/off.runs" "$WORK/on.runs" \
        | awk '{ print $(NF / 2 + 1) / $1 }' > "$WORK/ratios"
    ratio=$(median < "$WORK/ratios")
    lo=$(sort -n "$WORK/ratios" | head -1)
    hi=$(sort -n "$WORK/ratios" | tail -1)
    awk -v hz="$HZ" -v off="$off" -v on="$on" -v kind="$kind" -v label="$2" \
        -v ratio="$ratio" -v lo="$lo" -v hi="$hi" '
        FILENAME ~ /off.runs/ { oreq += $2; ow += $3 }
        FILENAME ~ /on.runs/  { nreq += $2; nw += $3; nr += $4; c += $5; u += $6; h += $7; l += $8 }
        END {
            ous = ow / hz * 1e6 / oreq; nus = nw / hz * 1e6 / nreq
            printf "  %-6s %-8s off %6.0f req/s  on %6.0f req/s  ratio %.2f (pairs %.2f-%.2f)" \
                   "  worker %.1f -> %.1f us/req (+%.1f)" \
                   "  redis %.2f cmd, %.2f us cmd, %.2f us cpu /req" \
                   "  track cache hits %.1f %%\n",
                kind, label, off, on, ratio, lo, hi, ous, nus, nus - ous,
                c / nreq, u / nreq, nr / hz * 1e6 / nreq,
                l ? 100 * h / l : 0
        }' "$WORK/off.runs" "$WORK/on.runs"
}

# pass LABEL DIRECTIVE: start nginx with that record cache, warm, measure
pass() {
    PASS=$1
    sl=""
    [ -n "$SESSION" ] && sl="skip_session \$http_x_session_id;"
    sed -e "s|RECORD_CACHE|$2|" -e "s|SESSION_LINE|$sl|" "$WORK/nginx.conf" \
        > "$WORK/run.conf"
    nginx -p "$WORK/" -c "$WORK/run.conf" -e "$WORK/error.log"
    sleep 0.5
    WPID=$(pgrep -f "nginx: worker process" -P "$(cat "$WORK/nginx.pid")")
    # warm: every track once through the proxy cache, then a short run of each
    awk -v base="http://127.0.0.1:$HPORT/hit/off/" \
        '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base, $1 }' \
        "$WORK/tracks" | curl -s -K -
    for P in /static/on/ /hit/on/; do
        wrk -t 1 -c "$CONNS" -d 1s -s "$WORK/plays.lua" "http://127.0.0.1:$HPORT$P" >/dev/null
    done
    measure static "$1"
    measure hit "$1"
    kill -QUIT "$(cat "$WORK/nginx.pid")"; sleep 0.5
}

# ir_pass LABEL DIRECTIVE (IR=1): the same stream through one nginx process
# (master_process off) under valgrind's callgrind, which counts the
# instructions it executes in user space: per request, on and off, a figure
# that does not move with the machine's load (the kernel's share of a
# request is not in it).  Under callgrind nginx runs ~50 times slower, so
# more requests queue per event-loop pass than at full speed and more
# lookups share one Redis send; the per-request user-space work of the
# module is otherwise the same.  The lookup deadline is raised to 10 s (and
# the breaker off) so that the slowed worker never falls back on a timeout:
# a fallback skips the decoding and scoring this is meant to count.
# callgrind_control ARGS: valgrind reads a command only while the program
# runs, and nginx sleeps in epoll_wait between requests, so a trickle of
# requests (a 404, a few hundred instructions each) keeps it reading
cg_ctl() {
    ( while :; do curl -s -o /dev/null "http://127.0.0.1:$HPORT/wake"; done ) &
    trickle=$!
    callgrind_control "$@" "$VPID" >> "$WORK/cg_ctl.log" 2>&1
    kill "$trickle"; wait "$trickle" 2>/dev/null || true
}

ir_pass() {
    sl=""
    [ -n "$SESSION" ] && sl="skip_session \$http_x_session_id;"
    sed -e "s|RECORD_CACHE|$2|" -e "s|SESSION_LINE|$sl|" \
        -e "s|^worker_processes 1;|master_process off; daemon off;|" \
        -e "s|^    skip_zone skip 4m;|    skip_zone skip 4m; skip_redis_timeout 10s; skip_redis_breaker off;|" \
        -e "s|^worker_cpu_affinity 01;||" "$WORK/nginx.conf" > "$WORK/run.conf"
    rm -f "$WORK"/cg.out*
    valgrind --tool=callgrind --instr-atstart=no \
        --callgrind-out-file="$WORK/cg.out" \
        nginx -p "$WORK/" -c "$WORK/run.conf" -e "$WORK/error.log" \
        2> "$WORK/valgrind.log" &
    VPID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$HPORT/metrics" && break
        sleep 0.2
    done
    awk -v base="http://127.0.0.1:$HPORT/hit/off/" \
        '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base, $1 }' \
        "$WORK/tracks" | curl -s -K -
    for P in /static/off/ /static/on/ /hit/off/ /hit/on/; do
        # a short unmeasured run first: the record cache warms as it would
        wrk -t 1 -c "$CONNS" -d 2s -s "$WORK/plays.lua" \
            "http://127.0.0.1:$HPORT$P" >/dev/null
        cg_ctl -z; cg_ctl -i on
        $PIN wrk -t 1 -c "$CONNS" -d "${DURATION}s" -s "$WORK/plays.lua" \
            "http://127.0.0.1:$HPORT$P" > "$WORK/wrk.out" 2>&1
        cg_ctl -d; cg_ctl -i off
        n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out")
        ir=$(cat "$WORK"/cg.out.* | sed -n 's/^summary: *\([0-9]*\).*/\1/p' | tail -1)
        # kept for callgrind_annotate (with KEEP=1)
        for f in "$WORK"/cg.out.*; do
            mv "$f" "$WORK/cg.$1.$(echo "$P" | tr -d /)"
        done
        echo "$P $n $ir"
    done > "$WORK/ir.runs"
    fb=$(curl -s "http://127.0.0.1:$HPORT/metrics" \
         | awk '/^skip_fallbacks_total/ { n += $2 } END { print n + 0 }')
    [ "$fb" = 0 ] || echo "  $1: $fb requests fell back (not scored): the counts are low" >&2
    kill -QUIT "$VPID"; wait "$VPID" 2>/dev/null || true
    awk -v label="$1" '
        { k = $1; sub("^/", "", k); sub("/$", "", k); ir[k] = $3 / $2; n[k] = $2 }
        END {
            printf "  static %-8s user-space instructions/request: off %.0f, on %.0f (+%.0f)\n",
                label, ir["static/off"], ir["static/on"], ir["static/on"] - ir["static/off"]
            printf "  hit    %-8s user-space instructions/request: off %.0f, on %.0f (+%.0f)\n",
                label, ir["hit/off"], ir["hit/on"], ir["hit/on"] - ir["hit/off"]
        }' "$WORK/ir.runs"
}

if [ -n "${IR:-}" ]; then
    command -v valgrind >/dev/null || { echo "IR=1 needs valgrind" >&2; exit 1; }
    echo "user-space instructions per request under callgrind: $NPLAYS plays of $NUSERS listeners" \
         "and $NTRACKS tracks; one nginx process, wrk $CONNS connections, ${DURATION}s per side"
    for p in $PASSES; do
        case $p in
        shipped)  ir_pass shipped "skip_record_cache ${SHIPPED_CACHE:-16384 2s track=30s};" ;;
        default)  ir_pass default "skip_record_cache 4096 2s;" ;;
        no-cache) ir_pass no-cache "skip_record_cache off;" ;;
        *)        echo "unknown pass $p" >&2; exit 2 ;;
        esac
    done
    exit 0
fi

echo "serving cost on a realistic stream: $NPLAYS plays of $NUSERS listeners and $NTRACKS tracks in session order;" \
     "1 worker, $(nproc) cores, wrk $CONNS connections, ${DURATION}s x $ROUNDS per side, 4 kB track," \
     "redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') at $MODULE_REDIS;" \
     "model ${FEATURES:-full (models/default.model)}${SESSION:+, sessions named}"
for p in $PASSES; do
    case $p in
    shipped)  pass shipped "skip_record_cache ${SHIPPED_CACHE:-16384 2s track=30s};" ;;
    default)  pass default "skip_record_cache 4096 2s;" ;;
    no-cache) pass no-cache "skip_record_cache off;" ;;
    *)        echo "unknown pass $p" >&2; exit 2 ;;
    esac
done

if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/error.log"; then
    echo "  error.log has entries above warn:" >&2
    grep '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/error.log" | head -5 >&2
fi
