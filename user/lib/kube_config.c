// SPDX-License-Identifier: GPL-2.0
/*
 * Kubernetes client configuration: a kubeconfig (YAML, read with libyaml so
 * that quoting, flow style and comments of hand-edited files work as
 * kubectl reads them) or the in-cluster service account.  Every error
 * names the file, the line and the field so a bad configuration is fixed
 * in one try.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>
#include <mbedtls/base64.h>
#include "kube.h"

/* A file of at most KUBE_CONFIG_MAX bytes into a NUL-terminated heap buffer. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)KUBE_CONFIG_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path, KUBE_CONFIG_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* read to EOF, not to st_size: files under /var/run/secrets are
	 * symlinks swapped atomically while we read */
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* A bearer token goes into a header line: printable ASCII only, so a
 * stray newline cannot smuggle a header in. */
static int check_token(const char *tok, const char *what, char *err, size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)tok; *p; p++)
		if (*p < 0x21 || *p > 0x7e) {
			snprintf(err, errlen, "%s: byte %zu of the token is not printable ASCII (0x%02x)", what,
				 (size_t)(p - (const unsigned char *)tok), *p);
			return -EINVAL;
		}
	return 0;
}

/* A token file's content into c->token (trailing whitespace trimmed). */
static int load_token_file(struct kube_config *c, const char *path, char *err, size_t errlen)
{
	char *data, what[300];
	size_t len;
	int rc = read_file(path, &data, &len, err, errlen);

	if (rc)
		return rc;
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
		       data[len - 1] == '\t'))
		data[--len] = '\0';
	snprintf(what, sizeof(what), "token file %.250s", path);
	if (!len) {
		snprintf(err, errlen, "%s is empty", what);
		rc = -EINVAL;
	} else if (len >= sizeof(c->token)) {
		snprintf(err, errlen, "%s: token of %zu bytes is over %zu", what, len, sizeof(c->token) - 1);
		rc = -E2BIG;
	} else {
		rc = check_token(data, what, err, errlen);
		if (!rc)
			memcpy(c->token, data, len + 1);
	}
	free(data);
	if (!rc && path != c->token_path)
		snprintf(c->token_path, sizeof(c->token_path), "%s", path);
	return rc;
}

/* server URL -> https, host, port, base_path. */
static int parse_server(struct kube_config *c, const char *url, char *err, size_t errlen)
{
	const char *p = url, *auth_end, *host_end, *port_s = NULL;
	size_t hlen;

	if (!strncasecmp(p, "https://", 8)) {
		c->https = true;
		p += 8;
	} else if (!strncasecmp(p, "http://", 7)) {
		c->https = false;
		p += 7;
	} else if (strstr(p, "://")) {
		snprintf(err, errlen, "server %s: scheme is not https or http", url);
		return -EINVAL;
	} else {
		c->https = true; /* kubectl assumes https for a bare host:port */
	}
	auth_end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(auth_end - p))) {
		snprintf(err, errlen, "server %s: user info in the URL is not supported", url);
		return -EINVAL;
	}
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(auth_end - p));
		if (!host_end) {
			snprintf(err, errlen, "server %s: unterminated [IPv6] host", url);
			return -EINVAL;
		}
		p++;
		if (host_end + 1 < auth_end) {
			if (host_end[1] != ':') {
				snprintf(err, errlen, "server %s: junk after ]", url);
				return -EINVAL;
			}
			port_s = host_end + 2;
		}
	} else {
		host_end = memchr(p, ':', (size_t)(auth_end - p));
		if (host_end)
			port_s = host_end + 1;
		else
			host_end = auth_end;
	}
	hlen = (size_t)(host_end - p);
	if (!hlen || hlen >= sizeof(c->host)) {
		snprintf(err, errlen, "server %s: host is empty or too long", url);
		return -EINVAL;
	}
	memcpy(c->host, p, hlen);
	c->host[hlen] = '\0';
	c->port = c->https ? 443 : 80;
	if (port_s) {
		char *end;
		long v = strtol(port_s, &end, 10);

		if (end != auth_end || end == port_s || v < 1 || v > 65535) {
			snprintf(err, errlen, "server %s: port is not a number in 1..65535", url);
			return -EINVAL;
		}
		c->port = (int)v;
	}
	if (*auth_end == '?' || *auth_end == '#') {
		snprintf(err, errlen, "server %s: a query or fragment is not supported", url);
		return -EINVAL;
	}
	hlen = strlen(auth_end);
	while (hlen && auth_end[hlen - 1] == '/')
		hlen--;
	if (hlen >= sizeof(c->base_path)) {
		snprintf(err, errlen, "server %s: path prefix too long", url);
		return -EINVAL;
	}
	memcpy(c->base_path, auth_end, hlen);
	c->base_path[hlen] = '\0';
	snprintf(c->server, sizeof(c->server), "%s", url);
	return 0;
}

