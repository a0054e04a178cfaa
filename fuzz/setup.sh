#!/usr/bin/env bash
# What `make fuzz` needs beyond `make setup`, each installed only when missing (a second run costs nothing):
# - clang, Debian's, to build the reader with AddressSanitizer and libFuzzer's coverage (-fsanitize=address,fuzzer-no-link);
# - atheris, into the project's venv: its wheel also ships the runtime the run preloads, ASan with libFuzzer linked in
#   (asan_with_fuzzer.so), so the shared object needs no sanitizer runtime of clang's at link time.
# Usage: fuzz/setup.sh VENV_PYTHON
set -euo pipefail
python=${1:?usage: fuzz/setup.sh VENV_PYTHON}
atheris_version=3.0.0

if ! command -v clang >/dev/null; then
    as_root=()
    if [ "$(id -u)" != 0 ]; then as_root=(sudo); fi
    echo "fuzz/setup.sh: installing clang (apt-get)"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null
fi

if ! "$python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("atheris") != sys.argv[1])' "$atheris_version" 2>/dev/null; then
    echo "fuzz/setup.sh: installing atheris $atheris_version"
    # NOTE: where no wheel fits this Python, pip builds atheris from source, which needs clang with libFuzzer.
    CLANG_BIN="$(command -v clang)" "$python" -m pip install --quiet "atheris==$atheris_version"
fi
