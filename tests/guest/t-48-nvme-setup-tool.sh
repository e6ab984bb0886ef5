#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/pci-epf-nvme-setup, the board's setup tool, in the rig: a
# configuration (memory-backed null_blk, nvmet loop port, the function on
# the loop controller) applied from nothing, the modules it needs loaded
# by the tool itself; the host's nvme.ko gets a drive that verifies. Then
# what the tool promises: a dry run changes nothing, a second apply makes
# no write, show gives the file back, clear leaves configfs as it was
# before, a bad file is refused with its line or key and changes nothing,
# and a failure half way (a bind to a subsystem that does not exist) is
# undone. Then the boot unit's own commands on a saved show output give
# a working drive again, and clear it; last, the board's sample
# configuration, on the loop controller, does too. The tool's outputs are
# kept in $RIG_OUT/setup-tool/.
set -uo pipefail
# shellcheck source=tests/guest/lib.sh
. "$RIG_REPO/tests/guest/lib.sh"
# shellcheck source=tests/guest/loop-lib.sh
. "$RIG_REPO/tests/guest/loop-lib.sh"
# shellcheck source=tests/guest/nvmet-lib.sh
. "$RIG_REPO/tests/guest/nvmet-lib.sh"

TOOL=$RIG_REPO/scripts/pci-epf-nvme-setup
UNIT=$RIG_REPO/scripts/setup/pci-epf-nvme-setup.service
W=/tmp/setup-tool
STATE=$W/state.json
NQN=nqn.2026-12.io.pci-epf-nvme:setup-tool
VID=0x104c DID=0xb50f
FN=setup0
# What the board's sample configuration names
BOARD_NQN=nqn.2026-12.io.pci-epf-nvme:board
CFS=/sys/kernel/config
# The modules the tool loads, as /proc/modules names them
TOOL_MODULES=(pci_epf_nvme nvme_loop nvmet null_blk nvme_fabrics)
if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then FIO_MB=8; else FIO_MB=32; fi

# setup ARGS...: the tool, with the run's state file and the rig's
# modules (pci-epf-nvme.ko is built out of tree, in $RIG_MODDIR)
setup() { "$TOOL" --state "$STATE" --module-dir "$RIG_MODDIR" "$@"; }

# tool OUT ARGS...: the same, its output in OUT; tool_fails: it fails
tool() {
	local out=$1
	shift
	setup "$@" >"$out" 2>&1
}
tool_fails() { ! tool "$@"; }

# snapshot FILE: every entry of configfs (directories, attributes, links
# and their targets), with the values of the controllers' start and of
# every attribute of what this test makes: one line each, sorted
snapshot() {
	python3 - "$1" "$NQN" nullb_setup "/$FN" <<'EOF'
import os
import sys

out = []
for dp, dns, fns in os.walk('/sys/kernel/config'):
    for n in dns + fns:
        p = os.path.join(dp, n)
        if os.path.islink(p):
            out.append(f'{p} -> {os.readlink(p)}')
        elif os.path.isdir(p):
            out.append(f'{p}/')
        elif (p.endswith('/start') or any(m in p for m in sys.argv[2:])) and \
                os.stat(p).st_mode & 0o400:
            try:
                with open(p) as f:
                    out.append(f'{p} = {f.read().strip()}')
            except OSError as e:
                out.append(f'{p} ! {e.strerror}')
        else:
            out.append(p)
with open(sys.argv[1], 'w') as f:
    f.write('\n'.join(sorted(out)) + '\n')
EOF
}

# same_as FILE: configfs is as in snapshot FILE; else print the difference
same_as() {
	snapshot "$W/now" || return 1
	diff -u "$1" "$W/now" | head -n 20 | grep '^[-+]/' && return 1
	cmp -s "$1" "$W/now"
}

loaded_modules() { awk '{ print $1 }' /proc/modules | sort; }
modules_as_before() { loaded_modules | cmp -s - "$W/modules.before"; }

# unload_loaded_by_tool: unload the modules the tool loaded (those not
# loaded before it ran): it leaves them loaded, but nothing may hold them
unload_loaded_by_tool() {
	local m
	for m in "${TOOL_MODULES[@]}"; do
		grep -qx "$m" "$W/modules.before" && continue
		grep -q "^$m " /proc/modules || continue
		rmmod "$m" || return 1
	done
}

