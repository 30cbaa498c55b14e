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

#endif
