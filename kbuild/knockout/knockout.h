/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmnull's test-only knockout for a real vendor: see knockout.c.
 */
#ifndef KVMNULL_KNOCKOUT_H
#define KVMNULL_KNOCKOUT_H

#include <linux/kvm_host.h>

/* before 7.x pmu.h needs x86.h first */
#include "x86.h"
#include "pmu.h"

int __init kvmnull_knockout(struct kvm_x86_ops *x86_ops,
			    struct kvm_pmu_ops *pmu_ops,
			    struct kvm_x86_nested_ops *nested_ops);

#endif /* KVMNULL_KNOCKOUT_H */
