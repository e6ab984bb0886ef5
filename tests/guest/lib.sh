# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for guest test scripts. Source it at the top of a script:
#
#   . "$RIG_REPO/tests/guest/lib.sh"
#   t_check "null_blk loads" modprobe null_blk
#
# Each result is one line "PASS|FAIL|SKIP<TAB>NAME<TAB>MESSAGE" appended to
# $RIG_OUT/results, and echoed to the console. Names are prefixed with the
# script's group (its file name without "t-" and ".sh", or $T_GROUP), so
# they stay unique across scripts. A script that recorded a failure exits
# non-zero however it ends; register clean-up with t_on_exit rather than
# with a trap of its own, which would replace that logic.

RIG_OUT=${RIG_OUT:-/rig-out}
T_RESULTS=${T_RESULTS:-$RIG_OUT/results}
if [[ -z ${T_GROUP:-} ]]; then
	T_GROUP=$(basename "${BASH_SOURCE[-1]}" .sh)
	T_GROUP=${T_GROUP#t-}
fi
T_FAILED=0
T_CLEANUP=()
# Where the time goes: each result's name and the seconds since the
# previous result of the script (or its start), for tuning the suite.
T_TIMINGS=${T_TIMINGS:-$RIG_OUT/timings}
T_LAST=${EPOCHREALTIME/[.,]/}

# t_sleep SECONDS: sleep without an exec (an exec costs 0.1 s and more
# under TCG, several times that on the debug kernel): a read with a time
# limit on a pipe nobody writes to.
exec {T_SLEEP_FD}<> <(:)
t_sleep() { read -rt "$1" -u "$T_SLEEP_FD" || true; }

# _t_flat VAR TEXT: TEXT in VAR, without the tabs and newlines that would
# break the one-line-per-result format. Sets a variable rather than
# printing: a command substitution forks, which costs about 30 ms on the
# debug kernel, and every result would pay it twice.
_t_flat() {
	local s=${2//$'\t'/ }
	printf -v "$1" '%s' "${s//$'\n'/ | }"
}

_t_record() {
	local status=$1 name msg now
	_t_flat name "$T_GROUP/$2"
	_t_flat msg "${3:-}"
	printf '%s\t%s\t%s\n' "$status" "$name" "$msg" >>"$T_RESULTS"
	now=${EPOCHREALTIME/[.,]/}
	printf '%d.%06d\t%s\n' $(((now - T_LAST) / 1000000)) $(((now - T_LAST) % 1000000)) \
		"$name" >>"$T_TIMINGS"
	T_LAST=$now
	if [[ -n $msg ]]; then
		printf '%-5s %s: %s\n' "$status" "$name" "$msg"
	else
		printf '%-5s %s\n' "$status" "$name"
	fi
}

t_pass() { _t_record PASS "$1"; }

t_fail() {
	T_FAILED=1
	_t_record FAIL "$1" "${2:-failed}"
}

t_skip() { _t_record SKIP "$1" "${2:-}"; }

t_log() { printf '# %s: %s\n' "$T_GROUP" "$*"; }

# t_check NAME CMD...: run CMD; pass on status 0, else fail with the status
# and the last lines of its output. Returns CMD's status.
t_check() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [[ $rc -eq 0 ]]; then
		t_pass "$name"
	else
		t_fail "$name" "status $rc: $(tail -n 3 <<<"$out" | cut -c1-200)"
	fi
	return "$rc"
}

# t_results_from PREFIX CMD...: run CMD, a program that reports results of
# its own, one line "PASS|FAIL|SKIP<TAB>NAME<TAB>MESSAGE" each; each is
# recorded as it comes, named "PREFIX NAME". Other lines are CMD's log.
# Fails if CMD fails without having reported a failure (it crashed).
t_results_from() {
	local prefix=$1 status name msg line failed=0 rc=0
	shift
	while IFS= read -r line; do
		IFS=$'\t' read -r status name msg <<<"$line"
		case $status in
		PASS | SKIP) _t_record "$status" "$prefix $name" "$msg" ;;
		FAIL) t_fail "$prefix $name" "$msg"; failed=1 ;;
		EXIT) rc=$name ;;
		*) printf '# %s\n' "$line" ;;
		esac
	done < <("$@" 2>&1; printf 'EXIT\t%d\n' $?)
	if [[ $rc -ne 0 && $failed -eq 0 ]]; then
		t_fail "$prefix ran" "status $rc"
		return 1
	fi
	return "$rc"
}

# kmsg_has PATTERN: the kernel log holds PATTERN (a basic regular
# expression). grep reads the whole log (-c, not -q): under pipefail, a
# grep that stops at the first match can leave dmesg writing into a closed
# pipe, and the pipeline then fails with SIGPIPE (status 141) although the
# line is there.
kmsg_has() { dmesg | grep -c -- "$1" >/dev/null; }

# t_on_exit CMD...: run CMD when the script ends, last registered first.
t_on_exit() {
	T_CLEANUP=("$(printf '%q ' "$@")" "${T_CLEANUP[@]}")
}

_t_exit() {
	local rc=$? cmd
	for cmd in "${T_CLEANUP[@]}"; do
		eval "$cmd" || t_log "clean-up failed: $cmd"
	done
	[[ $rc -ne 0 || $T_FAILED -eq 0 ]] || rc=1
	exit "$rc"
}
trap _t_exit EXIT
