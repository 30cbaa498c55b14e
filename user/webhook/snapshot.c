// SPDX-License-Identifier: GPL-2.0
/*
 * The tick rewrites the decision and baseline pins in place with their seq
 * cleared first and set last, so copies whose seq is the window's are
 * whole and of that window.  A window closing between the reads starts
 * them over (the tick runs every 100 ms at the most); what still does not
 * match after a few tries is left out (zeroed), never mixed in.
 */
#include <string.h>
#include "pins.h"
#include "snapshot.h"

#define SNAPSHOT_TRIES 4

int ks_snapshot_read(struct ks_snapshot *s, unsigned int parts)
{
	bool want_d = parts & KS_SNAP_DECISION, want_b = parts & KS_SNAP_BASELINE;
	bool d_ok = !want_d, b_ok = !want_b;
	int tries, err = 0;

	/* at least one read of the window, even with no part asked for */
	for (tries = 0; tries < SNAPSHOT_TRIES && (!tries || !(d_ok && b_ok)); tries++) {
		err = ks_read_window(&s->w);
		if (err)
			break;
		d_ok = !want_d || (!ks_read_pin(KSENSE_PIN_DECISION, &s->d) && s->d.seq == s->w.seq);
		b_ok = !want_b || (!ks_read_pin(KSENSE_PIN_BASELINE, &s->b) && s->b.seq == s->w.seq);
	}
	if (err)
		memset(&s->w, 0, sizeof(s->w));
	if (err || !want_d || !d_ok)
		memset(&s->d, 0, sizeof(s->d));
	if (err || !want_b || !b_ok)
		memset(&s->b, 0, sizeof(s->b));
	return err;
}
