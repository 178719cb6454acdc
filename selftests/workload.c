// SPDX-License-Identifier: GPL-2.0
/*
 * kvmnull-workload: run a real guest program through /dev/kvm, step by step.
 *
 * The probe walks the VM lifecycle; this program also makes the guest do
 * things, so that a vendor with a hook knocked out has something to break.
 * The guest code (below, 16-bit, run in real mode at GUEST_ENTRY) talks to
 * the host through port I/O: each step's exits are checked against what the
 * step expects, value by value.  Steps: step_names[] below.
 *
 * Each step prints one line
 *
 *   kvmnull-workload: step <name> ok [detail]
 *   kvmnull-workload: step <name> fail <errno name> [detail]   (an ioctl failed)
 *   kvmnull-workload: step <name> wrong <detail>               (a wrong exit or value)
 *   kvmnull-workload: step <name> skip <why>
 *
 * and the walk stops at the first fail or wrong.  kvm-null runs no guest
 * instructions: against it the guest steps are skipped, saying so, and the
 * host-side steps still run.
 *
 * Exit status: 0 when no step failed, 1 when one did, 4 (skip) when
 * /dev/kvm is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/types.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_null_user.h"
#include "workload.h"

#define KSFT_SKIP 4

/* The workload's steps, in order (kvmnull's tools read this list). */
enum workload_step {
	STEP_OPEN,
	STEP_CREATE_VM,
	STEP_SET_MEMORY,
	STEP_SET_DIRTY_SLOT,
	STEP_CREATE_VCPU,
	STEP_SET_CPUID,
	STEP_SET_REGS,
	STEP_SET_SREGS,
	STEP_PORT_OUT,
	STEP_PORT_IN,
	STEP_MMIO_WRITE,
	STEP_MMIO_READ,
	STEP_CPUID,
	STEP_MSR_GUEST,
	STEP_GET_MSRS,
	STEP_SET_MSRS,
	STEP_EXCEPTION,
	STEP_INTERRUPT,
	STEP_NMI,
	STEP_DIRTY_LOG,
	STEP_GET_SREGS,
	STEP_VCPU_EVENTS,
	STEP_SECOND_VCPU,
	STEP_HLT,
	STEP_CLOSE_VCPUS,
	STEP_CLOSE_VM,
	NR_STEPS
};

static const char * const step_names[NR_STEPS] = {
	[STEP_OPEN] = "open",
	[STEP_CREATE_VM] = "create_vm",
	[STEP_SET_MEMORY] = "set_memory",
	[STEP_SET_DIRTY_SLOT] = "set_dirty_slot",
	[STEP_CREATE_VCPU] = "create_vcpu",
	[STEP_SET_CPUID] = "set_cpuid",
	[STEP_SET_REGS] = "set_regs",
	[STEP_SET_SREGS] = "set_sregs",
	[STEP_PORT_OUT] = "port_out",
	[STEP_PORT_IN] = "port_in",
	[STEP_MMIO_WRITE] = "mmio_write",
	[STEP_MMIO_READ] = "mmio_read",
	[STEP_CPUID] = "cpuid",
	[STEP_MSR_GUEST] = "msr_guest",
	[STEP_GET_MSRS] = "get_msrs",
	[STEP_SET_MSRS] = "set_msrs",
	[STEP_EXCEPTION] = "exception",
	[STEP_INTERRUPT] = "interrupt",
	[STEP_NMI] = "nmi",
	[STEP_DIRTY_LOG] = "dirty_log",
	[STEP_GET_SREGS] = "get_sregs",
	[STEP_VCPU_EVENTS] = "vcpu_events",
	[STEP_SECOND_VCPU] = "second_vcpu",
	[STEP_HLT] = "hlt",
	[STEP_CLOSE_VCPUS] = "close_vcpus",
	[STEP_CLOSE_VM] = "close_vm",
};

struct vcpu {
	int fd;
	struct kvm_run *run;
};

