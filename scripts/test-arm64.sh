#!/usr/bin/env bash
# Cross-compiles the native core and its C++ tests for arm64 (the portable, non-x86 paths:
# no AVX kernels) and runs them under qemu-user. Prints SKIP and exits 0 when the Debian
# packages g++-aarch64-linux-gnu and qemu-user are not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=aarch64-linux-gnu-g++
if ! command -v "$CXX" >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  echo "SKIP arm64 core tests: needs $CXX and qemu-aarch64 (apt-get install g++-aarch64-linux-gnu qemu-user)"
  exit 0
fi
out=build/arm64
mkdir -p "$out"
flags=(-std=c++17 -O2 -Wall -Wextra -Werror -Inative/core/include -Inative/core/src -Inative/tests)
core=(native/core/src/*.cpp)
pids=()
for src in "${core[@]}" native/tests/test_core.cpp native/tests/test_als.cpp native/tests/test_epochs.cpp native/tests/test_sparse.cpp native/tests/test_gemm.cpp native/tests/test_nn.cpp; do
  "$CXX" "${flags[@]}" -c "$src" -o "$out/$(basename "$src" .cpp).o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done  # a failed compile fails the script (set -e)
core_objs=()
for src in "${core[@]}"; do core_objs+=("$out/$(basename "$src" .cpp).o"); done
status=0
for t in test_core test_als test_epochs test_sparse test_gemm test_nn; do
  "$CXX" -pthread "$out/$t.o" "${core_objs[@]}" -o "$out/$t"
  if ! qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/$t"; then
    echo "FAIL arm64 $t"
    status=1
  fi
done
exit $status
