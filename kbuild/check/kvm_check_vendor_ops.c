// SPDX-License-Identifier: GPL-2.0
/*
 * kvmnull's check of a vendor's hook tables, for a kernel series without a
 * hand-written patch (kbuild/patches/<series>/) and for a user's tree.
 * kvmnull inserts it into the target's own arch/x86/kvm/x86.c before
 * kvm_ops_update(), writing one X-macro block per ops table the target's
 * headers classify where the marker line is, and calls it right after the
 * vendor's hardware_setup() (build/kvmchange.py).  It is the same check as
 * the series' patches add: kvm.missing_hook=refuse|warn names every NULL
 * mandatory hook.
 */

/*
 * What to do when a vendor module leaves a mandatory hook, a KVM_X86_OP(),
 * KVM_X86_PMU_OP() or KVM_X86_NESTED_OP(), NULL.  Such a hook becomes a NULL
 * static call, which on x86 is patched to a bare RET: callers then consume
 * whatever RAX held.  "refuse" names every missing hook and fails vendor
 * init; "warn" names each one in a WARN and registers the vendor anyway.
 * Read when a vendor registers, so a change affects the next registration.
 */
enum kvm_missing_hook_policy {
	KVM_MISSING_HOOK_REFUSE,
	KVM_MISSING_HOOK_WARN,
};

static const char * const kvm_missing_hook_policies[] = {
	[KVM_MISSING_HOOK_REFUSE] = "refuse",
	[KVM_MISSING_HOOK_WARN] = "warn",
};

static int kvm_missing_hook = KVM_MISSING_HOOK_REFUSE;

static int set_missing_hook(const char *val, const struct kernel_param *kp)
{
	int policy = sysfs_match_string(kvm_missing_hook_policies, val);

	if (policy < 0) {
		pr_err("invalid missing_hook '%.*s': expected 'refuse' or 'warn'\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	WRITE_ONCE(*(int *)kp->arg, policy);
	return 0;
}

static int get_missing_hook(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n",
			  kvm_missing_hook_policies[READ_ONCE(*(int *)kp->arg)]);
}

static const struct kernel_param_ops missing_hook_ops = {
	.set = set_missing_hook,
	.get = get_missing_hook,
};
module_param_cb(missing_hook, &missing_hook_ops, &kvm_missing_hook, 0644);
MODULE_PARM_DESC(missing_hook,
		 "Vendor with a NULL mandatory hook: 'refuse' (default) or 'warn'");

/* The outcome of checking one vendor's hook tables. */
struct kvm_hook_check {
	const char *vendor;
	bool refuse;
	int mandatory_null;
	int optional_null;
	bool names_truncated;
	char optional_names[512];
};

static void kvm_check_hook(struct kvm_hook_check *check, const char *table,
			   const void *ops, size_t offset, const char *hook,
			   bool mandatory)
{
	size_t len = strlen(check->optional_names);

	if (*(void * const *)(ops + offset))
		return;

	if (!mandatory) {
		check->optional_null++;
		if (check->names_truncated)
			return;
		/* keep room for the " ..." that marks a list cut short */
		if (len + 1 + strlen(hook) + 4 >= sizeof(check->optional_names)) {
			scnprintf(check->optional_names + len,
				  sizeof(check->optional_names) - len, " ...");
			check->names_truncated = true;
			return;
		}
		scnprintf(check->optional_names + len,
			  sizeof(check->optional_names) - len, " %s", hook);
		return;
	}

	check->mandatory_null++;
	if (check->refuse)
		pr_err("vendor %s: mandatory %s.%s is NULL\n",
		       check->vendor, table, hook);
	else
		WARN(1, "vendor %s: mandatory %s.%s is NULL\n",
		     check->vendor, table, hook);
}

/*
 * Check the vendor's tables as they stand after hardware_setup(), which
 * may clear optional hooks, and before any static call is updated: a refused
 * vendor leaves behind only what the caller unwinds.
 */
static int kvm_check_vendor_ops(const struct kvm_x86_init_ops *ops)
{
	struct kvm_hook_check check = {
		.vendor = ops->runtime_ops->name,
		.refuse = READ_ONCE(kvm_missing_hook) == KVM_MISSING_HOOK_REFUSE,
	};

/* KVMNULL: one X-macro block per table the target classifies */

	if (check.optional_null)
		pr_info("vendor %s: %d optional hooks NULL:%s\n", check.vendor,
			check.optional_null, check.optional_names);

	if (check.mandatory_null && check.refuse) {
		pr_err("vendor %s refused: %d mandatory hooks NULL (missing_hook=refuse)\n",
		       check.vendor, check.mandatory_null);
		return -EINVAL;
	}
	return 0;
}

/* Mandatory hooks were checked by kvm_check_vendor_ops(). */
#define KVM_X86_NESTED_OP __KVM_X86_NESTED_OP
