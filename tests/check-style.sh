#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the project's kernel code, reported as tests:
#   static/checkpatch FILE   checkpatch.pl --strict: no ERROR, WARNING or CHECK
#   static/sparse W=1 build  make C=2 W=1: builds, no warning at all
#
# Usage: tests/check-style.sh [--tree DIR] [--results FILE] [--logdir DIR]
#   --tree     built kernel tree (default: the rig kernel, built if needed)
#   --results  also append the results to FILE (used by tests/run.sh)
#   --logdir   where the full outputs go (default: results/static)
# Exit status 1 if a check failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=tests/lib-host.sh
. "$REPO_DIR/tests/lib-host.sh"

tree='' logdir=$REPO_DIR/results/static
failed=0

parse_args() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--tree) tree=$2; shift 2 ;;
		--results) RESULTS_FILE=$(realpath -m "$2"); shift 2 ;;
		--logdir) logdir=$2; shift 2 ;;
		*) awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2; exit 2 ;;
		esac
	done
	[[ -n $tree ]] || tree=$("$REPO_DIR/scripts/build-kernel.sh")
	mkdir -p "$logdir"
	logdir=$(realpath "$logdir")
}

# Every .c and .h of the project, tracked or new, but not generated files
# (*.mod.c, which .gitignore lists).
project_sources() {
	if git -C "$REPO_DIR" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$REPO_DIR" ls-files -co --exclude-standard -- 'drivers/*.c' 'drivers/*.h'
	else
		(cd "$REPO_DIR" && find drivers -name '*.[ch]' ! -name '*.mod.c')
	fi | sort -u
}

check_file() {
	local f=$1 out problems
	out=$(cd "$REPO_DIR" && perl "$tree/scripts/checkpatch.pl" --strict --no-tree \
		--show-types --color=never -f "$f" 2>&1) || true
	printf '=== %s\n%s\n' "$f" "$out" >>"$logdir/checkpatch.log"
	problems=$(grep -E '^(ERROR|WARNING|CHECK):' <<<"$out" || true)
	if [[ -z $problems ]]; then
		record PASS "static/checkpatch $f"
	else
		record FAIL "static/checkpatch $f" \
			"$(wc -l <<<"$problems") problems, first: $(head -n 1 <<<"$problems")"
		failed=1
	fi
}

check_sparse() {
	local logf=$logdir/sparse-w1.log
	if build_modules "$tree" "$CACHE_DIR/modbuild-static" "$logf" C=2 W=1; then
		record PASS "static/sparse W=1 build"
	else
		record FAIL "static/sparse W=1 build" "$(log_excerpt "$logf") (see $logf)"
		failed=1
	fi
}

main() {
	local f files
	parse_args "$@"
	: >"$logdir/checkpatch.log"
	mapfile -t files < <(project_sources)
	if [[ ${#files[@]} -eq 0 ]]; then
		record SKIP "static/checkpatch" "no .c or .h files under drivers/"
		record SKIP "static/sparse W=1 build" "no sources"
		return 0
	fi
	for f in "${files[@]}"; do
		check_file "$f"
	done
	check_sparse
	return "$failed"
}

main "$@"
