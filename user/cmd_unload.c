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
	const char *root = ks_pin_root();
	bool help;
	int err, first;

	if (ks_opts_help_only("ksense unload", argc, argv, 0, &help, &first))
		return 2;
	if (help) {
		printf("Usage: ksense unload\n\n"
		       "Detaches every ksense program and removes the pin tree (%s),\n"
		       "with its history.  Succeeds when nothing is loaded.\n", root);
		return 0;
	}
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
