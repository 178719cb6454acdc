// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-null: a KVM x86 vendor module with no hardware behind it, for test VMs.
 *
 * Every kvm_x86_ops, kvm_pmu_ops and nested-ops hook is a stub that counts
 * its calls (generated at build time from the target's own declarations, see
 * kvm_null_hooks.h).  The parameters null=, null_pmu= and (where nested ops
 * are a classified table, 7.x) null_nested= leave chosen hooks NULL, by name
 * or by class, so that kvm.ko's handling of a vendor that
 * breaks the hook contract can be observed.  VMs and vCPUs can be created
 * and run: KVM_RUN returns to user space at once (see kvm_null_abi.h).
 *
 * kvm-null replaces KVM's real vendor, so it refuses to load on bare metal
 * unless asked to.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <asm/cpufeature.h>

#include "x86.h"
#include "pmu.h"

#include "kvm_null_abi.h"
/* KVM_NULL_HAVE_*: what this kernel has, generated from its source */
#include "kvm_null_facts.h"

MODULE_DESCRIPTION("KVM vendor module whose hooks are counting stubs, for testing kvm.ko");
MODULE_LICENSE("GPL");
MODULE_INFO(test, "Y");

/* Read when the module is removed, so it is safe to change at run time. */
static bool log_calls_at_exit;
module_param(log_calls_at_exit, bool, 0644);
MODULE_PARM_DESC(log_calls_at_exit,
		 "On unload, log every hook called since the counters were last reset");

/* kvm-null takes KVM's place: on a real host that would end its real VMs. */
static bool allow_bare_metal;
module_param(allow_bare_metal, bool, 0444);
MODULE_PARM_DESC(allow_bare_metal, "Load even without X86_FEATURE_HYPERVISOR");

/*
 * Hooks with a behaviour of their own; every other hook returns 0, false or
 * NULL.  Hooks whose output user space can read back clear it.
 */
#ifdef KVM_NULL_HAVE_x86_vcpu_pre_run
static int kvm_null_vcpu_pre_run(struct kvm_vcpu *vcpu)
{
	return 1;	/* go on to vcpu_run() and handle_exit() */
}

#define KVM_NULL_IMPL_x86_vcpu_pre_run kvm_null_vcpu_pre_run
#endif

static int kvm_null_handle_exit(struct kvm_vcpu *vcpu,
				enum exit_fastpath_completion fastpath)
{
	vcpu->run->exit_reason = KVM_EXIT_UNKNOWN;
	vcpu->run->hw.hardware_exit_reason = KVM_NULL_EXIT_REASON;
	return 0;	/* back to user space */
}

#define KVM_NULL_IMPL_x86_handle_exit kvm_null_handle_exit

static bool kvm_null_valid_cr(struct kvm_vcpu *vcpu, unsigned long value)
{
	return true;	/* let KVM_SET_SREGS through */
}

#define KVM_NULL_IMPL_x86_is_valid_cr0 kvm_null_valid_cr
#define KVM_NULL_IMPL_x86_is_valid_cr4 kvm_null_valid_cr

static int kvm_null_get_msr(struct kvm_vcpu *vcpu, struct msr_data *msr)
{
	msr->data = 0;
	return 0;
}

#define KVM_NULL_IMPL_x86_get_msr kvm_null_get_msr

#ifdef KVM_NULL_HAVE_x86_get_feature_msr
static int kvm_null_get_feature_msr(u32 msr, u64 *data)
{
	*data = 0;
	return 0;
}

#define KVM_NULL_IMPL_x86_get_feature_msr kvm_null_get_feature_msr
#endif

#ifdef KVM_NULL_HAVE_x86_get_msr_feature
static int kvm_null_get_msr_feature(struct kvm_msr_entry *entry)
{
	entry->data = 0;
	return 0;
}

#define KVM_NULL_IMPL_x86_get_msr_feature kvm_null_get_msr_feature
#endif

static void kvm_null_get_segment(struct kvm_vcpu *vcpu,
				 struct kvm_segment *var, int seg)
{
	memset(var, 0, sizeof(*var));
}

#define KVM_NULL_IMPL_x86_get_segment kvm_null_get_segment

static void kvm_null_get_dt(struct kvm_vcpu *vcpu, struct desc_ptr *dt)
{
	memset(dt, 0, sizeof(*dt));
}

#define KVM_NULL_IMPL_x86_get_idt kvm_null_get_dt
#define KVM_NULL_IMPL_x86_get_gdt kvm_null_get_dt

