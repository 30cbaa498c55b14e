// SPDX-License-Identifier: GPL-2.0
/*
 * Per-thread delay accounting over generic netlink TASKSTATS, with libnl.
 *
 * Request:  TASKSTATS_CMD_GET { TASKSTATS_CMD_ATTR_PID = tid }
 * Reply:    TASKSTATS_CMD_NEW { TASKSTATS_TYPE_AGGR_PID {
 *                TASKSTATS_TYPE_PID = tid, TASKSTATS_TYPE_STATS = struct taskstats } }
 * followed by the ACK libnl asks for, or a single NLMSG_ERROR on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/taskstats.h>
#include "taskstats.h"

#define DELAYACCT_SYSCTL "/proc/sys/kernel/task_delayacct"

/* Bytes of struct taskstats we need: everything up to cpu_run_real_total. */
#define TS_NEEDED (offsetof(struct taskstats, cpu_run_real_total) + \
		   sizeof(((struct taskstats *)0)->cpu_run_real_total))

struct ks_taskstats_client {
	struct nl_sock *sock;
	struct nl_cb *cb;
	int family;
};

struct ts_reply {
	pid_t tid;
	struct ks_taskstats *out;
	int found;     /* a TASKSTATS_TYPE_STATS for tid was parsed */
	int done;      /* ACK or error seen */
	int err;       /* 0 or negative errno from parsing / the kernel */
};

/* libnl keeps its own error numbering; callers want errno. */
static int nl_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS:           return 0;
	case NLE_INTR:              return -EINTR;
	case NLE_BAD_SOCK:          return -EBADF;
	case NLE_AGAIN:             return -EAGAIN;
	case NLE_NOMEM:             return -ENOMEM;
	case NLE_EXIST:             return -EEXIST;
	case NLE_INVAL:             return -EINVAL;
	case NLE_RANGE:             return -ERANGE;
	case NLE_MSGSIZE:           return -EMSGSIZE;
	case NLE_OPNOTSUPP:         return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:      return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:      return -ENOENT;
	case NLE_NOATTR:
	case NLE_MISSING_ATTR:      return -ENODATA;
	case NLE_SEQ_MISMATCH:      return -EPROTO;
	case NLE_MSG_OVERFLOW:
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_PARSE_ERR:
	case NLE_ATTRSIZE:          return -EBADMSG;
	case NLE_NOADDR:            return -EADDRNOTAVAIL;
	case NLE_MSGTYPE_NOSUPPORT: return -EPROTO;
	case NLE_BUSY:              return -EBUSY;
	case NLE_PROTO_MISMATCH:    return -EPROTONOSUPPORT;
	case NLE_NOACCESS:          return -EACCES;
	case NLE_PERM:              return -EPERM;
	case NLE_NODEV:             return -ENODEV;
	case NLE_DUMP_INTR:         return -EINTR;
	default:                    return -EIO;
	}
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	static struct nla_policy top_policy[TASKSTATS_TYPE_MAX + 1] = {
		[TASKSTATS_TYPE_AGGR_PID] = { .type = NLA_NESTED },
	};
	static struct nla_policy aggr_policy[TASKSTATS_TYPE_MAX + 1] = {
		[TASKSTATS_TYPE_PID]   = { .type = NLA_U32 },
		[TASKSTATS_TYPE_STATS] = { .type = NLA_UNSPEC, .minlen = TS_NEEDED },
	};
	struct ts_reply *r = arg;
	struct nlattr *top[TASKSTATS_TYPE_MAX + 1];
	struct nlattr *aggr[TASKSTATS_TYPE_MAX + 1];
	struct taskstats ts;
	size_t len;
	int err;

	err = genlmsg_parse(nlmsg_hdr(msg), 0, top, TASKSTATS_TYPE_MAX, top_policy);
	if (err < 0) {
		r->err = nl_to_errno(err);
		goto out;
	}
	if (!top[TASKSTATS_TYPE_AGGR_PID])
		goto out; /* not ours (e.g. a TGID aggregate); ignore */

	err = nla_parse_nested(aggr, TASKSTATS_TYPE_MAX, top[TASKSTATS_TYPE_AGGR_PID],
			       aggr_policy);
	if (err < 0) {
		r->err = nl_to_errno(err);
		goto out;
	}
	if (!aggr[TASKSTATS_TYPE_PID] || !aggr[TASKSTATS_TYPE_STATS]) {
		r->err = -EBADMSG;
		goto out;
	}
	if ((pid_t)nla_get_u32(aggr[TASKSTATS_TYPE_PID]) != r->tid)
		goto out; /* reply for another task; ignore */

	/* The kernel's struct may be newer (longer) or older than ours. */
	memset(&ts, 0, sizeof(ts));
	len = (size_t)nla_len(aggr[TASKSTATS_TYPE_STATS]);
	if (len < TS_NEEDED) {
		r->err = -EBADMSG;
		goto out;
	}
	memcpy(&ts, nla_data(aggr[TASKSTATS_TYPE_STATS]), len < sizeof(ts) ? len : sizeof(ts));

	r->out->cpu_delay_total_ns = ts.cpu_delay_total;
	r->out->cpu_count = ts.cpu_count;
	r->out->blkio_delay_total_ns = ts.blkio_delay_total;
	r->out->blkio_count = ts.blkio_count;
	r->out->cpu_run_real_total_ns = ts.cpu_run_real_total;
	r->found = 1;
