/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmnull-workload's guest program: 16-bit code run in real mode at
 * GUEST_ENTRY with CS = DS = SS = 0.  It runs from guest_code, one step after
 * another, reporting to the host through port I/O; guest_ud, guest_irq and
 * guest_nmi are the handlers the host points the IVT at, and guest_second is
 * where the second vCPU starts.  The host copies the bytes between guest_code
 * and guest_code_end into guest memory: the code uses no absolute address of
 * its own.
 */
#include "workload.h"

	.pushsection .rodata.kvmnull_guest, "a"
	.code16
	.globl guest_code, guest_ud, guest_irq, guest_nmi, guest_second, guest_code_end
guest_code:
	/* port_out */
	mov $OUT_VALUE, %al
	out %al, $PORT_OUT
	/* port_in: the host answers IN_VALUE, the guest echoes it */
	in $PORT_IN, %al
	out %al, $PORT_IN_ECHO
	/* mmio_write, mmio_read: MMIO_GPA has no memory slot */
	mov $(MMIO_GPA >> 4), %bx
	mov %bx, %es
	movb $MMIO_WRITE_VALUE, %es:0x0
	movb %es:0x1, %al
	out %al, $PORT_MMIO_ECHO
	/* cpuid: leaf 0's EBX */
	xor %eax, %eax
	cpuid
	mov %ebx, %eax
	outl %eax, $PORT_CPUID
	/* msr_guest */
	mov $MSR_SYSENTER_CS, %ecx
	mov $MSR_GUEST_VALUE, %eax
	xor %edx, %edx
	wrmsr
	xor %eax, %eax
	rdmsr
	outl %eax, $PORT_MSR
	/* set_msrs: what the host wrote in between */
	rdmsr
	outl %eax, $PORT_MSR_AGAIN
	/* exception: guest_ud skips the ud2 */
	ud2
	/* interrupt: the host injects IRQ_VECTOR once IF is set */
	sti
	mov $1, %al
	out %al, $PORT_IRQ_READY
	nop
	cli
	/* nmi (guest_irq left its vector in AL) */
	mov $1, %al
	out %al, $PORT_NMI_READY
	nop
	/* dirty_log: DIRTY_SLOT_GPA's page DIRTY_PAGE */
	mov $(DIRTY_SLOT_GPA >> 4), %ax
	mov %ax, %ds
	movb $DIRTY_VALUE, (DIRTY_PAGE * 0x1000)
	xor %ax, %ax
	mov %ax, %ds
	out %al, $PORT_DIRTY
	/* hlt */
	hlt

guest_ud:
	push %bp
	mov %sp, %bp
	addw $2, 2(%bp)		/* return past the 2-byte ud2 */
	pop %bp
	mov $6, %al		/* #UD */
	out %al, $PORT_EXCEPTION
	iret

guest_irq:
	mov $IRQ_VECTOR, %al
	out %al, $PORT_IRQ
	iret

guest_nmi:
	mov $2, %al		/* NMI */
	out %al, $PORT_NMI
	iret

guest_second:
	mov $SECOND_VALUE, %al
	out %al, $PORT_SECOND
	hlt
guest_code_end:
	.code64
	.popsection
	.section .note.GNU-stack, "", @progbits
