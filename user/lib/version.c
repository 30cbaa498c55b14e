// SPDX-License-Identifier: GPL-2.0
/* `--version` for every binary (version.h). */
#include "buf.h"
#include "pins.h"
#include "version.h"

void ks_print_version(FILE *out, const char *prog)
{
	fprintf(out, "%s %s (commit %s, pin schema %u)\n", prog, ks_build_version, ks_build_commit,
		(unsigned int)KSENSE_SCHEMA_VERSION);
}

void ks_build_info_gauge(struct ks_buf *b)
{
	ks_buf_printf(b, "# HELP ksense_build_info The running binary's version and commit, and the pin schema it reads.\n"
		      "# TYPE ksense_build_info gauge\n"
		      "ksense_build_info{version=\"%s\",commit=\"%s\",schema=\"%u\"} 1\n",
		      ks_build_version, ks_build_commit, (unsigned int)KSENSE_SCHEMA_VERSION);
}

void ks_build_info_metrics(struct ks_buf *b)
{
	struct ksense_state st;

	ks_build_info_gauge(b);
	if (!ks_read_state(&st))
		ks_buf_printf(b, "# HELP ksense_pins_schema_version Schema of the pin tree that is loaded.\n"
			      "# TYPE ksense_pins_schema_version gauge\n"
			      "ksense_pins_schema_version %u\n", st.schema_version);
}