static void kvm_null_get_cs_db_l_bits(struct kvm_vcpu *vcpu, int *db, int *l)
{
	*db = 0;
	*l = 0;
}

#define KVM_NULL_IMPL_x86_get_cs_db_l_bits kvm_null_get_cs_db_l_bits

static void kvm_null_get_exit_info(struct kvm_vcpu *vcpu, u32 *reason,
				   u64 *info1, u64 *info2, u32 *intr_info,
				   u32 *error_code)
{
	*reason = 0;
	*info1 = 0;
	*info2 = 0;
	*intr_info = 0;
	*error_code = 0;
}

#define KVM_NULL_IMPL_x86_get_exit_info kvm_null_get_exit_info

#ifdef KVM_NULL_HAVE_x86_get_entry_info
static void kvm_null_get_entry_info(struct kvm_vcpu *vcpu, u32 *intr_info,
				    u32 *error_code)
{
	*intr_info = 0;
	*error_code = 0;
}

#define KVM_NULL_IMPL_x86_get_entry_info kvm_null_get_entry_info
#endif

#ifdef KVM_NULL_HAVE_x86_dev_get_attr
static int kvm_null_dev_get_attr(u32 group, u64 attr, u64 *val)
{
	return -ENXIO;	/* no vendor device attributes */
}

#define KVM_NULL_IMPL_x86_dev_get_attr kvm_null_dev_get_attr
#endif

#ifdef KVM_NULL_HAVE_x86_get_untagged_addr
static gva_t kvm_null_get_untagged_addr(struct kvm_vcpu *vcpu, gva_t gva,
					unsigned int flags)
{
	return gva;	/* no LAM: addresses are used as they are */
}

#define KVM_NULL_IMPL_x86_get_untagged_addr kvm_null_get_untagged_addr
#endif

