#!/bin/busybox sh
# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmnull guest init: mount what the tests need, then a shell on the console.

# What the host reads back: initramfs/archive.py takes these from here, one NAME='value' a line.
# the init script's last word before the shell: the guest is up
READY='kvmnull: guest up'
# where debugfs is mounted (core/abi.py's DEBUGFS; a test checks that they agree)
DEBUGFS='/sys/kernel/debug'

/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs "$DEBUGFS"
# keep the console for our own output: only errors from the kernel
echo 4 > /proc/sys/kernel/printk
echo "$READY $(cat /proc/uptime)"
exec setsid cttyhack /bin/sh