void kube_config_free(struct kube_config *c)
{
	free(c->ca_pem);
	free(c->cert_pem);
	if (c->key_pem) {
		/* a private key does not outlive its use in freed heap */
		memset(c->key_pem, 0, c->key_len);
		free(c->key_pem);
	}
	c->ca_pem = c->cert_pem = c->key_pem = NULL;
	c->ca_len = c->cert_len = c->key_len = 0;
	memset(c->token, 0, sizeof(c->token));
}

int kube_config_in_cluster(struct kube_config *c, const char *dir, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[4200], url[512], why[256], *ns = NULL;
	size_t nslen;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!dir || !*dir)
		dir = getenv(KUBE_SA_DIR_ENV);
	if (!dir || !*dir)
		dir = KUBE_SA_DIR;
	snprintf(c->source, sizeof(c->source), "in-cluster %s", dir);
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen, "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
			 "must be set (not running in a pod?)");
		return -ENOENT;
	}
	snprintf(url, sizeof(url), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	rc = parse_server(c, url, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "in-cluster config: KUBERNETES_SERVICE_HOST/PORT: %s", why);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/token", dir);
	rc = load_token_file(c, path, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "in-cluster config: %s", why);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	rc = read_file(path, &c->ca_pem, &c->ca_len, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "in-cluster config: CA: %s", why);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/namespace", dir);
	snprintf(c->namespace_, sizeof(c->namespace_), "default");
	if (!read_file(path, &ns, &nslen, why, sizeof(why))) {
		while (nslen && (ns[nslen - 1] == '\n' || ns[nslen - 1] == ' '))
			ns[--nslen] = '\0';
		if (nslen && nslen < sizeof(c->namespace_))
			memcpy(c->namespace_, ns, nslen + 1);
		free(ns);
	}
	return 0;
fail:
	kube_config_free(c);
	return rc;
}

/* ---- kubeconfig ---- */

struct kc {
	yaml_document_t doc;
	const char *path;
	char dir[4096];    /* relative file names are relative to the kubeconfig */
	char *err;
	size_t errlen;
};

static unsigned long line_of(const yaml_node_t *n)
{
	return n ? (unsigned long)n->start_mark.line + 1 : 0;
}

static int kc_fail(struct kc *k, const yaml_node_t *at, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int kc_fail(struct kc *k, const yaml_node_t *at, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at)
		snprintf(k->err, k->errlen, "kubeconfig %s: line %lu: %s", k->path, line_of(at), msg);
	else
		snprintf(k->err, k->errlen, "kubeconfig %s: %s", k->path, msg);
	return rc;
}

static yaml_node_t *node(struct kc *k, int id)
{
	return yaml_document_get_node(&k->doc, id);
}

/* Value of `key` in mapping m, or NULL. */
static yaml_node_t *member(struct kc *k, const yaml_node_t *m, const char *key)
{
	yaml_node_pair_t *p;

	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(k, p->key);

		if (kn && kn->type == YAML_SCALAR_NODE && !strcmp((const char *)kn->data.scalar.value, key))
			return node(k, p->value);
	}
	return NULL;
}

/* A scalar's text, or NULL for absent, null, empty or non-scalar values
 * (a non-scalar where a string belongs is reported by the caller). */
