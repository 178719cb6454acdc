/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for kvm-null's selftests.  As in KVM's selftests, __foo() returns
 * the error (a negative errno) and foo() asserts, failing the test with
 * expected-versus-actual text.  A missing prerequisite is a skip (exit 4).
 *
 * Modules are loaded from $KVMNULL_MODULES (default /modules): kvm-null.ko
 * and, for load_test, kvm-amd.ko.  kvm.ko must already be loaded.
 *
 * Every test starts with no vendor registered and, on every exit path
 * (ksft_exit_*() and ksft_finished() call exit()), unloads the vendor it
 * left loaded and restores kvm.missing_hook: a failing test does not turn
 * the tests after it into skips.
 */
#ifndef KVM_NULL_UTIL_H
#define KVM_NULL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvm_null_user.h"

/* The kernel's names of kvm-null's tables, and their null_* parameters. */
struct kvm_null_table_names {
	const char *table;	/* as debugfs names it: x86, pmu, nested */
	const char *param;	/* null, null_pmu, null_nested */
	const char *ops;	/* kvm_x86_ops, ... as kvm.ko's messages name it */
};

static const struct kvm_null_table_names kvm_null_table_names[] = {
	{ KVM_NULL_X86_TABLE, KVM_NULL_X86_PARAM, KVM_NULL_X86_STRUCT },
	{ KVM_NULL_PMU_TABLE, KVM_NULL_PMU_PARAM, KVM_NULL_PMU_STRUCT },
	{ KVM_NULL_NESTED_TABLE, KVM_NULL_NESTED_PARAM, KVM_NULL_NESTED_STRUCT },
};

/* The names of @table; the test fails on a table kvm_null_abi.h lacks. */
static inline const struct kvm_null_table_names *table_names(const char *table)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kvm_null_table_names); i++)
		if (!strcmp(kvm_null_table_names[i].table, table))
			return &kvm_null_table_names[i];
	ksft_exit_fail_msg("table %s: expected one of kvm_null_abi.h's tables\n", table);
	return NULL;
}

/* kselftest.h defines __printf() since 6.2: older ones get no format checks */
#ifndef __printf
#define __printf(...)
#endif

#define MISSING_HOOK_PARAM	"/sys/module/kvm/parameters/missing_hook"
#define TAINT_WARN_BIT		9

/*
 * One KTAP result named @name; when @ok is false, the expected-versus-actual
 * text of @fmt is printed as a diagnostic first.
 */
static inline __printf(3, 4)
void expect(bool ok, const char *name, const char *fmt, ...)
{
	va_list args;

	if (ok) {
		ksft_test_result_pass("%s\n", name);
		return;
	}
	va_start(args, fmt);
	printf("# %s: ", name);
	vprintf(fmt, args);
	va_end(args);
	ksft_test_result_fail("%s\n", name);
}

/* $KVMNULL_MODULES/<file>.ko, by default /modules/<file>.ko */
static inline void module_path(char *path, size_t size, const char *file)
{
	char *dir = getenv("KVMNULL_MODULES");

	snprintf(path, size, "%s/%s.ko", dir ? dir : "/modules", file);
}

static inline bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static inline bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return path_exists(path);
}

