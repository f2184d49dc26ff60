#!/usr/bin/env bash
# Build the Astara appliance image with diskimage-builder (npm run image).
#
# Installs the host tools from Debian when missing, builds and stages the
# agent, then runs disk-image-create with the elements in ../elements.
# Output (default): build/astara.qcow2, build/astara.vmlinuz, build/astara.initrd.
# See README.md beside this file for the options and the manual invocation.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: build-image.sh [options]
  --services LIST     services the agent enables: router, loadbalancer, or both
                      comma-separated (DIB_ASTARA_ADVANCED_SERVICES; default router)
  --debug-user        add the debug-user element (needs ASTARA_DEBUG_PASSWORD
                      and/or DIB_ASTARA_DEBUG_SSH_KEY)
  --vm                add the vm element: a partitioned disk with a bootloader
                      (needs device-mapper/kpartx on the build host)
  --elements "A B"    more elements to add
  --output PATH       output name without extension (default build/astara)
  --no-host-tools     do not install missing host tools with apt-get
  --no-agent-build    use the existing dist/ (skip npm run build)
  --no-bundle         install dist/ with the production node_modules instead of
                      one esbuild bundle per command
  -h, --help          this help
Environment: ASTARA_IMAGE_OUTPUT, ASTARA_IMAGE_EXTRA_ELEMENTS, DIB_ASTARA_*,
DIB_RELEASE, DIB_DISTRIBUTION_MIRROR, DIB_APT_SOURCES_CONF (see README.md).
USAGE
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTPUT=${ASTARA_IMAGE_OUTPUT:-$ROOT/build/astara}
EXTRA_ELEMENTS=${ASTARA_IMAGE_EXTRA_ELEMENTS:-}
SERVICES=${DIB_ASTARA_ADVANCED_SERVICES:-router}
DEBUG_USER=0
VM=0
HOST_TOOLS=1
AGENT_BUILD=1
BUNDLE=${ASTARA_IMAGE_BUNDLE:-1}

while [ $# -gt 0 ]; do
    case "$1" in
        --services) SERVICES=${2:?--services needs a value}; shift 2 ;;
        --debug-user) DEBUG_USER=1; shift ;;
        --vm) VM=1; shift ;;
        --elements) EXTRA_ELEMENTS="$EXTRA_ELEMENTS ${2:?--elements needs a value}"; shift 2 ;;
        --output) OUTPUT=${2:?--output needs a value}; shift 2 ;;
        --no-host-tools) HOST_TOOLS=0; shift ;;
        --no-agent-build) AGENT_BUILD=0; shift ;;
        --no-bundle) BUNDLE=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build-image.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$OUTPUT" in /*) ;; *) OUTPUT=$PWD/$OUTPUT ;; esac

log() { echo "build-image: $*" >&2; }
started=$(date +%s)

# --- host tools -------------------------------------------------------------
# disk-image-create (python3-diskimage-builder; it calls sudo even as root),
# debootstrap, qemu-img; the
# boot test also uses qemu-system-x86_64 and mkfs.vfat/mcopy for the config drive.
declare -A TOOL_PACKAGE=(
    [disk-image-create]=python3-diskimage-builder
    [debootstrap]=debootstrap
    [qemu-img]=qemu-utils
    [qemu-system-x86_64]=qemu-system-x86
    [mkfs.vfat]=dosfstools
    [mcopy]=mtools
    [sudo]=sudo
)
missing=()
for tool in "${!TOOL_PACKAGE[@]}"; do
    PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$tool" >/dev/null || missing+=("${TOOL_PACKAGE[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$HOST_TOOLS" = 0 ]; then
        log "missing host packages: ${missing[*]} (install them, or drop --no-host-tools)"
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "missing host packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}"
        exit 1
    fi
    log "installing host packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        apt-get update
        apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
    log "diskimage-builder needs root (or password-less sudo)"
    exit 1
fi

# --- Debian mirrors ---------------------------------------------------------
# The mirror of SUITE in the host's apt sources (deb822 or one-line format).
host_mirror() {
    local suite=$1
    {
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            awk -v suite="$suite" '
                function flush() { if (uris != "" && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1] } uris = ""; suites = "" }
                /^[[:space:]]*$/ { flush(); next }
                /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $0 }
                /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
                END { flush() }' "$f"
        done
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -r "$f" ] && cat "$f"
        done |
            awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) print $i }'
    } | head -n 1
    return 0
}

