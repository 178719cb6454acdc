// SPDX-License-Identifier: GPL-2.0
/*
 * optional_null_test: with every optional and RET0 hook NULL (x86 and PMU),
 * kvm-null registers and a VM goes through its whole lifecycle.
 */
#include "kvm_null_util.h"

/* Optional hooks that each lifecycle step below would otherwise call. */
static const char * const nulled[] = {
	"vm_destroy", "vcpu_precreate", "post_set_cr3", "get_mt_mask",
};

int main(void)
{
	char why[128] = "", state[16];
	unsigned int i;
	struct vm vm;
	int r;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("refuse");
	ksft_set_plan(6);

	r = __load_module("kvm-null", "null=@optional,@ret0 null_pmu=@optional");
	expect(!r, "load", "expected 0, got %s\n", strerror(-r));
	if (r)
		ksft_exit_fail_msg("cannot go on without kvm-null\n");

	r = __vm_create(&vm);
	expect(!r, "create_vm", "expected 0, got %s\n", strerror(-r));
	if (!r)
		r = __vcpu_create(&vm);
	expect(!r, "create_vcpu", "expected 0, got %s\n", strerror(-r));
	if (!r)
		r = __vcpu_run_once(&vm, why, sizeof(why));
	expect(!r, "run", "expected kvm-null's exit, got %s %s\n",
	       strerror(-r), why);
	vm_destroy(&vm);

	if (!path_exists(CALLS_FILE)) {
		ksft_test_result_skip("nulled: no %s\n", CALLS_FILE);
	} else {
		for (i = 0, r = 0; i < ARRAY_SIZE(nulled) && !r; i++) {
			if (__hook_calls("x86", nulled[i], state, sizeof(state)) != 0 ||
			    strcmp(state, "null"))
				r = -EINVAL;
		}
		expect(!r, "nulled", "expected %s state null with 0 calls\n",
		       r ? nulled[i - 1] : "every optional hook");
	}

	unload_module("kvm_null");
	expect_no_new_warn();
	ksft_finished();
}
