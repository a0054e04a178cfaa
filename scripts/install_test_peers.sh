#!/bin/sh
# Installs the real peers the tests start on loopback (Debian packages), when they are missing and this can be done:
#   prometheus              - alarms over Prometheus (tests/prometheus_server.py)
#   prometheus-alertmanager - receivers fed by a real Alertmanager
# Only as root with apt-get; quietly, within a time limit. It never fails the build: when it cannot install, it says why
# and the tests that need a peer skip, naming what is missing.
set -u

TIMEOUT_SECONDS="${AUTOSCALE_PEERS_INSTALL_TIMEOUT:-600}"
PACKAGES="prometheus prometheus-alertmanager"

if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/prometheus-alertmanager ]; then
    echo "install_test_peers: nothing to do: $PACKAGES are installed"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install_test_peers: skipped: not root (install $PACKAGES yourself, or the tests that need them skip)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_test_peers: skipped: no apt-get here (install $PACKAGES yourself, or the tests that need them skip)"
    exit 0
fi

log="$(mktemp)"
echo "install_test_peers: installing $PACKAGES (at most ${TIMEOUT_SECONDS}s)"
# shellcheck disable=SC2086 # the package names are words
if DEBIAN_FRONTEND=noninteractive timeout "$TIMEOUT_SECONDS" sh -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES" >"$log" 2>&1; then
    echo "install_test_peers: installed $PACKAGES"
else
    status=$?
    echo "install_test_peers: skipped: apt-get failed (exit status $status; 124 is the time limit); its last lines:"
    tail -n 5 "$log" | sed 's/^/  /'
fi
rm -f "$log"
exit 0
