/* SPDX-License-Identifier: GPL-2.0 */
/* The ksense CLI's subcommands: each takes argv with argv[0] = its name and
 * returns the process exit status. */
#ifndef KSENSE_CLI_H
#define KSENSE_CLI_H

#include <stdbool.h>
#include <linux/types.h>
#include "opts.h"

int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_baseline(int argc, char **argv);

#endif
