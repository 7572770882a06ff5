#!/usr/bin/env bash
# The addon's Node tests (test/native.*: every kernel entry point on valid, invalid and adversarial
# calls, cancellation, concurrent workers, buffers overwritten mid-call; kernels.gemm: gemm against
# the reference, native included) against a build of
# affinity_native.node with AddressSanitizer + UBSan (-DAFFINITY_SANITIZE=ON). Node itself is
# not instrumented, so the sanitizer runtimes are preloaded (LD_PRELOAD); leak checking is off
# (V8 keeps memory to exit). The sanitized .node is built in build/asan and put in place of
# build/Release/affinity_native.node for the run only (restored on exit, however it ends).
# Prints SKIP and exits 0 when something it needs is missing (cmake, the sanitizer runtimes, Node's
# headers, the compiled tests); any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
skip() { echo "SKIP native addon under ASan: $*"; exit 0; }
command -v cmake >/dev/null || skip "cmake not found"
CXX=${CXX:-c++}
command -v "$CXX" >/dev/null || skip "no C++ compiler ($CXX)"
asan=$("$CXX" -print-file-name=libasan.so)
ubsan=$("$CXX" -print-file-name=libubsan.so)
[ -f "$asan" ] && [ -f "$ubsan" ] || skip "the sanitizer runtimes are not installed ($CXX -print-file-name gave '$asan', '$ubsan'; Debian: libasan8, libubsan1)"
node_inc="$(dirname "$(dirname "$(command -v node)")")/include/node"
[ -f "$node_inc/node_api.h" ] || skip "Node's headers are not at $node_inc (node_api.h)"
[ -d dist/test ] || skip "dist/test is missing; run \`npm run build:ts\` first"
[ -f build/Release/affinity_native.node ] || skip "no regular build of the addon to stand in for (npm run build:native)"

cmake -S . -B build/asan -DAFFINITY_BUILD_ADDON=ON -DAFFINITY_SANITIZE=ON -DAFFINITY_CUDA=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$(dirname "$node_inc")/.." >/dev/null
cmake --build build/asan --target affinity_native -j2

release=build/Release/affinity_native.node
cp "$release" build/asan/affinity_native.release.node
trap 'cp build/asan/affinity_native.release.node "$release"' EXIT
cp build/asan/affinity_native.node "$release"
case "$(ldd "$release")" in *libasan*) ;; *) echo "FAIL: $release is not linked with libasan"; exit 1 ;; esac

export LD_PRELOAD="$asan $ubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
node node_modules/uvu/bin.js dist/test '^(native(\..+)?|kernels\.gemm)\.test\.js$'