static struct {
	int kvm, vm, run_size;
	unsigned char *mem, *dirty;
	struct vcpu vcpu[2];
	bool no_guest_code;	/* kvm-null: KVM_RUN runs nothing */
	unsigned int cpuid_ebx;	/* leaf 0's EBX as set with KVM_SET_CPUID2 */
	char detail[256];
} w;

static void say(enum workload_step step, const char *result, const char *fmt, ...)
{
	va_list ap;

	printf("kvmnull-workload: step %s %s", step_names[step], result);
	if (fmt && *fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
}

/* The outcome of an ioctl (r < 0: failed, with errno); false ends the walk. */
static bool ioctl_ok(enum workload_step step, long r)
{
	if (r < 0) {
		say(step, "fail", "%s %s", errno_name(errno), strerror(errno));
		return false;
	}
	return true;
}

static bool wrong(enum workload_step step, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w.detail, sizeof(w.detail), fmt, ap);
	va_end(ap);
	say(step, "wrong", "%s", w.detail);
	return false;
}

static bool ok(enum workload_step step, const char *detail)
{
	if (detail)
		say(step, "ok", "%s", detail);
	else
		say(step, "ok", NULL);
	return true;
}

/* KVM hands out new fds from ioctls: a garbage return value is no open fd. */
static bool fd_ok(enum workload_step step, int fd)
{
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
		return wrong(step, "returned fd %d is not open", fd);
	return ioctl_ok(step, fd);
}

static bool run_vcpu(enum workload_step step, struct vcpu *v)
{
	int r;

	do
		r = ioctl(v->fd, KVM_RUN, 0);
	while (r < 0 && errno == EINTR);
	return ioctl_ok(step, r);
}

static void describe_exit(const struct kvm_run *run, char *buf, size_t len)
{
	if (run->exit_reason == KVM_EXIT_IO)
		snprintf(buf, len, "exit io %s port=0x%x size=%u",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size);
	else if (run->exit_reason == KVM_EXIT_MMIO)
		snprintf(buf, len, "exit mmio %s addr=0x%llx len=%u",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
	else if (run->exit_reason == KVM_EXIT_UNKNOWN)
		snprintf(buf, len, "exit unknown hardware_exit_reason=0x%llx",
			 (unsigned long long)run->hw.hardware_exit_reason);
	else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(buf, len, "exit internal_error suberror=%u",
			 run->internal.suberror);
	else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(buf, len, "exit fail_entry reason=0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	else
		snprintf(buf, len, "exit_reason=%u", run->exit_reason);
}

static unsigned char *io_data(struct kvm_run *run)
{
	return (unsigned char *)run + run->io.data_offset;
}

/* Run until the next exit, which must be port I/O on @port in @direction. */
static bool run_to_io(enum workload_step step, struct vcpu *v, int direction,
		      unsigned int port, unsigned int size)
{
	char seen[160];

	if (!run_vcpu(step, v))
		return false;
	if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.direction == direction &&
	    v->run->io.port == port && v->run->io.size == size && v->run->io.count == 1)
		return true;
	describe_exit(v->run, seen, sizeof(seen));
	return wrong(step, "expected exit io %s port=0x%x size=%u, got %s",
		     direction == KVM_EXIT_IO_OUT ? "out" : "in", port, size, seen);
}

/* Run to an OUT on @port and check the value the guest wrote. */
static bool run_to_out(enum workload_step step, struct vcpu *v, unsigned int port,
		       unsigned int size, __u32 expected)
{
	__u32 value = 0;

	if (!run_to_io(step, v, KVM_EXIT_IO_OUT, port, size))
		return false;
	memcpy(&value, io_data(v->run), size);
	if (value != expected)
		return wrong(step, "port 0x%x: expected 0x%x, got 0x%x", port, expected, value);
	return true;
}

static bool run_to_mmio(enum workload_step step, struct vcpu *v, bool is_write, __u64 addr)
{
	char seen[160];

	if (!run_vcpu(step, v))
		return false;
	if (v->run->exit_reason == KVM_EXIT_MMIO && v->run->mmio.is_write == is_write &&
	    v->run->mmio.phys_addr == addr && v->run->mmio.len == 1)
		return true;
	describe_exit(v->run, seen, sizeof(seen));
	return wrong(step, "expected exit mmio %s addr=0x%llx len=1, got %s",
		     is_write ? "write" : "read", (unsigned long long)addr, seen);
}

static struct kvm_msrs *one_msr(__u32 index, __u64 value)
{
	static struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entry;
	} msrs;

	memset(&msrs, 0, sizeof(msrs));
	msrs.head.nmsrs = 1;
	msrs.entry.index = index;
	msrs.entry.data = value;
	return &msrs.head;
}

