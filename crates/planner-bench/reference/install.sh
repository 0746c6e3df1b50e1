#!/usr/bin/env bash
# Installs the reference VRP solvers used by the planner benchmark, OUTSIDE the repository.
#
#   VRP_REF_DIR (default /var/tmp/aftersales-vrp-ref)
#     venv/          Python virtual environment with pyvrp, pyvroom, ortools (versions pinned in requirements.txt)
#     vrp-cli/bin/   vrp-cli built from crates.io (version pinned below); never a dependency of our workspace
#     vrp-cli-target/ its cargo target dir (kept so a re-run is quick; may be deleted after install)
#
# Idempotent: re-running it only checks what is already there. Needs python3 (>= 3.11) with venv, cargo, and access
# to PyPI and crates.io. The vrp-cli build takes several minutes on 2 cores.
#
# Environment: VRP_REF_DIR, PYTHON (interpreter used to create the venv, default python3),
#              VRP_REF_SKIP_VRP_CLI=1 to skip the vrp-cli build, VRP_REF_NICE (default 10).
set -euo pipefail

VRP_CLI_VERSION="1.25.0"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VRP_REF_DIR="${VRP_REF_DIR:-/var/tmp/aftersales-vrp-ref}"
PYTHON="${PYTHON:-python3}"
NICE="${VRP_REF_NICE:-10}"

mkdir -p "$VRP_REF_DIR"
echo "install.sh: installing reference solvers into $VRP_REF_DIR"

# ---- Python venv: pyvrp, pyvroom, ortools -------------------------------------------------------------------
VENV="$VRP_REF_DIR/venv"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "install.sh: $PYTHON is $("$PYTHON" --version 2>&1); pyvrp 0.14 needs Python >= 3.11 (set PYTHON=...)" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "install.sh: creating venv $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
# Only call pip when the pinned set is not already satisfied (keeps re-runs fast and offline-safe).
if "$VENV/bin/python" - "$HERE/requirements.txt" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = version(name.strip())
    except PackageNotFoundError:
        have = None
    if have != want.strip():
        ok = False
sys.exit(0 if ok else 1)
EOF
then
    echo "install.sh: python packages already at pinned versions"
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt"
fi
"$VENV/bin/python" -c "import pyvrp, vroom, ortools.constraint_solver.pywrapcp; from importlib.metadata import version as v; print('install.sh: pyvrp', v('pyvrp'), '| pyvroom', v('pyvroom'), '| ortools', v('ortools'))"

# ---- vrp-cli from crates.io --------------------------------------------------------------------------------
if [ "${VRP_REF_SKIP_VRP_CLI:-0}" = "1" ]; then
    echo "install.sh: skipping vrp-cli (VRP_REF_SKIP_VRP_CLI=1)"
    exit 0
fi
VRP_CLI_BIN="$VRP_REF_DIR/vrp-cli/bin/vrp-cli"
if [ -x "$VRP_CLI_BIN" ] && "$VRP_CLI_BIN" --version 2>/dev/null | grep -q " $VRP_CLI_VERSION\$"; then
    echo "install.sh: vrp-cli $VRP_CLI_VERSION already installed"
else
    echo "install.sh: building vrp-cli $VRP_CLI_VERSION (several minutes)"
    # Run outside the repository so no workspace Cargo.toml/config applies.
    ( cd "$VRP_REF_DIR" && CARGO_TARGET_DIR="$VRP_REF_DIR/vrp-cli-target" \
        nice -n "$NICE" cargo install vrp-cli --version "=$VRP_CLI_VERSION" --locked --force --root "$VRP_REF_DIR/vrp-cli" )
fi
"$VRP_CLI_BIN" --version
echo "install.sh: done"
