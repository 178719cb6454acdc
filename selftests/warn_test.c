// SPDX-License-Identifier: GPL-2.0
/*
 * warn_test: under kvm.missing_hook=warn, kvm-null with a mandatory hook NULL
 * loads, the WARN names the hook and the kernel becomes tainted W (which
 * only a kernel not yet tainted W can show).
 */
#include "kvm_null_util.h"

/* Load with @params under warn; the log must carry a WARN naming @needle. */
static void warned(const char *name, const char *params, const char *needle)
{
	static char log[1 << 16];
	int kmsg = kmsg_open(), r;
	bool named, splat;

	log[0] = '\0';
	r = __load_module("kvm-null", params);
	kmsg_read(kmsg, log, sizeof(log));
	close(kmsg);
	named = strstr(log, needle);
	splat = strstr(log, "WARNING:");
	expect(!r && named && splat && path_exists("/dev/kvm"), name,
	       "expected a loaded vendor and a WARN naming \"%s\"; got %s, %s, %s\n",
	       needle, r ? strerror(-r) : "loaded",
	       named ? "named" : "not named", splat ? "WARN" : "no WARN");
	if (!r)
		unload_module("kvm_null");
}

int main(void)
{
	long taint;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("warn");
	ksft_set_plan(4);

	warned("warn_x86_hook", "null=vcpu_create",
	       "vendor kvm_null: mandatory kvm_x86_ops.vcpu_create is NULL");
	warned("warn_pmu_hook", "null_pmu=refresh",
	       "vendor kvm_null: mandatory kvm_pmu_ops.refresh is NULL");
#ifdef KVM_NULL_CLASSIFIED_nested
	warned("warn_nested_hook", "null_nested=get_state",
	       "vendor kvm_null: mandatory kvm_x86_nested_ops.get_state is NULL");
#else
	ksft_test_result_skip("warn_nested_hook: no nested-ops contract before 7.x\n");
#endif
	taint = taint_flags();
	if (warned_before_start())
		ksft_test_result_skip("tainted_W: kernel already tainted W at start\n");
	else
		expect(taint >= 0 && (taint & (1L << TAINT_WARN_BIT)), "tainted_W",
		       "expected taint bit %d (W) set by the WARNs, got tainted=%ld\n",
		       TAINT_WARN_BIT, taint);
	ksft_finished();
}
