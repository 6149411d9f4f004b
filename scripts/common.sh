# Shared set-up for scripts/lab and scripts/test (sourced, not run).
# Creates the project's virtual environment on first use; later runs reuse it.

AFFECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AFFECT_VENV="${AFFECT_VENV:-$AFFECT_ROOT/.venv}"

affect_venv() {
    # affect_venv EXTRAS: make the venv and install affect_core with those extras.
    local extras="$1"
    if [ ! -x "$AFFECT_VENV/bin/python" ]; then
        echo "creating $AFFECT_VENV"
        python3 -m venv "$AFFECT_VENV"
        "$AFFECT_VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    local spec="$AFFECT_ROOT/src/affect_core"
    [ -n "$extras" ] && spec="$spec[$extras]"
    "$AFFECT_VENV/bin/python" -m pip install --quiet -e "$spec"
}

affect_find_ros() {
    # Print the setup.bash of an installed ROS 2 (Jazzy preferred, then Humble).
    local distro
    for distro in ${ROS_DISTRO:-} jazzy humble; do
        if [ -f "/opt/ros/$distro/setup.bash" ]; then
            echo "/opt/ros/$distro/setup.bash"
            return 0
        fi
    done
    return 1
}
