#!/bin/sh
# Prefetch where tracks are sliced: the held-out sessions of a
# generated dataset streamed by `skipctl replay --player` through three
# edge configurations in one run, each its own nginx server block, port and
# proxy_cache, all in front of ONE origin nginx that logs every byte range
# it serves (one access log per edge, so that each configuration's origin
# traffic is its own):
#   off     no prefetch: what the cache has anyway (the listener's own
#           slices, and other listeners' of the same track)
#   always  skip_prefetch_threshold 0: every play warms the rest of its track
#   model   prefetch on the model's "play" (its decision threshold), two
#           models in a sticky 50/50 split_clients A/B: full (logistic
#           regression) and seed (the original's SVM inputs)
#   chosen  the full model for every listener, prefetching at the
#           skip_prefetch_threshold that `skipctl simulate --waste-budget
#           0.5` names for it on an independently generated dataset (seed
#           SEED + 1): the threshold is not tuned on the replayed sessions
#   always1 prefetch always (threshold 0), one slice ahead of each request:
#           what the depth alone saves, without the model
#   ahead1  the chosen threshold, but one slice ahead of each request
#           (skip_prefetch_ahead 1) instead of the rest of the track: a
#           listener who skips wastes at most the slice after the one it
#           stopped in
# Each edge is its own nginx (the module's prefetch ledger is per nginx).
# Every edge runs skip_predict with the same models and split, so that the
# table can show every configuration per arm and per decision.  The origin
# serves sparse files (truncate -s), so the disk holds only what the edges
# cache.
#
# Printed: per configuration and arm, plays, slices, the HIT share of the
# later slices of plays decided "play" and listened to the end (target
# >= 90 %), origin MB, MB prefetched and never listened (and as a share of
# "always"'s: target <= 50 %), listened MB of full plays that were HITs of
# prefetched slices (target >= 85 %; both of all listened bytes and of
# those after the first slice, which the listener's own request fetches and
# no prefetch of the track can), TTFB p50/p99 per slice; then a wrk
# run: throughput on a cached track with prefetch configured vs off
# (target >= 0.9).
#
# Size (runs in ~3-5 minutes on 2 shared cores): skipctl gen --scale 0.05
# (7000 sessions; the last 20 % = 1400 held out, 26.8 k plays), of which
# the first LIMIT plays (default 4000, whole sessions first) are replayed
# by CONC players (16).  Bytes are scaled down 20x so that the edge caches
# stay small: tracks at 8 kbps in 50 KiB slices are 51.2 s of audio per
# slice, as 1 MiB slices of a 160 kbps track are (52.4 s); slices per
# track, and so every share in the table, are the same.  Listening is
# compressed 1000x (--time-scale 0.001).
#
# Until the module has slice-aware prefetch (skip_prefetch_slice ...),
# nginx -t refuses the "always" and "model" blocks: then only "off" runs
# and the others are reported as not available.
#
# Environment: SKIP_BUILD (build dir, default build/), SCALE (0.05), SEED
# (1), LIMIT (4000), CONC (16), KBPS (8), SLICE (50k), TIME_SCALE (0.001),
# DURATION (wrk seconds per run, 5), KEEP=1 (leave the work dir),
# BENCH_OUT (work dir, default a temp dir); DATA_DIR and MODELS_DIR (a
# dataset and a directory with full.model and seed.model trained on its
# time split, as make demo has them: no generating, no training), NO_WRK=1
# (skip the wrk run).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKIP_BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so
SCALE=${SCALE:-0.05}
SEED=${SEED:-1}
LIMIT=${LIMIT:-4000}
CONC=${CONC:-16}
KBPS=${KBPS:-8}
SLICE=${SLICE:-50k}
TIME_SCALE=${TIME_SCALE:-0.001}
DURATION=${DURATION:-5}
NGINX=${SKIP_NGINX:-/usr/sbin/nginx}