static const char *scalar(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!strcmp(v, "null") || !strcmp(v, "~")))
		return NULL;
	return *v ? v : NULL;
}

/* A string field: absent -> NULL; present but not a scalar -> error. */
static int str_field(struct kc *k, const yaml_node_t *m, const char *key, const char *where,
		     const char **out)
{
	yaml_node_t *v = member(k, m, key);

	*out = scalar(v);
	if (v && v->type != YAML_SCALAR_NODE)
		return kc_fail(k, v, -EINVAL, "%s.%s is not a string", where, key);
	return 0;
}

/* The element of sequence `list` whose name is `name`, and that element's
 * `inner` mapping (cluster, user, context). */
static int find_named(struct kc *k, const char *list, const char *name, const char *inner,
		      yaml_node_t **out, char *where, size_t wherelen)
{
	yaml_node_t *root = yaml_document_get_root_node(&k->doc), *seq = member(k, root, list);
	yaml_node_item_t *it;

	snprintf(where, wherelen, "%s[name=%s].%s", list, name, inner);
	if (!seq)
		return kc_fail(k, NULL, -ENOENT, "no %s list (looking for %s \"%s\")", list, inner, name);
	if (seq->type != YAML_SEQUENCE_NODE)
		return kc_fail(k, seq, -EINVAL, "%s is not a list", list);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = node(k, *it), *n = member(k, e, "name");

		if (!scalar(n) || strcmp(scalar(n), name))
			continue;
		*out = member(k, e, inner);
		if (!*out)
			return kc_fail(k, e, -ENOENT, "%s is missing", where);
		if ((*out)->type != YAML_MAPPING_NODE)
			return kc_fail(k, *out, -EINVAL, "%s is not a mapping", where);
		return 0;
	}
	return kc_fail(k, seq, -ENOENT, "%s \"%s\" not found in %s", inner, name, list);
}

static void resolve(struct kc *k, const char *file, char *out, size_t outlen)
{
	if (file[0] == '/' || !k->dir[0])
		snprintf(out, outlen, "%s", file);
	else
		snprintf(out, outlen, "%s/%s", k->dir, file);
}

/* PEM/DER bytes from `<key>-data` (base64) or `<key>` (a file name). */
static int load_blob(struct kc *k, const yaml_node_t *m, const char *where, const char *key,
		     char **out, size_t *outlen)
{
	char dkey[64], path[4200], why[300];
	const char *data, *file;
	unsigned char *buf;
	size_t n;
	int rc;

	*out = NULL;
	*outlen = 0;
	snprintf(dkey, sizeof(dkey), "%s-data", key);
	rc = str_field(k, m, dkey, where, &data);
	if (!rc)
		rc = str_field(k, m, key, where, &file);
	if (rc)
		return rc;
	if (data) {
		/* the decoded size is at most 3/4 of the text */
		n = strlen(data) / 4 * 3 + 4;
		buf = malloc(n + 1);
		if (!buf)
			return kc_fail(k, member(k, m, dkey), -ENOMEM, "%s.%s: out of memory", where, dkey);
		if (mbedtls_base64_decode(buf, n, &n, (const unsigned char *)data, strlen(data)) || !n) {
			free(buf);
			return kc_fail(k, member(k, m, dkey), -EINVAL, "%s.%s: not valid base64", where, dkey);
		}
		buf[n] = '\0';
		*out = (char *)buf;
		*outlen = n;
		return 0;
	}
	if (file) {
		resolve(k, file, path, sizeof(path));
		rc = read_file(path, out, outlen, why, sizeof(why));
		if (rc)
			return kc_fail(k, member(k, m, key), rc, "%s.%s: %s", where, key, why);
		if (!*outlen) {
			free(*out);
			*out = NULL;
			return kc_fail(k, member(k, m, key), -EINVAL, "%s.%s: %s is empty", where, key, path);
		}
	}
	return 0;
}

static int parse_bool(struct kc *k, const yaml_node_t *m, const char *key, const char *where, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", "On" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "off", "Off" };
	yaml_node_t *v = member(k, m, key);
	const char *s = scalar(v);
	size_t i;

	*out = false;
	if (!v || !s)
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i]))
			return 0;
	}
	return kc_fail(k, v, -EINVAL, "%s.%s is \"%s\", not true or false", where, key, s);
}

