// SPDX-License-Identifier: GPL-2.0
/*
 * api_test: the KVM API works against kvm-null, and its debugfs counters
 * show the hooks each step called.
 */
#include "kvm_null_util.h"

static bool counts;

/* With counters: did @hook of the x86 table run at least once? */
static bool called(const char *hook)
{
	return !counts || hook_calls("x86", hook) > 0;
}

int main(void)
{
	struct kvm_regs regs;
	char why[128] = "";
	struct vm vm;
	int r;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("refuse");
	load_module("kvm-null", NULL);
	counts = path_exists(CALLS_FILE);
	if (!counts)
		ksft_print_msg("no %s: hook counts are not checked\n", CALLS_FILE);
	ksft_set_plan(7);

	r = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	expect(r >= 0 && ioctl(r, KVM_GET_API_VERSION, 0) == KVM_API_VERSION,
	       "api_version", "expected %d\n", KVM_API_VERSION);
	if (r >= 0)
		close(r);

	if (counts)
		reset_calls();
	r = __vm_create(&vm);
	expect(!r && called("vm_init"),
	       "create_vm", "expected 0 and vm_init called, got %s\n",
	       strerror(-r));
	if (r)
		ksft_exit_fail_msg("cannot go on without a VM\n");

	if (counts)
		reset_calls();
	r = __vcpu_create(&vm);
	expect(!r && called("vcpu_create") && called("vcpu_reset"),
	       "create_vcpu", "expected 0, vcpu_create and vcpu_reset called, got %s\n",
	       strerror(-r));
	if (r)
		ksft_exit_fail_msg("cannot go on without a vCPU\n");

	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ENTRY;
	regs.rax = 0x6b766d;
	regs.rflags = 0x2;
	r = ioctl(vm.vcpu, KVM_SET_REGS, &regs) ? -errno : 0;
	memset(&regs, 0, sizeof(regs));
	if (!r)
		r = ioctl(vm.vcpu, KVM_GET_REGS, &regs) ? -errno : 0;
	expect(!r && regs.rip == GUEST_ENTRY && regs.rax == 0x6b766d,
	       "regs", "expected rip 0x%x rax 0x6b766d, got %s rip 0x%llx rax 0x%llx\n",
	       GUEST_ENTRY, strerror(-r), regs.rip, regs.rax);

	if (counts)
		reset_calls();
	r = __vcpu_run_once(&vm, why, sizeof(why));
	expect(!r && called("vcpu_run") && called("handle_exit"),
	       "run", "expected kvm-null's exit, vcpu_run and handle_exit called, got %s %s\n",
	       strerror(-r), why);

	if (counts)
		reset_calls();
	vm_destroy(&vm);
	expect(called("vcpu_free") && called("vm_destroy"),
	       "destroy", "expected vcpu_free and vm_destroy called\n");

	unload_module("kvm_null");
	expect_no_new_warn();
	ksft_finished();
}