[ -x "$SKIPCTL" ] || { echo "no $SKIPCTL (make first)" >&2; exit 1; }
[ -f "$MODULE" ] || { echo "no $MODULE (make first)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server" >&2; exit 1; }

if [ -n "${BENCH_OUT:-}" ]; then
    W=$BENCH_OUT
    rm -rf "$W"
    mkdir -p "$W"
else
    W=$(mktemp -d "${TMPDIR:-/tmp}/prefetch-bench.XXXXXX")
fi
say() { printf '%s\n' "$*" >&2; }

PIDS=""
cleanup() {
    for f in "$W"/edge-*/nginx.pid "$W/origin/nginx.pid"; do
        [ -s "$f" ] && kill -QUIT "$(cat "$f")" 2>/dev/null || true
    done
    for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    if [ -n "${KEEP:-}" ]; then say "left $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT INT TERM

freeport() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
    for _ in $(seq 1 100); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$1" \
            2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# --- data, models, feature store (as scripts/demo.sh) ----------------------
if [ -n "${DATA_DIR:-}" ]; then
    say "== dataset: $DATA_DIR"
    ln -s "$DATA_DIR" "$W/data"
else
    say "== dataset: skipctl gen --scale $SCALE --seed $SEED"
    "$SKIPCTL" gen --out "$W/data" --scale "$SCALE" --seed "$SEED" --quiet
fi
if [ -n "${MODELS_DIR:-}" ]; then
    say "== models: $MODELS_DIR/full.model, $MODELS_DIR/seed.model"
    ln -s "$MODELS_DIR" "$W/models"
else
    say "== models: full (lr, all features) and seed (svm, the original's inputs)"
    mkdir -p "$W/models"
    "$SKIPCTL" train --data "$W/data" --name full --model-dir "$W/models" \
        --split time --test-fraction 0.2 --features full --solver lr \
        > "$W/train-full.txt" 2>&1
    "$SKIPCTL" train --data "$W/data" --name seed --model-dir "$W/models" \
        --split time --test-fraction 0.2 --features seed --solver svm \
        > "$W/train-seed.txt" 2>&1
fi

RPORT=$(freeport)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$W" --daemonize no > "$W/redis.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$RPORT" || { echo "redis-server did not start" >&2; exit 1; }
mkdir -p "$W/data-train"
for f in artists tracks users track_storage; do
    [ -e "$W/data/$f.jsonl" ] && ln -sf "$W/data/$f.jsonl" "$W/data-train/$f.jsonl"
done
# the records served hold no outcome of a replayed session
"$SKIPCTL" replay --data "$W/data" --test-split 0.2 --quiet \
    --write-train "$W/data-train/sessions.jsonl" > /dev/null
"$SKIPCTL" features load --data "$W/data-train" --model "$W/models/full.model" \
    --redis "127.0.0.1:$RPORT" --quiet > /dev/null

# --- the prefetch threshold, chosen on other data --------------------------------
say "== threshold: skipctl simulate --waste-budget 0.5 on a dataset of seed $((SEED + 1))"
"$SKIPCTL" gen --out "$W/data-tune" --scale "$SCALE" --seed "$((SEED + 1))" --quiet
"$SKIPCTL" simulate --data "$W/data-tune" --model "$W/models/full.model" \
    --policies lru --cache-size 1% --slice 1m --waste-budget 0.5 \
    > "$W/simulate-tune.txt" 2> /dev/null
CHOSEN=$(sed -n 's/.*skip_prefetch_threshold \([0-9.]*\);.*/\1/p' "$W/simulate-tune.txt" | head -1)
[ -n "$CHOSEN" ] || { say "simulate named no threshold:"; grep chosen "$W/simulate-tune.txt" >&2; CHOSEN=0.5; }
say "   chosen: skip_prefetch_threshold $CHOSEN"

# --- the origin: sparse files of the player's sizes ---------------------------
PLAYER="--player --kbps $KBPS --slice $SLICE --time-scale $TIME_SCALE"
"$SKIPCTL" replay --data "$W/data" --test-split 0.2 --limit "$LIMIT" --quiet \
    $PLAYER --write-sizes "$W/sizes.txt" > /dev/null
mkdir -p "$W/origin/tracks" "$W/origin/tmp"
while read -r id size; do
    truncate -s "$size" "$W/origin/tracks/$id"
done < "$W/sizes.txt"
say "== origin: $(wc -l < "$W/sizes.txt") sparse track files"

USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
CONFIGS="off always model chosen always1 ahead1"
for c in $CONFIGS; do
    eval "OPORT_$c=$(freeport)"
    eval "EPORT_$c=$(freeport)"
done

{
    cat <<EOF
$USER_LINE
worker_processes 1;
pid $W/origin/nginx.pid;
error_log $W/origin/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $W/origin/tmp;
    proxy_temp_path $W/origin/tmp;
    fastcgi_temp_path $W/origin/tmp;
    uwsgi_temp_path $W/origin/tmp;
    scgi_temp_path $W/origin/tmp;
    # the format skipctl replay --origin-log reads
    log_format origin escape=json '{"uri":"\$uri","range":"\$http_range",'
        '"status":\$status,"bytes":\$body_bytes_sent,'
        '"prefetch":"\$http_x_skip_prefetch","arm":"\$http_x_skip_arm"}';
    root $W/origin;
    keepalive_requests 100000;
EOF
    for c in $CONFIGS; do
        eval "p=\$OPORT_$c"
        echo "    server { listen 127.0.0.1:$p; access_log $W/origin-$c.jsonl origin; }"
    done
    echo "}"
} > "$W/origin.conf"
"$NGINX" -p "$W/origin/" -c "$W/origin.conf" -e "$W/origin/error.log"
for c in $CONFIGS; do eval "wait_port \$OPORT_$c"; done

# --- the edges ---------------------------------------------------------------------
# One nginx per configuration: the module's prefetch ledger
# (skip_prefetch_zone) is per nginx and names a slice by its URI, so two
# configurations in one nginx would see each other's prefetches as done.
edge_conf() {   # configuration
    E=$W/edge-$1
    mkdir -p "$E/tmp"
    cat <<EOF
load_module $MODULE;
$USER_LINE
worker_processes 1;
pid $E/nginx.pid;
error_log $E/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path $E/tmp;
    proxy_temp_path $E/tmp;
    fastcgi_temp_path $E/tmp;
    uwsgi_temp_path $E/tmp;
    scgi_temp_path $E/tmp;
    log_format edge escape=json '{"user":"\$http_x_user_id","track":"\$track_id",'
        '"range":"\$http_range","decision":"\$skip_decision","arm":"\$skip_arm",'
        '"cache":"\$upstream_cache_status","status":"\$status"}';

    skip_zone           skip 4m;
    skip_redis          127.0.0.1:$RPORT;
    skip_redis_timeout  20ms;
    skip_model          full $W/models/full.model;
    skip_model          seed $W/models/seed.model;
    split_clients "\${http_x_user_id}" \$skip_arm {
        50%     full;
        *       seed;
    }
EOF
    for c in "$1"; do
        eval "op=\$OPORT_$c; ep=\$EPORT_$c"
        case $c in
        off)    pf="" ;;
        always) pf="skip_prefetch /prefetch; skip_prefetch_slice $SLICE;
            skip_prefetch_ahead all; skip_prefetch_next 1;
            skip_prefetch_threshold 0;" ;;
        model)  pf="skip_prefetch /prefetch; skip_prefetch_slice $SLICE;
            skip_prefetch_ahead all; skip_prefetch_next 1;" ;;
        chosen) pf="skip_prefetch /prefetch; skip_prefetch_slice $SLICE;
            skip_prefetch_ahead all; skip_prefetch_next 1;
            skip_prefetch_threshold $CHOSEN;" ;;
        always1) pf="skip_prefetch /prefetch; skip_prefetch_slice $SLICE;
            skip_prefetch_ahead 1; skip_prefetch_next 1;
            skip_prefetch_threshold 0;" ;;
        ahead1) pf="skip_prefetch /prefetch; skip_prefetch_slice $SLICE;
            skip_prefetch_ahead 1; skip_prefetch_next 1;
            skip_prefetch_threshold $CHOSEN;" ;;
        esac
        arm='$skip_arm'
        case $c in chosen|ahead1) arm=full ;; esac
        cat <<EOF

    # ---- $c
    proxy_cache_path $E/cache levels=1:2 keys_zone=t_$c:8m
                     max_size=4g inactive=1h use_temp_path=off;
    upstream origin_$c { server 127.0.0.1:$op; keepalive 32; }
    server {
        listen 127.0.0.1:$ep;
        keepalive_requests 100000;
        access_log $W/edge-$c.jsonl edge;
        location ~ "^/tracks/(?<track_id>[A-Za-z0-9]{22})\$" {
            skip_predict on; skip_user \$http_x_user_id; skip_track \$track_id;
            skip_position \$http_x_session_position; skip_hour \$http_x_local_hour;
            skip_use_model $arm; skip_fallback play;
            slice $SLICE;
            proxy_cache t_$c; proxy_cache_key \$uri\$slice_range;
            proxy_set_header Range \$slice_range;
            proxy_cache_valid 200 206 1h; proxy_cache_lock on;
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_set_header X-Skip-Arm $arm;
            $pf
            add_header X-Cache-Status \$upstream_cache_status always;
            add_header X-Skip-Decision \$skip_decision always;
            add_header X-Skip-Arm $arm always;
            proxy_pass http://origin_$c;
        }
EOF
        [ -n "$pf" ] && cat <<EOF
        location /prefetch/ {
            internal;
            access_log off;
            rewrite ^/prefetch(/.*)\$ \$1 break;
            proxy_cache t_$c; proxy_cache_key \$uri\$skip_prefetch_range;
            proxy_set_header Range \$skip_prefetch_range;
            proxy_set_header X-Skip-Prefetch 1;
            proxy_set_header X-Skip-Arm $arm;
            proxy_cache_valid 200 206 1h; proxy_cache_lock on;
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_pass http://origin_$c;
        }
EOF
        echo "    }"
    done
    echo "}"
}
RUN=""
for c in $CONFIGS; do
    edge_conf "$c" > "$W/edge-$c.conf"
    if ! "$NGINX" -p "$W/edge-$c/" -c "$W/edge-$c.conf" \
            -e "$W/edge-$c/nginx-t.log" -t > "$W/edge-$c-t.log" 2>&1
    then
        say "== nginx -t refuses '$c' (module without slice-aware prefetch?):"
        grep -v 'test failed' "$W/edge-$c-t.log" | head -2 >&2
        continue
    fi
    "$NGINX" -p "$W/edge-$c/" -c "$W/edge-$c.conf" -e "$W/edge-$c/error.log"
    eval "wait_port \$EPORT_$c"
    RUN="$RUN $c"