static bool setup_vm(void)
{
	struct kvm_userspace_memory_region region = { 0 };

	w.vm = ioctl(w.kvm, KVM_CREATE_VM, 0);
	if (!fd_ok(STEP_CREATE_VM, w.vm) || !ok(STEP_CREATE_VM, NULL))
		return false;

	w.mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w.dirty = mmap(NULL, DIRTY_SLOT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w.mem == MAP_FAILED || w.dirty == MAP_FAILED)
		return ioctl_ok(STEP_SET_MEMORY, -1);
	memcpy(w.mem + GUEST_ENTRY, guest_code, guest_code_end - guest_code);
	region.slot = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (unsigned long)w.mem;
	if (!ioctl_ok(STEP_SET_MEMORY, ioctl(w.vm, KVM_SET_USER_MEMORY_REGION, &region)) ||
	    !ok(STEP_SET_MEMORY, NULL))
		return false;

	region.slot = 1;
	region.flags = KVM_MEM_LOG_DIRTY_PAGES;
	region.guest_phys_addr = DIRTY_SLOT_GPA;
	region.memory_size = DIRTY_SLOT_SIZE;
	region.userspace_addr = (unsigned long)w.dirty;
	return ioctl_ok(STEP_SET_DIRTY_SLOT, ioctl(w.vm, KVM_SET_USER_MEMORY_REGION, &region)) &&
	       ok(STEP_SET_DIRTY_SLOT, NULL);
}

static bool create_vcpu(enum workload_step step, int id)
{
	struct vcpu *v = &w.vcpu[id];

	v->fd = ioctl(w.vm, KVM_CREATE_VCPU, id);
	if (!fd_ok(step, v->fd))
		return false;
	v->run = mmap(NULL, w.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return ioctl_ok(step, -1);
	}
	return true;
}

