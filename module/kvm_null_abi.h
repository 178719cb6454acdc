/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What user space can observe of kvm-null, shared by the module, the
 * selftests and the probe.  kvmnull's Python tools read the same facts from
 * this file, so each is written once.  (The class selectors of null= come
 * from the generated kvm_null_hooks.h.)
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

/*
 * debugfs file of per-hook call counts (below the debugfs mount): a comment
 * line, then one line per hook, "table hook class state calls", where state
 * is "stub" or "null".  Writing anything to it resets every count.
 */
#define KVM_NULL_DEBUGFS_CALLS	"kvm_null/calls"
#define KVM_NULL_CALLS_HEADER	"# table hook class state calls\n"
#define KVM_NULL_CALLS_FORMAT	"%s %s %s %s %lld\n"

/* The name of the identifier @x expands to: a parameter's name from its _PARAM_ID. */
#define KVM_NULL_STR(x)		#x
#define KVM_NULL_NAME(x)	KVM_NULL_STR(x)

/*
 * kvm-null's ops tables, in debugfs order: the name debugfs gives each
 * (_TABLE), the module parameter that leaves its hooks NULL (_PARAM_ID, the
 * identifier module_param_named() takes, and _PARAM, its name) and the struct
 * kvm.ko's messages name (_STRUCT).  null_nested= exists where nested ops are
 * a classified table (7.x), where kvm_null_facts.h defines
 * KVM_NULL_CLASSIFIED_nested.
 */
#define KVM_NULL_X86_TABLE	"x86"
#define KVM_NULL_X86_PARAM_ID	null
#define KVM_NULL_X86_PARAM	KVM_NULL_NAME(KVM_NULL_X86_PARAM_ID)
#define KVM_NULL_X86_STRUCT	"kvm_x86_ops"
#define KVM_NULL_PMU_TABLE	"pmu"
#define KVM_NULL_PMU_PARAM_ID	null_pmu
#define KVM_NULL_PMU_PARAM	KVM_NULL_NAME(KVM_NULL_PMU_PARAM_ID)
#define KVM_NULL_PMU_STRUCT	"kvm_pmu_ops"
#define KVM_NULL_NESTED_TABLE	"nested"
#define KVM_NULL_NESTED_PARAM_ID	null_nested
#define KVM_NULL_NESTED_PARAM	KVM_NULL_NAME(KVM_NULL_NESTED_PARAM_ID)
#define KVM_NULL_NESTED_STRUCT	"kvm_x86_nested_ops"

#endif /* KVM_NULL_ABI_H */
