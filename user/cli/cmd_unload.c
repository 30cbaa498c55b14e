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
	int err;

	if (ks_wants_help(argc, argv)) {
		printf("Usage: ksense unload\n\n"
		       "Detaches every ksense program and removes the pin tree (%s),\n"
		       "with its history.  Succeeds when nothing is loaded.\n", root);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "ksense unload: unknown argument '%s' (see ksense unload --help)\n", argv[1]);
		return 2;
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