# unload_tool_modules: unload what the tool loads, so that it loads them
# itself (previous tests may have left some); what is in use stays
unload_tool_modules() {
	local m
	for m in "${TOOL_MODULES[@]}"; do
		grep -q "^$m " /proc/modules && rmmod "$m" 2>/dev/null
	done
	true
}

# preload: the modules the tool would load, loaded by hand: with them, a
# run that fails leaves configfs exactly as it found it
preload() {
	modprobe null_blk nr_devices=0 && modprobe nvmet && modprobe nvme-loop &&
		modprobe nvme-fabrics &&
		{ grep -q '^pci_epf_nvme ' /proc/modules || insmod "$RIG_MODDIR/pci-epf-nvme.ko"; }
}

# The host's side of the drive: nvme.ko binds it, its namespace shows
C='' B=''
host_drive() {
	modprobe nvme
	t_check "host sees the function$1" wait_for 50 loop_host_dev "$VID" "$DID" || return 1
	t_check "host controller$1" wait_for 100 nvme_pcie_ctrl || { dmesg | tail -20; return 1; }
	C=/dev/$(nvme_pcie_ctrl)
	B=${C}n1
	t_check "host namespace$1" wait_for 100 test -b "$B" || return 1
	t_check "fio verify$1" fio --name=verify --filename="$B" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bsrange=4k-128k --iodepth=16 \
		--size="${FIO_MB}M" --verify=crc32c
}

# out_has FILE TEXT: the tool's output FILE holds TEXT; else show it
out_has() { grep -qF -- "$2" "$1" || { cat "$1"; return 1; }; }
# no_change_printed FILE: the output of a -v run shows no change made
no_change_printed() { ! grep -E '^(write|mkdir|ln|rm|rmdir|insmod|modprobe) ' "$1"; }

# show_holds FILE SHOWN: everything FILE sets is in SHOWN (a show output)
# with the same value, and SHOWN has the same objects as FILE; values are
# compared on their meaning (8, "8"; "0x104c", 4172; true, 1)
show_holds() {
	python3 - "$1" "$2" <<'EOF'
import json
import sys


def norm(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip(), 0)
        except ValueError:
            return v.strip()
    return v


IDS = {'null_blk': 'name', 'hosts': 'nqn', 'subsystems': 'nqn', 'ports': 'portid',
       'functions': 'name', 'namespaces': 'nsid', 'referrals': 'name',
       'ana_groups': 'grpid'}
problems = []


def same(want, got, path):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            problems.append(f'{path}: {got!r} is not an object')
            return
        for k, v in want.items():
            if k not in got:
                problems.append(f'{path}.{k}: missing')
            else:
                same(v, got[k], f'{path}.{k}')
    elif isinstance(want, list):
        key = IDS.get(path.rsplit('.', 1)[-1])
        if key and all(isinstance(x, dict) for x in want + got):
            w = {norm(x[key]): x for x in want}
            g = {norm(x[key]): x for x in got}
            if set(w) != set(g):
                problems.append(f'{path}: {sorted(map(str, g))}, not {sorted(map(str, w))}')
            for k in w.keys() & g.keys():
                same(w[k], g[k], f'{path}[{k}]')
        elif sorted(map(str, want)) != sorted(map(str, got)):
            problems.append(f'{path}: {got}, not {want}')
    elif norm(want) != norm(got):
        problems.append(f'{path}: {got!r}, not {want!r}')


with open(sys.argv[1]) as f:
    want = json.load(f)
with open(sys.argv[2]) as f:
    got = json.load(f)
for k in want:
    same(want[k], got.get(k, []), k)
print('\n'.join(problems))
sys.exit(1 if problems else 0)
EOF
}

# state_empty: the tool's state file records nothing it created
state_empty() {
	python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["created"]; print(c); sys.exit(c != [])' \
		"$STATE"
}

# unit_start: the unit's start command, output in $W/unit-start.out; its
# --wait must find all there is to wait for (nothing printed about it)
unit_start() {
	env PCI_EPF_NVME_MODULE_DIR="$RIG_MODDIR" "${start_cmd[@]}" --state "$STATE" \
		>"$W/unit-start.out" 2>&1 || { cat "$W/unit-start.out"; return 1; }
}

