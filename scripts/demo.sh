#!/bin/sh
# make demo: ngx_skip end to end on this machine, in about a minute.
#
#   1. generate a Pozytywka-like dataset (skipctl gen)
#   2. train two models on the earlier 80 % of sessions: "full" (logistic
#      regression, all features) and "seed" (the original's LinearSVC inputs)
#   3. start a private redis-server and load the feature store from the
#      training sessions only (the replayed outcomes must not be in it)
#   4. start nginx with the module, a proxy cache, a sticky 50/50 A/B split
#      between the two models, and a local origin of track files
#   5. replay the held-out 20 % of sessions through nginx as listeners would
#      (GET each track, then POST what the listener did)
#   6. summary: requests, cache hit ratio, live accuracy per arm with 95 %
#      CIs (skipctl abreport), Redis lookup latency from /metrics; HTML report
#   7. prefetch where tracks are sliced: bench/prefetch.sh on the same data
#      and models, players (skipctl replay --player) streaming slices along
#      their listening time through edges with prefetch off, always, by the
#      models and at the threshold skipctl simulate names (DEMO_PREFETCH=0
#      skips it; DEMO_PREFETCH_LIMIT plays, default 2000)
#
# Everything lives in demo-out/ (DEMO_OUT); nothing is installed.  Every
# process started here is stopped at the end, on error and on Ctrl-C.
#
# Environment: SKIP_BUILD (build dir, default build/), DEMO_OUT, DEMO_SCALE
# (dataset size, default 0.1), DEMO_SEED (1), DEMO_CONCURRENCY (8),
# DEMO_LIMIT (max requests replayed, default all), DEMO_TRACK_KB (size of a
# track file, 64), DEMO_KEEP=1 (leave nginx and redis running; prints how to
# stop them), DEMO_FRESH=1 (regenerate data and models even if present).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKIP_BUILD:-$ROOT/build}
SKIPCTL=$BUILD/skipctl
MODULE=$BUILD/ngx_skip_module.so
OUT=${DEMO_OUT:-$ROOT/demo-out}
SCALE=${DEMO_SCALE:-0.1}
SEED=${DEMO_SEED:-1}
CONC=${DEMO_CONCURRENCY:-8}
LIMIT=${DEMO_LIMIT:-}
TRACK_KB=${DEMO_TRACK_KB:-64}
CACHE_MB=${DEMO_CACHE_MB:-256}
NGINX=${SKIP_NGINX:-/usr/sbin/nginx}
TEMPLATE=${DEMO_NGINX_TEMPLATE:-$ROOT/scripts/demo-nginx.conf}

PIDS=""
STEP=0
STEPS=9
T_START=$(date +%s)

say()  { printf '%s\n' "$*" >&2; }
BOLD=""
PLAIN=""
if [ -t 2 ]; then
    BOLD=$(printf '\033[1m')
    PLAIN=$(printf '\033[0m')
fi
stage() {
    STEP=$((STEP + 1))
    printf '\n%s==> [%d/%d] %s%s  (%ss)\n' "$BOLD" "$STEP" "$STEPS" "$*" \
        "$PLAIN" "$(($(date +%s) - T_START))" >&2
}
die() {
    printf '\ndemo: FAILED at step %d: %s\n' "$STEP" "$1" >&2
    shift
    for line in "$@"; do printf '      %s\n' "$line" >&2; done
    exit 1
}

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    rc=$?
    trap - EXIT INT TERM
    if [ -n "${DEMO_KEEP:-}" ] && [ "$rc" -eq 0 ]; then
        say ""
        say "demo: DEMO_KEEP set, left running (pids$PIDS); stop with: kill$PIDS"
        exit 0
    fi
    for pid in $PIDS; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $PIDS; do
        # wait only works for our own children, which all of them are
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$PIDS" ]; then say "demo: stopped nginx and redis-server"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say ""; say "demo: interrupted"; exit 130' INT TERM

# A free loopback port (the kernel picks; perl is a build dependency).
free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                      Proto => "tcp", ReuseAddr => 1) or die $!;
        print $s->sockport;'
}

# GET http://127.0.0.1:$1$2 to stdout (no curl needed).
http_get() {
    perl -MIO::Socket::INET -e '
        my ($port, $path) = @ARGV;
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 5) or exit 1;
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        local $/; my $r = <$s> // ""; my ($h, $b) = split /\r\n\r\n/, $r, 2;
        exit 1 unless $h =~ m{^HTTP/1\.\d 200};
        print $b;' "$1" "$2"
}

