#!/bin/sh
# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmnull-scenario POLICY VENDOR PROBE [PARAM=VALUE...]: one negative test in the guest.
#   POLICY  refuse or warn (written to kvm.missing_hook), or upstream (kvm.ko as Debian ships it)
#   VENDOR  kvm-amd (a real vendor), else kvm-null
#   PROBE   1 runs the lifecycle probe, workload the guest workload, 0 neither
#   PARAM=VALUE  the vendor's module parameters (null=, null_pmu=, ..., knockout=): all are shown,
#           the non-empty ones are passed to insmod
# Prints harness lines (load, unload, probe steps), then the kernel log of the scenario
# between the dmesg markers.  Exit status EXIT_POLICY or EXIT_RELOAD: the harness failed.

# What the host reads back: guest/harness.py takes these from here, one NAME='value' a line.
BEGIN='kvmnull-scenario: begin'
LOAD='kvmnull-load:'
UNLOAD='kvmnull-unload:'
DMESG_BEGIN='kvmnull-dmesg-begin'
DMESG_END='kvmnull-dmesg-end'
# a real vendor cannot load again after the scenario: the next scenario needs a fresh guest
SPENT='kvmnull-health: spent'
EXIT_POLICY='90'
EXIT_RELOAD='91'
MODULES_DIR='/modules'
MISSING_HOOK='/sys/module/kvm/parameters/missing_hook'
PROBE='kvmnull-probe'
WORKLOAD='kvmnull-workload'

policy=$1 vendor=$2 probe=$3
shift 3
shown="$*"
# keep the parameters that have a value
for param do
	shift
	[ -n "${param#*=}" ] && set -- "$@" "$param"
done

echo "$BEGIN $policy $vendor $shown"
if [ "$policy" != upstream ]; then
	echo "$policy" > "$MISSING_HOOK" || exit "$EXIT_POLICY"
fi
dmesg -c > /dev/null
# the real vendor changes kvm.ko's globals (enable_apicv, kvm_cpu_caps, ...):
# kvm.ko is reloaded after it, so that every scenario starts from a fresh kvm.ko
real=no
case "$vendor" in
kvm-amd) module=kvm_amd file=kvm-amd real=yes ;;
*) module=kvm_null file=kvm-null ;;
esac
insmod "$MODULES_DIR/$file.ko" "$@"
status=$?
# a vendor init that returns garbage can make insmod exit 0 with nothing loaded
loaded=no
[ -e "/sys/module/$module/initstate" ] && loaded=yes
echo "$LOAD $vendor status=$status loaded=$loaded"
if [ "$loaded" = yes ]; then
	case "$probe" in
	1) "$PROBE" ;;
	# the load's kernel log first: a workload step may take the guest down before the end
	workload) dmesg -c; "$WORKLOAD" ;;
	esac
	rmmod "$module"
	echo "$UNLOAD $vendor status=$?"
fi
if [ "$real" = yes ]; then
	{ rmmod kvm && insmod "$MODULES_DIR/kvm.ko"; } || exit "$EXIT_RELOAD"
fi
echo "$DMESG_BEGIN"
dmesg -c
echo "$DMESG_END"
# a knockout can leave kernel state behind that stops the vendor loading again
# (NULL disable_virtualization_cpu leaves SVM on): then this guest is spent, and the next
# scenario boots another
if [ "$real" = yes ]; then
	if insmod "$MODULES_DIR/$file.ko" 2>/dev/null; then
		{ rmmod "$module" && rmmod kvm && insmod "$MODULES_DIR/kvm.ko"; } || exit "$EXIT_RELOAD"
	else
		echo "$SPENT"
	fi
fi