/* finit_module() of $KVMNULL_MODULES/<file>.ko; 0 or -errno. */
static inline int __load_module(const char *file, const char *params)
{
	char path[PATH_MAX];
	int fd, r;

	module_path(path, sizeof(path), file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(__NR_finit_module, fd, params ? params : "", 0);
	r = r ? -errno : 0;
	close(fd);
	return r;
}

static inline void load_module(const char *file, const char *params)
{
	int r = __load_module(file, params);

	if (r)
		ksft_exit_fail_msg("loading %s.ko \"%s\": expected success, got %s\n",
				   file, params ? params : "", strerror(-r));
}

static inline int __unload_module(const char *name)
{
	return syscall(__NR_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static inline void unload_module(const char *name)
{
	int r = __unload_module(name);

	if (r)
		ksft_exit_fail_msg("unloading %s: expected success, got %s\n",
				   name, strerror(-r));
}

/* Read a small file into @buf, without the trailing newline. */
static inline int __read_file(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static inline int __write_file(const char *path, const char *text)
{
	ssize_t len;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, text, strlen(text));
	close(fd);
	return len < 0 ? -errno : 0;
}

static inline void set_missing_hook(const char *policy)
{
	char now[32];
	int r = __write_file(MISSING_HOOK_PARAM, policy);

	if (!r)
		r = __read_file(MISSING_HOOK_PARAM, now, sizeof(now));
	if (r || strcmp(now, policy))
		ksft_exit_fail_msg("setting kvm.missing_hook: expected \"%s\", got %s\n",
				   policy, r ? strerror(-r) : now);
}

/* The kernel's taint flags, or -1 if unreadable. */
static inline long taint_flags(void)
{
	char value[32];

	if (__read_file("/proc/sys/kernel/tainted", value, sizeof(value)))
		return -1;
	return strtol(value, NULL, 10);
}

struct vm;
static inline void vm_destroy(struct vm *vm);
static struct vm *live_vm;

/* What the test found at its start, restored by restore_start_state(). */
static char start_policy[32];
static long start_taint;

/*
 * No vendor was registered at the start, so any vendor registered now is
 * the test's own: close the VM it holds, unload it, and put
 * kvm.missing_hook back.
 */
static inline void restore_start_state(void)
{
	static const char * const vendors[] = { "kvm_null", "kvm_amd" };
	unsigned int i;
	int r;

	if (live_vm)
		vm_destroy(live_vm);
	for (i = 0; i < ARRAY_SIZE(vendors); i++) {
		if (!module_loaded(vendors[i]))
			continue;
		r = __unload_module(vendors[i]);
		if (r)
			ksft_print_msg("cleanup: unloading %s: %s\n", vendors[i], strerror(-r));
	}
	if (start_policy[0]) {
		r = __write_file(MISSING_HOOK_PARAM, start_policy);
		if (r)
			ksft_print_msg("cleanup: restoring kvm.missing_hook: %s\n", strerror(-r));
	}
}

/*
 * Prerequisites: the patched kvm.ko loaded, no vendor registered, kvm-null.ko.
 * Then remember the state to restore at exit, and the taint to compare with.
 */
static inline void require_patched_kvm_and_no_vendor(void)
{
	char path[PATH_MAX];

	if (!module_loaded("kvm"))
		ksft_exit_skip("kvm.ko is not loaded\n");
	if (!path_exists(MISSING_HOOK_PARAM))
		ksft_exit_skip("kvm.ko has no missing_hook parameter (not kvmnull's kvm.ko)\n");
	if (path_exists("/dev/kvm") || module_loaded("kvm_null"))
		ksft_exit_skip("a KVM vendor is already registered\n");
	module_path(path, sizeof(path), "kvm-null");
	if (!path_exists(path))
		ksft_exit_skip("%s not found (set KVMNULL_MODULES)\n", path);
	if (__read_file(MISSING_HOOK_PARAM, start_policy, sizeof(start_policy)))
		ksft_exit_skip("cannot read %s\n", MISSING_HOOK_PARAM);
	start_taint = taint_flags();
	atexit(restore_start_state);
}

/* Was the kernel already tainted W (a WARN happened) when the test started? */
static inline bool warned_before_start(void)
{
	return start_taint < 0 || (start_taint & (1L << TAINT_WARN_BIT));
}

/*
 * For tests that must not WARN: one result comparing the W taint flag with
 * the start.  A kernel already tainted W cannot tell: that is a skip.
 */
static inline void expect_no_new_warn(void)
{
	long taint = taint_flags();

	if (warned_before_start()) {
		ksft_test_result_skip("no_warn: kernel already tainted W at start\n");
		return;
	}
	expect(taint >= 0 && !(taint & (1L << TAINT_WARN_BIT)), "no_warn",
	       "expected taint bit %d (W) still clear, got tainted=%ld\n",
	       TAINT_WARN_BIT, taint);
}

/* The kernel log written after kmsg_open(): one message per line. */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		ksft_exit_skip("/dev/kmsg: %s\n", strerror(errno));
	lseek(fd, 0, SEEK_END);
	return fd;
}

/* Append every new record's message to @buf; returns @buf. */
static inline char *kmsg_read(int fd, char *buf, size_t size)
{
	char record[2048], *message;
	size_t len = strlen(buf);
	ssize_t n;

	while ((n = read(fd, record, sizeof(record) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		if (n < 0)
			continue;	/* overwritten records: go on */
		record[n] = '\0';
		message = strchr(record, ';');
		message = message ? message + 1 : record;
		len += snprintf(buf + len, len < size ? size - len : 0, "%s",
				message);
		if (len >= size)
			len = size - 1;
	}
	return buf;
}

/* Calls of one hook per kvm-null's debugfs counters; -errno if unreadable. */
static inline long long __hook_calls(const char *table, const char *hook,
				     char *state, size_t state_size)
{
	struct hook_calls hc;
	long long found = -ENOENT;
	char line[256];
	FILE *f = fopen(CALLS_FILE, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!parse_calls_line(line, &hc))
			continue;
		if (!strcmp(hc.table, table) && !strcmp(hc.hook, hook)) {
			found = hc.calls;
			if (state)
				snprintf(state, state_size, "%s", hc.state);
		}
	}
	fclose(f);
	return found;
}

static inline long long hook_calls(const char *table, const char *hook)
{
	long long calls = __hook_calls(table, hook, NULL, 0);

	if (calls < 0)
		ksft_exit_fail_msg("reading calls of %s.%s: %s\n", table, hook,
				   strerror(-calls));
	return calls;
}

/*
 * The calls file of a complete kvm-null, loaded for the purpose: what this
 * kernel's kvm-null has (tables, hooks, classes).  No debugfs is a skip.
 * close_complete_calls() closes it and unloads kvm-null.
 */
static inline FILE *open_complete_calls(void)
{
	FILE *f;

	load_module("kvm-null", NULL);
	f = fopen(CALLS_FILE, "r");
	if (!f) {
		unload_module("kvm_null");
		ksft_exit_skip("%s: %s\n", CALLS_FILE, strerror(errno));
	}
	return f;
}

static inline void close_complete_calls(FILE *f)
{
	fclose(f);
	unload_module("kvm_null");
}

static inline void reset_calls(void)
{
	int r = __write_file(CALLS_FILE, "0");

	if (r)
		ksft_exit_fail_msg("resetting %s: %s\n", CALLS_FILE, strerror(-r));
}

/* A VM with one page of memory (a HLT at GUEST_ENTRY) and one vCPU. */
struct vm {
	int kvm, fd, vcpu, run_size;
	struct kvm_run *run;
	unsigned char *mem;
};

static inline int __vm_create(struct vm *vm)
{
	struct kvm_userspace_memory_region region = {
		.memory_size = GUEST_MEM_SIZE,
	};

	memset(vm, 0, sizeof(*vm));
	live_vm = vm;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		return -errno;
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return -errno;
	vm->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED)
		return -errno;
	vm->mem[GUEST_ENTRY] = GUEST_HLT;
	region.userspace_addr = (unsigned long)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region))
		return -errno;
	return 0;
}