done

# --- the replays ----------------------------------------------------------------------
for c in $RUN; do
    eval "ep=\$EPORT_$c"
    say "== player replay through '$c' (:$ep), $LIMIT plays, $CONC players"
    "$SKIPCTL" replay --data "$W/data" --test-split 0.2 --limit "$LIMIT" \
        --url "http://127.0.0.1:$ep" --concurrency "$CONC" --events-url none \
        $PLAYER --origin-log "$W/origin-$c.jsonl" --json \
        > "$W/replay-$c.json" 2> "$W/replay-$c.err" \
        || { say "replay $c failed:"; tail -3 "$W/replay-$c.err" >&2; exit 1; }
    grep -E 'player:|skips without' "$W/replay-$c.err" | head -1 >&2 || true
done

# --- wrk: a cached track, prefetch configured vs off ---------------------------------
WRK=""
if [ -z "${NO_WRK:-}" ] && command -v wrk >/dev/null && echo "$RUN" | grep -q model; then
    # 50 (user, track) pairs the model decided "play" for (prefetch fires),
    # each track warmed completely on both edges first
    python3 - "$W" "$EPORT_off" "$EPORT_model" "$SLICE" <<'EOF' > "$W/wrk-pairs.txt"
import json, sys, urllib.request
w, p_off, p_model, slice_s = sys.argv[1:5]
mul = {'k': 1024, 'm': 1024 * 1024}
sl = int(slice_s[:-1]) * mul[slice_s[-1]] if slice_s[-1] in mul else int(slice_s)
size = dict(l.split() for l in open(w + '/sizes.txt'))
pairs, seen = [], set()
for line in open(w + '/edge-model.jsonl'):
    r = json.loads(line)
    if r['decision'] == 'play' and r['track'] and r['track'] not in seen:
        seen.add(r['track'])
        pairs.append((r['user'], r['track']))
    if len(pairs) == 50:
        break
