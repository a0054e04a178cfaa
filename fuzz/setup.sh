#!/usr/bin/env bash
# What `make fuzz` needs beyond `make setup`, each installed only when missing (a second run costs nothing):
# - clang and its sanitizer runtimes, Debian's, to build the reader with AddressSanitizer and libFuzzer's coverage
#   (-fsanitize=address,fuzzer-no-link: a shared object still links clang's libclang_rt.asan_static);
# - atheris, into the project's venv: its wheel also ships the runtime the run preloads, ASan with libFuzzer linked in
#   (asan_with_fuzzer.so).
# Usage: fuzz/setup.sh VENV_PYTHON
set -euo pipefail
python=${1:?usage: fuzz/setup.sh VENV_PYTHON}
atheris_version=3.0.0

# The very build make fuzz does, of an empty file: it needs clang and the runtimes alike.
can_build() {
    command -v clang >/dev/null && echo 'int unused;' | clang -x c - -shared -fPIC -fsanitize=address,fuzzer-no-link -o /dev/null 2>/dev/null
}
if ! can_build; then
    as_root=()
    if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
    echo "fuzz/setup.sh: installing clang and its sanitizer runtimes (apt-get)"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
    can_build || { echo "fuzz/setup.sh: clang still cannot build with -fsanitize=address,fuzzer-no-link" >&2; exit 1; }
fi

if ! "$python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("atheris") != sys.argv[1])' "$atheris_version" 2>/dev/null; then
    echo "fuzz/setup.sh: installing atheris $atheris_version"
    # NOTE: where no wheel fits this Python, pip builds atheris from source, which needs clang with libFuzzer.
    CLANG_BIN="$(command -v clang)" "$python" -m pip install --quiet "atheris==$atheris_version"
fi
