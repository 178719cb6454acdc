// SPDX-License-Identifier: GPL-2.0
/*
 * kvmnull-provoke: make the kernel write one kind of report, on purpose.
 *
 * kvmnull's evidence parser reads the reports a test VM's kernel writes:
 * oopses, BUGs, memory-safety and UBSAN reports, soft lockups, RCU stalls
 * and hung tasks.  Its grammars are tested on logs of real reports, and
 * this module is how a guest produces them: load it with what=KIND and its
 * init does that one wrong thing, in the module's own function, so that the
 * report names a function we know.  For a test VM only: most kinds leave the
 * kernel tainted or the loading task dead.
 *
 * The detectors' thresholds are the caller's business (kvmnull sets
 * kernel.watchdog_thresh, rcupdate.rcu_cpu_stall_timeout and
 * kernel.hung_task_timeout_secs low before loading).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kfence.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *what = "";
module_param(what, charp, 0444);
#define KINDS "null_deref, gpf, bug, ubsan_bounds, ubsan_shift, kfence_uaf, spin, rcu_stall, " \
	"sleep, atomic_sleep"
MODULE_PARM_DESC(what, "the report to provoke: " KINDS);

static unsigned int seconds = 8;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "spin and sleep: how long");

/* read with READ_ONCE(), so that the compiler cannot see the wrong thing coming and fold it away */
static int *nowhere;
static unsigned long non_canonical = 0xdead000000000000UL;
static unsigned int index_past_end = 4;
static unsigned int shift_too_far = 40;
static int small_array[4];

/* crashing is this module's purpose: BUG() under a name of its own */
#define provoke_kernel_bug BUG

static noinline int provoke_null_deref(void)
{
	return *READ_ONCE(nowhere);
}

static noinline int provoke_gpf(void)
{
	return *(int *)READ_ONCE(non_canonical);
}

static noinline int provoke_bug(void)
{
	provoke_kernel_bug();
	return 0;
}

static noinline int provoke_ubsan_bounds(void)
{
	return small_array[READ_ONCE(index_past_end)];
}

static noinline int provoke_ubsan_shift(void)
{
	int one = 1;

	return one << READ_ONCE(shift_too_far);
}

/* a KFENCE object is found by allocating until the sampler hands one out */
static noinline int provoke_kfence_uaf(void)
{
	unsigned long deadline = jiffies + 10 * HZ;
	char *object;

	while (time_before(jiffies, deadline)) {
		object = kmalloc(32, GFP_KERNEL);
		if (!object)
			return -ENOMEM;
		if (is_kfence_address(object)) {
			kfree(object);
			return READ_ONCE(object[0]);
		}
		kfree(object);
		usleep_range(100, 200);
	}
	pr_info("no KFENCE object in 10 s: is kfence.sample_interval set?\n");
	return -ETIMEDOUT;
}

/* busy with preemption off: the soft-lockup detector sees it */
static noinline int provoke_spin(void)
{
	unsigned int i;

	preempt_disable();
	for (i = 0; i < seconds * 1000; i++)
		mdelay(1);
	preempt_enable();
	return 0;
}

/*
 * Asleep inside an RCU read-side critical section (preemptible RCU allows
 * it) while a grace period waits: RCU's stall detector reports the task.
 */
static noinline int provoke_rcu_stall(void)
{
	unsigned long cookie;

	rcu_read_lock();
	cookie = start_poll_synchronize_rcu();
	msleep(seconds * 1000);
	rcu_read_unlock();
	return poll_state_synchronize_rcu(cookie);
}

/* asleep in D state: the hung-task detector sees it */
static noinline int provoke_sleep(void)
{
	msleep(seconds * 1000);
	return 0;
}

/* asleep with preemption off: the scheduler's "BUG: scheduling while atomic" */
static noinline int provoke_atomic_sleep(void)
{
	preempt_disable();
	msleep(20);
	preempt_enable();
	return 0;
}

static const struct {
	const char *name;
	int (*provoke)(void);
} kinds[] = {
	{ "null_deref", provoke_null_deref },
	{ "gpf", provoke_gpf },
	{ "bug", provoke_bug },
	{ "ubsan_bounds", provoke_ubsan_bounds },
	{ "ubsan_shift", provoke_ubsan_shift },
	{ "kfence_uaf", provoke_kfence_uaf },
	{ "spin", provoke_spin },
	{ "rcu_stall", provoke_rcu_stall },
	{ "sleep", provoke_sleep },
	{ "atomic_sleep", provoke_atomic_sleep },
};

static int __init provoke_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strcmp(what, kinds[i].name))
			continue;
		pr_info("provoking %s\n", what);
		ret = kinds[i].provoke();
		pr_info("%s done (%d)\n", what, ret);
		/*
		 * Loaded, whatever the outcome: a failed init would make
		 * busybox's insmod try again through init_module().
		 */
		return 0;
	}
	pr_err("what=%s: unknown; valid: %s\n", what, KINDS);
	return -EINVAL;
}
module_init(provoke_init);

static void __exit provoke_exit(void)
{
}
module_exit(provoke_exit);

MODULE_DESCRIPTION("Provoke one kind of kernel report, for kvmnull's evidence tests");
MODULE_LICENSE("GPL");
