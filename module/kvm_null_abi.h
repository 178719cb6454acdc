/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What user space can observe of kvm-null, shared by the module and the
 * selftests.
 */
#ifndef KVM_NULL_ABI_H
#define KVM_NULL_ABI_H

/*
 * KVM_RUN on a kvm-null vCPU enters no guest: vcpu_run() returns at once and
 * handle_exit() hands the vCPU back to user space with exit_reason
 * KVM_EXIT_UNKNOWN and this value ("kvmnull" in ASCII) in
 * run->hw.hardware_exit_reason.
 */
#define KVM_NULL_EXIT_REASON	0x6b766d6e756c6cULL

/* debugfs file of per-hook call counts: "table hook class state calls" lines */
#define KVM_NULL_DEBUGFS_CALLS	"kvm_null/calls"

#endif /* KVM_NULL_ABI_H */
