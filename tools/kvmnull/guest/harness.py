"""The in-guest harness: the script one scenario runs, and the marker lines it prints.

The script is ``kvmnull-scenario.sh`` beside this module, a file of its own
(shellcheck lints it).  It is the one home of its marker lines and exit
statuses; this module reads them from it.  The guest side (:mod:`scenario`)
puts the script into the initramfs and calls it; the evidence side
(:mod:`evidence`) reads the markers back.  Both take them from here.
"""

from __future__ import annotations

from ..core import abi
from ..initramfs.archive import load_script

SCRIPT = load_script("kvmnull.guest", "kvmnull-scenario.sh", (
    "BEGIN", "LOAD", "UNLOAD", "DMESG_BEGIN", "DMESG_END", "SPENT", "EXIT_POLICY", "EXIT_RELOAD",
    "MODULES_DIR", "MISSING_HOOK", "PROBE", "WORKLOAD"))
SCRIPT_PATH = "bin/kvmnull-scenario"

BEGIN = SCRIPT["BEGIN"]
LOAD = SCRIPT["LOAD"]
UNLOAD = SCRIPT["UNLOAD"]
DMESG_BEGIN = SCRIPT["DMESG_BEGIN"]
# printed when a real vendor cannot load again after the scenario: the next scenario needs a fresh guest
SPENT = SCRIPT["SPENT"]
DMESG_END = SCRIPT["DMESG_END"]
PROBE = SCRIPT["PROBE"]
WORKLOAD = SCRIPT["WORKLOAD"]  # the real guest program of the real-vendor bite map (selftests/workload.c)
# the modules of the guest, by their file names under /modules
MODULES_DIR = SCRIPT["MODULES_DIR"]
KVM_MODULES = ("irqbypass.ko", "kvm.ko")
# kvm-null's parameter that leaves hooks of a table NULL, by table; in the order the script shows them.
# null_nested= exists only where nested ops are a classified table (7.x): the script passes only those set.
NULL_PARAMS = abi.load().null_params

# exit statuses of the script that mean the harness, not the scenario, failed
EXIT_POLICY, EXIT_RELOAD = int(SCRIPT["EXIT_POLICY"]), int(SCRIPT["EXIT_RELOAD"])
EXIT_CODES = {EXIT_POLICY: "cannot set kvm.missing_hook", EXIT_RELOAD: "cannot reload kvm.ko after a real vendor"}
MISSING_HOOK = SCRIPT["MISSING_HOOK"]

SETUP = " && ".join(f"insmod {MODULES_DIR}/{name}" for name in KVM_MODULES)

# a real vendor's test-only parameter (kbuild/knockout/knockout.c) that leaves table.hook names NULL
KNOCKOUT = "knockout"


def script_arguments(policy: str, vendor: str, probe: str, null: dict[str, str], knockout: str) -> list[str]:
    """The script's command line: ``null`` maps a table to its kvm-null value (``""``: none NULL)."""
    return [SCRIPT_PATH.rsplit("/", 1)[1], policy, vendor, probe,
            *(f"{param}={null.get(table, '')}" for table, param in NULL_PARAMS.items()), f"{KNOCKOUT}={knockout}"]


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
