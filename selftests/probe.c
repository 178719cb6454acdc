// SPDX-License-Identifier: GPL-2.0
/*
 * kvmnull-probe: walk one VM lifecycle through /dev/kvm and report each step.
 *
 * Steps: step_names[] below (open /dev/kvm through close_vm).  The vCPU
 * starts in real mode at a HLT, so a real vendor exits with KVM_EXIT_HLT.
 *
 * Each step prints one line
 *
 *   kvmnull-probe: step <name> ok [detail]
 *   kvmnull-probe: step <name> fail <errno name> [detail]
 *
 * and the walk stops at the first failure.  Output is unbuffered so that a
 * step which brings the kernel down is still the last line on the console.
 * With --counts, kvm-null's per-hook call counts are printed after each step
 * and then reset, so every hook is attributed to the step that called it.
 *
 * Exit status: 0 when every step passed, 1 when one failed, 4 (skip) when
 * /dev/kvm is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_null_user.h"

#define KSFT_SKIP 4

/* The lifecycle's steps, in order (kvmnull's tools read this list). */
enum probe_step {
	STEP_OPEN,
	STEP_API_VERSION,
	STEP_CREATE_VM,
	STEP_SET_MEMORY,
	STEP_CREATE_VCPU,
	STEP_GET_REGS,
	STEP_SET_REGS,
	STEP_GET_SREGS,
	STEP_SET_SREGS,
	STEP_RUN,
	STEP_CLOSE_VCPU,
	STEP_CLOSE_VM,
	NR_STEPS
};

static const char * const step_names[NR_STEPS] = {
	[STEP_OPEN] = "open",
	[STEP_API_VERSION] = "api_version",
	[STEP_CREATE_VM] = "create_vm",
	[STEP_SET_MEMORY] = "set_memory",
	[STEP_CREATE_VCPU] = "create_vcpu",
	[STEP_GET_REGS] = "get_regs",
	[STEP_SET_REGS] = "set_regs",
	[STEP_GET_SREGS] = "get_sregs",
	[STEP_SET_SREGS] = "set_sregs",
	[STEP_RUN] = "run",
	[STEP_CLOSE_VCPU] = "close_vcpu",
	[STEP_CLOSE_VM] = "close_vm",
};

#define STEP(id) step_names[STEP_##id]

static int show_counts;

/* Print, then reset, kvm-null's non-zero call counts. */
static void dump_counts(const char *step)
{
	struct hook_calls hc;
	char line[256];
	FILE *f;
	int fd;

	if (!show_counts)
		return;
	f = fopen(CALLS_FILE, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (parse_calls_line(line, &hc) && hc.calls > 0)
			printf("kvmnull-probe: calls %s %s.%s %lld\n", step,
			       hc.table, hc.hook, hc.calls);
	}
	fclose(f);
	fd = open(CALLS_FILE, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "0\n", 2) < 0)
			perror("reset counts");
		close(fd);
	}
}

static int report(const char *name, int result, const char *detail)
{
	if (result < 0) {
		int err = errno;

		printf("kvmnull-probe: step %s fail %s %s\n", name,
		       errno_name(err), detail ? detail : strerror(err));
		return -1;
	}
	printf("kvmnull-probe: step %s ok%s%s\n", name, detail ? " " : "",
	       detail ? detail : "");
	dump_counts(name);
	return 0;
}

/* KVM hands out new fds from ioctls: a garbage return value is no open fd. */
static int report_fd(const char *name, int fd)
{
	char detail[64];

	if (fd >= 0 && fcntl(fd, F_GETFD) < 0) {
		snprintf(detail, sizeof(detail), "returned fd %d is not open", fd);
		errno = EBADF;
		return report(name, -1, detail);
	}
	return report(name, fd, NULL);
}

int main(int argc, char **argv)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	unsigned char *mem;
	struct kvm_run *run;
	char detail[128];
	int kvm, vm, vcpu, r, size;

	setvbuf(stdout, NULL, _IONBF, 0);
	show_counts = argc > 1 && !strcmp(argv[1], "--counts");
	dump_counts("before");

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0 && errno == ENOENT) {
		printf("kvmnull-probe: step %s skip no /dev/kvm\n", STEP(OPEN));
		return KSFT_SKIP;
	}
	if (report(STEP(OPEN), kvm, NULL))
		return 1;

	r = ioctl(kvm, KVM_GET_API_VERSION, 0);
	snprintf(detail, sizeof(detail), "version=%d", r);
	if (report(STEP(API_VERSION), r, r >= 0 ? detail : NULL))
		return 1;
	if (r != KVM_API_VERSION) {
		printf("kvmnull-probe: step %s fail EPROTO expected %d, got %d\n",
		       STEP(API_VERSION), KVM_API_VERSION, r);
		return 1;
	}

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (report_fd(STEP(CREATE_VM), vm))
		return 1;

	/* one page of guest memory holding a HLT, where the vCPU will start */
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return report("guest_memory", -1, NULL) ? 1 : 0;
	mem[GUEST_ENTRY] = GUEST_HLT;
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (unsigned long)mem;
	r = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
	if (report(STEP(SET_MEMORY), r, NULL))
		return 1;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (report_fd(STEP(CREATE_VCPU), vcpu))
		return 1;

	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0)
		return report("mmap_size", size, NULL) ? 1 : 0;
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return report("mmap_run", -1, NULL) ? 1 : 0;

	if (report(STEP(GET_REGS), ioctl(vcpu, KVM_GET_REGS, &regs), NULL))
		return 1;
	regs.rip = GUEST_ENTRY;
	regs.rax = 0x6b766d;
	regs.rflags = 0x2;
	if (report(STEP(SET_REGS), ioctl(vcpu, KVM_SET_REGS, &regs), NULL))
		return 1;
	if (report(STEP(GET_SREGS), ioctl(vcpu, KVM_GET_SREGS, &sregs), NULL))
		return 1;
	sregs.cs.base = 0;	/* real mode, CS:IP = 0:GUEST_ENTRY */
	sregs.cs.selector = 0;
	if (report(STEP(SET_SREGS), ioctl(vcpu, KVM_SET_SREGS, &sregs), NULL))
		return 1;

	r = ioctl(vcpu, KVM_RUN, 0);
	snprintf(detail, sizeof(detail), "exit_reason=%u hardware_exit_reason=0x%llx",
		 run->exit_reason,
		 (unsigned long long)run->hw.hardware_exit_reason);
	if (report(STEP(RUN), r, r >= 0 ? detail : NULL))
		return 1;

	munmap(run, size);
	if (report(STEP(CLOSE_VCPU), close(vcpu), NULL))
		return 1;
	if (report(STEP(CLOSE_VM), close(vm), NULL))
		return 1;
	close(kvm);
	printf("kvmnull-probe: done\n");
	return 0;
}
