#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. unit and end-to-end tests (CTest over cmocka) in a normal build;
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the unit tests and the fleet test (devices running libwss-device against
#      the emulator and the cloud) under valgrind (no leaks, no invalid accesses);
#   4. every libFuzzer target for a bounded time (WSS_FUZZ_SECONDS, default 15),
#      in a clang build that compiles the tests as well (clang's warnings differ).
# Set WSS_QUICK=1 to run step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

step() { printf '\n== %s\n' "$*"; }

step "build and test"
scripts/build.sh build
(cd build && ctest --output-on-failure -j 2)
[ "${WSS_QUICK:-0}" = 1 ] && exit 0

step "ASan + UBSan build and test"
scripts/build.sh build-asan -DWSS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j 2)

step "valgrind on the unit tests and a fleet of devices"
for t in build/tests/common_test_* build/tests/sim_test_* build/tests/device_test_* build/tests/mfg_test_* \
  build/tests/wwa_test_* build/tests/fleet_test_*; do
  [ -x "$t" ] || continue
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$t" >/dev/null 2>build/valgrind.log \
    || { cat build/valgrind.log; echo "valgrind: $t failed"; exit 1; }
  echo "valgrind: $(basename "$t") clean"
done

step "fuzzing (${WSS_FUZZ_SECONDS:-15} s per target)"
# The tests are compiled here too (not run): clang warns where gcc does not.
CC=clang scripts/build.sh build-fuzz -DWSS_FUZZ=ON -DWSS_TESTS=ON
for f in build-fuzz/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f" | sed 's/^fuzz_//')
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
  "$f" -max_total_time="${WSS_FUZZ_SECONDS:-15}" -max_len=65536 -timeout=10 -print_final_stats=1 "$work" \
    2>build-fuzz/"$name".log || { tail -50 build-fuzz/"$name".log; echo "fuzz: $name found a crash"; exit 1; }
  grep -E 'stat::number_of_executed_units' build-fuzz/"$name".log | sed "s/^/fuzz: $name /"
  rm -rf "$work"
done
echo
echo "all test steps passed"
