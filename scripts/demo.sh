#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what openwss needs, build it,
# and run the end-to-end scenario against the Amazon-side emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/wss sim scenario "$@"
