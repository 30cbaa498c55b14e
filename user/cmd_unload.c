// SPDX-License-Identifier: GPL-2.0
/* ksense unload: removing the pins drops the last references, which
 * detaches every program and cancels the tick's timer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "fsutil.h"
#include "pins.h"

int cmd_unload(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *root = ks_pin_root();
	bool help = false;
	struct ks_opts p;
	int err, opt, first;

	ks_opts_init(&p, "ksense unload", argc, argv, "h", longopts);
	while ((opt = ks_opts_next(&p)) != -1) {
		if (opt != 'h')
			return 2;
		help = true;
	}
	if (help) {
		printf("Usage: ksense unload\n\n"
		       "Detaches every ksense program and removes the pin tree (%s),\n"
		       "with its history.  Succeeds when nothing is loaded.\n", root);
		return 0;
	}
	if (ks_opts_operands(&p, 0, &first))
		return 2;
	if (!ks_path_exists(root)) {
		printf("ksense: nothing loaded at %s\n", root);
		return 0;
	}
	err = ks_remove_tree(root);
	if (err) {
		fprintf(stderr, "ksense unload: cannot remove %s: %s\n", root, strerror(-err));
		return 1;
	}
	printf("ksense: unloaded %s\n", root);
	return 0;
}