static bool set_cpuid(void)
{
	struct kvm_cpuid2 *cpuid;
	unsigned int i;
	bool done;

	cpuid = calloc(1, sizeof(*cpuid) + 100 * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return ioctl_ok(STEP_SET_CPUID, -1);
	cpuid->nent = 100;
	done = ioctl_ok(STEP_SET_CPUID, ioctl(w.kvm, KVM_GET_SUPPORTED_CPUID, cpuid)) &&
	       ioctl_ok(STEP_SET_CPUID, ioctl(w.vcpu[0].fd, KVM_SET_CPUID2, cpuid));
	for (i = 0; done && i < cpuid->nent; i++)
		if (cpuid->entries[i].function == 0)
			w.cpuid_ebx = cpuid->entries[i].ebx;
	free(cpuid);
	return done && ok(STEP_SET_CPUID, NULL);
}

/* Real mode, CS:IP = 0:@entry, stack at GUEST_STACK. */
static bool start_at(enum workload_step regs_step, enum workload_step sregs_step,
		     struct vcpu *v, unsigned long entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rsp = GUEST_STACK;
	regs.rflags = 0x2;
	if (!ioctl_ok(regs_step, ioctl(v->fd, KVM_SET_REGS, &regs)))
		return false;
	if (regs_step != sregs_step && !ok(regs_step, NULL))
		return false;
	if (!ioctl_ok(sregs_step, ioctl(v->fd, KVM_GET_SREGS, &sregs)))
		return false;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	return ioctl_ok(sregs_step, ioctl(v->fd, KVM_SET_SREGS, &sregs));
}

static void set_vector(unsigned int vector, const unsigned char *handler)
{
	__u16 ip = GUEST_ENTRY + (handler - guest_code), cs = 0;

	memcpy(w.mem + vector * 4, &ip, 2);
	memcpy(w.mem + vector * 4 + 2, &cs, 2);
}

/* The steps the guest program drives, in its order, after its first exit (port_out). */
static bool guest_steps_after_port_out(void)
{
	struct vcpu *v = &w.vcpu[0];
	struct kvm_interrupt irq = { .irq = IRQ_VECTOR };
	struct kvm_msrs *msrs;
	__u32 mmio_value = MMIO_READ_VALUE;
	char detail[64];

	if (!run_to_io(STEP_PORT_IN, v, KVM_EXIT_IO_IN, PORT_IN, 1))
		return false;
	*io_data(v->run) = IN_VALUE;
	if (!run_to_out(STEP_PORT_IN, v, PORT_IN_ECHO, 1, IN_VALUE) || !ok(STEP_PORT_IN, NULL))
		return false;

	if (!run_to_mmio(STEP_MMIO_WRITE, v, true, MMIO_GPA))
		return false;
	if (v->run->mmio.data[0] != MMIO_WRITE_VALUE)
		return wrong(STEP_MMIO_WRITE, "expected 0x%x, got 0x%x", MMIO_WRITE_VALUE,
			     v->run->mmio.data[0]);
	if (!ok(STEP_MMIO_WRITE, NULL))
		return false;
	if (!run_to_mmio(STEP_MMIO_READ, v, false, MMIO_GPA + 1))
		return false;
	memcpy(v->run->mmio.data, &mmio_value, 1);
	if (!run_to_out(STEP_MMIO_READ, v, PORT_MMIO_ECHO, 1, MMIO_READ_VALUE) ||
	    !ok(STEP_MMIO_READ, NULL))
		return false;

	snprintf(detail, sizeof(detail), "leaf 0 ebx=0x%x", w.cpuid_ebx);
	if (!run_to_out(STEP_CPUID, v, PORT_CPUID, 4, w.cpuid_ebx) || !ok(STEP_CPUID, detail))
		return false;

	if (!run_to_out(STEP_MSR_GUEST, v, PORT_MSR, 4, MSR_GUEST_VALUE) ||
	    !ok(STEP_MSR_GUEST, NULL))
		return false;
	msrs = one_msr(MSR_SYSENTER_CS, 0);
	if (!ioctl_ok(STEP_GET_MSRS, ioctl(v->fd, KVM_GET_MSRS, msrs)))
		return false;
	if (msrs->nmsrs != 1 || msrs->entries[0].data != MSR_GUEST_VALUE)
		return wrong(STEP_GET_MSRS, "MSR 0x%x: expected 0x%x, got 0x%llx (%u read)",
			     MSR_SYSENTER_CS, MSR_GUEST_VALUE,
			     (unsigned long long)msrs->entries[0].data, msrs->nmsrs);
	if (!ok(STEP_GET_MSRS, NULL))
		return false;
	msrs = one_msr(MSR_SYSENTER_CS, MSR_HOST_VALUE);
	if (!ioctl_ok(STEP_SET_MSRS, ioctl(v->fd, KVM_SET_MSRS, msrs)))
		return false;
	if (!run_to_out(STEP_SET_MSRS, v, PORT_MSR_AGAIN, 4, MSR_HOST_VALUE) ||
	    !ok(STEP_SET_MSRS, NULL))
		return false;

	if (!run_to_out(STEP_EXCEPTION, v, PORT_EXCEPTION, 1, 6) || !ok(STEP_EXCEPTION, "#UD"))
		return false;

	if (!run_to_out(STEP_INTERRUPT, v, PORT_IRQ_READY, 1, 1))
		return false;
	if (!v->run->ready_for_interrupt_injection || !v->run->if_flag)
		return wrong(STEP_INTERRUPT, "not ready for injection (ready=%u if=%u)",
			     v->run->ready_for_interrupt_injection, v->run->if_flag);
	if (!ioctl_ok(STEP_INTERRUPT, ioctl(v->fd, KVM_INTERRUPT, &irq)) ||
	    !run_to_out(STEP_INTERRUPT, v, PORT_IRQ, 1, IRQ_VECTOR) ||
	    !ok(STEP_INTERRUPT, "vector 0x20"))
		return false;

	if (!run_to_out(STEP_NMI, v, PORT_NMI_READY, 1, 1) ||
	    !ioctl_ok(STEP_NMI, ioctl(v->fd, KVM_NMI, 0)) ||
	    !run_to_out(STEP_NMI, v, PORT_NMI, 1, 2) || !ok(STEP_NMI, NULL))
		return false;
	return run_to_io(STEP_DIRTY_LOG, v, KVM_EXIT_IO_OUT, PORT_DIRTY, 1);
}

static bool dirty_log(void)
{
	struct kvm_dirty_log log = { .slot = 1 };
	__u64 bitmap = 0, expected = w.no_guest_code ? 0 : 1ULL << DIRTY_PAGE;

	log.dirty_bitmap = &bitmap;
	if (!ioctl_ok(STEP_DIRTY_LOG, ioctl(w.vm, KVM_GET_DIRTY_LOG, &log)))
		return false;
	if (bitmap != expected)
		return wrong(STEP_DIRTY_LOG, "bitmap 0x%llx, expected 0x%llx",
			     (unsigned long long)bitmap, (unsigned long long)expected);
	if (!w.no_guest_code && w.dirty[DIRTY_PAGE * 0x1000] != DIRTY_VALUE)
		return wrong(STEP_DIRTY_LOG, "the guest's byte did not land: 0x%x",
			     w.dirty[DIRTY_PAGE * 0x1000]);
	return ok(STEP_DIRTY_LOG, NULL);
}

static bool host_state(void)
{
	struct kvm_vcpu_events events;
	struct kvm_sregs sregs;

	if (!ioctl_ok(STEP_GET_SREGS, ioctl(w.vcpu[0].fd, KVM_GET_SREGS, &sregs)))
		return false;
	if (sregs.cr0 & 1)
		return wrong(STEP_GET_SREGS, "CR0.PE set in a real-mode guest: cr0=0x%llx",
			     (unsigned long long)sregs.cr0);
	if (!ok(STEP_GET_SREGS, NULL))
		return false;
	if (!ioctl_ok(STEP_VCPU_EVENTS, ioctl(w.vcpu[0].fd, KVM_GET_VCPU_EVENTS, &events)))
		return false;
	if (events.exception.injected || events.exception.pending || events.nmi.pending)
		return wrong(STEP_VCPU_EVENTS,
			     "left over: exception injected=%u pending=%u, nmi pending=%u",
			     events.exception.injected, events.exception.pending,
			     events.nmi.pending);
	return ioctl_ok(STEP_VCPU_EVENTS, ioctl(w.vcpu[0].fd, KVM_SET_VCPU_EVENTS, &events)) &&
	       ok(STEP_VCPU_EVENTS, NULL);
}

static bool second_vcpu(void)
{
	struct vcpu *v = &w.vcpu[1];

	if (!create_vcpu(STEP_SECOND_VCPU, 1) ||
	    !start_at(STEP_SECOND_VCPU, STEP_SECOND_VCPU, v,
		      GUEST_ENTRY + (guest_second - guest_code)))
		return false;
	if (w.no_guest_code) {
		say(STEP_SECOND_VCPU, "ok", "created; its guest code skipped: %s", w.detail);
		return true;
	}
	if (!run_to_out(STEP_SECOND_VCPU, v, PORT_SECOND, 1, SECOND_VALUE) ||
	    !run_vcpu(STEP_SECOND_VCPU, v))
		return false;
	if (v->run->exit_reason != KVM_EXIT_HLT)
		return wrong(STEP_SECOND_VCPU, "expected exit hlt, got exit_reason=%u",
			     v->run->exit_reason);
	return ok(STEP_SECOND_VCPU, NULL);
}

static bool final_hlt(void)
{
	char seen[160];

	if (w.no_guest_code) {
		say(STEP_HLT, "skip", "%s", w.detail);
		return true;
	}
	if (!run_vcpu(STEP_HLT, &w.vcpu[0]))
		return false;
	if (w.vcpu[0].run->exit_reason != KVM_EXIT_HLT) {
		describe_exit(w.vcpu[0].run, seen, sizeof(seen));
		return wrong(STEP_HLT, "expected exit hlt, got %s", seen);
	}
	return ok(STEP_HLT, NULL);
}

static bool close_all(void)
{
	int i, r = 0;

	for (i = 1; i >= 0; i--) {
		if (w.vcpu[i].run)
			munmap(w.vcpu[i].run, w.run_size);
		if (w.vcpu[i].fd >= 0 && close(w.vcpu[i].fd) < 0)
			r = -1;
	}
	if (!ioctl_ok(STEP_CLOSE_VCPUS, r) || !ok(STEP_CLOSE_VCPUS, NULL))
		return false;
	return ioctl_ok(STEP_CLOSE_VM, close(w.vm)) && ok(STEP_CLOSE_VM, NULL);
}

/* kvm-null's KVM_RUN returns at once with its own exit reason: it runs no guest code. */
static bool detect_kvm_null(struct vcpu *v)
{
	char seen[160];
	int step;

	if (!run_vcpu(STEP_PORT_OUT, v))
		return false;
	if (v->run->exit_reason != KVM_EXIT_UNKNOWN ||
	    v->run->hw.hardware_exit_reason != KVM_NULL_EXIT_REASON) {
		if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == PORT_OUT)
			return true;	/* a real vendor: the first exit is the guest's */
		describe_exit(v->run, seen, sizeof(seen));
		return wrong(STEP_PORT_OUT, "expected exit io out port=0x%x, got %s",
			     PORT_OUT, seen);
	}
	w.no_guest_code = true;
	snprintf(w.detail, sizeof(w.detail), "the vendor runs no guest code (kvm-null)");
	for (step = STEP_PORT_OUT; step <= STEP_NMI; step++)
		say(step, "skip", "%s", w.detail);
	return true;
}

