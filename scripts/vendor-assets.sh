#!/usr/bin/env bash
# Re-vendor Praxis's browser assets into app/static/vendor/.
#
# The web UI must work in exam rooms without internet, so every front-end
# asset is served by the platform itself (never from a CDN) and nothing is
# built at run time. This script fetches the exact pinned package versions
# below with `npm pack` (the registry's integrity hash is checked by npm),
# unpacks them in a temp dir and copies only the browser-ready files.
#
# To upgrade: change a pin below, run this script, check the pages in a
# browser, and update app/static/vendor/README.md (versions / licenses).
#
# Usage: scripts/vendor-assets.sh            (needs node/npm and the npm registry)
set -euo pipefail

# ---- pinned versions -------------------------------------------------------
XTERM_VERSION="5.5.0"            # @xterm/xterm, latest 5.x
XTERM_FIT_VERSION="0.10.0"       # @xterm/addon-fit, the 5.x-compatible line (peer ^5.0.0)
HTMX_VERSION="2.0.11"            # htmx.org, latest 2.0.x
ASCIINEMA_PLAYER_VERSION="3.18.0" # asciinema-player, latest 3.x
NOVNC_VERSION="1.7.0"            # @novnc/novnc, latest (ES modules, no build step)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR_DIR="$REPO_ROOT/app/static/vendor"

command -v npm >/dev/null || { echo "error: npm not found (apt-get install -y npm)" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/praxis-vendor.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# fetch SPEC NAME: npm pack SPEC into $TMP and unpack it to $TMP/NAME/package
fetch() {
    local spec="$1" name="$2" tgz
    tgz="$(cd "$TMP" && npm pack --silent "$spec" | tail -n 1)"
    mkdir -p "$TMP/$name"
    tar -xzf "$TMP/$tgz" -C "$TMP/$name"
    echo "fetched $spec ($tgz)"
}

COPIED=()
# put SRC DEST: copy one file (relative to $TMP / $VENDOR_DIR), failing if missing
put() {
    local src="$TMP/$1" dest="$VENDOR_DIR/$2"
    if [[ ! -f "$src" ]]; then
        echo "error: $1 is not in the package (layout changed?)" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$dest")"
    install -m 0644 "$src" "$dest"
    COPIED+=("$2")
}

# put_tree SRC DEST: copy every file under a folder of the package, keeping its layout
put_tree() {
    local file
    [[ -d "$TMP/$1" ]] || { echo "error: $1 is not in the package (layout changed?)" >&2; exit 1; }
    while IFS= read -r file; do
        put "$1/$file" "$2/$file"
    done < <(cd "$TMP/$1" && find . -type f -printf '%P\n' | sort)
}

fetch "@xterm/xterm@$XTERM_VERSION" xterm
fetch "@xterm/addon-fit@$XTERM_FIT_VERSION" addon-fit
fetch "htmx.org@$HTMX_VERSION" htmx
fetch "asciinema-player@$ASCIINEMA_PLAYER_VERSION" asciinema-player
fetch "@novnc/novnc@$NOVNC_VERSION" novnc

# xterm.js + fit addon (UMD: window.Terminal, window.FitAddon.FitAddon)
put xterm/package/lib/xterm.js                xterm/xterm.js
put xterm/package/css/xterm.css               xterm/xterm.css
put xterm/package/LICENSE                     xterm/LICENSE
put addon-fit/package/lib/addon-fit.js        xterm/addon-fit.js
put addon-fit/package/LICENSE                 xterm/LICENSE.addon-fit

# htmx (classic script: window.htmx)
put htmx/package/dist/htmx.min.js             htmx/htmx.min.js
put htmx/package/LICENSE                      htmx/LICENSE

# asciinema-player, self-contained bundle (IIFE: window.AsciinemaPlayer; wasm inlined)
put asciinema-player/package/dist/bundle/asciinema-player.min.js asciinema-player/asciinema-player.min.js
put asciinema-player/package/dist/bundle/asciinema-player.css    asciinema-player/asciinema-player.css
put asciinema-player/package/LICENSE                             asciinema-player/LICENSE

# noVNC: ES modules as published (import /static/vendor/novnc/core/rfb.js), with the pako
# inflate/deflate they import, and every licence text LICENSE.txt names (MPL-2.0, pako MIT)
put_tree novnc/package/core                   novnc/core
put_tree novnc/package/vendor/pako/lib        novnc/vendor/pako/lib
put novnc/package/vendor/pako/LICENSE         novnc/vendor/pako/LICENSE
put novnc/package/LICENSE.txt                 novnc/LICENSE.txt
put novnc/package/AUTHORS                     novnc/AUTHORS
for licence in MPL-2.0 BSD-2-Clause BSD-3-Clause OFL-1.1; do
    put "novnc/package/docs/LICENSE.$licence" "novnc/docs/LICENSE.$licence"
done

echo
echo "copied into ${VENDOR_DIR#"$REPO_ROOT"/}/:"
total=0
for f in "${COPIED[@]}"; do
    size="$(wc -c <"$VENDOR_DIR/$f")"
    total=$((total + size))
    printf '  %10d  %s\n' "$size" "$f"
done
printf '  %10d  total (%d files)\n' "$total" "${#COPIED[@]}"
