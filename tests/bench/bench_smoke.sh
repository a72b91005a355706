#!/usr/bin/env bash
# bench_smoke: a few seconds of socks5-bench against socks5d on a free loopback port — every
# scenario once, small — asserting that it ran, that tunnels/s (and datagrams/s) is above zero,
# that no proxied tunnel was cut or broken, and that bulk's byte counts are summed over its
# rounds.
# Usage: bench_smoke.sh SOCKS5D SOCKS5_BENCH
set -euo pipefail

server=$1
bench=$2
work=$(mktemp -d)
server_pid=

cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "bench_smoke: FAIL: $*" >&2
    [ -f "$work/server.log" ] && sed 's/^/  server: /' "$work/server.log" >&2
    exit 1
}

user=smoke
pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The admin comes from the environment so no random password lands in the log.
SOCKS5D_ADMIN="admin:$pass" "$server" -l 127.0.0.1 -p 0 -P 0 -f off -n -u "$user:$pass" \
    --access-log off --allow-loopback 2>"$work/server.log" &
server_pid=$!

port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening for socks5 on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "socks5d exited at start"
    sleep 0.1
done
[ -n "$port" ] || fail "socks5d did not report its port within 10 s"

run() {
    SOCKS5_BENCH_AUTH="$user:$pass" "$bench" -x "127.0.0.1:$port" --proxy-pid "$server_pid" \
        --warmup 0.2 -q --kv-file "$work/kv" "$@" >>"$work/out" 2>&1 ||
        { cat "$work/out" >&2; fail "socks5-bench $* failed"; }
}
run -d 1.5 -c 16 rate
run -d 1 -c 8 -a -D --pipelined rate
run -d 1 -b 4M -s 2 --rounds 3 bulk
run -d 0.5 --rounds 2 pingpong
run -N 200 --hold-time 0.2 hold
run --warmup 0.1 -d 0.3 --rounds 1 udp
cat "$work/out"

value() { sed -n "s/^$1=//p" "$work/kv"; }
# Datagrams went through in every udp section (both payloads, 1 and 100 associations).
for section in p64.a1 p64.a100 p1200.a1 p1200.a100; do
    rate=$(value "udp.$section.datagrams_per_s")
    [ -n "$rate" ] || fail "no udp.$section.datagrams_per_s in the output"
    awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "udp.$section.datagrams_per_s=$rate"
done
for key in rate.ipv4.noauth.step.tunnels_per_s rate.domain.auth.pipelined.tunnels_per_s; do
    rate=$(value "$key")
    [ -n "$rate" ] || fail "no $key in the output"
    awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "$key=$rate"
done
[ "$(value hold.n200.held)" = 200 ] || fail "hold.n200.held=$(value hold.n200.held)"
grep -q '\.error=' "$work/kv" && fail "$(grep '\.error=' "$work/kv")"
# Every proxied tunnel ended cleanly, so its byte counts are the proxy's (scripts/soak compares).
grep -q '\.proxied_bytes_up=' "$work/kv" || fail "no proxied_bytes_up in the output"
grep -q '\.proxied_inexact=[1-9]' "$work/kv" && fail "$(grep '\.proxied_inexact=[1-9]' "$work/kv")"
# Each round's lines, and the ratio as the median of theirs (not a ratio of medians).
for key in bulk.down.s2.round3_mb_s bulk.up.s2.round3_direct_mb_s \
    pingpong.round2_p50_us_vs_direct; do
    [ -n "$(value "$key")" ] || fail "no $key in the output"
done
[ -z "$(value pingpong.round3_p50_us)" ] || fail "pingpong ran a third round"
median=$(for r in 1 2 3; do value "bulk.down.s2.round${r}_mb_s_vs_direct"; done | sort -g |
    sed -n 2p)
[ "$median" = "$(value bulk.down.s2.mb_s_vs_direct)" ] ||
    fail "bulk.down.s2.mb_s_vs_direct=$(value bulk.down.s2.mb_s_vs_direct), median round $median"
# 4 MiB per stream, 2 streams, 3 proxied passes, plus the 8-byte header (and, uploading, the
# 8-byte acknowledgement) of each stream: exact unless a stream was cut at -d.
expect_bytes() { # KEY BYTES
    [ "$(value "$1")" = "$2" ] || fail "$1=$(value "$1"), expected $2"
}
if [ "$(value bulk.down.s2.proxied_cut)" = 0 ]; then
    expect_bytes bulk.down.s2.proxied_bytes_down $(( 3 * 2 * 4194304 ))
    expect_bytes bulk.down.s2.proxied_bytes_up $(( 3 * 2 * 8 ))
fi
if [ "$(value bulk.up.s2.proxied_cut)" = 0 ]; then
    expect_bytes bulk.up.s2.proxied_bytes_up $(( 3 * 2 * (4194304 + 8) ))
    expect_bytes bulk.up.s2.proxied_bytes_down $(( 3 * 2 * 8 ))
fi

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" -eq 0 ] || fail "socks5d exited with status $status after SIGTERM"
echo "bench_smoke: ok"
