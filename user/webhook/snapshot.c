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

int ks_snapshot_read(struct ks_snapshot *s)
{
	bool d_ok = false, b_ok = false;
	int tries, err = 0;

	for (tries = 0; tries < SNAPSHOT_TRIES && !(d_ok && b_ok); tries++) {
		err = ks_read_window(&s->w);
		if (err)
			break;
		d_ok = !ks_read_pin(KSENSE_PIN_DECISION, &s->d) && s->d.seq == s->w.seq;
		b_ok = !ks_read_pin(KSENSE_PIN_BASELINE, &s->b) && s->b.seq == s->w.seq;
	}
	if (err)
		memset(&s->w, 0, sizeof(s->w));
	if (err || !d_ok)
		memset(&s->d, 0, sizeof(s->d));
	if (err || !b_ok)
		memset(&s->b, 0, sizeof(s->b));
	return err;
}
