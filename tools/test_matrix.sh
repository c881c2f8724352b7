#!/usr/bin/env bash
# Blender version matrix: runs the Blender tests (tests/blender) on bpy 4.2 LTS, 4.5 LTS and 5.0.
#
#   tools/test_matrix.sh [--compat] [--install-only] [VERSION ...]    VERSION: 4.2 4.5 5.0
#
# Default: every Blender test file on all three versions (`make test-matrix`).
# --compat: on each version only the files every Blender release must pass (COMPAT_FILES:
#           register, action writing, applying clips); `make test` runs it on 4.2 and 4.5 after
#           the full suite on 5.0.
# --install-only: create the missing venvs and stop.
#
# 5.0 runs in the main venv ($VENV, made by `make venv`). 4.2 and 4.5 each get a small venv of
# their own (.cache/venv-bpy42, .cache/venv-bpy45: the bpy wheel, numpy<2, pytest; created here
# when missing, ~20 s and ~1 GB each). They live under .cache/ because the extension build
# (blender_manifest.toml) and git both leave .cache/ out: a venv in the repository root would be
# zipped into the add-on. The add-on's local backend, which some tests start as a subprocess,
# always runs in the main venv (preferences.default_python: <add-on>/.venv).
#
# Prints one line per version; pytest's own output goes to $LOG_DIR/bpy-<version>.log and is
# printed in full when a run fails. Exits non-zero if any version fails (or installs fail).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
LOG_DIR=${LOG_DIR:-out/test-matrix}
RUN_TIMEOUT=${RUN_TIMEOUT:-900}            # seconds per version: a hang must not eat CI's time
declare -A BPY_SPEC=([4.2]=4.2.23 [4.5]=4.5.15 [5.0]=5.0.1)
declare -A VENV_OF=([4.2]=.cache/venv-bpy42 [4.5]=.cache/venv-bpy45 [5.0]=$VENV)
# Files (not single tests), so a new test file joins the full 5.0 run on its own.
COMPAT_FILES=(
    tests/blender/test_addon.py               # register / unregister, preferences
    tests/blender/test_keys.py                # writing actions (slotted actions, NLA, FK keys)
    tests/blender/test_retarget_accuracy.py   # every shipped and zoo rig, measured
    tests/blender/test_operators.py           # the apply / search / mapping operators
    tests/blender/test_rig_checks.py          # rigs refused with a reason
    tests/blender/test_edit_motion.py         # edits spliced into copied actions (both APIs)
)

compat=0; install_only=0; versions=()
for arg in "$@"; do
    case $arg in
        --compat) compat=1 ;;
        --install-only) install_only=1 ;;
        4.2|4.5|5.0) versions+=("$arg") ;;
        *) echo "test_matrix.sh: unknown argument '$arg' (versions: 4.2 4.5 5.0)" >&2; exit 2 ;;
    esac
done
[ ${#versions[@]} -gt 0 ] || versions=(4.2 4.5 5.0)

ensure_venv() {   # ensure_venv VERSION -> 0 when VENV_OF[VERSION] has bpy BPY_SPEC[VERSION]
    local version=$1 venv=${VENV_OF[$1]} spec=${BPY_SPEC[$1]}
    if [ "$version" = 5.0 ]; then      # the main venv: `make venv` (a prerequisite of the targets)
        [ -x "$venv/bin/python" ] || { echo "no $venv: run 'make venv' first" >&2; return 1; }
        return 0
    fi
    [ "$(cat "$venv/.installed" 2>/dev/null)" = "bpy==$spec" ] && return 0
    local start=$SECONDS
    echo "creating $venv (bpy==$spec, numpy<2, pytest)..." >&2
    rm -rf "$venv"; mkdir -p "$(dirname "$venv")"
    "$PYTHON" -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --upgrade pip &&
        "$venv/bin/python" -m pip install --quiet "bpy==$spec" "numpy<2" pytest || return 1
    echo "bpy==$spec" > "$venv/.installed"
    echo "created $venv in $((SECONDS - start)) s" >&2
}

# summary_of LOG -> "passed N, failed N, skipped N, errors N" from pytest's closing line.
summary_of() {
    local last count word passed=0 failed=0 skipped=0 errors=0
    last=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|errors?|deselected)' "$1" | tail -n 1)
    while read -r count word; do
        case $word in
            passed*) passed=$count ;; failed*) failed=$count ;;
            skipped*) skipped=$count ;; error*) errors=$count ;;
        esac
    done < <(grep -oE '[0-9]+ [a-z]+' <<< "$last")
    echo "passed $passed, failed $failed, skipped $skipped, errors $errors"
}

mkdir -p "$LOG_DIR"
status=0
for version in "${versions[@]}"; do
    if ! ensure_venv "$version"; then
        echo "bpy ${BPY_SPEC[$version]}: FAILED to create ${VENV_OF[$version]}"
        status=1; continue
    fi
    [ $install_only = 1 ] && continue
    py=${VENV_OF[$version]}/bin/python
    log=$LOG_DIR/bpy-$version.log
    if [ $compat = 1 ]; then targets=("${COMPAT_FILES[@]}"); what="compat files"
    else targets=(tests/blender); what="tests/blender"; fi
    start=$SECONDS
    timeout --kill-after=30 "$RUN_TIMEOUT" "$py" -m pytest -q -p no:cacheprovider \
        "${targets[@]}" > "$log" 2>&1
    rc=$?
    took=$((SECONDS - start))
    if [ $rc = 0 ]; then verdict=ok
    elif [ $rc = 124 ] || [ $rc = 137 ]; then verdict="TIMED OUT after ${RUN_TIMEOUT}s"
    elif [ $rc -gt 128 ]; then verdict="CRASHED (signal $((rc - 128)))"
    else verdict="FAILED (pytest exit $rc)"; fi
    # Not pytest's closing-line format on purpose: CI reads the main run's closing line.
    echo "bpy ${BPY_SPEC[$version]} [$what]: $verdict -- $(summary_of "$log"); ${took} s; log $log"
    if [ $rc != 0 ]; then
        status=1
        echo "----- $log -----"; tail -n 200 "$log"; echo "----- end of $log -----"
    fi
done
exit $status
