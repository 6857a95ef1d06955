#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what openwss needs, build it,
# and run `wss demo`: Zero Touch Setup of a simulated fleet (20 devices by
# default) through the emulator, the maker's cloud and libwss-device.
# Arguments go to `wss demo` (see `build/wss demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/wss demo "$@"