export DIB_RELEASE=${DIB_RELEASE:-bookworm}
mirror=$(host_mirror "$DIB_RELEASE") || mirror=""
security_mirror=$(host_mirror "$DIB_RELEASE-security") || security_mirror=""
export DIB_DISTRIBUTION_MIRROR=${DIB_DISTRIBUTION_MIRROR:-${mirror:-http://deb.debian.org/debian}}
security_mirror=${DIB_DEBIAN_SECURITY_MIRROR:-${security_mirror:-http://security.debian.org/debian-security}}
# diskimage-builder 3.13 writes a wrong security line for bookworm: spell them out.
export DIB_APT_SOURCES_CONF=${DIB_APT_SOURCES_CONF:-"default:deb $DIB_DISTRIBUTION_MIRROR $DIB_RELEASE main
updates:deb $DIB_DISTRIBUTION_MIRROR $DIB_RELEASE-updates main
security:deb $security_mirror $DIB_RELEASE-security main"}
export DIB_DEBOOTSTRAP_EXTRA_ARGS=${DIB_DEBOOTSTRAP_EXTRA_ARGS:---variant=minbase}
export DIB_DEBOOTSTRAP_CACHE=${DIB_DEBOOTSTRAP_CACHE:-1}
export DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=${DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE:-1}
export DIB_ASTARA_ADVANCED_SERVICES=$SERVICES
export ELEMENTS_PATH=$ROOT/elements${ELEMENTS_PATH:+:$ELEMENTS_PATH}

# --- the agent --------------------------------------------------------------
cd "$ROOT"
if [ "$AGENT_BUILD" = 1 ]; then
    log "building the agent (npm run build)"
    npm run build --silent
fi
stage=$ROOT/build/agent-stage
rm -rf "$stage"
mkdir -p "$stage"
cp -a bin package.json "$stage/"
# The image carries the appliance's commands only: the orchestrator runs on the controller.
rm -f "$stage"/bin/astara-orchestrator "$stage"/bin/astara-ctl "$stage"/bin/astara-debug-router
[ -f README.md ] && cp README.md "$stage/"
if [ "$BUNDLE" = 1 ]; then
    # One file per command: each bin/ script imports ../dist/<module>.js;
    # bundle that module (with its dependencies) to the same path, so the bin
    # scripts and the agent's own relative paths work unchanged. Loading one
    # file instead of hundreds of modules matters under software emulation.
    log "bundling the agent with esbuild in $stage"
    banner="import { createRequire as __astaraCreateRequire } from 'node:module'; const require = __astaraCreateRequire(import.meta.url);"
    for command in "$stage"/bin/*; do
        module=$(grep -oE "\.\./dist/[A-Za-z0-9_/.-]+\.js" "$command" | head -n 1) || true
        [ -n "$module" ] || continue
        module=${module#../}
        "$ROOT/node_modules/.bin/esbuild" "$module" --bundle --platform=node --target=node18 --format=esm \
            --banner:js="$banner" --outfile="$stage/$module" --log-level=warning
    done
else
    log "staging the agent with its production dependencies in $stage"
    cp -a dist package-lock.json node_modules "$stage/"
    rm -rf "$stage/dist/orchestrator"
    (cd "$stage" && npm prune --omit=dev --no-audit --no-fund --silent)
fi
export DIB_ASTARA_AGENT_DIR=$stage

# --- elements ---------------------------------------------------------------
elements=(debian-minimal baremetal astara-appliance astara-small-initramfs)
case ",$SERVICES," in *,loadbalancer,*) elements+=(astara-loadbalancer) ;; esac
[ "$DEBUG_USER" = 1 ] && elements+=(debug-user)
[ "$VM" = 1 ] && elements+=(vm)
# shellcheck disable=SC2206 # a space-separated list by design
elements+=($EXTRA_ELEMENTS)

mkdir -p "$(dirname "$OUTPUT")"
log "disk-image-create ${elements[*]} -> $OUTPUT.qcow2 (services: $SERVICES, release: $DIB_RELEASE, mirror: $DIB_DISTRIBUTION_MIRROR)"
# Build in a temporary directory (same base name, so the manifests carry the
# image's name) and move the result into place at the end: a failed build
# leaves the previous image alone, and diskimage-builder does not keep a dated
# copy of it.
name=$(basename "$OUTPUT")
building_dir=$(dirname "$OUTPUT")/.building-$name
sudo rm -rf "$building_dir"
mkdir -p "$building_dir"
# Debian's disk-image-create needs the system python3 (YAML, networkx): a
# python3 earlier on PATH (a virtualenv, a toolchain) would break it.
env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    disk-image-create -a amd64 -t qcow2 -o "$building_dir/$name" "${elements[@]}"
for suffix in qcow2 vmlinuz initrd; do
    mv -f "$building_dir/$name.$suffix" "$OUTPUT.$suffix"
done
# Dated as of the start of the build: an input edited while it ran makes the
# image stale for the boot test's freshness check.
touch -d "@$started" "$OUTPUT.qcow2"
if [ -d "$building_dir/$name.d" ]; then
    rm -rf "$OUTPUT.d"
    mv "$building_dir/$name.d" "$OUTPUT.d"
fi
rm -rf "$building_dir"

# --- report -----------------------------------------------------------------
elapsed=$(($(date +%s) - started))
size=$(stat -c %s "$OUTPUT.qcow2")
log "built in ${elapsed}s: $OUTPUT.qcow2 ($((size / 1024 / 1024)) MiB), $OUTPUT.vmlinuz, $OUTPUT.initrd"
if [ "$size" -ge 400000000 ]; then
    log "WARNING: the qcow2 is over the 400 MB budget"
fi
