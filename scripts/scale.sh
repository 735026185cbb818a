#!/usr/bin/env bash
# Scale rig: the daemon at plant scale with real terminals attached. Starts the demo plant
# simulator with N/100 pump skids (`mimic sim --units U --emit-site`: 100 tags a skid, 250
# skids a port, the site file written from one [[template]]), `mimic run` on that site,
# and K real `mimic tui` clients, each in its own tmux session (its own pty, 160x48) on a
# different screen; samples CPU and RSS of every process from /proc, then stops everything.
#
#   ./scripts/scale.sh [--tags N] [--terminals K] [--minutes M] [--interval S] [--settle S]
#                      [--bin PATH] [--out DIR]
#
# Defaults: 100000 tags, 0 terminals, 5 minutes, a sample every 15 s; the steady state is
# what comes after the first --settle seconds (default 60). Loopback only; bounded in time.
# Without --bin it builds the release binary. Prints one row per sample (CPU % of one core
# over the interval, RSS in MiB, per process), the steady-state means, the load average,
# the store's size and bytes per stored sample. CSV, site file, logs and the store go to
# target/scale/<UTC time>/ unless --out says otherwise (keep them out of git).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tags=100000
terminals=0
minutes=5
interval=15
settle=60
bin=""
out=""
# shellcheck source=scripts/rig.sh
source "$root/scripts/rig.sh"
rig_options scale.sh "tags terminals minutes interval settle bin out" 16 "$@"
for v in tags terminals minutes interval settle; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "scale.sh: --$v wants a whole number" >&2; exit 2; }
done
((tags >= 100 && tags <= 1000000)) || { echo "scale.sh: --tags wants 100..=1000000" >&2; exit 2; }
((terminals <= 5)) || { echo "scale.sh: at most 5 terminals" >&2; exit 2; }
((minutes >= 1 && minutes <= 240)) || { echo "scale.sh: --minutes wants 1..=240" >&2; exit 2; }
((interval >= 1)) || { echo "scale.sh: --interval wants at least 1" >&2; exit 2; }
units=$(((tags + 99) / 100))
if ((terminals > 0)); then
    command -v tmux >/dev/null || { echo "scale.sh: terminals need tmux (apt install tmux)" >&2; exit 2; }
fi

rig_prepare scale
data="$out/data"
site="$out/site.toml"
csv="$out/scale.csv"
tmux_server="mimic-scale-$$"

