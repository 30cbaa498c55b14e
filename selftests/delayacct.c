// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/taskstats.h>
#include "delayacct.h"

struct ks_delay_client {
	struct nl_sock *sock;
	int family;
};

struct reply {
	struct ks_delay *out;
	int found;
};

/* libnl errors are their own numbering; the callers want errno. */
static int nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_OBJ_NOTFOUND: return -ESRCH;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_INVAL: return -EINVAL;
	case NLE_NOACCESS: return -EACCES;
	default: return -EIO;
	}
}

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct nlattr *attrs[TASKSTATS_TYPE_MAX + 1], *inner[TASKSTATS_TYPE_MAX + 1];
	struct reply *r = arg;
	struct taskstats ts;
	size_t n;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, TASKSTATS_TYPE_MAX, NULL) < 0)
		return NL_SKIP;
	if (!attrs[TASKSTATS_TYPE_AGGR_PID] ||
	    nla_parse_nested(inner, TASKSTATS_TYPE_MAX, attrs[TASKSTATS_TYPE_AGGR_PID], NULL) < 0 ||
	    !inner[TASKSTATS_TYPE_STATS])
		return NL_SKIP;
	/* older or newer kernels send a shorter or longer struct: copy what
	 * both know */
	memset(&ts, 0, sizeof(ts));
	n = nla_len(inner[TASKSTATS_TYPE_STATS]);
	memcpy(&ts, nla_data(inner[TASKSTATS_TYPE_STATS]), n < sizeof(ts) ? n : sizeof(ts));
	r->out->cpu_count = ts.cpu_count;
	r->out->cpu_delay_ns = ts.cpu_delay_total;
	r->out->blkio_count = ts.blkio_count;
	r->out->blkio_delay_ns = ts.blkio_delay_total;
	r->out->cpu_run_real_ns = ts.cpu_run_real_total;
	r->found = 1;
	return NL_OK;
}

int ks_delay_open(struct ks_delay_client **out)
{
	struct ks_delay_client *c = calloc(1, sizeof(*c));
	int err;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->sock = nl_socket_alloc();
	if (!c->sock) {
		err = -ENOMEM;
		goto fail;
	}
	err = genl_connect(c->sock);
	if (err < 0) {
		err = nl_to_errno(err);
		goto fail;
	}
	{
		struct timeval tv = { .tv_sec = 1 };

		/* never block a test forever on a reply that does not come */
		if (setsockopt(nl_socket_get_fd(c->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
			err = -errno;
			goto fail;
		}
	}
	c->family = genl_ctrl_resolve(c->sock, TASKSTATS_GENL_NAME);
	if (c->family < 0) {
		err = -ENOENT; /* no TASKSTATS family: CONFIG_TASKSTATS off */
		goto fail;
	}
	*out = c;
	return 0;
fail:
	ks_delay_close(c);
	return err;
}

int ks_delay_read(struct ks_delay_client *c, pid_t tid, struct ks_delay *out)
{
	struct reply r = { .out = out };
	struct nl_msg *msg = nlmsg_alloc();
	int err, tries;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, 0, TASKSTATS_CMD_GET,
			 TASKSTATS_VERSION) ||
	    nla_put_u32(msg, TASKSTATS_CMD_ATTR_PID, (__u32)tid) < 0) {
		err = -ENOMEM;
		goto out;
	}
	err = nl_socket_modify_cb(c->sock, NL_CB_VALID, NL_CB_CUSTOM, on_reply, &r);
	if (err < 0) {
		err = nl_to_errno(err);
		goto out;
	}
	err = nl_send_auto(c->sock, msg);
	if (err < 0) {
		err = nl_to_errno(err);
		goto out;
	}
	/* A receive can return having handled no reply of ours (seen: every
	 * other request on 6.18); read again, bounded by the socket timeout. */
	for (tries = 0; tries < 8 && !r.found; tries++) {
		err = nl_recvmsgs_default(c->sock);
		if (err < 0)
			break;
	}
	if (err < 0)
		err = nl_to_errno(err);
	else
		err = r.found ? 0 : -ENODATA;
out:
	nlmsg_free(msg);
	return err;
}

void ks_delay_close(struct ks_delay_client *c)
{
	if (!c)
		return;
	nl_socket_free(c->sock);
	free(c);
}

int ks_delay_enable(int on)
{
	char buf[16] = "";
	int fd, prev, err = 0;

	fd = open("/proc/sys/kernel/task_delayacct", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf) - 1) <= 0) {
		err = -EIO;
		goto out;
	}
	prev = atoi(buf);
	if (pwrite(fd, on ? "1" : "0", 1, 0) != 1) {
		err = -errno;
		goto out;
	}
	err = prev;
out:
	close(fd);
	return err;
}
