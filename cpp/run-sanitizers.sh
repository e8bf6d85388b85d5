#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run: the C++ tests
# and a representative subset of the Python tests against a module built with
# -DMSLODE_SANITIZE=ON. Fails on any sanitizer report. Works from any
# directory; incremental on re-runs.
#
#   build/cpp-asan    C++ tests (ctest) built with the sanitizers
#   build/asan        CMake build tree of the sanitized Python module
#   build/asan-site   where that module is installed (put first on PYTHONPATH)
#   build/asan-logs   sanitizer reports, one file per reporting process
#
# Needs: a Python with the test extras (pip install ".[test]"; cmake comes
# with them), g++ with libasan/libubsan. PYTHON selects the interpreter
# (default: python on PATH). Extra arguments go to pytest, replacing the
# default subset, e.g. cpp/run-sanitizers.sh tests/test_robustness.py -x
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"
cpp_build="$repo/build/cpp-asan"
build="$repo/build/asan"
site="$repo/build/asan-site"
logs="$repo/build/asan-logs"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

# Representative subset: every calculator, the neighbour lists, the math
# primitives and the robustness suite (fuzzing, threads, Ctrl-C). Slow
# reference comparisons are left to the normal run.
subset=(
  tests/test_robustness.py
  tests/test_neighbour_list.py
  tests/test_density_expansion.py
  tests/test_potential_expansion.py
  tests/test_spherical_harmonics.py
  tests/test_clebsch_gordan.py
  tests/test_hyp1f1.py
  tests/test_gto_basis.py
)
[ $# -gt 0 ] && subset=("$@")

libasan="$(g++ -print-file-name=libasan.so)"
# preloaded with the ASan runtime: python does not link libstdc++, and the
# runtime must find the real __cxa_throw when it starts ("CHECK failed:
# real___cxa_throw != 0" at the first C++ exception otherwise)
libstdcxx="$(g++ -print-file-name=libstdc++.so.6)"
for lib in "$libasan" "$libstdcxx"; do
  if [ ! -e "$lib" ]; then
    echo "run-sanitizers.sh: $lib not found (g++ -print-file-name)" >&2
    exit 1
  fi
done
rm -rf "$logs"
mkdir -p "$logs"
# halt at the first report; reports go to files, so a report from a test's
# subprocess is seen too. Leak checking is off: CPython itself "leaks" at exit.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"

fail_on_reports() {
  if compgen -G "$logs/*" >/dev/null; then
    echo "== sanitizer reports ($1):" >&2
    cat "$logs"/* >&2
    exit 1
  fi
}

start=$SECONDS
echo "== C++ tests under ASan + UBSan ($cpp_build)"
cmake -S "$repo" -B "$cpp_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSLODE_BUILD_TESTS=ON \
  -DMSLODE_BUILD_PYTHON=OFF -DMSLODE_SANITIZE=ON >/dev/null
cmake --build "$cpp_build"
ctest="$(dirname "$(command -v cmake)")/ctest"
[ -x "$ctest" ] || ctest=ctest
# headers_self_contained only compiles: nothing to sanitize
status=0
(cd "$cpp_build" && "$ctest" --output-on-failure -E headers_self_contained) || status=$?
fail_on_reports "C++ tests"
[ "$status" = 0 ] || exit "$status"
echo "== C++ tests: $((SECONDS - start)) s"

start=$SECONDS
echo "== Python module with ASan + UBSan ($build -> $site)"
if ! "$python" -c "import scikit_build_core, pybind11" 2>/dev/null; then
  "$python" -m pip install -q scikit-build-core pybind11  # no build isolation: the build tree stays incremental
fi
"$python" -m pip install -q --no-build-isolation --no-deps --upgrade --target "$site" \
  -Cbuild-dir="$build" -Ccmake.build-type=RelWithDebInfo -Ccmake.define.MSLODE_SANITIZE=ON "$repo"
echo "== build: $((SECONDS - start)) s"

export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
export LD_PRELOAD="$libasan:$libstdcxx${LD_PRELOAD:+:$LD_PRELOAD}"
# the sanitized module, not an installed one, must be what the tests import
"$python" - "$site" <<'EOF'
import subprocess, sys
import mslode._core as core
site = sys.argv[1]
assert core.__file__.startswith(site + "/"), f"imported {core.__file__}, not the sanitized module in {site}"
linked = subprocess.run(["ldd", core.__file__], capture_output=True, text=True).stdout
assert "libasan" in linked and "libubsan" in linked, f"{core.__file__} is not linked with the sanitizers:\n{linked}"
print(f"== importing {core.__file__} (libasan, libubsan linked)")
EOF

start=$SECONDS
cd "$repo"
status=0
"$python" -m pytest -q -p no:cacheprovider "${subset[@]}" || status=$?
fail_on_reports "Python tests"  # a report halts the process: show it before pytest's status
[ "$status" = 0 ] || { echo "== pytest failed under the sanitizers (status $status)" >&2; exit "$status"; }
echo "== Python tests under ASan + UBSan: $((SECONDS - start)) s, no sanitizer report"