out:
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct ts_reply *r = arg;

	(void)msg;
	r->done = 1;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct ts_reply *r = arg;

	(void)nla;
	/* The kernel answers ESRCH when no task has that id. */
	r->err = e->error == -ESRCH ? -ENOENT : (e->error < 0 ? e->error : -EIO);
	r->done = 1;
	return NL_STOP;
}

int ks_taskstats_open(struct ks_taskstats_client **out)
{
	struct ks_taskstats_client *c = NULL;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;

	c = calloc(1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto cleanup;
	}
	c->sock = nl_socket_alloc();
	if (!c->sock) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = genl_connect(c->sock);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}
	err = genl_ctrl_resolve(c->sock, TASKSTATS_GENL_NAME);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}
	c->family = err;
	c->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!c->cb) {
		err = -ENOMEM;
		goto cleanup;
	}
	*out = c;
	c = NULL;
	err = 0;
cleanup:
	ks_taskstats_close(c);
	return err;
}

int ks_taskstats_tid(struct ks_taskstats_client *c, pid_t tid, struct ks_taskstats *out)
{
	struct ts_reply r = { .tid = tid, .out = out };
	struct nl_msg *msg = NULL;
	int err;

	if (!c || !c->sock || !c->cb || !out || tid <= 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));

	msg = nlmsg_alloc();
	if (!msg) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, 0,
			 TASKSTATS_CMD_GET, TASKSTATS_GENL_VERSION)) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = nla_put_u32(msg, TASKSTATS_CMD_ATTR_PID, (uint32_t)tid);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}

	err = nl_cb_set(c->cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &r);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}
	err = nl_cb_set(c->cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &r);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}
	err = nl_cb_err(c->cb, NL_CB_CUSTOM, on_error, &r);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}

	/* nl_send_auto() asks for an ACK (libnl's auto-ack is on by default). */
	err = nl_send_auto(c->sock, msg);
	if (err < 0) {
		err = nl_to_errno(err);
		goto cleanup;
	}

	/* Reply and ACK may come in separate datagrams: read until one ends it. */
	while (!r.done) {
		err = nl_recvmsgs(c->sock, c->cb);
		if (r.err < 0) {
			err = r.err;
			goto cleanup;
		}
		if (err < 0) {
			err = nl_to_errno(err);
			goto cleanup;
		}
	}
	err = r.found ? 0 : -ENODATA;
cleanup:
	if (c && c->cb) {
		/* Don't leave callbacks pointing at this stack frame. */
		nl_cb_set(c->cb, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
		nl_cb_set(c->cb, NL_CB_ACK, NL_CB_DEFAULT, NULL, NULL);
		nl_cb_err(c->cb, NL_CB_DEFAULT, NULL, NULL);
	}
	nlmsg_free(msg);
	if (err < 0 && out)
		memset(out, 0, sizeof(*out));
	return err;
}

void ks_taskstats_close(struct ks_taskstats_client *c)
{
	if (!c)
		return;
	nl_cb_put(c->cb);
	nl_socket_free(c->sock);
	free(c);
}

int ks_delayacct_set(int on)
{
	char buf[16];
	ssize_t n;
	int fd = -1;
	int prev;
	int err;

	fd = open(DELAYACCT_SYSCTL, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		err = -errno;
		goto cleanup;
	}
	if (n == 0 || buf[0] < '0' || buf[0] > '9') {
		err = -EINVAL;
		goto cleanup;
	}
	buf[n] = '\0';
	prev = atoi(buf) ? 1 : 0;

	on = on ? 1 : 0;
	if (on != prev) {
		buf[0] = on ? '1' : '0';
		buf[1] = '\n';
		n = pwrite(fd, buf, 2, 0);
		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		if (n != 2) {
			err = -EIO;
			goto cleanup;
		}
	}
	err = prev;
cleanup:
	if (fd >= 0)
		close(fd);
	return err;
}