for user, track in pairs:
    n = int(size[track])
    for port in (p_off, p_model):
        for s in range(0, n, sl):
            req = urllib.request.Request(
                'http://127.0.0.1:%s/tracks/%s' % (port, track),
                headers={'X-User-Id': user,
                         'Range': 'bytes=%d-%d' % (s, min(s + sl, n) - 1)})
            urllib.request.urlopen(req).read()
    print(user, track, min(sl, n) - 1)
EOF
    {
        echo 'local pairs = {}'
        while read -r u tr e; do
            echo "pairs[#pairs + 1] = { \"$u\", \"$tr\", \"bytes=0-$e\" }"
        done < "$W/wrk-pairs.txt"
        cat <<'EOF'
local i = 0
request = function()
    i = i % #pairs + 1
    local p = pairs[i]
    return wrk.format("GET", "/tracks/" .. p[2],
        { ["X-User-Id"] = p[1], ["Range"] = p[3] })
end
EOF
    } > "$W/wrk.lua"
    wrk_rps() {
        wrk -t 1 -c 32 -d "${DURATION}s" -s "$W/wrk.lua" "http://127.0.0.1:$1" \
            > "$W/wrk.out" 2>&1
        if grep -q 'Non-2xx' "$W/wrk.out"; then grep 'Non-2xx' "$W/wrk.out" >&2; fi
        sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$W/wrk.out"
    }
    ob=$(cat "$W"/origin-*.jsonl | wc -l)
    say "== wrk: 50 cached tracks, prefetch off vs model, 3 alternating runs of ${DURATION}s"
    o1=$(wrk_rps "$EPORT_off"); m1=$(wrk_rps "$EPORT_model")
    o2=$(wrk_rps "$EPORT_off"); m2=$(wrk_rps "$EPORT_model")
    o3=$(wrk_rps "$EPORT_off"); m3=$(wrk_rps "$EPORT_model")
    sleep 1
    oa=$(cat "$W"/origin-*.jsonl | wc -l)
    med() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -n | sed -n 2p; }
    OFF=$(med "$o1" "$o2" "$o3")
    MOD=$(med "$m1" "$m2" "$m3")
    WRK=$(echo "$OFF $MOD $((oa - ob))" | awk '{ printf "wrk, cached tracks (decided play): prefetch off %.0f req/s, prefetch by the model %.0f req/s -> ratio %.2f (target >= 0.9); origin fetches during wrk: %d", $1, $2, $2 / $1, $3 }')
