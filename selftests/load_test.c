// SPDX-License-Identifier: GPL-2.0
/*
 * load_test: kvm-null registers and unregisters as a KVM vendor, a second
 * vendor is refused while it is registered, and it refuses to load without
 * a hypervisor unless allow_bare_metal=1 (checked on a CPU without the
 * hypervisor flag, e.g. a guest booted with clearcpuid=hypervisor).
 */
#include "kvm_null_util.h"

/*
 * kvm_x86_vendor_init() refuses a second vendor with EEXIST, which the module
 * loader of 6.19 on reports as EBUSY (to user space EEXIST means "already
 * loaded"); the target's facts say which (kvm_null_facts.h).
 */
#ifdef KVM_NULL_LOADER_EEXIST_IS_EBUSY
#define SECOND_VENDOR_ERRNO	EBUSY
#else
#define SECOND_VENDOR_ERRNO	EEXIST
#endif

static bool cpu_has_flag(const char *flag)
{
	char line[4096], *token;
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (token = strtok(line, " \t\n:"); token && !found;
		     token = strtok(NULL, " \t\n:"))
			found = !strcmp(token, flag);
		break;
	}
	fclose(f);
	return found;
}

int main(void)
{
	char path[PATH_MAX], why[160];
	const char *params;
	bool hypervisor;
	int r;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("refuse");
	ksft_set_plan(6);
	/* without a hypervisor CPU flag, every load needs allow_bare_metal=1 */
	hypervisor = cpu_has_flag("hypervisor");
	params = hypervisor ? NULL : "allow_bare_metal=1";

	r = __load_module("kvm-null", params);
	expect(!r && path_exists("/dev/kvm"),
	       "load", "expected 0 and /dev/kvm, got %s, /dev/kvm %s\n",
	       strerror(-r), path_exists("/dev/kvm") ? "present" : "absent");
	if (r)
		ksft_exit_fail_msg("kvm-null did not load\n");

	module_path(path, sizeof(path), "kvm-amd");
	if (!path_exists(path) || !cpu_has_flag("svm")) {
		ksft_test_result_skip("second_vendor: needs kvm-amd.ko and SVM\n");
	} else {
		r = __load_module("kvm-amd", NULL);
		expect(r == -SECOND_VENDOR_ERRNO, "second_vendor",
		       "expected %s, got %s\n", strerror(SECOND_VENDOR_ERRNO),
		       r ? strerror(-r) : "success");
		if (!r)
			unload_module("kvm_amd");
	}

	unload_module("kvm_null");
	expect(!path_exists("/dev/kvm") && !module_loaded("kvm_null"),
	       "unload", "expected /dev/kvm and kvm_null gone\n");

	if (hypervisor) {
		ksft_test_result_skip("bare_metal_refusal: %s\n",
				      "the CPU has the hypervisor flag (boot with clearcpuid=hypervisor)");
	} else {
		r = __load_module("kvm-null", NULL);
		snprintf(why, sizeof(why), "%s, /dev/kvm %s",
			 r ? strerror(-r) : "loaded",
			 path_exists("/dev/kvm") ? "present" : "absent");
		expect(r == -EPERM && !module_loaded("kvm_null") &&
		       !path_exists("/dev/kvm"), "bare_metal_refusal",
		       "expected EPERM and nothing registered, got %s\n", why);
	}

	r = __load_module("kvm-null", params);
	if (!r)
		unload_module("kvm_null");
	expect(!r, "reload", "expected 0, got %s\n", strerror(-r));

	expect_no_new_warn();
	ksft_finished();
}
