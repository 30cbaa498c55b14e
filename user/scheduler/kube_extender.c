// SPDX-License-Identifier: GPL-2.0
/* kube-scheduler's extender wire format (see extender.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kube_extender.h"

void ks_ext_args_free(struct ks_ext_args *a)
{
	ks_json_free(&a->j);
	free(a->names);
	free(a->item);
	a->names = NULL;
	a->item = NULL;
	a->n = 0;
}

static int grow(struct ks_ext_args *a, int n, char *err, size_t errlen)
{
	if (n > KS_EXT_MAX_NODES) {
		snprintf(err, errlen, "more than %d candidate nodes", KS_EXT_MAX_NODES);
		return -E2BIG;
	}
	a->names = calloc((size_t)n + 1, sizeof(*a->names));
	a->item = calloc((size_t)n + 1, sizeof(*a->item));
	if (!a->names || !a->item) {
		snprintf(err, errlen, "out of memory for %d nodes", n);
		return -ENOMEM;
	}
	return 0;
}

static bool absent(const struct ks_json *j, int i)
{
	return i < 0 || ks_json_is_null(j, i);
}

int ks_ext_args_parse(const char *body, size_t len, struct ks_ext_args *a, char *err, size_t errlen)
{
	int pod, nodes, names, items, k, el, rc;

	memset(a, 0, sizeof(*a));
	rc = ks_json_parse_limits(&a->j, body, len, KS_EXT_MAX_BYTES, KS_EXT_MAX_TOKENS, err, errlen);
	if (rc)
		return rc;
	if (!ks_json_is_object(&a->j, 0)) {
		snprintf(err, errlen, "ExtenderArgs is a %s, want an object", ks_json_type_name(&a->j, 0));
		return -EINVAL;
	}
	pod = ks_json_member(&a->j, 0, "pod");
	if (!ks_json_is_object(&a->j, pod)) {
		snprintf(err, errlen, "ExtenderArgs.pod is %s%s, want a Pod object", pod < 0 ? "" : "a ",
			 pod < 0 ? "missing" : ks_json_type_name(&a->j, pod));
		return -EINVAL;
	}
	ks_json_string(&a->j, ks_json_path_at(&a->j, pod, "metadata.namespace"), a->pod_ns, sizeof(a->pod_ns));
	ks_json_string(&a->j, ks_json_path_at(&a->j, pod, "metadata.name"), a->pod_name, sizeof(a->pod_name));
	names = ks_json_member(&a->j, 0, "nodenames");
	nodes = ks_json_member(&a->j, 0, "nodes");
	if (!absent(&a->j, names)) {
		if (!ks_json_is_array(&a->j, names)) {
			snprintf(err, errlen, "ExtenderArgs.nodenames is a %s, want an array of strings",
				 ks_json_type_name(&a->j, names));
			return -EINVAL;
		}
		a->by_name = true;
		rc = grow(a, a->j.tok[names].size, err, errlen);
		if (rc)
			return rc;
		for (k = 0, el = names + 1; k < a->j.tok[names].size; k++, el = ks_json_next(&a->j, el)) {
			if (ks_json_string(&a->j, el, a->names[k], KS_EXT_NAME_LEN) || !a->names[k][0]) {
				snprintf(err, errlen, "ExtenderArgs.nodenames[%d] is not a node name", k);
				return -EINVAL;
			}
			a->item[k] = el;
			a->n++;
		}
		return 0;
	}
	if (absent(&a->j, nodes)) {
		snprintf(err, errlen, "ExtenderArgs has neither nodenames nor nodes");
		return -EINVAL;
	}
	items = ks_json_member(&a->j, nodes, "items");
	if (!ks_json_is_object(&a->j, nodes) || !(absent(&a->j, items) || ks_json_is_array(&a->j, items))) {
		snprintf(err, errlen, "ExtenderArgs.nodes is not a NodeList with an items array");
		return -EINVAL;
	}
	if (absent(&a->j, items))
		return 0; /* no candidates */
	rc = grow(a, a->j.tok[items].size, err, errlen);
	if (rc)
		return rc;
	for (k = 0, el = items + 1; k < a->j.tok[items].size; k++, el = ks_json_next(&a->j, el)) {
		if (!ks_json_is_object(&a->j, el) ||
		    ks_json_string(&a->j, ks_json_path_at(&a->j, el, "metadata.name"), a->names[k], KS_EXT_NAME_LEN) ||
		    !a->names[k][0]) {
			snprintf(err, errlen, "ExtenderArgs.nodes.items[%d] has no metadata.name", k);
			return -EINVAL;
		}
		a->item[k] = el;
		a->n++;
	}
	return 0;
}

static int failed_map(struct ks_buf *out, const char *key, const struct ks_ext_args *a, const struct ks_ext_verdict *v,
		      bool unresolvable)
{
	int i, n = 0, rc = ks_buf_printf(out, ",\"%s\":{", key);

	for (i = 0; !rc && i < a->n; i++) {
		if (v[i].pass || v[i].unresolvable != unresolvable)
			continue;
		rc = ks_buf_printf(out, "%s", n++ ? "," : "");
		if (!rc)
			rc = ks_buf_json_str(out, a->names[i]);
		if (!rc)
			rc = ks_buf_printf(out, ":");
		if (!rc)
			rc = ks_buf_json_str(out, v[i].reason);
	}
	return rc ? rc : ks_buf_printf(out, "}");
}

int ks_ext_filter_result(const struct ks_ext_args *a, const struct ks_ext_verdict *v, struct ks_buf *out)
{
	int i, n = 0, rc;

	if (a->by_name)
		rc = ks_buf_printf(out, "{\"nodenames\":[");
	else
		rc = ks_buf_printf(out, "{\"nodes\":{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[");
	for (i = 0; !rc && i < a->n; i++) {
		if (!v[i].pass)
			continue;
		rc = ks_buf_printf(out, "%s", n++ ? "," : "");
		if (rc)
			break;
		if (a->by_name) {
			rc = ks_buf_json_str(out, a->names[i]);
		} else {
			/* the Node as kube-scheduler sent it, byte for byte */
			const jsmntok_t *t = &a->j.tok[a->item[i]];

			rc = ks_buf_append(out, a->j.src + t->start, (size_t)(t->end - t->start));
		}
	}
	if (!rc)
		rc = ks_buf_printf(out, a->by_name ? "]" : "]}");
	if (!rc)
		rc = failed_map(out, "failedNodes", a, v, false);
	if (!rc)
		rc = failed_map(out, "failedAndUnresolvableNodes", a, v, true);
	if (!rc)
		rc = ks_buf_printf(out, ",\"error\":\"\"}");
	return rc;
}

int ks_ext_priorities(const struct ks_ext_args *a, const int *score, struct ks_buf *out)
{
	int i, rc = ks_buf_printf(out, "[");

	for (i = 0; !rc && i < a->n; i++) {
		int sc = score[i] < 0 ? 0 : score[i] > KS_EXT_MAX_PRIORITY ? KS_EXT_MAX_PRIORITY : score[i];

		rc = ks_buf_printf(out, "%s{\"host\":", i ? "," : "");
		if (!rc)
			rc = ks_buf_json_str(out, a->names[i]);
		if (!rc)
			rc = ks_buf_printf(out, ",\"score\":%d}", sc);
	}
	return rc ? rc : ks_buf_printf(out, "]");
}

int ks_ext_priority_of(unsigned int ksense_score)
{
	if (ksense_score > 100)
		ksense_score = 100;
	return (int)(((100 - ksense_score) * KS_EXT_MAX_PRIORITY + 50) / 100);
}
