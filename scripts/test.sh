#!/usr/bin/env bash
# The one test command of mimic: ./scripts/test.sh
#
# 1. installs the Debian packages the integration tests talk to (if missing),
# 2. creates/updates the Python venv <repo>/.venv from tests/peers/requirements.txt,
# 3. runs cargo fmt --check, clippy (-D warnings) and cargo test for the workspace.
#
# Test peers are never optional: a missing one makes the tests FAIL.
# Extra arguments are passed to `cargo test` (e.g. ./scripts/test.sh --test peers_smoke).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'test.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Debian packages
# installed when dpkg does not list them as installed
APT_PACKAGES=(mbpoll socat mosquitto tmux python3-venv faketime)

step "Debian packages: ${APT_PACKAGES[*]}"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    echo "missing: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "need root (or sudo) to install: ${missing[*]}"
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q || die "apt-get update failed"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install failed for: ${missing[*]}"
else
    echo "all present"
fi
for tool in mbpoll socat mosquitto tmux; do
    command -v "$tool" >/dev/null 2>&1 \
        || [[ -x /usr/sbin/$tool ]] \
        || die "$tool still not found after install"
done

# ---------------------------------------------------------------- Python venv
REQ="tests/peers/requirements.txt"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
PY_BOOT="${PYTHON:-python3}"

step "Python venv $VENV from $REQ"
command -v "$PY_BOOT" >/dev/null 2>&1 || die "$PY_BOOT not found (needed to create the venv)"
want_hash="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY_BOOT" -m venv "$VENV" || die "could not create venv at $VENV"
fi
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_hash" ]]; then
    echo "up to date ($REQ unchanged)"
else
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" \
        || die "pip install -r $REQ failed"
    echo "$want_hash" >"$STAMP"
    echo "installed"
fi
"$VENV/bin/python" -c 'import pymodbus, pyModbusTCP, asyncua, serial' \
    || die "venv at $VENV is broken (import failed); delete it and re-run"
export MIMIC_PYTHON="$VENV/bin/python"

# ---------------------------------------------------------------- Rust
step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace $*"
cargo test --workspace "$@"

step "all checks passed"
