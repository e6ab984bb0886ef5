#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a static fio for the rig's guests and print the directory that
# holds it (as bin/fio), for scripts/run-qemu.sh --tools.
#
# Why: Debian's fio links 64 shared libraries (ceph, gluster, rdma, ...).
# Loading them costs about 2.4 s per fio run on the debug kernel under TCG
# and 0.3 s on rig, and the test suite runs fio some thirty times per
# kernel. This fio has the same version and Debian patches as the
# installed package, only the engines built without extra libraries
# (io_uring, psync, sync, posixaio, ...), and starts in about 0.2 s.
#
# The source comes with `apt-get source` through a private list of
# deb-src entries (the system's apt configuration is left alone), so its
# checksums are verified against Debian's signed indexes. The build is
# cached under the rig's cache directory, keyed by the package version and
# this script.
#
# Usage: scripts/build-guest-fio.sh   (build log on stderr)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

APT_DIR=$CACHE_DIR/apt-src
# Off: engines that need libraries the guest build does not want, and
# -march=native (the guest CPU model is not the host's).
CONFIGURE_OPTS=(
	--build-static --disable-native --disable-numa --disable-rdma
	--disable-rados --disable-rbd --disable-http --disable-gfapi
	--disable-pmem --disable-xnvme --disable-libzbc --disable-tcmalloc
	--disable-dfs
)

fio_version() {
	dpkg-query -W -f='${Version}' fio 2>/dev/null || die "fio is not installed"
}

# apt-get with a private source list, index directory and cache: deb-src
# entries for the suites the system already uses.
private_apt() {
	apt-get -o Dir::Etc::SourceList=/dev/null \
		-o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
		-o Dir::State::Lists="$APT_DIR/lists" \
		-o Dir::Cache="$APT_DIR/cache" "$@"
}

write_sources() {
	local codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "no VERSION_CODENAME in /etc/os-release"
	mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial" "$APT_DIR/cache"
	cat >"$APT_DIR/sources.list.d/debian-src.sources" <<-EOF
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: $codename $codename-updates $codename-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

	Types: deb-src
	URIs: http://deb.debian.org/debian-security
	Suites: $codename-security
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

# fetch_source VERSION WORKDIR: the unpacked, patched source in WORKDIR:
# of the installed version, or of the archive's current one when the
# archive has moved on (the options and engines used are the same).
fetch_source() {
	local version=$1 work=$2
	write_sources
	private_apt -q update >&2
	(cd "$work" && { private_apt -q source "fio=$version" >&2 ||
		private_apt -q source fio >&2; })
}

build() {
	local version=$1 dest=$2 work src
	work=$(mktemp -d "$CACHE_DIR/fio-build.XXXXXX")
	# shellcheck disable=SC2064 # expand now: work is local
	trap "rm -rf '$work'" EXIT
	fetch_source "$version" "$work"
	src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'fio-*' | head -n 1)
	[[ -n $src ]] || die "apt-get source gave no fio-* directory"
	(cd "$src" && ./configure "${CONFIGURE_OPTS[@]}" && make -j"$(nproc)" fio) >&2
	strip -o "$work/fio" "$src/fio"
	"$work/fio" --enghelp | grep -qw io_uring || die "the built fio has no io_uring engine"
	rm -rf "$dest"
	mkdir -p "$dest/bin"
	mv "$work/fio" "$dest/bin/fio"
}

main() {
	local version key dest
	version=$(fio_version)
	# What the build depends on: the source, this script, the compiler
	# and the static libraries configure may pick up.
	key=$({
		echo "$version"
		cat "$0"
		gcc -dumpfullversion
		dpkg-query -W libc6-dev zlib1g-dev libaio-dev 2>/dev/null || true
	} | sha256sum | cut -c1-16)
	dest=$CACHE_DIR/guest-fio-$key
	mkdir -p "$CACHE_DIR"
	if [[ ! -x $dest/bin/fio ]]; then
		log "building a static fio $version in $dest"
		build "$version" "$dest"
	fi
	echo "$dest"
}

main "$@"
