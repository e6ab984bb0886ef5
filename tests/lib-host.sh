# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Host-side helpers shared by tests/run.sh and tests/check-style.sh.
# Source it after scripts/lib.sh.

# Where record() appends "STATUS<TAB>NAME<TAB>MESSAGE" lines; empty: print
# only.
RESULTS_FILE=${RESULTS_FILE:-}

# record STATUS NAME [MESSAGE]: print one result line in the suite's format
# and keep it in $RESULTS_FILE.
record() {
	local status=$1 name=$2 msg=${3:-}
	msg=${msg//$'\t'/ }
	msg=${msg//$'\n'/ | }
	if [[ -n $msg ]]; then
		printf '%-5s %s: %s\n' "$status" "$name" "$msg"
	else
		printf '%-5s %s\n' "$status" "$name"
	fi
	[[ -z $RESULTS_FILE ]] || printf '%s\t%s\t%s\n' "$status" "$name" "$msg" >>"$RESULTS_FILE"
}

# Build products that may sit next to the sources after a build in place.
# Copied along, they could pass for up to date.
BUILD_PRODUCTS=('*.o' '*.ko' '*.mod' '*.mod.c' '*.cmd' '*.a' '*.d'
	modules.order Module.symvers .tmp_versions)

# sync_sources DEST: copy the project's module sources to a clean DEST.
# Kernel 6.12 builds external modules in their source directory, so each
# kernel (and each set of build flags) gets its own copy. Always from
# scratch: an incremental build would not repeat the warnings of files it
# does not recompile, and the whole build takes seconds.
sync_sources() {
	local dest=$1 p excludes=()
	for p in "${BUILD_PRODUCTS[@]}"; do
		excludes+=(--exclude="$p")
	done
	rm -rf "$dest"
	mkdir -p "$dest"
	rsync -a "${excludes[@]}" \
		"$REPO_DIR/Kbuild" "$REPO_DIR/Makefile" "$REPO_DIR/Kconfig" \
		"$REPO_DIR/drivers" "$dest/"
}

# build_modules TREE DEST LOG [MAKE ARGS...]: build the project's modules
# for TREE in a copy at DEST, output to LOG. Fails on a failed build or on
# any compiler, sparse or modpost warning.
build_modules() {
	local tree=$1 dest=$2 logf=$3
	shift 3
	sync_sources "$dest"
	if ! make -C "$dest" KDIR="$tree" -j"$(nproc)" "$@" >"$logf" 2>&1; then
		return 1
	fi
	! grep -qiE '(warning|error):' "$logf"
}

# source_key: a hash of the content of every file sync_sources copies.
source_key() {
	local p names=()
	for p in "${BUILD_PRODUCTS[@]}"; do
		names+=(! -name "$p")
	done
	(cd "$REPO_DIR" && find Kbuild Makefile Kconfig drivers -type f "${names[@]}" \
		-exec sha256sum {} + | LC_ALL=C sort -k 2) | sha256sum | cut -c1-16
}

# build_modules_cached TREE DEST LOG: build_modules, unless DEST holds a
# build that passed from the same sources for the same tree. Like the
# kernel trees, a build is keyed by all that goes into it, so an unchanged
# repository builds nothing again; its log is the one of that build. The
# static checks' W=1 build is never reused.
build_modules_cached() {
	local tree=$1 dest=$2 logf=$3 key
	key="$(realpath "$tree") $(source_key)"
	if [[ -f $dest/.build-key && $(<"$dest/.build-key") == "$key" && -f $dest/.build-log ]]; then
		{
			echo "# modules reused: built from the same sources for the same tree"
			cat "$dest/.build-log"
		} >"$logf"
		return 0
	fi
	build_modules "$tree" "$dest" "$logf" || return 1
	cp "$logf" "$dest/.build-log"
	echo "$key" >"$dest/.build-key"
}

# collect_modules BUILD_DIR OUT_DIR: the built .ko files, flat in a clean
# OUT_DIR: guest tests load them as $RIG_MODDIR/<name>.ko.
collect_modules() {
	rm -rf "$2"
	mkdir -p "$2"
	find "$1" -name '*.ko' -exec cp -t "$2" {} +
}

# guest_modules TREE NAME OUT: the project's modules for TREE, built in
# the cache's modbuild-NAME (reused when unchanged), in OUT/modules for a
# guest; the build's log in OUT/modules-build.log. Dies on a failed build.
guest_modules() {
	log "building the modules"
	build_modules_cached "$1" "$CACHE_DIR/modbuild-$2" "$3/modules-build.log" ||
		die "module build failed, see $3/modules-build.log"
	collect_modules "$CACHE_DIR/modbuild-$2" "$3/modules"
}

# The last lines of a log that say what went wrong, for a result message.
log_excerpt() {
	{ grep -E '([Ww]arning|[Ee]rror):|\*\*\*|No such file' "$1" || tail -n 3 "$1"; } |
		head -n 2 | cut -c1-200
}
