# Shared by the measuring rigs (scripts/soak.sh, scripts/scale.sh), sourced after they set
# their defaults: the `--name value` options, --help, and the binary and output folder.

# rig_options NAME "VAR ..." HELP_END "$@": `--var value` sets the variable VAR (a `-` in
# the option is a `_` in the variable) for each VAR listed; --help prints lines 2..HELP_END
# of the script; anything else is refused.
rig_options() {
    local name="$1" vars=" $2 " help_end="$3" var
    shift 3
    while (($#)); do
        case "$1" in
        -h | --help) sed -n "2,${help_end}p" "$0"; exit 0 ;;
        --*)
            var="${1#--}"
            var="${var//-/_}"
            if [[ "$vars" != *" $var "* || $# -lt 2 ]]; then
                echo "$name: unknown argument $1 (see --help)" >&2
                exit 2
            fi
            printf -v "$var" '%s' "$2"
            shift 2
            ;;
        *) echo "$name: unknown argument $1 (see --help)" >&2; exit 2 ;;
        esac
    done
}

# rig_prepare NAME: `bin` is the given binary, else the release one built now; `out`, the
# given folder, else target/NAME/<UTC time>/ (created).
rig_prepare() {
    local name="$1"
    if [[ -z "$bin" ]]; then
        (cd "$root" && cargo build --release --bin mimic)
        bin="$root/target/release/mimic"
    fi
    [[ -x "$bin" ]] || { echo "$name.sh: $bin is not an executable" >&2; exit 2; }
    out="${out:-$root/target/$name/$(date -u +%Y%m%dT%H%M%SZ)}"
    mkdir -p "$out"
}
