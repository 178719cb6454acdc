// SPDX-License-Identifier: GPL-2.0
/*
 * kvmnull's test-only knockout for a real vendor (kvm-amd): the parameter
 * knockout= names hooks, as table.hook, that the vendor leaves NULL as if it
 * had forgotten them.  They are cleared at the end of the vendor's hardware
 * setup, where real vendors clear hooks for features the CPU lacks, so
 * kvm.ko sees them as it would see a vendor's own gap: the patched kvm.ko
 * refuses or WARNs by name, upstream's kvm.ko WARNs anonymously and installs
 * the NULL static call.  Tables: x86, pmu, and nested where the target
 * classifies nested ops (asm/kvm-x86-nested-ops.h, 7.x: kbuild/kvm.Kbuild
 * then defines KVMNULL_NESTED_OPS_CLASSIFIED).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "knockout.h"

#ifdef KVMNULL_NESTED_OPS_CLASSIFIED
#define KVMNULL_KNOCKOUT_TABLES "x86, pmu, nested"
#else
#define KVMNULL_KNOCKOUT_TABLES "x86, pmu"
#endif

static char *knockout;
module_param(knockout, charp, 0444);
MODULE_PARM_DESC(knockout,
		 "Test only: comma list of table.hook (tables x86, pmu, nested) to leave NULL");

/* Clear @hook of @ops when @token is "@table.@hook". */
static bool __init kvmnull_knock_out(const char *token, const char *table,
				     const char *hook, void *ops,
				     size_t offset)
{
	size_t len = strlen(table);

	if (strncmp(token, table, len) || token[len] != '.' ||
	    strcmp(token + len + 1, hook))
		return false;
	*(void **)(ops + offset) = NULL;
	pr_info("knockout: %s.%s left NULL\n", table, hook);
	return true;
}

static int __init kvmnull_knock_out_token(const char *token,
					  struct kvm_x86_ops *x86_ops,
					  struct kvm_pmu_ops *pmu_ops,
					  struct kvm_x86_nested_ops *nested_ops)
{
	bool found = false;

#define KVM_X86_OP(func)						\
	{ found |= kvmnull_knock_out(token, "x86", #func, x86_ops,	\
			offsetof(struct kvm_x86_ops, func)); }
#define KVM_X86_OP_OPTIONAL KVM_X86_OP
#define KVM_X86_OP_OPTIONAL_RET0 KVM_X86_OP
#include <asm/kvm-x86-ops.h>

#define KVM_X86_PMU_OP(func)						\
	{ found |= kvmnull_knock_out(token, "pmu", #func, pmu_ops,	\
			offsetof(struct kvm_pmu_ops, func)); }
#define KVM_X86_PMU_OP_OPTIONAL KVM_X86_PMU_OP
#define KVM_X86_PMU_OP_OPTIONAL_RET0 KVM_X86_PMU_OP
#include <asm/kvm-x86-pmu-ops.h>

#ifdef KVMNULL_NESTED_OPS_CLASSIFIED
#define KVM_X86_NESTED_OP(func)						\
	{ found |= kvmnull_knock_out(token, "nested", #func,		\
			nested_ops,					\
			offsetof(struct kvm_x86_nested_ops, func)); }
#define KVM_X86_NESTED_OP_OPTIONAL KVM_X86_NESTED_OP
#define KVM_X86_NESTED_OP_OPTIONAL_RET0 KVM_X86_NESTED_OP
#include <asm/kvm-x86-nested-ops.h>
#endif

	if (found)
		return 0;
	pr_err("knockout=: unknown hook '%s' (table.hook; tables %s)\n", token,
	       KVMNULL_KNOCKOUT_TABLES);
	return -EINVAL;
}

int __init kvmnull_knockout(struct kvm_x86_ops *x86_ops,
			    struct kvm_pmu_ops *pmu_ops,
			    struct kvm_x86_nested_ops *nested_ops)
{
	char *copy, *cursor, *token;
	int r = 0;

	if (!knockout)
		return 0;

	copy = kstrdup(knockout, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;

	cursor = copy;
	while (!r && (token = strsep(&cursor, ","))) {
		token = strim(token);
		if (*token)
			r = kvmnull_knock_out_token(token, x86_ops, pmu_ops,
						    nested_ops);
	}
	kfree(copy);
	return r;
}
