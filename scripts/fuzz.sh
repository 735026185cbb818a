#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/src/bin/ for a while: ./scripts/fuzz.sh [SECONDS_EACH] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). cargo-fuzz passes nightly-only
# flags; on a stable toolchain RUSTC_BOOTSTRAP=1 lets them through. No sanitizer by default
# (the code is safe Rust: the fuzzer hunts panics, hangs and broken invariants); set
# MIMIC_FUZZ_SANITIZER=address to build with AddressSanitizer. Prints the runs of each target;
# a finding stops the script with the reproducer under fuzz/artifacts/<target>/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
secs="${1:-120}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    for f in src/bin/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi
export RUSTC_BOOTSTRAP=1
sanitizer="${MIMIC_FUZZ_SANITIZER:-none}"

for t in "${targets[@]}"; do
    printf '\n==> %s for %ss\n' "$t" "$secs"
    mkdir -p "corpus/$t"
    if [[ -d "seeds/$t" ]]; then
        cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
    fi
    log=$(mktemp)
    # -O: no debug assertions, as shipped (tokio-modbus checks some answers only with
    # debug_assert!, which the driver catches but libFuzzer's panic hook still reports).
    if ! cargo fuzz run -O --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz.sh: $t found a problem; reproducer in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | tail -n 2
    echo "corpus: $(ls "corpus/$t" | wc -l) inputs"
    rm -f "$log"
done