static int kc_cluster(struct kc *k, struct kube_config *c, const char *name)
{
	char where[512], why[300];
	yaml_node_t *cl;
	const char *server, *sni;
	int rc = find_named(k, "clusters", name, "cluster", &cl, where, sizeof(where));

	if (rc)
		return rc;
	rc = str_field(k, cl, "server", where, &server);
	if (rc)
		return rc;
	if (!server)
		return kc_fail(k, cl, -EINVAL, "%s.server is missing", where);
	rc = parse_server(c, server, why, sizeof(why));
	if (rc)
		return kc_fail(k, member(k, cl, "server"), rc, "%s.server: %s", where, why);
	rc = str_field(k, cl, "tls-server-name", where, &sni);
	if (rc)
		return rc;
	if (sni)
		snprintf(c->tls_server_name, sizeof(c->tls_server_name), "%s", sni);
	rc = parse_bool(k, cl, "insecure-skip-tls-verify", where, &c->insecure);
	if (rc)
		return rc;
	rc = load_blob(k, cl, where, "certificate-authority", &c->ca_pem, &c->ca_len);
	if (rc)
		return rc;
	if (c->insecure && c->ca_pem)
		/* kubectl refuses this pair; so do we, rather than guess */
		return kc_fail(k, cl, -EINVAL, "%s: insecure-skip-tls-verify together with a certificate "
			       "authority", where);
	return 0;
}

static int kc_user(struct kc *k, struct kube_config *c, const char *name)
{
	static const char *const unsupported[] = { "exec", "auth-provider", "username", "password" };
	char where[512], what[600], path[4200];
	yaml_node_t *u;
	const char *token, *file;
	size_t i;
	int rc = find_named(k, "users", name, "user", &u, where, sizeof(where));

	if (rc)
		return rc;
	rc = str_field(k, u, "token", where, &token);
	if (!rc)
		rc = str_field(k, u, "tokenFile", where, &file);
	if (rc)
		return rc;
	if (token) {
		if (strlen(token) >= sizeof(c->token))
			return kc_fail(k, member(k, u, "token"), -E2BIG, "%s.token is over %zu bytes", where,
				       sizeof(c->token) - 1);
		char why[700];

		snprintf(what, sizeof(what), "%s.token", where);
		rc = check_token(token, what, why, sizeof(why));
		if (rc)
			return kc_fail(k, member(k, u, "token"), rc, "%s", why);
		snprintf(c->token, sizeof(c->token), "%s", token);
	} else if (file) {
		resolve(k, file, path, sizeof(path));
		rc = load_token_file(c, path, what, sizeof(what));
		if (rc)
			return kc_fail(k, member(k, u, "tokenFile"), rc, "%s.tokenFile: %s", where, what);
	}
	rc = load_blob(k, u, where, "client-certificate", &c->cert_pem, &c->cert_len);
	if (!rc)
		rc = load_blob(k, u, where, "client-key", &c->key_pem, &c->key_len);
	if (rc)
		return rc;
	if (!!c->cert_pem != !!c->key_pem)
		return kc_fail(k, u, -EINVAL, "%s has %s but no %s", where,
			       c->cert_pem ? "a client certificate" : "a client key",
			       c->cert_pem ? "client-key or client-key-data" :
					     "client-certificate or client-certificate-data");
	if (!c->token[0] && !c->cert_pem)
		for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
			if (member(k, u, unsupported[i]))
				return kc_fail(k, member(k, u, unsupported[i]), -EOPNOTSUPP,
					       "%s.%s is not supported: use token, tokenFile or a client "
					       "certificate", where, unsupported[i]);
	return 0;
}

