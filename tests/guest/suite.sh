#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of tests/run.sh: run smoke.sh, then every t-*.sh in name
# order, each in its own bash under a time limit, all writing to
# $RIG_OUT/results. Settings come from $RIG_OUT/suite.env when the host
# wrote one: ONLY (run only scripts whose file name matches this glob, or
# contains it), TEST_TIMEOUT (seconds per script) and RIG_FLAVOUR (rig or
# debug, exported to the scripts).
#
# No set -e: one script's failure must not stop the others.
set -uo pipefail

SUITE_DIR=$(dirname "$(realpath "$0")")
RIG_OUT=${RIG_OUT:-/rig-out}
ONLY=
TEST_TIMEOUT=300
# shellcheck source=/dev/null
[[ ! -f $RIG_OUT/suite.env ]] || . "$RIG_OUT/suite.env"
# Tests scale their repetitions to the kernel flavour (see RIG_FLAVOUR).
export RIG_FLAVOUR=${RIG_FLAVOUR:-rig}
# shellcheck disable=SC2034 # read by lib.sh
T_GROUP=suite
# shellcheck source=tests/guest/lib.sh
. "$SUITE_DIR/lib.sh"

# Marks in the kernel log, so that a splat can be traced to its script.
kmsg() { echo "suite: $*" >/dev/kmsg 2>/dev/null || echo "suite: $*"; }

selected() {
	local name=$1
	# shellcheck disable=SC2053 # ONLY is a glob on purpose
	[[ -z $ONLY || $name == $ONLY || $name == *$ONLY* ]]
}

fail_count() { grep -c '^FAIL' "$T_RESULTS" 2>/dev/null || true; }

# A script that dies or times out may not have said why: record that, so a
# crash never passes silently.
run_one() {
	local script=$1 name group rc=0 before
	name=$(basename "$script")
	group=${name%.sh}
	group=${group#t-}
	before=$(fail_count)
	kmsg "running $name"
	timeout -k 10 "$TEST_TIMEOUT" bash "$script" </dev/null || rc=$?
	kmsg "$name exited with status $rc"
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		T_GROUP=$group t_fail "script" "timed out after ${TEST_TIMEOUT}s"
	elif [[ $rc -ne 0 && $(fail_count) -eq $before ]]; then
		T_GROUP=$group t_fail "script" "exited with status $rc without reporting a failure"
	fi
}

main() {
	local script scripts=("$SUITE_DIR/smoke.sh")
	: >"$T_RESULTS"
	: >"$T_TIMINGS"
	for script in "$SUITE_DIR"/t-*.sh; do
		[[ -e $script ]] && scripts+=("$script")
	done
	for script in "${scripts[@]}"; do
		selected "$(basename "$script")" || continue
		run_one "$script"
	done
	[[ $(fail_count) -eq 0 ]]
}

main
