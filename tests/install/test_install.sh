#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds tests/install/example.c
# with nothing but `pkg-config openwss`, and runs it: the installed headers,
# libraries and .pc file are enough to use the emulator as a library.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
for f in bin/wss include/wss/sim.h include/wss/err.h; do
  [ -e "$work/prefix/$f" ] || { echo "FAIL: $f was not installed"; exit 1; }
done
pc=$(find "$work/prefix" -name openwss.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: openwss.pc was not installed"; exit 1; }

export PKG_CONFIG_PATH=$(dirname "$pc")
cc -std=c11 -Wall -Wextra -Werror "$src/tests/install/example.c" -o "$work/example" \
  $(pkg-config --cflags openwss) $(pkg-config --libs openwss)
url=$("$work/example" "$work/state" 2>/dev/null)
case "$url" in
  https://127.0.0.1:*) echo "installed library started the emulator at $url" ;;
  *) echo "FAIL: the example printed \"$url\""; exit 1 ;;
esac
[ -f "$work/state/credentials.json" ] || { echo "FAIL: no credentials.json"; exit 1; }
"$work/prefix/bin/wss" --version
echo "1 passed, 0 failed"
