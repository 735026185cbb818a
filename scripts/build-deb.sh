#!/usr/bin/env bash
# Build the Debian package of mimic: ./scripts/build-deb.sh [--install]
#
# Builds the delivered binary (`cargo build --profile dist`), packs it with cargo-deb
# (`[package.metadata.deb]` in Cargo.toml: /usr/bin/mimic, the systemd unit
# mimic.service, a postinst that creates the `mimic` system user and /var/lib/mimic),
# then checks the package: its file list, its control data, and the packed binary's
# `--version`. With --install it also installs the package on this machine (root) and
# checks the user, the data directory and the installed binary.
#
# Needs cargo-deb: `cargo install cargo-deb --locked` (from crates.io).
# MIMIC_BIN=path packs that prebuilt binary (e.g. from scripts/offline-build.sh) instead
# of building one.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'build-deb.sh: error: %s\n' "$*" >&2; exit 1; }

install=0
[[ "${1:-}" == "--install" ]] && install=1

cargo deb --version >/dev/null 2>&1 || die "cargo-deb missing: cargo install cargo-deb --locked"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

if [[ -n "${MIMIC_BIN:-}" ]]; then
    step "packing the prebuilt $MIMIC_BIN"
    mkdir -p "$TARGET_DIR/dist"
    cp "$MIMIC_BIN" "$TARGET_DIR/dist/mimic"
else
    step "cargo build --profile dist --locked --bin mimic"
    cargo build --profile dist --locked --bin mimic
fi
size=$(stat -c %s "$TARGET_DIR/dist/mimic")
echo "binary: $TARGET_DIR/dist/mimic, $size bytes ($(( size / 1024 )) KiB)"

step "cargo deb --profile dist --no-build"
deb=$(cargo deb --profile dist --no-build --no-strip | tail -n 1)
[[ -f "$deb" ]] || die "cargo deb did not report a package file (got: $deb)"
echo "package: $deb ($(stat -c %s "$deb") bytes)"

step "checking the package"
dpkg-deb --info "$deb"
files=$(dpkg-deb --contents "$deb")
echo "$files"
for f in ./usr/bin/mimic ./usr/lib/systemd/system/mimic.service; do
    grep -q " $f\$" <<<"$files" || die "package lacks $f"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --extract "$deb" "$tmp"
"$tmp/usr/bin/mimic" --version
dpkg-deb --ctrl-tarfile "$deb" | tar -xf - -C "$tmp" ./postinst
sh -n "$tmp/postinst" || die "postinst does not parse"
if command -v systemd-analyze >/dev/null; then
    # The unit's ExecStart must name the packed binary; check the unit against it.
    sed "s#/usr/bin/mimic#$tmp/usr/bin/mimic#g" "$tmp/usr/lib/systemd/system/mimic.service" >"$tmp/mimic.service"
    systemd-analyze verify --man=no "$tmp/mimic.service"
    echo "systemd-analyze verify: ok"
fi

if ((install)); then
    step "installing $deb"
    [[ $(id -u) -eq 0 ]] || die "--install needs root"
    dpkg -i "$deb"
    getent passwd mimic >/dev/null || die "postinst did not create the mimic user"
    [[ "$(stat -c '%U:%G %a' /var/lib/mimic)" == "mimic:mimic 750" ]] || die "/var/lib/mimic is not mimic:mimic 750"
    /usr/bin/mimic --version
    /usr/bin/mimic check /usr/share/doc/mimic/examples/demo-site.toml
fi
echo "ok: $deb"
