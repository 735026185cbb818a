#!/usr/bin/env bash
# Soak: the daemon against the simulator with 10,000 tags (100 Modbus TCP devices x 100
# tags at 1 Hz, the layout of benches/acquisition.rs) for an hour; samples the daemon's
# resident memory and open file descriptors every 30 s and says whether they stayed flat.
#
#   ./scripts/soak.sh [--minutes N] [--interval S] [--bin PATH] [--out DIR]
#
# Not part of CI: it takes as long as it runs. Without --bin it builds the release binary.
# The CSV (elapsed_s,rss_kb,hwm_kb,fds,threads,cpu_s) and the daemon's log go to
# target/soak/<UTC time>/ unless --out says otherwise (keep them out of git).
# Verdict "flat": RSS grew less than 5 % over the second half of the run, and the fd
# count of the second half stayed within 2 of the first half's highest.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes=60
interval=30
bin=""
out=""
# shellcheck source=scripts/rig.sh
source "$root/scripts/rig.sh"
rig_options soak.sh "minutes interval bin out" 12 "$@"
[[ "$minutes" =~ ^[0-9]+$ && "$minutes" -gt 0 ]] || { echo "soak.sh: --minutes wants a positive integer" >&2; exit 2; }
[[ "$interval" =~ ^[0-9]+$ && "$interval" -gt 0 ]] || { echo "soak.sh: --interval wants a positive integer" >&2; exit 2; }

rig_prepare soak
data="$out/data"
csv="$out/soak.csv"
site="$out/site.toml"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

# 100 devices (unit ids 1..=100 of one simulator), 100 tags each: the 96 channels of the
# auxiliary bank and 4 process values, polled at 1 s (as benches/acquisition.rs).
{
    printf '[site]\nname = "soak"\ndata_dir = "%s"\n\n' "$data"
    for d in $(seq 1 100); do
        dn=$(printf '%03d' "$d")
        printf '[[device]]\nname = "plc%s"\nprotocol = "modbus-tcp"\nendpoint = "127.0.0.1:%s"\nunit = %d\npoll = "1s"\ntimeout = "1s"\n\n' \
            "$dn" "$port" "$d"
        for k in $(seq 0 99); do
            if ((k < 96)); then addr=$((32 + k)); else addr=$((k - 96)); fi
            printf '[[tag]]\nname = "D%s.T%03d"\ndevice = "plc%s"\naddress = "ir:%d"\nscale = 0.1\n\n' "$dn" "$k" "$dn" "$addr"
        done
    done
} >"$site"

sim_pid=""
daemon_pid=""
cleanup() {
    [[ -n "$daemon_pid" ]] && kill "$daemon_pid" 2>/dev/null || true
    [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

"$bin" sim --port "$port" --units 100 >"$out/sim.log" 2>&1 &
sim_pid=$!
sleep 1
MIMIC_LOG=warn "$bin" run "$site" --data "$data" >"$out/daemon.log" 2>&1 &
daemon_pid=$!

tick_hz=$(getconf CLK_TCK)
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$daemon_pid/status"; }
cpu_s() {
    # utime + stime: fields 14 and 15 of /proc/PID/stat, counted after the ")" of the name
    local rest
    rest="$(sed 's/^.*) //' "/proc/$daemon_pid/stat")"
    awk -v hz="$tick_hz" '{ printf "%.1f", ($12 + $13) / hz }' <<<"$rest"
}

echo "soak: $minutes min, sampling every $interval s; daemon pid $daemon_pid, sim pid $sim_pid; output in $out"
echo "elapsed_s,rss_kb,hwm_kb,fds,threads,cpu_s" >"$csv"
start=$(date +%s)
start_ms=$((start * 1000))
end=$((start + minutes * 60))
while :; do
    kill -0 "$daemon_pid" 2>/dev/null || { echo "soak.sh: the daemon died; see $out/daemon.log" >&2; tail -n 20 "$out/daemon.log" >&2; exit 1; }
    kill -0 "$sim_pid" 2>/dev/null || { echo "soak.sh: the simulator died; see $out/sim.log" >&2; exit 1; }
    now=$(date +%s)
    fds=$(find "/proc/$daemon_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "$((now - start)),$(status_kb VmRSS),$(status_kb VmHWM),$fds,$(status_kb Threads),$(cpu_s)" >>"$csv"
    ((now >= end)) && break
    sleep $((interval < end - now ? interval : end - now))
done

# Samples stored over the run, for three tags (1 Hz: about 60 a minute each), read
# through the running daemon's socket.
stored=""
for t in D001.T000 D050.T010 D100.T099; do
    n=$("$bin" history "$t" --data "$data" --since "$(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ)" --format csv 2>/dev/null |
        tail -n +2 | wc -l)
    stored="$stored $t=$n"
done
store_bytes=$(stat -c %s "$data/store.redb" 2>/dev/null || echo 0)
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null && stop="clean" || stop="exit $?"
daemon_pid=""

awk -F, -v stored="$stored" -v bytes="$store_bytes" -v stop="$stop" -v minutes="$minutes" -v start_ms="$start_ms" '
NR == 1 { next }
{ t[++n] = $1; rss[n] = $2; fd[n] = $4; cpu[n] = $6 }
END {
    if (n < 2) { print "soak: fewer than two samples"; exit 1 }
    half = int((n + 1) / 2)
    rmax = 0; fmin = 1e18; fmax = 0; f1max = 0; f2min = 1e18; f2max = 0
    for (i = 1; i <= n; i++) {
        if (rss[i] > rmax) rmax = rss[i]
        if (fd[i] < fmin) fmin = fd[i]
        if (fd[i] > fmax) fmax = fd[i]
        if (i < half && fd[i] > f1max) f1max = fd[i]
        if (i >= half) { if (fd[i] < f2min) f2min = fd[i]; if (fd[i] > f2max) f2max = fd[i] }
    }
    growth = (rss[n] - rss[half]) * 100.0 / rss[half]
    printf "soak: %d samples over %d s (%d min asked)\n", n, t[n], minutes
    printf "RSS: start %.1f MiB, half-way %.1f MiB, end %.1f MiB, max %.1f MiB; growth over the second half %+.2f %%\n",
        rss[1] / 1024, rss[half] / 1024, rss[n] / 1024, rmax / 1024, growth
    printf "open fds: min %d, max %d (second half %d..%d)\n", fmin, fmax, f2min, f2max
    printf "daemon CPU: %.0f s over %d s (%.1f %% of one core)\n", cpu[n] - cpu[1], t[n] - t[1], (cpu[n] - cpu[1]) * 100 / (t[n] - t[1] + 0.001)
    printf "samples stored since the start (1 Hz, about %d each):%s; store file %.1f MiB; daemon stop: %s\n",
        t[n], stored, bytes / 1048576, stop
    flat = (growth < 5.0) && (f2max <= (f1max > 0 ? f1max : f2max) + 2)
    printf "verdict: %s\n", flat ? "flat" : "NOT flat"
}' "$csv"
echo "csv: $csv"