#ifdef KVM_NULL_HAVE_x86_alloc_apic_backing_page
static void *kvm_null_alloc_apic_backing_page(struct kvm_vcpu *vcpu)
{
	/* what KVM allocates itself when a vendor has no such hook */
	return (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
}

#define KVM_NULL_IMPL_x86_alloc_apic_backing_page kvm_null_alloc_apic_backing_page
#endif

static int kvm_null_set_hv_timer(struct kvm_vcpu *vcpu, u64 deadline,
				 bool *expired)
{
	*expired = false;
	return -EOPNOTSUPP;	/* KVM falls back to its software timer */
}

#define KVM_NULL_IMPL_x86_set_hv_timer kvm_null_set_hv_timer

static void kvm_null_patch_hypercall(struct kvm_vcpu *vcpu,
				     unsigned char *hypercall_addr)
{
	/* the three bytes KVM writes over the guest's hypercall: VMCALL */
	hypercall_addr[0] = 0x0f;
	hypercall_addr[1] = 0x01;
	hypercall_addr[2] = 0xc1;
}

#define KVM_NULL_IMPL_x86_patch_hypercall kvm_null_patch_hypercall

/*
 * Void hooks whose pointer parameters are inputs: the stub, which writes
 * nothing, is right for them.  kvmnull warns about any other void hook with
 * such parameters and no KVM_NULL_IMPL_, and fails the build on an override
 * of a hook the target does not have.
 */
#define KVM_NULL_INPUTS_x86_set_segment
#define KVM_NULL_INPUTS_x86_set_idt
#define KVM_NULL_INPUTS_x86_set_gdt
#define KVM_NULL_INPUTS_x86_load_eoi_exitmap
#define KVM_NULL_INPUTS_x86_deliver_interrupt
#ifdef KVM_NULL_HAVE_x86_free_external_spt
#define KVM_NULL_INPUTS_x86_free_external_spt
#endif
/* 7.x's bool *full says "flushed everything"; the caller starts it false */
#define KVM_NULL_INPUTS_x86_flush_tlb_gva

#include "kvm_null_hooks.h"

/*
 * Each table's parameter, named in kvm_null_abi.h: a comma list of hook names
 * and of the class selectors of the generated header.  MODULE_PARM_DESC()
 * stringifies the name as written, so KVM_NULL_PARM_DESC() expands it first.
 */
#define KVM_NULL_PARM_HELP \
	" hooks to leave NULL: comma list of hook names and class selectors:" KVM_NULL_SELECTORS
#define KVM_NULL_PARM_DESC(param, ops) MODULE_PARM_DESC(param, ops KVM_NULL_PARM_HELP)

static char *null_hooks;
module_param_named(KVM_NULL_X86_PARAM_ID, null_hooks, charp, 0444);
KVM_NULL_PARM_DESC(KVM_NULL_X86_PARAM_ID, KVM_NULL_X86_STRUCT);
static DECLARE_BITMAP(kvm_null_x86_nulled, KVM_NULL_NR_X86);

static char *null_pmu_hooks;
module_param_named(KVM_NULL_PMU_PARAM_ID, null_pmu_hooks, charp, 0444);
KVM_NULL_PARM_DESC(KVM_NULL_PMU_PARAM_ID, KVM_NULL_PMU_STRUCT);
static DECLARE_BITMAP(kvm_null_pmu_nulled, KVM_NULL_NR_PMU);

#ifdef KVM_NULL_CLASSIFIED_nested
static char *null_nested_hooks;
module_param_named(KVM_NULL_NESTED_PARAM_ID, null_nested_hooks, charp, 0444);
KVM_NULL_PARM_DESC(KVM_NULL_NESTED_PARAM_ID, KVM_NULL_NESTED_STRUCT);
static DECLARE_BITMAP(kvm_null_nested_nulled, KVM_NULL_NR_NESTED);
#define KVM_NULL_NESTED_LIST	(&null_nested_hooks)
#define KVM_NULL_NESTED_NULLED	kvm_null_nested_nulled
#else
/* no contract for nested ops before 7.x: they stay stubs, and have no parameter */
#define KVM_NULL_NESTED_LIST	NULL
#define KVM_NULL_NESTED_NULLED	NULL
#endif

/* Not __initdata: before 7.x kvm.ko calls through kvm_x86_ops.nested_ops. */
static struct kvm_x86_nested_ops kvm_null_nested_ops = {
	KVM_NULL_NESTED_OPS
};

static struct kvm_pmu_ops kvm_null_pmu_ops __initdata = {
	KVM_NULL_PMU_OPS
};

#ifdef KVM_NULL_HAVE_X86_OPS_emergency_disable_virtualization_cpu
static void kvm_null_emergency_disable_virtualization_cpu(void)
{
}
#endif

static struct kvm_x86_ops kvm_null_x86_ops __initdata = {
	.name = KBUILD_MODNAME,
	.vm_size = sizeof(struct kvm),
#ifdef KVM_NULL_HAVE_X86_OPS_nested_ops
	.nested_ops = &kvm_null_nested_ops,
#endif
#ifdef KVM_NULL_HAVE_X86_OPS_emergency_disable_virtualization_cpu
	.emergency_disable_virtualization_cpu =
		kvm_null_emergency_disable_virtualization_cpu,
#endif
	KVM_NULL_X86_OPS
};

/*
 * kvm-null's ops tables, in debugfs order: every per-table step (parsing the
 * parameter, clearing and reporting the chosen hooks, the calls file, the
 * counts logged at unload) loops over this array.
 */
struct kvm_null_table {
	const char *name;	/* debugfs's and the log's: KVM_NULL_<T>_TABLE */
	const char *param;	/* KVM_NULL_<T>_PARAM */
	char **list;		/* the parameter's value */
	unsigned long *nulled;	/* NULL: no parameter, hooks stay stubs */
	const struct kvm_null_hook *hooks;
	atomic64_t *calls;
	int nr;
	void *ops;		/* read only while loading: may be __initdata */
};

/* __refconst: @ops of the x86 and PMU tables are __initdata. */
static const struct kvm_null_table kvm_null_tables[] __refconst = {
	{
		.name = KVM_NULL_X86_TABLE,
		.param = KVM_NULL_X86_PARAM,
		.list = &null_hooks,
		.nulled = kvm_null_x86_nulled,
		.hooks = kvm_null_x86_hooks,
		.calls = kvm_null_x86_calls,
		.nr = KVM_NULL_NR_X86,
		.ops = &kvm_null_x86_ops,
	},
	{
		.name = KVM_NULL_PMU_TABLE,
		.param = KVM_NULL_PMU_PARAM,
		.list = &null_pmu_hooks,
		.nulled = kvm_null_pmu_nulled,
		.hooks = kvm_null_pmu_hooks,
		.calls = kvm_null_pmu_calls,
		.nr = KVM_NULL_NR_PMU,
		.ops = &kvm_null_pmu_ops,
	},
	{
		.name = KVM_NULL_NESTED_TABLE,
		.param = KVM_NULL_NESTED_PARAM,
		.list = KVM_NULL_NESTED_LIST,
		.nulled = KVM_NULL_NESTED_NULLED,
		.hooks = kvm_null_nested_hooks,
		.calls = kvm_null_nested_calls,
		.nr = KVM_NULL_NR_NESTED,
		.ops = &kvm_null_nested_ops,
	},
};

/* Is @token "@" and a class selector of kvm_null_abi.h? */
static bool kvm_null_is_class(const char *token)
{
	int i;

	if (token[0] != '@')
		return false;
	if (!strcmp(token + 1, KVM_NULL_SELECT_ALL))
		return true;
	for (i = 0; i < ARRAY_SIZE(kvm_null_class_names); i++)
		if (i != KVM_NULL_UNCLASSIFIED &&
		    !strcmp(token + 1, kvm_null_class_names[i]))
			return true;
	return false;
}

/* Does @token ("@class" or a hook name) select @hook? */
static bool kvm_null_token_selects(const char *token,
				   const struct kvm_null_hook *hook)
{
	if (token[0] != '@')
		return !strcmp(token, hook->name);
	if (hook->class == KVM_NULL_UNCLASSIFIED)
		return false;
	return !strcmp(token + 1, KVM_NULL_SELECT_ALL) ||
	       !strcmp(token + 1, kvm_null_class_names[hook->class]);
}

/* Mark the hooks of @table that the comma list @list of its parameter names. */
static int kvm_null_select(const struct kvm_null_table *table, const char *list)
{
	char *copy, *cursor, *token;
	bool found;
	int i, r = 0;

	if (!list)
		return 0;

	copy = kstrdup(list, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;

	cursor = copy;
	while ((token = strsep(&cursor, ","))) {
		token = strim(token);
		if (!*token)
			continue;

		found = kvm_null_is_class(token);
		for (i = 0; i < table->nr; i++) {
			if (kvm_null_token_selects(token, &table->hooks[i])) {
				__set_bit(i, table->nulled);
				found = true;
			}
		}
		if (!found) {
			pr_err("%s=: unknown %s hook or class '%s' (classes:%s)\n",
			       table->param, table->name, token,
			       KVM_NULL_SELECTORS);
			r = -EINVAL;
			break;
		}
	}
	kfree(copy);
	return r;
}

static void kvm_null_clear(const struct kvm_null_table *table)
{
	int i;

	for_each_set_bit(i, table->nulled, table->nr) {
		*(void **)(table->ops + table->hooks[i].offset) = NULL;
		pr_info("%s.%s left NULL (%s)\n", table->name,
			table->hooks[i].name,
			kvm_null_class_names[table->hooks[i].class]);
	}
}

static __init int kvm_null_hardware_setup(void)
{
	const struct kvm_null_table *table;

	/* No two-dimensional paging: KVM's shadow MMU needs nothing of us. */
	kvm_configure_mmu(false, 0, 0, PG_LEVEL_4K);
	/*
	 * kvm_cpu_caps stay empty: guests are offered no CPU features.  (Real
	 * vendors call kvm_set_cpu_caps(), which WARNs unless MSR_TSC_AUX was
	 * registered as a user-return MSR first.)
	 */

	/*
	 * Real vendors clear hooks here for features the CPU lacks, so this is
	 * where kvm.ko has to look: clear the chosen hooks here too.
	 */
	for (table = kvm_null_tables;
	     table < kvm_null_tables + ARRAY_SIZE(kvm_null_tables); table++)
		if (table->nulled)
			kvm_null_clear(table);
	return 0;
}

#ifdef KVM_NULL_HAVE_INIT_OPS_cpu_has_kvm_support
/* Before 6.3 the vendor's support checks were init ops. */
static int kvm_null_cpu_has_kvm_support(void)
{
	return 1;
}

static int kvm_null_disabled_by_bios(void)
{
	return 0;
}
#endif

#ifdef KVM_NULL_HAVE_INIT_OPS_check_processor_compatibility
static int kvm_null_check_processor_compatibility(void)
{
	return 0;
}
#endif

static struct kvm_x86_init_ops kvm_null_init_ops __initdata = {
#ifdef KVM_NULL_HAVE_INIT_OPS_cpu_has_kvm_support
	.cpu_has_kvm_support = kvm_null_cpu_has_kvm_support,
	.disabled_by_bios = kvm_null_disabled_by_bios,
#endif
#ifdef KVM_NULL_HAVE_INIT_OPS_check_processor_compatibility
	.check_processor_compatibility = kvm_null_check_processor_compatibility,
#endif
	.hardware_setup = kvm_null_hardware_setup,
	.runtime_ops = &kvm_null_x86_ops,
	.pmu_ops = &kvm_null_pmu_ops,
#ifdef KVM_NULL_HAVE_INIT_OPS_nested_ops
	.nested_ops = &kvm_null_nested_ops,
#endif
};

static struct dentry *kvm_null_debugfs;

static int kvm_null_calls_show(struct seq_file *m, void *unused)
{
	const struct kvm_null_table *table;
	const struct kvm_null_hook *hook;
	int i;

	seq_puts(m, KVM_NULL_CALLS_HEADER);
	for (table = kvm_null_tables;
	     table < kvm_null_tables + ARRAY_SIZE(kvm_null_tables); table++) {
		for (i = 0; i < table->nr; i++) {
			hook = &table->hooks[i];
			seq_printf(m, KVM_NULL_CALLS_FORMAT, table->name,
				   hook->name, kvm_null_class_names[hook->class],
				   table->nulled && test_bit(i, table->nulled) ?
				   "null" : "stub",
				   (long long)atomic64_read(&table->calls[i]));
		}
	}
	return 0;
}

static int kvm_null_calls_open(struct inode *inode, struct file *file)
{
	return single_open(file, kvm_null_calls_show, NULL);
}

/* Any write resets every count. */
static ssize_t kvm_null_calls_write(struct file *file, const char __user *buf,
				    size_t count, loff_t *ppos)
{
	const struct kvm_null_table *table;
	int i;

	for (table = kvm_null_tables;
	     table < kvm_null_tables + ARRAY_SIZE(kvm_null_tables); table++)
		for (i = 0; i < table->nr; i++)
			atomic64_set(&table->calls[i], 0);
	return count;
}

static const struct file_operations kvm_null_calls_fops = {
	.owner = THIS_MODULE,
	.open = kvm_null_calls_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.write = kvm_null_calls_write,
	.release = single_release,
};

static int __init kvm_null_init(void)
{
	const struct kvm_null_table *table;
	int r;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR) && !allow_bare_metal) {
		pr_err("not running under a hypervisor: refusing to replace KVM (allow_bare_metal=1 overrides)\n");
		return -EPERM;
	}

	for (table = kvm_null_tables;
	     table < kvm_null_tables + ARRAY_SIZE(kvm_null_tables); table++) {
		if (!table->nulled)
			continue;
		r = kvm_null_select(table, *table->list);
		if (r)
			return r;
	}

	r = kvm_x86_vendor_init(&kvm_null_init_ops);
	if (r)
		return r;

	kvm_null_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("calls", 0644, kvm_null_debugfs, NULL,
			    &kvm_null_calls_fops);

	/* Common KVM initialization comes last: it exposes /dev/kvm. */
#ifdef KVM_NULL_KVM_INIT_OPAQUE
	/* before 6.3, kvm_init() ran the vendor's hardware_setup() */
	r = kvm_init(&kvm_null_init_ops, sizeof(struct kvm_vcpu),
		     __alignof__(struct kvm_vcpu), THIS_MODULE);
#else
	r = kvm_init(sizeof(struct kvm_vcpu), __alignof__(struct kvm_vcpu),
		     THIS_MODULE);
#endif
	if (r)
		goto err_kvm_init;

	return 0;

err_kvm_init:
	debugfs_remove_recursive(kvm_null_debugfs);
	kvm_x86_vendor_exit();
	return r;
}

/* What unloading called: the debugfs counters are gone by then. */
static void kvm_null_log_calls(void)
{
	const struct kvm_null_table *table;
	s64 calls;
	int i;

	for (table = kvm_null_tables;
	     table < kvm_null_tables + ARRAY_SIZE(kvm_null_tables); table++) {
		for (i = 0; i < table->nr; i++) {
			calls = atomic64_read(&table->calls[i]);
			if (calls)
				pr_info("unload called %s.%s %lld\n", table->name,
					table->hooks[i].name, calls);
		}
	}
}

static void __exit kvm_null_exit(void)
{
	kvm_exit();
	debugfs_remove_recursive(kvm_null_debugfs);
	kvm_x86_vendor_exit();
	if (log_calls_at_exit)
		kvm_null_log_calls();
}

module_init(kvm_null_init);
module_exit(kvm_null_exit);
