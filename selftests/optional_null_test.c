// SPDX-License-Identifier: GPL-2.0
/*
 * optional_null_test: with every optional and RET0 hook NULL (of every
 * classified table: x86, PMU, and nested on 7.x), kvm-null registers and a VM
 * goes through its whole lifecycle.
 */
#include "kvm_null_util.h"

static bool is_optional(const char *class)
{
	return !strcmp(class, "optional") || !strcmp(class, "ret0");
}

/*
 * The parameters that leave every optional and RET0 hook NULL, for each table
 * whose hooks a complete kvm-null lists with such a class (nested ops have no
 * classes, and kvm-null no null_nested=, before 7.x).
 */
static void optional_params(char *params, size_t size)
{
	char line[256], seen[512] = " ";
	struct hook_calls hc;
	size_t len = 0;
	FILE *f = open_complete_calls();

	params[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char key[40];

		if (!parse_calls_line(line, &hc) || !is_optional(hc.class))
			continue;
		snprintf(key, sizeof(key), " %.32s ", hc.table);
		if (strstr(seen, key))
			continue;
		strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
		len += snprintf(params + len, size - len, "%s%s=@optional,@ret0",
				len ? " " : "", table_names(hc.table)->param);
	}
	close_complete_calls(f);
}

/*
 * Every optional and RET0 hook must be NULL and never called; the list comes
 * from kvm-null's own table, so it fits every kernel series.  0, or -EINVAL
 * with the first offender in @bad.
 */
static int __every_optional_hook_null(char *bad, size_t size)
{
	struct hook_calls hc;
	char line[256];
	int checked = 0;
	FILE *f = fopen(CALLS_FILE, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!parse_calls_line(line, &hc) || !is_optional(hc.class))
			continue;
		checked++;
		if (strcmp(hc.state, "null") || hc.calls) {
			snprintf(bad, size, "%s.%s: %s, %lld calls", hc.table,
				 hc.hook, hc.state, hc.calls);
			fclose(f);
			return -EINVAL;
		}
	}
	fclose(f);
	if (!checked)
		snprintf(bad, size, "no optional hooks listed");
	return checked ? 0 : -ENOENT;
}

int main(void)
{
	char why[128] = "", bad[192] = "", params[256];
	struct vm vm;
	int r;

	ksft_print_header();
	require_patched_kvm_and_no_vendor();
	set_missing_hook("refuse");
	ksft_set_plan(6);

	optional_params(params, sizeof(params));
	r = __load_module("kvm-null", params);
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
		r = __every_optional_hook_null(bad, sizeof(bad));
		expect(!r, "nulled",
		       "expected every optional hook NULL with 0 calls, got %s\n",
		       bad);
	}

	unload_module("kvm_null");
	expect_no_new_warn();
	ksft_finished();
}