fi

# --- the table ---------------------------------------------------------------------------
python3 - "$W" "$RUN" "$CONFIGS" "$WRK" "$CHOSEN" <<'EOF'
import json, sys
w, run, configs, wrk = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
chosen = sys.argv[5]
res = {c: json.load(open('%s/replay-%s.json' % (w, c)))['player'] for c in run}
def pct(x): return '-' if x is None else '%.1f %%' % (100 * x)
def mb(x): return '-' if x is None else '%.1f' % (x / 1e6)
always_waste = {}     # per group value ("" = all): the same arm of "always"
if 'always' in res:
    for g in res['always']['groups']:
        if g['by'] != 'decision' and g['origin_log']:
            always_waste[g['value']] = g['origin_log']['prefetched_never_listened_bytes']
p = next(iter(res.values()))
print('prefetch bench: %d plays, %d-byte slices at %g kbps, time scale %g'
      % (p['plays'], p['slice_bytes'], p['kbps'], p['time_scale']))
hdr = ('config', 'arm', 'plays', 'slices', 'later-HIT', 'origin_MB',
       'prefetch_MB', 'wasted_MB', 'wasted/always', 'full-covered',
       'later-covered', 'ttfb_p50', 'ttfb_p99')
fmt = '%-7s %-5s %6s %7s %10s %9s %11s %9s %13s %12s %13s %8s %8s'
print(fmt % hdr)
for c in configs:
    if c not in res:
        print('%-7s %s' % (c, 'not available (nginx -t refused the prefetch directives)'))
        continue
    for g in res[c]['groups']:
        if g['by'] == 'decision':
            continue
        o = g['origin_log']
        waste = o['prefetched_never_listened_bytes'] if o else None
        share = None
        # "chosen" serves every listener with one arm: compare with all
        # of "always"
        key = '' if c in ('chosen', 'ahead1') else g['value']
        if c != 'off' and waste is not None and always_waste.get(key):
            share = waste / always_waste[key]
        cov = (g['full_play_bytes_prefetched'] / g['full_play_bytes']
               if g['full_play_bytes'] and g['full_play_bytes_prefetched'] is not None
               else None)
        later = (g['full_play_later_bytes_prefetched'] / g['full_play_later_bytes']
                 if g['full_play_later_bytes']
                 and g['full_play_later_bytes_prefetched'] is not None else None)
        print(fmt % (c, g['value'] or 'all', g['plays'], g['slices'],
                     pct(g['later_hit_share_play_full']),
                     mb(o['bytes'] if o else None),
                     mb(o['prefetch_bytes'] if o else None), mb(waste),
                     pct(share),
                     pct(cov), pct(later), '%.2f' % g['ttfb_ms']['p50'],
                     '%.2f' % g['ttfb_ms']['p99']))
