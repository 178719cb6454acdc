"""The in-guest harness: the script one scenario runs, and the marker lines it prints.

The guest side (:mod:`scenario`) puts the script into the initramfs and calls
it; the evidence side (:mod:`evidence`) reads the markers back.  Both take
them from here.
"""

from __future__ import annotations

from ..core import abi

BEGIN = "kvmnull-scenario: begin"
LOAD = "kvmnull-load:"
UNLOAD = "kvmnull-unload:"
DMESG_BEGIN = "kvmnull-dmesg-begin"
# printed when a real vendor cannot load again after the scenario: the next scenario needs a fresh guest
SPENT = "kvmnull-health: spent"
DMESG_END = "kvmnull-dmesg-end"
SCRIPT_PATH = "bin/kvmnull-scenario"
PROBE = "kvmnull-probe"
WORKLOAD = "kvmnull-workload"  # the real guest program of the real-vendor bite map (selftests/workload.c)
# the modules of the guest, by their file names under /modules
MODULES_DIR = "/modules"
KVM_MODULES = ("irqbypass.ko", "kvm.ko")
# the real vendor changes kvm.ko's globals (enable_apicv, kvm_cpu_caps, ...):
# kvm.ko is reloaded after it, so that every scenario starts from a fresh kvm.ko
REAL_VENDORS = {"kvm-amd": "kvm_amd"}
# kvm-null's parameter that leaves hooks of a table NULL, by table; in the order the script takes them.
# null_nested= exists only where nested ops are a classified table (7.x): it is passed only when set.
NULL_PARAMS = abi.load().null_params
_NULL_ARGS = " ".join(f"{param}=${i}" for i, param in enumerate(NULL_PARAMS.values(), start=3))
_NULL_SHOWN = " ".join(f"{param}=${param}" for param in NULL_PARAMS.values())
_NULL_GIVEN = " ".join(f"${{{param}:+{param}=${param}}}" for param in NULL_PARAMS.values())

# exit statuses of the script that mean the harness, not the scenario, failed
EXIT_POLICY, EXIT_RELOAD = 90, 91
EXIT_CODES = {EXIT_POLICY: "cannot set kvm.missing_hook", EXIT_RELOAD: "cannot reload kvm.ko after a real vendor"}
MISSING_HOOK = "/sys/module/kvm/parameters/missing_hook"

SETUP = " && ".join(f"insmod {MODULES_DIR}/{name}" for name in KVM_MODULES)

# a real vendor's test-only parameter (kbuild/knockout/knockout.c) that leaves table.hook names NULL
KNOCKOUT = "knockout"
_REAL_CASES = "".join(f"{vendor}) module={module} real=yes\n\tinsmod {MODULES_DIR}/{vendor}.ko "
                      f"${{{KNOCKOUT}:+{KNOCKOUT}=${KNOCKOUT}}} ;;\n" for vendor, module in REAL_VENDORS.items())

SCRIPT = rf"""#!/bin/sh
# kvmnull-scenario POLICY VENDOR {' '.join(p.upper() for p in NULL_PARAMS.values())} {KNOCKOUT.upper()} PROBE
# (PROBE: 1 runs {PROBE}, workload runs {WORKLOAD}, 0 neither):
# one negative test.  Prints harness lines ({LOAD}, {UNLOAD}, probe steps),
# then the kernel log of the scenario between {DMESG_BEGIN} / {DMESG_END}.
policy=$1 vendor=$2 {_NULL_ARGS} {KNOCKOUT}=${len(NULL_PARAMS) + 3} probe=${len(NULL_PARAMS) + 4}
echo "{BEGIN} $policy $vendor {_NULL_SHOWN} {KNOCKOUT}=${KNOCKOUT}"
if [ "$policy" != upstream ]; then
	echo "$policy" > {MISSING_HOOK} || exit {EXIT_POLICY}
fi
dmesg -c > /dev/null
real=no
case "$vendor" in
{_REAL_CASES}*) module=kvm_null
	insmod {MODULES_DIR}/kvm-null.ko {_NULL_GIVEN} ;;
esac
status=$?
# a vendor init that returns garbage can make insmod exit 0 with nothing loaded
loaded=no
[ -e "/sys/module/$module/initstate" ] && loaded=yes
echo "{LOAD} $vendor status=$status loaded=$loaded"
if [ "$loaded" = yes ]; then
	case "$probe" in
	1) {PROBE} ;;
	# the load's kernel log first: a workload step may take the guest down before the end
	workload) dmesg -c; {WORKLOAD} ;;
	esac
	rmmod "$module"
	echo "{UNLOAD} $vendor status=$?"
fi
if [ "$real" = yes ]; then
	rmmod kvm && insmod {MODULES_DIR}/kvm.ko || exit {EXIT_RELOAD}
fi
echo "{DMESG_BEGIN}"
dmesg -c
echo "{DMESG_END}"
# a knockout can leave kernel state behind that stops the vendor loading again
# (NULL disable_virtualization_cpu leaves SVM on): then this guest is spent, and the next
# scenario boots another
if [ "$real" = yes ]; then
	if insmod {MODULES_DIR}/$vendor.ko 2>/dev/null; then
		rmmod "$module" && rmmod kvm && insmod {MODULES_DIR}/kvm.ko || exit {EXIT_RELOAD}
	else
		echo "{SPENT}"
	fi
fi
"""

# kvmnull-provoke.ko (selftests/provoke/): the report each what= provokes, and the detector settings
# it needs first (a soft lockup after 2 s, an RCU stall after 3 s, a hung task after 2 s, KFENCE on)
PROVOKE_MODULE = "kvmnull-provoke.ko"
PROVOKE_SETUP = {
    "null_deref": "", "gpf": "", "bug": "", "ubsan_bounds": "", "ubsan_shift": "",
    "kfence_uaf": "echo 1 > /sys/module/kfence/parameters/sample_interval",
    "spin": "echo 1 > /proc/sys/kernel/watchdog_thresh",
    "rcu_stall": "echo 3 > /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout",
    "sleep": "echo 2 > /proc/sys/kernel/hung_task_timeout_secs",
    "atomic_sleep": "",
}


def provoke_command(kind: str) -> str:
    """The guest command that provokes ``kind``, every kernel message on the console as it is written."""
    setup = PROVOKE_SETUP[kind]
    return (f"echo 8 > /proc/sys/kernel/printk; {setup + '; ' if setup else ''}"
            f"insmod {MODULES_DIR}/{PROVOKE_MODULE} what={kind}; echo \"{LOAD} provoke status=$?\"; "
            "rmmod kvmnull_provoke")
