// SPDX-License-Identifier: GPL-2.0
/*
 * refuse_test: under kvm.missing_hook=refuse, kvm-null with any one
 * mandatory hook NULL fails to load with EINVAL and the kernel log names the
 * hook; a complete kvm-null loads afterwards; and refusals leak nothing.
 *
 * Leak measure: kvm.ko's vendor init allocates slab caches and a per-CPU
 * area, so /proc/meminfo's SUnreclaim and Percpu are read before and after
 * CYCLES refuse/accept cycles (after WARMUP cycles), and each may grow by at
 * most its tolerance.  An idle guest shows 0 to 12 kB of slab noise over 100
 * cycles; leaking the per-CPU area alone adds about 0.3 kB per cycle.
 */
#include "kvm_null_util.h"

#define MAX_HOOKS		160
#define CYCLES			200
#define WARMUP			10
#define SLAB_TOLERANCE_KB	48
#define PERCPU_TOLERANCE_KB	8

struct hook {
	char table[32];
	char name[96];
};

/* The mandatory hooks, as a complete kvm-null reports them in debugfs. */
static int mandatory_hooks(struct hook *hooks, int max)
{
	struct hook_calls hc;
	char line[256];
	int n = 0;
	FILE *f = open_complete_calls();

	while (n < max && fgets(line, sizeof(line), f)) {
		if (!parse_calls_line(line, &hc) || strcmp(hc.class, "mandatory"))
			continue;
		snprintf(hooks[n].table, sizeof(hooks[n].table), "%s", hc.table);
		snprintf(hooks[n].name, sizeof(hooks[n].name), "%s", hc.hook);
		n++;
	}
	close_complete_calls(f);
	return n;
}

static long meminfo_kb(const char *field)
{
	char line[128];
	long value = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)) && line[strlen(field)] == ':')
			value = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return value;
}

/* One refusal and one accepted load; 0 or the first unexpected result. */
static int cycle(void)
{
	int r = __load_module("kvm-null", "null=vcpu_create");

	if (r != -EINVAL)
		return r ? r : -EEXIST;
	r = __load_module("kvm-null", NULL);
	return r ? r : __unload_module("kvm_null");
}

int main(void)
{
	static char log[1 << 16];
	struct hook hooks[MAX_HOOKS];
	char params[128], needle[160], test[160];
	long slab, percpu;
	const struct kvm_null_table_names *names;
	int i, n, r, kmsg;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("refuse");
	n = mandatory_hooks(hooks, MAX_HOOKS);
	ksft_set_plan(n + 3);
	kmsg = kmsg_open();

	for (i = 0; i < n; i++) {
		names = table_names(hooks[i].table);
		snprintf(params, sizeof(params), "%s=%s", names->param,
			 hooks[i].name);
		snprintf(needle, sizeof(needle), "mandatory %s.%s is NULL",
			 names->ops, hooks[i].name);
		log[0] = '\0';
		r = __load_module("kvm-null", params);
		kmsg_read(kmsg, log, sizeof(log));
		snprintf(test, sizeof(test), "refuse_%.31s_%.95s", hooks[i].table,
			 hooks[i].name);
		expect(r == -EINVAL && strstr(log, needle) &&
		       !module_loaded("kvm_null") && !path_exists("/dev/kvm"),
		       test, "expected EINVAL, \"%s\" logged, nothing registered; got %s, %s\n",
		       needle, r ? strerror(-r) : "success",
		       strstr(log, needle) ? "logged" : "not logged");
		if (!r)
			unload_module("kvm_null");
	}

	r = __load_module("kvm-null", NULL);
	expect(!r && path_exists("/dev/kvm"), "complete_vendor_loads",
	       "expected 0 and /dev/kvm, got %s\n", strerror(-r));
	if (!r)
		unload_module("kvm_null");

	for (i = 0, r = 0; i < WARMUP && !r; i++)
		r = cycle();
	slab = meminfo_kb("SUnreclaim");
	percpu = meminfo_kb("Percpu");
	for (i = 0; i < CYCLES && !r; i++)
		r = cycle();
	slab = meminfo_kb("SUnreclaim") - slab;
	percpu = meminfo_kb("Percpu") - percpu;
	ksft_print_msg("over %d refuse/accept cycles: SUnreclaim %+ld kB, Percpu %+ld kB\n",
		       CYCLES, slab, percpu);
	expect(!r && slab <= SLAB_TOLERANCE_KB && percpu <= PERCPU_TOLERANCE_KB,
	       "refusals_leak_nothing",
	       "expected every cycle to refuse then accept, SUnreclaim <= %+d kB, Percpu <= %+d kB; got %s, %+ld kB, %+ld kB\n",
	       SLAB_TOLERANCE_KB, PERCPU_TOLERANCE_KB, r ? strerror(-r) : "ok",
	       slab, percpu);

	close(kmsg);
	expect_no_new_warn();
	ksft_finished();
}
