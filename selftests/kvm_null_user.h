/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the selftests and the probe share.  Free of kselftest.h: the probe is
 * a plain program that kvmnull's matrix and census run too.
 */
#ifndef KVM_NULL_USER_H
#define KVM_NULL_USER_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "../module/kvm_null_abi.h"

#define CALLS_FILE		"/sys/kernel/debug/" KVM_NULL_DEBUGFS_CALLS

/* Guest memory of the test VMs: one HLT at GUEST_ENTRY, run in real mode. */
#define GUEST_MEM_SIZE		0x10000
#define GUEST_ENTRY		0x1000
#define GUEST_HLT		0xf4

/* One hook's line of CALLS_FILE (KVM_NULL_CALLS_FORMAT). */
struct hook_calls {
	char table[32];
	char hook[96];
	char class[32];
	char state[16];
	long long calls;
};

/* Parse @line into @hc; false for the header or anything malformed. */
static inline bool parse_calls_line(const char *line, struct hook_calls *hc)
{
	return sscanf(line, "%31s %95s %31s %15s %lld", hc->table, hc->hook,
		      hc->class, hc->state, &hc->calls) == 5;
}

/* The symbolic name of @err, as the tools parse it from the output. */
static inline const char *errno_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "E?";
	}
}

#endif /* KVM_NULL_USER_H */