sim_pid=""
daemon_pid=""
cleanup() {
    if ((terminals > 0)); then
        tmux -L "$tmux_server" -f /dev/null kill-server 2>/dev/null || true
    fi
    [[ -n "$daemon_pid" ]] && kill "$daemon_pid" 2>/dev/null || true
    [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT
# Ctrl-C or a kill (e.g. `timeout`) still stops the simulator, the daemon and the terminals.
trap 'exit 130' INT TERM

# --- the plant: U skids on ports chosen by the system, and the site file that matches ---
"$bin" sim --port 0 --units "$units" --emit-site "$site" >"$out/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do
    [[ -s "$site" ]] && grep -q "site file" "$out/sim.log" && break
    kill -0 "$sim_pid" 2>/dev/null || { echo "scale.sh: the simulator died:" >&2; cat "$out/sim.log" >&2; exit 1; }
    sleep 0.2
done
[[ -s "$site" ]] || { echo "scale.sh: no site file from the simulator" >&2; exit 1; }
"$bin" check "$site" >"$out/check.log"
site_tags=$(grep -c '^\[\[template.tag\]\]' "$site" || true)
echo "scale: $units skids x $site_tags tags = $((units * site_tags)) tags; $(grep -c '^\[\[device\]\]' "$site") devices; output in $out"

# --- the daemon ---
daemon_start=$(date +%s)
MIMIC_LOG=warn "$bin" run "$site" --data "$data" >"$out/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 300); do
    [[ -S "$data/mimic.sock" ]] && break
    kill -0 "$daemon_pid" 2>/dev/null || { echo "scale.sh: the daemon died:" >&2; tail -n 20 "$out/daemon.log" >&2; exit 1; }
    sleep 0.1
done
[[ -S "$data/mimic.sock" ]] || { echo "scale.sh: no daemon socket after 30 s" >&2; exit 1; }

# --- K terminals, each on its own pty and screen: Tags, Overview, Alarms, Devices, a Trend ---
names=(sim daemon)
pids=("$sim_pid" "$daemon_pid")
screens=("2" "1" "4" "6" "2 Enter")
screen_names=(Tags Overview Alarms Devices Trend)
tm() { tmux -L "$tmux_server" -f /dev/null "$@"; }
for k in $(seq 1 "$terminals"); do
    s="tui$k"
    env -u TMUX tmux -L "$tmux_server" -f /dev/null new-session -d -s "$s" -x 160 -y 48 \
        "exec env MIMIC_LOG=off TERM=xterm-256color '$bin' tui --data '$data'"
    pid=$(tm display-message -p -t "$s" '#{pane_pid}')
    names+=("tui$k")
    pids+=("$pid")
done
if ((terminals > 0)); then
    sleep 3
    for k in $(seq 1 "$terminals"); do
        # shellcheck disable=SC2086 # the keys are separate words on purpose
        tm send-keys -t "tui$k" ${screens[$((k - 1))]}
        echo "terminal tui$k (pid ${pids[$((k + 1))]}): ${screen_names[$((k - 1))]} screen"
    done
fi

tick_hz=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

echo "elapsed_s,process,pid,cpu_ticks,rss_kb" >"$csv"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
end=$((start + minutes * 60))
while :; do
    now=$(date +%s)
    for i in "${!pids[@]}"; do
        p="${pids[$i]}"
        if ! kill -0 "$p" 2>/dev/null; then
            echo "scale.sh: ${names[$i]} (pid $p) died" >&2
            [[ "${names[$i]}" == daemon ]] && tail -n 20 "$out/daemon.log" >&2
            exit 1
        fi
        echo "$((now - start)),${names[$i]},$p,$(cpu_ticks "$p"),$(rss_kb "$p")" >>"$csv"
    done
    ((now >= end)) && break
    sleep $((interval < end - now ? interval : end - now))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# Samples stored since the daemon started: counted for five tags spread over the site,
# times the tag count.
first_tag() { sed -n 's/^prefix = "\(.*\)"$/\1/p' "$site" | sed -n "${1}p"; }
counted=0
n_counted=0
for u in 1 $((units / 4 + 1)) $((units / 2 + 1)) $((3 * units / 4 + 1)) "$units"; do
    t="$(first_tag "$u")T10"
    c=$("$bin" history "$t" --data "$data" --since "$(date -u -d "@$((daemon_start - 5))" +%Y-%m-%dT%H:%M:%SZ)" \
        --until "$(date -u -d "@$((end + 60))" +%Y-%m-%dT%H:%M:%SZ)" --format csv 2>/dev/null | tail -n +2 | wc -l)
    counted=$((counted + c))
    n_counted=$((n_counted + 1))
done
if ((terminals > 0)); then
    tm capture-pane -p -t tui1 >"$out/tui1.screen" 2>/dev/null || true
    tm kill-server 2>/dev/null || true
fi
kill -TERM "$daemon_pid"
wait "$daemon_pid" 2>/dev/null && stop="clean" || stop="exit $?"
daemon_pid=""
store_bytes=$(stat -c %s "$data/store.redb" 2>/dev/null || echo 0)
data_bytes=$(du -sb "$data" | cut -f1)

awk -F, -v hz="$tick_hz" -v settle="$settle" -v counted="$counted" -v ncounted="$n_counted" \
    -v tags="$((units * site_tags))" -v bytes="$store_bytes" -v dbytes="$data_bytes" -v stop="$stop" \
    -v l0="$load_start" -v l1="$load_end" -v terms="$terminals" '
NR == 1 { next }
{
    if (!($2 in seen)) { seen[$2] = 1; order[++np] = $2 }
    if (!($1 in tseen)) { tseen[$1] = 1; ts[++nt] = $1 }
    cpu[$2, $1] = $4; rss[$2, $1] = $5
}
END {
    printf "\n%8s", "t (s)"
    for (i = 1; i <= np; i++) printf " | %-8s %5s %7s", order[i], "CPU %", "RSS MiB"
    printf "\n"
    for (j = 2; j <= nt; j++) {
        dt = ts[j] - ts[j - 1]
        printf "%8d", ts[j]
        for (i = 1; i <= np; i++) {
            p = order[i]
            printf " | %-8s %5.1f %7.1f", "", (cpu[p, ts[j]] - cpu[p, ts[j - 1]]) * 100 / hz / (dt > 0 ? dt : 1), rss[p, ts[j]] / 1024
        }
        printf "\n"
    }
    # the steady state: from the first sample at or after --settle seconds to the end
    s = 0
    for (j = 1; j <= nt; j++) if (ts[j] >= settle) { s = j; break }
    if (s == 0 || s == nt) { s = 1 }
    printf "\nsteady state (%d..%d s):\n", ts[s], ts[nt]
    for (i = 1; i <= np; i++) {
        p = order[i]; sum = 0; n = 0; mx = 0
        for (j = s; j <= nt; j++) { sum += rss[p, ts[j]]; n++; if (rss[p, ts[j]] > mx) mx = rss[p, ts[j]] }
        c = (cpu[p, ts[nt]] - cpu[p, ts[s]]) * 100 / hz / ((ts[nt] - ts[s]) > 0 ? ts[nt] - ts[s] : 1)
        printf "  %-7s CPU %5.1f %% of a core   RSS mean %6.1f MiB, max %6.1f MiB, end %6.1f MiB\n",
            p, c, sum / n / 1024, mx / 1024, rss[p, ts[nt]] / 1024
    }
    per_tag = ncounted > 0 ? counted / ncounted : 0
    stored = per_tag * tags
    printf "load average: %s at the start, %s at the end\n", l0, l1
    printf "%d tags, %d terminal(s); samples stored: about %.0f (%.1f per tag since the daemon started, counted on %d tags)\n",
        tags, terms, stored, per_tag, ncounted
    printf "store file %.1f MiB (data dir %.1f MiB): %.2f bytes per stored sample; daemon stop: %s\n",
        bytes / 1048576, dbytes / 1048576, (stored > 0 ? bytes / stored : 0), stop
}' "$csv"
echo "csv: $csv"