int main(void)
{
	struct vcpu *v = &w.vcpu[0];
	bool done;

	setvbuf(stdout, NULL, _IONBF, 0);
	w.vcpu[0].fd = -1;
	w.vcpu[1].fd = -1;
	w.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (w.kvm < 0 && errno == ENOENT) {
		say(STEP_OPEN, "skip", "no /dev/kvm");
		return KSFT_SKIP;
	}
	if (!ioctl_ok(STEP_OPEN, w.kvm) || !ok(STEP_OPEN, NULL))
		return 1;
	w.run_size = ioctl(w.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (!ioctl_ok(STEP_OPEN, w.run_size) || !setup_vm())
		return 1;

	set_vector(6, guest_ud);
	set_vector(2, guest_nmi);
	set_vector(IRQ_VECTOR, guest_irq);
	done = create_vcpu(STEP_CREATE_VCPU, 0) && ok(STEP_CREATE_VCPU, NULL) && set_cpuid() &&
	       start_at(STEP_SET_REGS, STEP_SET_SREGS, v, GUEST_ENTRY) && ok(STEP_SET_SREGS, NULL);
	if (!done)
		return 1;

	/* the first KVM_RUN tells a real vendor from kvm-null */
	if (!detect_kvm_null(v))
		return 1;
	if (!w.no_guest_code) {
		if (*io_data(v->run) != OUT_VALUE) {
			wrong(STEP_PORT_OUT, "port 0x%x: expected 0x%x, got 0x%x", PORT_OUT,
			      OUT_VALUE, *io_data(v->run));
			return 1;
		}
		if (!ok(STEP_PORT_OUT, NULL) || !guest_steps_after_port_out())
			return 1;
	}
	done = dirty_log() && host_state() && second_vcpu() && final_hlt() && close_all();
	close(w.kvm);
	if (done)
		printf("kvmnull-workload: done\n");
	return done ? 0 : 1;
}
