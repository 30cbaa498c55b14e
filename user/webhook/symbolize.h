/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space address -> function name, with libelf: the process's mapping
 * (/proc/PID/maps) gives the file and its offset, the file's program
 * headers turn that into the ELF virtual address (PIE and shared objects
 * included), and .symtab (or .dynsym when stripped) names the function.
 * Symbol tables are cached by file identity (device, inode, size, mtime).
 * Anything unknown comes back as "module+0xoffset", never an error.
 */
#ifndef KSENSE_SYMBOLIZE_H
#define KSENSE_SYMBOLIZE_H

#include <stddef.h>
#include <sys/types.h>

struct ks_symbolizer;

struct ks_symbolizer *ks_symbolizer_new(void);
void ks_symbolizer_free(struct ks_symbolizer *s);
/* "func+0x1c", "libc.so.6:memcpy", "module+0x1234" or "[unknown]";
 * returns 0 when a function name was found, 1 for a module+offset
 * fallback, negative errno when the process is gone (out still set). */
int ks_symbolize(struct ks_symbolizer *s, pid_t pid, unsigned long long addr, char *out, size_t outlen);
/* The same, split for aggregation: func is the bare function name when one
 * was found (rc 0: "ksense_burn_cycles", no offset), else the same
 * fallback text as ks_symbolize; module is the mapped file's path as the
 * process sees it ("/usr/bin/app", or "[anon]", "[heap]"...), "" when the
 * address is not mapped or the process is gone. */
int ks_symbolize_split(struct ks_symbolizer *s, pid_t pid, unsigned long long addr, char *func,
		       size_t funclen, char *module, size_t modlen);

#endif