wait_port() {   # port seconds
    i=0
    while [ "$i" -lt $(($2 * 10)) ]; do
        if perl -MIO::Socket::INET -e \
            'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]") ? 0 : 1)' "$1"
        then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# "not available yet" placeholders exit 2 with that message.
check_cmd() {   # name
    if "$SKIPCTL" "$1" --help >/dev/null 2>&1; then
        return 0
    fi
    die "skipctl $1 is not available in this build" \
        "$("$SKIPCTL" "$1" --help 2>&1 | head -3)"
}

# --- 1. tools and build --------------------------------------------------------
stage "checking the build and tools"
[ -x "$SKIPCTL" ] || die "no $SKIPCTL" "run make first (make demo builds it)"
[ -f "$MODULE" ] || die "no $MODULE" "run make first"
[ -x "$NGINX" ] || die "no nginx at $NGINX" "sh scripts/deps.sh installs it"
command -v redis-server >/dev/null || die "redis-server not found" \
    "sh scripts/deps.sh installs it"
command -v perl >/dev/null || die "perl not found"
for c in gen train features replay abreport; do check_cmd "$c"; done
mkdir -p "$OUT"
say "build $BUILD, output $OUT, scale $SCALE, seed $SEED"

# --- 2. dataset -------------------------------------------------------------------
stage "generating the dataset (skipctl gen --scale $SCALE)"
DATA=$OUT/data
# what the data and models were made with: a rebuilt skipctl (new features,
# new generator) makes them again rather than reusing stale ones
PARAMS="scale=$SCALE seed=$SEED skipctl=$(cksum < "$SKIPCTL" | cut -d' ' -f1)"
if [ -z "${DEMO_FRESH:-}" ] && [ -f "$DATA/sessions.jsonl" ] \
   && [ "$(cat "$DATA/.demo-params" 2>/dev/null)" = "$PARAMS" ]
then
    say "reusing $DATA ($PARAMS; DEMO_FRESH=1 regenerates)"
else
    rm -rf "$DATA" "$OUT/models"
    "$SKIPCTL" gen --out "$DATA" --scale "$SCALE" --seed "$SEED" \
        || die "skipctl gen failed"
    echo "$PARAMS" > "$DATA/.demo-params"
fi
for f in artists tracks users sessions; do
    [ -s "$DATA/$f.jsonl" ] || die "skipctl gen wrote no $DATA/$f.jsonl"
done
say "$(wc -l < "$DATA/sessions.jsonl") events in $DATA/sessions.jsonl"

# --- 3. models ----------------------------------------------------------------------
stage "training two models on the earlier 80 % of sessions"
MODELS=$OUT/models
mkdir -p "$MODELS"
train() {   # name, then skipctl train options
    name=$1
    shift
    if [ -z "${DEMO_FRESH:-}" ] && [ -s "$MODELS/$name.model" ] \
       && [ -s "$MODELS/$name.json" ] \
       && [ "$(cat "$MODELS/.$name.params" 2>/dev/null)" = "$PARAMS" ]
    then
        say "reusing $MODELS/$name.model"
        return 0
    fi
    say "training $name ($*)"
    "$SKIPCTL" train --data "$DATA" --name "$name" --model-dir "$MODELS" \
        --split time --test-fraction 0.2 "$@" > "$OUT/train-$name.txt" \
        || die "skipctl train --name $name failed" "see $OUT/train-$name.txt"
    [ -s "$MODELS/$name.model" ] || die "skipctl train wrote no $MODELS/$name.model"
    echo "$PARAMS" > "$MODELS/.$name.params"
}
train full --features full --solver lr
train seed --features seed --solver svm
for name in full seed; do
    # The offline test-set accuracy, to compare with the live one below.
    acc=$(grep -i -m1 'accuracy' "$OUT/train-$name.txt" 2>/dev/null || true)
    if [ -n "$acc" ]; then say "offline $name: $acc"; fi
done

# --- 4. redis + feature store -----------------------------------------------------
stage "starting redis-server and loading the feature store"
REDIS_PORT=${DEMO_REDIS_PORT:-$(free_port)}
# a fresh store each run: the append-only file would bring back the last
# run's snapshots and event journal
rm -rf "$OUT/redis"
mkdir -p "$OUT/redis"
# Durable, as acknowledged events need (docs/feature-store.md,
# "Durability"): every write is in the append-only file, fsynced, before
# Redis replies, so an event answered 200 survives kill -9.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
    --appendonly yes --appendfsync always --dir "$OUT/redis" \
    --daemonize no > "$OUT/redis/redis.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$REDIS_PORT" 10 || die "redis-server did not start" \
    "$(tail -5 "$OUT/redis/redis.log")"
say "redis-server on 127.0.0.1:$REDIS_PORT (appendonly yes, appendfsync always)"

# The feature store is loaded from the training sessions only: the records
# the module serves during the replay must not already count the outcomes
# being replayed (that would leak the label, as the original's random split
# did).
TRAIN=$OUT/data-train
mkdir -p "$TRAIN"
for f in artists tracks users track_storage; do
    if [ -e "$DATA/$f.jsonl" ]; then ln -sf "$DATA/$f.jsonl" "$TRAIN/$f.jsonl"; fi
done
"$SKIPCTL" replay --data "$DATA" --test-split 0.2 \
    --write-train "$TRAIN/sessions.jsonl" >/dev/null \
    || die "could not split off the training sessions"
"$SKIPCTL" features load --data "$TRAIN" --model "$MODELS/full.model" \
    --redis "127.0.0.1:$REDIS_PORT" \
    || die "skipctl features load failed"
"$SKIPCTL" features status --redis "127.0.0.1:$REDIS_PORT" 2>/dev/null \
    | sed 's/^/    /' >&2 || true

# --- 5. nginx ------------------------------------------------------------------------
stage "starting nginx with the skip module (A/B: full vs seed)"
PORT=${DEMO_PORT:-$(free_port)}
ORIGIN_PORT=$(free_port)
while [ "$ORIGIN_PORT" = "$PORT" ]; do ORIGIN_PORT=$(free_port); done
NGX=$OUT/nginx
rm -rf "$NGX"
mkdir -p "$NGX/tmp/body" "$NGX/tmp/proxy" "$NGX/tmp/fastcgi" \
         "$NGX/tmp/uwsgi" "$NGX/tmp/scgi" "$NGX/cache" "$OUT/origin"
# One track file stands in for every track: the cache stores it per URI.
head -c $((TRACK_KB * 1024)) /dev/urandom > "$OUT/origin/track.bin"
[ -f "$TEMPLATE" ] || die "no nginx template $TEMPLATE"
sed -e "s|@MODULE@|$MODULE|g" -e "s|@OUT@|$OUT|g" -e "s|@MODELS@|$MODELS|g" \
    -e "s|@PORT@|$PORT|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" \
    -e "s|@REDIS_PORT@|$REDIS_PORT|g" -e "s|@CACHE_MB@|$CACHE_MB|g" \
    "$TEMPLATE" > "$NGX/nginx.conf"
if ! "$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" -t \
        > "$NGX/nginx-t.log" 2>&1
then
    die "nginx -t rejects the demo configuration $NGX/nginx.conf" \
        "$(grep -v 'test failed' "$NGX/nginx-t.log" | head -5)" \
        "(the module may not implement these directives yet: see $TEMPLATE)"
fi
"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" \
    -g 'daemon off;' > "$NGX/nginx.stdout" 2>&1 &
PIDS="$PIDS $!"
wait_port "$PORT" 10 || die "nginx did not start" "$(tail -5 "$NGX/error.log")"
say "nginx on http://127.0.0.1:$PORT (origin on :$ORIGIN_PORT)"

# --- 6. replay -------------------------------------------------------------------------
stage "replaying the held-out sessions through nginx"
set -- --data "$DATA" --url "http://127.0.0.1:$PORT" --test-split 0.2 \
       --concurrency "$CONC" --events-url /skip/events \
       --events-log "$OUT/events.jsonl"
if [ -n "$LIMIT" ]; then set -- "$@" --limit "$LIMIT"; fi
"$SKIPCTL" replay "$@" > "$OUT/replay.txt" \
    || die "skipctl replay failed" "$(tail -5 "$OUT/replay.txt")"
sed 's/^/    /' "$OUT/replay.txt" >&2

# --- 7. reports ---------------------------------------------------------------------------
stage "live A/B report"
# nginx writes its access log through a buffer only with `buffer=`; the demo
# config has none, but give the workers a moment to finish the last lines.
sleep 0.5
AB_RC=0
"$SKIPCTL" abreport --log "$NGX/access.jsonl" --events "$OUT/events.jsonl" \
    --html "$OUT/abreport.html" > "$OUT/abreport.txt" 2> "$OUT/abreport.err" \
    || AB_RC=$?
if [ "$AB_RC" -ne 0 ]; then
    say "abreport exit $AB_RC: $(tail -2 "$OUT/abreport.err")"
fi
# The offline side: both models against the baselines and the Bayes limit.
"$SKIPCTL" report --out "$OUT/models.html" "$MODELS/full.model" \
    "$MODELS/seed.model" 2>> "$OUT/abreport.err" \
    || say "skipctl report failed: $(tail -1 "$OUT/abreport.err")"
METRICS_OK=0
if http_get "$PORT" /metrics > "$OUT/metrics.txt" 2>/dev/null \
   && grep -q '^skip_' "$OUT/metrics.txt"
then
    METRICS_OK=1
fi

# --- 8. prefetch ---------------------------------------------------------------------------
PREFETCH_OK=0
if [ "${DEMO_PREFETCH:-1}" != 0 ]; then
    stage "prefetch where tracks are sliced: players through six edges"
    if SKIP_BUILD=$BUILD DATA_DIR=$DATA MODELS_DIR=$MODELS NO_WRK=1 \
       LIMIT=${DEMO_PREFETCH_LIMIT:-2000} BENCH_OUT=$OUT/prefetch \
       sh "$ROOT/bench/prefetch.sh" > "$OUT/prefetch.txt" 2> "$OUT/prefetch.err"
    then
        PREFETCH_OK=1
        sed 's/^/    /' "$OUT/prefetch.txt" >&2
    else
        say "prefetch bench failed: $(tail -3 "$OUT/prefetch.err")"
    fi
fi

# --- 9. summary ---------------------------------------------------------------------------
stage "summary"
{
    echo
    echo "ngx_skip demo: $(wc -l < "$DATA/sessions.jsonl" | tr -d ' ') events generated" \
         "(scale $SCALE), models full (logistic) and seed (SVM), 50/50 sticky A/B"
    echo
    grep -E '^(requests|status|cache_hit_ratio|latency_ms|X-Skip-Decision|X-Skip-Arm|events) ' \
        "$OUT/replay.txt" | sed 's/^/  /'
    echo
    if [ -s "$OUT/abreport.txt" ]; then
        echo "  live accuracy per arm (95 % Wilson CI), from $OUT/abreport.txt:"
        awk '/^arm +requests/ {on = 1} on && /^$/ {exit} on' "$OUT/abreport.txt" \
            | sed 's/^/    /'
        grep -E '^[^ ]+ - [^ ]+: ' "$OUT/abreport.txt" | sed 's/^/    /'
    else
        echo "  live accuracy: no report (see $OUT/abreport.err)"
    fi
    echo
    if [ "$METRICS_OK" -eq 1 ]; then
        # Redis lookup latency from the module's histogram: mean and the
        # buckets' p50/p99 (linear interpolation within a bucket).
        awk '
            /^skip_redis_lookup_seconds_bucket/ {
                match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
                n++; les[n] = le; cum[n] = $NF
            }
            /^skip_redis_lookup_seconds_sum/   { sum = $NF }
            /^skip_redis_lookup_seconds_count/ { cnt = $NF }
            /^skip_redis_lookups_total/        { res = res " " $1 "=" $NF }
            function q(p,   i, target, lo, prev, f) {
                target = p * cnt; prev = 0; lo = 0
                for (i = 1; i <= n; i++) {
                    if (cum[i] >= target) {
                        if (les[i] == "+Inf") return "> " lo * 1e6
                        f = cum[i] > prev ? (target - prev) / (cum[i] - prev) : 1
                        return sprintf("%.0f", (lo + (les[i] - lo) * f) * 1e6)
                    }
                    prev = cum[i]; lo = les[i]
                }
                return "?"
            }
            END {
                if (cnt > 0)
                    printf "  redis lookups: %d, mean %.0f us, p50 ~%s us, p99 ~%s us\n",
                           cnt, sum / cnt * 1e6, q(0.5), q(0.99)
                else
                    print "  redis lookups: none in the metrics"
                if (res != "") print "  lookup results:" res
            }' "$OUT/metrics.txt"
    else
        echo "  redis latency: /metrics not available (skip_metrics not served yet)"
    fi
    echo
    if [ "$PREFETCH_OK" -eq 1 ]; then
        echo "  prefetch (bench/prefetch.sh, from $OUT/prefetch.txt):"
        grep -E '^(config|off|always|always1|model|chosen|ahead1) ' "$OUT/prefetch.txt" \
            | sed 's/^/    /'
        echo
    fi
    echo "  reports: $OUT/abreport.html  (A/B chart with CIs)"
    echo "           $OUT/models.html  (offline evaluation of both models)"
    echo "           $OUT/abreport.txt, $OUT/replay.txt, $OUT/train-*.txt"
    echo "  logs:    $NGX/access.jsonl, $NGX/error.log, $OUT/events.jsonl"
    echo "  took $(($(date +%s) - T_START)) s"
} | tee "$OUT/summary.txt"

[ "$AB_RC" -eq 0 ] || die "the live A/B report could not be computed" \
    "$(tail -3 "$OUT/abreport.err")"
exit 0