print('later-HIT: HITs among the slices after the first, plays decided "play"'
      ' and listened to the end (target >= 90 %)')
print('wasted: origin bytes of prefetches of slices no player asked for;'
      ' wasted/always: of the same arm of "always" (target: model <= 50 %);'
      ' full-covered: listened bytes of'
      ' full plays that were HITs of prefetched slices (target >= 85 %);'
      ' later-covered: the same after the first slice')
print('chosen: skip_prefetch_threshold %s, named by skipctl simulate'
      ' --waste-budget 0.5 on another dataset, the full model for every'
      ' listener; ahead1: the same, one slice ahead; their wasted/always'
      ' compares with all of "always"' % chosen)
print('origin_MB target: model <= always.  ttfb in ms per slice.')
for c in run:
    bad = sum(g['bad_range'] + g['errors'] for g in res[c]['groups'] if g['by'] == 'all')
    if bad:
        print('%s: %d slices with a wrong range or a status not 200/206' % (c, bad))
if wrk:
    print(wrk)
EOF
if cat "$W"/edge-*/error.log "$W/origin/error.log" 2>/dev/null \
        | grep -q '\[\(crit\|alert\|emerg\)\]'
then
    say "error logs have entries above error:"
    cat "$W"/edge-*/error.log "$W/origin/error.log" \
        | grep '\[\(crit\|alert\|emerg\)\]' | head -5 >&2
fi
