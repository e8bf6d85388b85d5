#!/usr/bin/env bash
# Build and test the C++ core, install it, and build + run the examples
# against the installed package. Works from any directory; safe to run
# repeatedly.
#
#   build/cpp                   core configured with the C++ tests (ctest)
#   build/cpp-install           `cmake --install` prefix (find_package(mslode))
#   build/cpp-example           cpp/examples/spherical_harmonics built against it
#   build/cpp-example-features  cpp/examples/features built against it
#
# Needs: cmake on PATH (e.g. pip install cmake in a venv), a C++17 compiler
# with OpenMP (g++), libeigen3-dev and libfftw3-dev.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build/cpp"
prefix="$repo/build/cpp-install"
example_build="$repo/build/cpp-example"
features_build="$repo/build/cpp-example-features"

if ! command -v cmake >/dev/null 2>&1; then
  echo "run-tests.sh: cmake not found on PATH (pip install cmake, or apt-get install cmake)" >&2
  exit 1
fi
# ctest ships with cmake; use the one next to it.
ctest="$(dirname "$(command -v cmake)")/ctest"
[ -x "$ctest" ] || ctest=ctest

echo "== configure core ($build)"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMSLODE_BUILD_TESTS=ON -DMSLODE_BUILD_PYTHON=OFF
echo "== build"
cmake --build "$build" -j2
echo "== test"
(cd "$build" && "$ctest" --output-on-failure -j2)

echo "== install ($prefix)"
rm -rf "$prefix"   # a fresh prefix: no stale headers from earlier runs
cmake --install "$build" --prefix "$prefix"

echo "== configure example against the installed package ($example_build)"
cmake -S "$repo/cpp/examples/spherical_harmonics" -B "$example_build" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
echo "== build example"
cmake --build "$example_build" -j2
echo "== run example"
"$example_build/spherical_harmonics"

echo "== configure the features example against the installed package ($features_build)"
cmake -S "$repo/cpp/examples/features" -B "$features_build" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
echo "== build the features example"
cmake --build "$features_build" -j2
echo "== run the features example (fails if the invariants are not rotation invariant)"
"$features_build/features"

echo "== C++ tests and examples: OK"
