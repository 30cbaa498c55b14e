/* SPDX-License-Identifier: GPL-2.0 */
/* One hex digit's value, locale-free (the parsers must not depend on
 * setlocale): 0..15, or -1 for anything else. */
#ifndef KSENSE_HEX_H
#define KSENSE_HEX_H

static inline int ks_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
