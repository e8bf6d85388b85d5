#!/usr/bin/env bash
# The entry points of a fresh machine (see README.md):
#   ./run.sh demo   install what is missing, build, run the main job
#   ./run.sh test   install what is missing (with test and docs extras), build, run all tests
#                   (C++ tests, the sanitizer run of cpp/run-sanitizers.sh, pytest,
#                   which includes the documentation build of tests/test_docs.py)
#   ./run.sh docs   install what is missing (with docs extras), build the HTML
#                   documentation into build/docs (warnings are errors)
# Safe to run again: installs only what is missing, rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")"

SYSTEM_PACKAGES="g++ libeigen3-dev libfftw3-dev"
VENV=${MSLODE_VENV:-.venv}

install_system_packages() {
    local missing=""
    for package in $SYSTEM_PACKAGES; do
        dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
    done
    [ -z "$missing" ] && return 0
    echo "installing Debian packages:$missing"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

install_python_package() {
    local extras=$1
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q ".$extras"
}

case "${1:-}" in
    demo)
        install_system_packages
        install_python_package ""
        exec "$VENV/bin/python" -m mslode
        ;;
    test)
        install_system_packages
        install_python_package "[test,docs]"
        PATH="$PWD/$VENV/bin:$PATH" bash cpp/run-tests.sh
        # ASan + UBSan: C++ tests and a subset of the Python tests against a
        # sanitized build of the module (build/asan; ~4 min the first time,
        # ~1.5 min after). MSLODE_SKIP_SANITIZERS=1 skips it.
        if [ "${MSLODE_SKIP_SANITIZERS:-0}" != 1 ]; then
            PATH="$PWD/$VENV/bin:$PATH" PYTHON="$PWD/$VENV/bin/python" bash cpp/run-sanitizers.sh
        fi
        exec "$VENV/bin/python" -m pytest tests
        ;;
    docs)
        install_system_packages
        install_python_package "[docs]"
        exec "$VENV/bin/python" -m sphinx -E -W --keep-going -b html docs build/docs
        ;;
    *)
        echo "usage: ./run.sh demo | test | docs" >&2
        exit 2
        ;;
esac