static int kc_load(struct kc *k, struct kube_config *c, const char *context)
{
	yaml_node_t *root = yaml_document_get_root_node(&k->doc), *ctx;
	const char *cur = NULL, *cluster, *user, *ns;
	char where[512];
	int rc;

	if (!root)
		return kc_fail(k, NULL, -EINVAL, "empty file");
	if (root->type != YAML_MAPPING_NODE)
		return kc_fail(k, root, -EINVAL, "the document is not a mapping");
	if (context && *context) {
		cur = context;
	} else {
		rc = str_field(k, root, "current-context", "", &cur);
		if (rc)
			return rc;
		if (!cur)
			return kc_fail(k, root, -EINVAL, "current-context is missing and no context was given");
	}
	snprintf(c->context, sizeof(c->context), "%s", cur);
	snprintf(c->source, sizeof(c->source), "kubeconfig %s context %s", k->path, cur);
	rc = find_named(k, "contexts", cur, "context", &ctx, where, sizeof(where));
	if (rc)
		return rc;
	rc = str_field(k, ctx, "cluster", where, &cluster);
	if (!rc)
		rc = str_field(k, ctx, "user", where, &user);
	if (!rc)
		rc = str_field(k, ctx, "namespace", where, &ns);
	if (rc)
		return rc;
	if (!cluster)
		return kc_fail(k, ctx, -EINVAL, "%s.cluster is missing", where);
	snprintf(c->namespace_, sizeof(c->namespace_), "%s", ns ? ns : "default");
	rc = kc_cluster(k, c, cluster);
	if (rc)
		return rc;
	/* no user is anonymous access, which a cluster may allow */
	return user ? kc_user(k, c, user) : 0;
}

static int kubeconfig_file(struct kube_config *c, const char *path, const char *context, char *err,
			   size_t errlen)
{
	struct kc k = { .path = path, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	char *text = NULL, *slash;
	size_t len;
	bool have_doc = false;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->source, sizeof(c->source), "kubeconfig %s", path);
	rc = read_file(path, &text, &len, err, errlen);
	if (rc) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "kubeconfig %s", why);
		return rc;
	}
	snprintf(k.dir, sizeof(k.dir), "%s", path);
	slash = strrchr(k.dir, '/');
	if (slash)
		*slash = '\0';
	else
		k.dir[0] = '\0';
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		snprintf(err, errlen, "kubeconfig %s: out of memory for the YAML parser", path);
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &k.doc)) {
		rc = -EINVAL;
		snprintf(err, errlen, "kubeconfig %s: YAML error at line %zu column %zu: %s%s%s", path,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
			 parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		goto out;
	}
	have_doc = true;
	yaml_parser_delete(&parser);
	rc = kc_load(&k, c, context);
out:
	if (have_doc)
		yaml_document_delete(&k.doc);
	free(text);
	if (rc)
		kube_config_free(c);
	return rc;
}

int kube_config_load(struct kube_config *c, const char *kubeconfig_path, const char *context,
		     char *err, size_t errlen)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char path[4096];

	if (kubeconfig_path && *kubeconfig_path)
		return kubeconfig_file(c, kubeconfig_path, context, err, errlen);
	if (env && *env) {
		/* kubectl merges the list; taking the first file that exists
		 * covers the common single-file case without a merge engine */
		const char *p = env;

		while (*p) {
			size_t n = strcspn(p, ":");

			if (n && n < sizeof(path)) {
				memcpy(path, p, n);
				path[n] = '\0';
				if (!access(path, F_OK))
					return kubeconfig_file(c, path, context, err, errlen);
			}
			p += n;
			if (*p == ':')
				p++;
		}
		memset(c, 0, sizeof(*c));
		snprintf(err, errlen, "KUBECONFIG=%s: none of its files exists", env);
		return -ENOENT;
	}
	if (home && *home) {
		snprintf(path, sizeof(path), "%s/.kube/config", home);
		if (!access(path, F_OK))
			return kubeconfig_file(c, path, context, err, errlen);
	}
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return kube_config_in_cluster(c, NULL, err, errlen);
	memset(c, 0, sizeof(*c));
	snprintf(err, errlen, "no Kubernetes configuration: no --kubeconfig, KUBECONFIG unset, no "
		 "~/.kube/config, and KUBERNETES_SERVICE_HOST unset (not in a pod)");
	return -ENOENT;
}
