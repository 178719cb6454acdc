/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kvmnull-workload's host side (workload.c) and its guest program
 * (workload_guest.S) agree on: where things are in guest memory, and the
 * ports and values each step uses.
 */
#ifndef KVMNULL_WORKLOAD_H
#define KVMNULL_WORKLOAD_H

/* guest physical memory: slot 0 (IVT, code, stack) and a dirty-logged slot */
#define DIRTY_SLOT_GPA		0x20000
#define DIRTY_SLOT_SIZE		0x4000
#define DIRTY_PAGE		2	/* the page of the dirty slot the guest writes */
#define GUEST_STACK		0x8000
#define MMIO_GPA		0xd0000	/* no memory slot: accesses exit to user space */
#define MSR_SYSENTER_CS		0x174

/* the ports and values of each step */
#define PORT_OUT		0x10
#define PORT_IN			0x11
#define PORT_IN_ECHO		0x12
#define PORT_MMIO_ECHO		0x13
#define PORT_CPUID		0x14
#define PORT_MSR		0x15
#define PORT_EXCEPTION		0x16
#define PORT_IRQ_READY		0x17
#define PORT_IRQ		0x18
#define PORT_NMI_READY		0x19
#define PORT_NMI		0x1a
#define PORT_DIRTY		0x1b
#define PORT_MSR_AGAIN		0x1c
#define PORT_SECOND		0x1d
#define OUT_VALUE		0xab
#define IN_VALUE		0x5a
#define MMIO_WRITE_VALUE	0x77
#define MMIO_READ_VALUE		0x33
#define MSR_GUEST_VALUE		0x1234
#define MSR_HOST_VALUE		0x4321
#define DIRTY_VALUE		0x05
#define IRQ_VECTOR		0x20
#define SECOND_VALUE		0x42

#ifndef __ASSEMBLER__
/* the guest program, and its entry points, in workload_guest.S */
extern const unsigned char guest_code[], guest_ud[], guest_irq[], guest_nmi[];
extern const unsigned char guest_second[], guest_code_end[];
#endif

#endif /* KVMNULL_WORKLOAD_H */