no_wait_said() { ! grep "waiting up to" "$W/unit-start.out"; }

# unit_cmd ExecStart|ExecStop CONF: the boot unit's command, with the
# tool and the configuration file of this test
unit_cmd() {
	local line
	line=$(grep "^$1=" "$UNIT") || return 1
	line=${line#*=}
	line=${line//\/usr\/local\/sbin\/pci-epf-nvme-setup/$TOOL}
	echo "${line//\/etc\/pci-epf-nvme\/setup.json/$2}"
}

cleanup() {
	local fn
	[[ ! -e /sys/module/nvme/initstate ]] || rmmod nvme
	[[ ! -e $STATE ]] || setup clear >/dev/null
	mkdir -p "$RIG_OUT/setup-tool"
	cp "$W"/*.out "$W"/*.json "$RIG_OUT/setup-tool/" 2>/dev/null
	# What a failure may have left
	[[ ! -d $CFS/pci_ep/controllers/$LOOP_EPC ]] || epc_stop "$LOOP_EPC" 2>/dev/null
	for fn in "$FN" nvme0; do
		rm -f "$CFS/pci_ep/controllers/$LOOP_EPC/$fn" 2>/dev/null
		rmdir "$CFS/pci_ep/functions/pci_epf_nvme/$fn" 2>/dev/null
	done
	NVMET_NQN=$NQN nvmet_teardown
	NVMET_NQN=$BOARD_NQN nvmet_teardown
	rmdir "$CFS/nullb/nullb_setup" "$CFS/nullb/nullb_ep" 2>/dev/null
	[[ ! -e /sys/module/pci_epf_nvme/initstate ]] || rmmod pci_epf_nvme
	modprobe -r null_blk 2>/dev/null
	rm -rf "$W"
	true
}

t_on_exit cleanup
rm -rf "$W"
mkdir -p "$W"
t_check "loop loads" loop_load || exit 1
unload_tool_modules

cat >"$W/setup.json" <<EOF
{
  "null_blk": [
    {"name": "nullb_setup", "size_mb": 1024, "memory_backed": 1, "blocksize": 512}
  ],
  "subsystems": [
    {
      "nqn": "$NQN",
      "attr": {"allow_any_host": "1"},
      "namespaces": [{"nsid": 1, "device": {"path": "/dev/nullb_setup"}, "enable": 1}]
    }
  ],
  "ports": [
    {"portid": 48, "addr": {"trtype": "loop"}, "subsystems": ["$NQN"]}
  ],
  "functions": [
    {
      "name": "$FN",
      "epc": "$LOOP_EPC",
      "attr": {"vendorid": "$VID", "deviceid": "$DID", "msix_interrupts": 8, "msi_interrupts": 8},
      "nvme": {"connect_opts": "transport=loop,nqn=$NQN", "nr_io_queues": 2, "queue_depth": 64},
      "start": true
    }
  ]
}
EOF

# From nothing: the dry run says what it would do, and does none of it
snapshot "$W/before"
loaded_modules >"$W/modules.before"
t_check "dry run" tool "$W/dry.out" apply --dry-run "$W/setup.json"
t_check "dry run changes nothing in configfs" same_as "$W/before"
t_check "dry run loads no module" modules_as_before
t_check "dry run prints the module loads" out_has "$W/dry.out" "insmod $RIG_MODDIR"
t_check "dry run prints the writes" out_has "$W/dry.out" \
	"write $CFS/pci_ep/functions/pci_epf_nvme/$FN/nvme/queue_depth <- 64"
t_check "dry run prints the bind" out_has "$W/dry.out" \
	"ln -s $CFS/pci_ep/functions/pci_epf_nvme/$FN $CFS/pci_ep/controllers/$LOOP_EPC/$FN"
t_check "dry run records nothing" test ! -e "$STATE"

t_check "apply" tool "$W/apply.out" apply "$W/setup.json" || { cat "$W/apply.out"; exit 1; }
host_drive "" || exit 1

# Idempotent: a second run makes no write
snapshot "$W/applied"
t_check "apply again" tool "$W/again.out" apply -v "$W/setup.json"
t_check "apply again: 0 changes" out_has "$W/again.out" "applied: 0 changes"
t_check "apply again: no write printed" no_change_printed "$W/again.out"
t_check "apply again: configfs unchanged" same_as "$W/applied"

setup show >"$W/saved.json"
t_check "show" test $? -eq 0
t_check "show holds the file" show_holds "$W/setup.json" "$W/saved.json"

# Clear: the host first lets the drive go
rmmod nvme
t_check "clear" tool "$W/clear.out" clear || cat "$W/clear.out"
t_check "host device gone" wait_for 50 loop_host_dev_gone $VID $DID
t_check "clear again" tool "$W/clear2.out" clear
t_check "clear again finds nothing to clear" out_has "$W/clear2.out" "nothing to clear"
# The modules the tool loaded stay loaded; without them, configfs is as
# before the first apply (and they unload: nothing holds them)
t_check "the modules the tool loaded are unused" unload_loaded_by_tool
t_check "clear: configfs as before" same_as "$W/before"

# Bad files: refused with the line or the key, nothing changed
preload
snapshot "$W/loaded"
sed '2s/"null_blk": \[/"null_blk" [/' "$W/setup.json" >"$W/syntax.json"
t_check "syntax error refused" tool_fails "$W/syntax.out" apply "$W/syntax.json"
t_check "syntax error: the message names line 2" out_has "$W/syntax.out" "line 2, column"
sed 's/"queue_depth": 64/"queue_depth": "deep"/' "$W/setup.json" >"$W/type.json"
t_check "wrong type refused" tool_fails "$W/type.out" apply "$W/type.json"
t_check "wrong type: the message names the key" out_has "$W/type.out" \
	"functions[0].nvme.queue_depth: must be an integer"
t_check "bad files change nothing" same_as "$W/loaded"
t_check "bad files record nothing" state_empty

# Half way: the bind fails (no such subsystem); all this run did is undone
sed "s/\"transport=loop,nqn=$NQN\"/\"transport=loop,nqn=$NQN-absent\"/" "$W/setup.json" >"$W/absent.json"
t_check "half-way failure: apply fails" tool_fails "$W/absent.out" apply "$W/absent.json"
t_check "half-way failure: the message names the bind" out_has "$W/absent.out" \
	"ln -s $CFS/pci_ep/functions/pci_epf_nvme/$FN $CFS/pci_ep/controllers/$LOOP_EPC/$FN: "
t_check "half-way failure: undone" same_as "$W/loaded"
t_check "half-way failure: nothing recorded" state_empty
t_log "$(cat "$W/absent.out")"

# The boot path: the unit's commands, on the saved show output
read -ra start_cmd <<<"$(unit_cmd ExecStart "$W/saved.json")"
read -ra stop_cmd <<<"$(unit_cmd ExecStop "$W/saved.json")"
t_log "unit: ${start_cmd[*]}; ${stop_cmd[*]}"
t_check "unit's start command" unit_start
t_check "unit's start command did not wait" no_wait_said
host_drive " (saved configuration)"
rmmod nvme
t_check "unit's stop command" "${stop_cmd[@]}" --state "$STATE"
t_check "host device gone (saved configuration)" wait_for 50 loop_host_dev_gone $VID $DID
t_check "unit's stop: configfs as before" same_as "$W/loaded"

# The board's sample, with the loop controller for the RK3588's: the file
# as shipped gives a drive with the board's ids
sed "s/\"a40000000.pcie-ep\"/\"$LOOP_EPC\"/" "$RIG_REPO/scripts/setup/board-null.json" \
	>"$W/board.json"
t_check "board sample: dry run" tool "$W/board-dry.out" apply --dry-run "$W/board.json"
t_check "board sample: apply" tool "$W/board-apply.out" apply "$W/board.json" ||
	{ cat "$W/board-apply.out"; exit 1; }
VID=0x1d87 DID=0x3598 host_drive " (board sample)"
t_check "board sample: apply again" tool "$W/board-again.out" apply "$W/board.json"
t_check "board sample: apply again: 0 changes" out_has "$W/board-again.out" "applied: 0 changes"
rmmod nvme
t_check "board sample: clear" tool "$W/board-clear.out" clear
t_check "board sample: host device gone" wait_for 50 loop_host_dev_gone 0x1d87 0x3598
t_check "board sample: configfs as before" same_as "$W/loaded"
