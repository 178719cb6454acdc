// SPDX-License-Identifier: GPL-2.0
/*
 * param_test: bad null=, null_pmu= and kvm.missing_hook values are rejected
 * with EINVAL and a message naming the value; nothing stays registered.
 */
#include "kvm_null_util.h"

/* kvm-null with @params must fail with EINVAL and log @needle. */
static void rejected(const char *name, const char *params, const char *needle)
{
	static char log[1 << 14];
	int kmsg = kmsg_open(), r;

	log[0] = '\0';
	r = __load_module("kvm-null", params);
	kmsg_read(kmsg, log, sizeof(log));
	close(kmsg);
	expect(r == -EINVAL && strstr(log, needle) && !module_loaded("kvm_null") &&
	       !path_exists("/dev/kvm"), name,
	       "expected EINVAL, \"%s\" logged, nothing registered; got %s, %s\n",
	       needle, r ? strerror(-r) : "success",
	       strstr(log, needle) ? "logged" : "not logged");
	if (!r)
		unload_module("kvm_null");
}

int main(void)
{
	static char log[1 << 14];
	char value[32];
	int kmsg, r;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("refuse");
	ksft_set_plan(8);

	rejected("null_unknown_hook", "null=vcpu_creat",
		 "null=: unknown x86 hook or class 'vcpu_creat'");
	rejected("null_unknown_class", "null=@required",
		 "null=: unknown x86 hook or class '@required'");
	rejected("null_pmu_x86_hook", "null_pmu=vcpu_create",
		 "null_pmu=: unknown pmu hook or class 'vcpu_create'");
	rejected("null_second_token_bad", "null=vm_destroy,bogus",
		 "null=: unknown x86 hook or class 'bogus'");
#ifdef KVM_NULL_CLASSIFIED_nested
	rejected("null_nested_x86_hook", "null_nested=vcpu_create",
		 "null_nested=: unknown nested hook or class 'vcpu_create'");
#else
	ksft_test_result_skip("null_nested_x86_hook: kvm-null has null_nested= from 7.x on\n");
#endif

	kmsg = kmsg_open();
	log[0] = '\0';
	r = __write_file(MISSING_HOOK_PARAM, "ignore");
	kmsg_read(kmsg, log, sizeof(log));
	close(kmsg);
	__read_file(MISSING_HOOK_PARAM, value, sizeof(value));
	expect(r == -EINVAL && strstr(log, "invalid missing_hook 'ignore'") &&
	       !strcmp(value, "refuse"), "missing_hook_bad_value",
	       "expected EINVAL, the value named, policy still refuse; got %s, %s, %s\n",
	       r ? strerror(-r) : "accepted",
	       strstr(log, "'ignore'") ? "named" : "not named", value);

	r = __write_file(MISSING_HOOK_PARAM, "warn");
	__read_file(MISSING_HOOK_PARAM, value, sizeof(value));
	expect(!r && !strcmp(value, "warn"), "missing_hook_runtime_write",
	       "expected warn to be accepted and read back, got %s, %s\n",
	       strerror(-r), value);
	set_missing_hook("refuse");
	expect_no_new_warn();
	ksft_finished();
}
