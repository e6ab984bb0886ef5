#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the project's kernel code, reported as tests:
#   static/checkpatch FILE   checkpatch.pl --strict: no ERROR, WARNING or CHECK
#   static/sparse W=1 build  make C=2 W=1: builds, no warning at all, and
#                            sparse did check the files
#   static/arm64 sparse W=1 build
#                            the same, cross-built for the board (arm64,
#                            without the x86-only loopback controller)
#   static/W=1 build on VERSION
#                            make W=1 against a tree of another kernel
#                            version (7.3): builds, no warning. Sparse
#                            cannot check it (a skip says so): 7.3's
#                            checker probe needs __typeof_unqual__, which
#                            Debian 12's sparse 0.6.4 lacks
#   static/kernel cache key ignores patch messages
#
# Usage: tests/check-style.sh [--tree DIR] [--board-tree DIR] [--new-tree DIR] [--results FILE] [--logdir DIR]
#   --tree     built kernel tree (default: the rig kernel, built if needed)
#   --board-tree  built arm64 tree (scripts/build-kernel.sh --board); none:
#              the arm64 build is skipped
#   --new-tree    built tree of the newer kernel (the debug flavour's);
#              none: that build is skipped
#   --results  also append the results to FILE (used by tests/run.sh)
#   --logdir   where the full outputs go (default: results/static)
# Exit status 1 if a check failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=tests/lib-host.sh
. "$REPO_DIR/tests/lib-host.sh"

tree='' board_tree='' new_tree='' logdir=$REPO_DIR/results/static
failed=0

parse_args() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--tree) tree=$2; shift 2 ;;
		--board-tree) board_tree=$2; shift 2 ;;
		--new-tree) new_tree=$2; shift 2 ;;
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

# check_sparse NAME TREE DEST [MAKE ARGS...]: a C=2 W=1 build. A sparse
# the kernel's checker probe rejects is dropped without a word: the log
# must show it at work.
check_sparse() {
	local name=$1 tree=$2 dest=$3 logf=$logdir/${1// /-}.log
	shift 3
	if ! build_modules "$tree" "$dest" "$logf" C=2 W=1 "$@"; then
		record FAIL "static/$name" "$(log_excerpt "$logf") (see $logf)"
		failed=1
	elif ! grep -q '^ *CHECK ' "$logf"; then
		record FAIL "static/$name" "sparse did not run (see $logf)"
		failed=1
	else
		record PASS "static/$name"
	fi
}

# The board's build: the function, for arm64, and not the loopback
# controller, which the Makefile leaves out there.
check_board() {
	local dest=$CACHE_DIR/modbuild-static-arm64 ko
	if [[ -z $board_tree ]]; then
		record SKIP "static/arm64 sparse W=1 build" "no arm64 tree built"
		return
	fi
	check_sparse "arm64 sparse W=1 build" "$board_tree" "$dest" \
		ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
	ko=$(find "$dest" -name pci-epf-nvme.ko)
	if [[ -z $ko ]] || ! LC_ALL=C readelf -h "$ko" | grep -q 'Machine: *AArch64'; then
		record FAIL "static/arm64 function module" "no AArch64 pci-epf-nvme.ko in $dest"
		failed=1
	elif [[ -n $(find "$dest" -name pci-epc-loop.ko) ]]; then
		record FAIL "static/arm64 function module" "the x86-only loopback controller was built"
		failed=1
	else
		record PASS "static/arm64 function module"
	fi
}

# The newer kernel's build, W=1 without sparse (see the head of the file)
check_new_kernel() {
	local ver logf
	if [[ -z $new_tree ]]; then
		record SKIP "static/W=1 build on the newer kernel" "no tree of it built"
		return
	fi
	ver=$(make -s -C "$new_tree" kernelversion)
	logf=$logdir/w1-$ver.log
	if build_modules "$new_tree" "$CACHE_DIR/modbuild-static-new" "$logf" W=1; then
		record PASS "static/W=1 build on $ver"
	else
		record FAIL "static/W=1 build on $ver" "$(log_excerpt "$logf") (see $logf)"
		failed=1
	fi
	record SKIP "static/sparse on $ver" \
		"the kernel's checker probe needs __typeof_unqual__, which Debian 12's sparse 0.6.4 lacks"
}

# The kernel trees are cached by kernel_key (scripts/lib.sh), which hashes
# the patches' diffs only: a patch's message or mail headers must not
# change it (a rebuild of every kernel for a reworded commit message).
check_kernel_key() {
	local copy key before after
	copy=$(mktemp -d)
	mkdir -p "$copy/scripts/kernel"
	cp -r "$REPO_DIR/scripts/kernel/." "$copy/scripts/kernel/"
	cp "$REPO_DIR/scripts/build-kernel.sh" "$copy/scripts/"
	key() { (REPO_DIR=$copy; kernel_key rig); }
	before=$(key)
	sed -i 's/^Subject: /Subject: [reworded] /' "$copy"/scripts/kernel/patches/*/*.patch
	after=$(key)
	rm -rf "$copy"
	if [[ $before == "$after" ]]; then
		record PASS "static/kernel cache key ignores patch messages"
	else
		record FAIL "static/kernel cache key ignores patch messages" \
			"key $before became $after when only the Subject lines changed"
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
	check_sparse "sparse W=1 build" "$tree" "$CACHE_DIR/modbuild-static"
	check_board
	check_new_kernel
	check_kernel_key
	return "$failed"
}

main "$@"
