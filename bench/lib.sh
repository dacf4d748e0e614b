# Shared by the benchmarks that run nginx and a private redis-server in a
# work directory (module.sh, api.sh, prefetch-cached.sh): sourced, not run.
#
#   bench_setup NAME        WORK=a new temp dir; PIN (taskset for CPU 1 on
#                           2+ cores, so that nginx's worker on CPU 0 and
#                           wrk/redis do not steal each other's slices);
#                           a trap that stops nginx (WORK/nginx.pid) and
#                           redis (WORK/redis.pid, woken if SIGSTOPped) and
#                           removes WORK
#   freeport                a free loopback TCP port
#   bench_cluster [ARGS]    a Redis Cluster of 3 primaries + 3 replicas in
#                           WORK (redis-server ARGS added to each node),
#                           pinned, state ok before it returns; NODES (the
#                           six host:port), SEED (the first); its nodes are
#                           stopped with the rest on exit
#   bench_redis PORT        a non-persistent redis-server in WORK, pinned,
#                           answering PING before it returns; it also
#                           listens on the unix socket WORK/redis.sock.
#                           With the store's documented memory setting
#                           (docs/feature-store.md: hash-max-listpack-value
#                           256); BENCH_REDIS_ARGS replaces it ("" for
#                           Redis' defaults)

freeport() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_cleanup() {
    [ -s "$WORK/nginx.pid" ] && kill -QUIT "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    [ -s "$WORK/redis.pid" ] && { kill -CONT "$(cat "$WORK/redis.pid")"; kill "$(cat "$WORK/redis.pid")"; } 2>/dev/null || true
    sleep 0.3
    [ -n "${KEEP:-}" ] && { echo "kept $WORK" >&2; return; }
    rm -rf "$WORK"
}

bench_setup() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap bench_cleanup EXIT INT TERM
    PIN=""
    [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null && PIN="taskset -c 1"
}

bench_redis() {
    $PIN redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK" --daemonize yes --pidfile "$WORK/redis.pid" \
        --unixsocket "$WORK/redis.sock" --unixsocketperm 700 \
        --logfile "$WORK/redis.log" ${BENCH_REDIS_ARGS---hash-max-listpack-value 256}
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis-server on port $1 did not answer" >&2
    return 1
}

# a free port whose cluster bus port (+ 10000) is free too
bench_freepair() {
    python3 -c '
import socket
while True:
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    if p > 55000: continue
    b = socket.socket()
    try: b.bind(("127.0.0.1", p + 10000))
    except OSError: continue
    print(p); break'
}

BENCH_CPIDS=""
bench_cluster_cleanup() {
    for p in $BENCH_CPIDS; do kill "$p" 2>/dev/null || true; done
    bench_cleanup
}

# six cluster nodes (the default bus port: redis-cli --cluster create joins
# them through it)
bench_cluster() {
    trap bench_cluster_cleanup EXIT INT TERM
    NODES=""
    for _ in 1 2 3 4 5 6; do
        p=$(bench_freepair)
        mkdir -p "$WORK/c$p"
        # shellcheck disable=SC2086
        $PIN redis-server --port "$p" --bind 127.0.0.1 \
            --save '' --appendonly no --dir "$WORK/c$p" --cluster-enabled yes \
            --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
            "$@" --daemonize yes --pidfile "$WORK/c$p/redis.pid" \
            --logfile "$WORK/c$p/redis.log"
        NODES="$NODES 127.0.0.1:$p"
    done
    sleep 0.5
    for n in $NODES; do
        BENCH_CPIDS="$BENCH_CPIDS $(cat "$WORK/c${n#127.0.0.1:}/redis.pid")"
    done
    # shellcheck disable=SC2086
    redis-cli --cluster create $NODES --cluster-replicas 1 --cluster-yes >/dev/null
    SEED=$(echo $NODES | cut -d' ' -f1)
    for _ in $(seq 1 100); do
        redis-cli -p "${SEED#127.0.0.1:}" cluster info | grep -q 'cluster_state:ok' && break
        sleep 0.1
    done
    sleep 1
}
