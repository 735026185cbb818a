#!/usr/bin/env bash
# Air-gapped build of mimic from vendored sources: ./scripts/offline-build.sh [WORKDIR]
#
# 1. (connected) copies the source tree (the files git knows, else everything but target/)
#    to WORKDIR/mimic and vendors every crate of Cargo.lock into WORKDIR/mimic/vendor with
#    `cargo vendor --locked`; writes WORKDIR/mimic/.cargo/config.toml pointing crates.io at
#    it, and packs it all into WORKDIR/mimic-src-vendored.tar.gz: the one file to carry to
#    the air-gapped machine;
# 2. (offline) builds that tree with `cargo build --profile dist --offline --locked` and an
#    empty CARGO_HOME (no registry cache to fall back on), inside a network namespace
#    without interfaces (`unshare -n`) when the system allows it, so any attempt to reach
#    the network fails the build;
# 3. checks `mimic --version` and prints the binary's path and size.
#
# On the air-gapped machine (a Rust toolchain is all it needs):
#   tar -xzf mimic-src-vendored.tar.gz && cd mimic && cargo build --profile dist --offline --locked
#
# WORKDIR defaults to a new temporary directory; the vendored tree is never committed.
# Set MIMIC_OFFLINE_NO_UNSHARE=1 to skip the network namespace.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
WORK="${1:-$(mktemp -d -t mimic-offline.XXXXXX)}"
SRC="$WORK/mimic"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'offline-build.sh: error: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found"
[[ -e "$SRC" ]] && die "$SRC exists; give an empty WORKDIR"
mkdir -p "$SRC"

step "copying the source tree to $SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked and new (not ignored) files; a deleted tracked file is skipped
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | tar -C "$ROOT" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$SRC" -xf -
else
    tar -C "$ROOT" --exclude=./target --exclude=./.venv -cf - . | tar -C "$SRC" -xf -
fi

step "vendoring every dependency of Cargo.lock (network needed once, here)"
mkdir -p "$SRC/.cargo"
(cd "$SRC" && cargo vendor --locked --versioned-dirs vendor >"$SRC/.cargo/config.toml.new")
# `cargo vendor` prints exactly the source replacement to use; keep it as the config.
mv "$SRC/.cargo/config.toml.new" "$SRC/.cargo/config.toml"
grep -q 'vendored-sources' "$SRC/.cargo/config.toml" || die "cargo vendor printed no source replacement"
cat >>"$SRC/.cargo/config.toml" <<'CFG'

[net]
offline = true
CFG
crates=$(find "$SRC/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l)
echo "vendored crates: $crates"

step "packing $WORK/mimic-src-vendored.tar.gz"
tar -C "$WORK" -czf "$WORK/mimic-src-vendored.tar.gz" mimic
ls -l "$WORK/mimic-src-vendored.tar.gz"

step "building offline from the vendored sources"
export CARGO_HOME="$WORK/cargo-home"   # empty: no registry cache, no index
mkdir -p "$CARGO_HOME"
export CARGO_TARGET_DIR="$SRC/target"
build=(cargo build --profile dist --offline --locked --bin mimic)
isolation="none"
if [[ "${MIMIC_OFFLINE_NO_UNSHARE:-0}" != 1 ]] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
    isolation="network namespace without interfaces (unshare -n)"
    (cd "$SRC" && unshare -n -- "${build[@]}")
else
    (cd "$SRC" && "${build[@]}")
fi

BIN="$CARGO_TARGET_DIR/dist/mimic"
[[ -x "$BIN" ]] || die "no binary at $BIN"
step "result"
echo "network isolation: $isolation"
"$BIN" --version
size=$(stat -c %s "$BIN")
echo "binary: $BIN"
echo "size: $size bytes ($(( size / 1024 )) KiB)"