static inline int __vcpu_create(struct vm *vm)
{
	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		return -errno;
	vm->run_size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < 0)
		return -errno;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	return vm->run == MAP_FAILED ? -errno : 0;
}

static inline void vm_destroy(struct vm *vm)
{
	if (vm->run && vm->run != MAP_FAILED)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu > 0)
		close(vm->vcpu);
	if (vm->fd > 0)
		close(vm->fd);
	if (vm->kvm > 0)
		close(vm->kvm);
	if (vm->mem && vm->mem != MAP_FAILED)
		munmap(vm->mem, GUEST_MEM_SIZE);
	memset(vm, 0, sizeof(*vm));
	if (live_vm == vm)
		live_vm = NULL;
}

/* KVM_RUN once; the exit must be kvm-null's (see kvm_null_abi.h). */
static inline int __vcpu_run_once(struct vm *vm, char *why, size_t size)
{
	if (ioctl(vm->vcpu, KVM_RUN, 0))
		return -errno;
	if (vm->run->exit_reason != KVM_EXIT_UNKNOWN ||
	    vm->run->hw.hardware_exit_reason != KVM_NULL_EXIT_REASON) {
		snprintf(why, size,
			 "expected exit %d/0x%llx, got %u/0x%llx",
			 KVM_EXIT_UNKNOWN, KVM_NULL_EXIT_REASON,
			 vm->run->exit_reason,
			 (unsigned long long)vm->run->hw.hardware_exit_reason);
		return -EPROTO;
	}
	return 0;
}

#endif /* KVM_NULL_UTIL_H */
