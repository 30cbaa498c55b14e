/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the streaming-parser harnesses share: an abort-on-violation check,
 * and a deterministic way to cut an input into pieces (seeded by a hash of
 * the input, so a crash reproduces from the file alone).  Tiny cuts are
 * where framing bugs live; big ones copy bodies in bulk across boundaries.
 */
#ifndef KSENSE_FUZZ_PIECES_H
#define KSENSE_FUZZ_PIECES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                 \
			abort();                                                 \
		}                                                                \
	} while (0)

static inline uint64_t fuzz_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *s = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static inline uint64_t fuzz_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static inline size_t fuzz_next_piece(uint64_t *rng)
{
	uint64_t r = fuzz_xorshift(rng);

	switch (r & 3) {
	case 0:
		return 1;
	case 1:
		return 1 + (r >> 8) % 16;
	case 2:
		return 1 + (r >> 8) % 512;
	default:
		return 1 + (r >> 8) % 65536;
	}
}

#endif
