#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A fake Kubernetes API server for ksense's tests (Python standard library only).

It speaks the wire protocol the real kube-apiserver speaks to the clients
ksense has (the C kube client, the scheduler, the scaler): JSON objects with
apiVersion/kind/metadata, one global resourceVersion counter, Lists with
limit/continue, chunked list+watch streams with bookmarks, Status objects
for every error, 409 on conflicts, 410 on expired resourceVersions and
continue tokens.  Everything is in memory; every write is serialized under
one lock, like an etcd with a single key space.

Usage
-----
    python3 selftests/fake_apiserver.py --port 0 --port-file F
        [--tls-cert C --tls-key K [--client-ca CA]] [--token T]
        [--state-file S.json] [--dump-on-exit D.json]
        [--bookmark-interval 1] [--history 1000] [--seed N]
        [--no-controllers] [--kubelet] [--watch-410 error_event|status]
        [--split-chunks] [--verbose]

Listens on 127.0.0.1 (--host to change); --port 0 picks a free port, which
is written (atomically: a temporary file renamed) to --port-file once the
socket listens.  Plain HTTP/1.1 by default, HTTPS with --tls-cert/--tls-key.
With --token every API request needs "Authorization: Bearer T"; with
--client-ca a client certificate signed by that CA is accepted instead.
/healthz, /livez, /readyz and /fake/* never need credentials.
--state-file seeds objects at start (the body format of POST /fake/objects,
or a GET /fake/state dump); --dump-on-exit writes GET /fake/state there on
SIGTERM/SIGINT.  The two together are a restart that loses no acknowledged
write: the dump is taken under the store's lock after which every write is
refused (503), so a write either is in the dump or was never acknowledged;
the file is replaced atomically (a temporary file, fsync, rename); a restart
from a dump keeps the resourceVersion counter going (and expires every older
rv: clients list again, as after a real API server restart) and keeps the
bindings and leaseWrites logs.  Exit status 0 on SIGTERM/SIGINT.

Resources
---------
  v1                  namespaces, nodes (+status), pods (+status, +binding),
                      bindings (legacy POST), events
  apps/v1             deployments, replicasets (+status, +scale), daemonsets
  coordination.k8s.io/v1  leases
  events.k8s.io/v1    events (a second view of the core v1 events, converted
                      field by field as the real server does)
  autoscaling/v2      horizontalpodautoscalers (+status; stored, no controller)
Verbs: get, list, watch, create, update (PUT), patch (json-patch,
merge-patch, strategic-merge-patch), delete, deletecollection.  Discovery:
/version, /api, /api/v1, /apis, /apis/G, /apis/G/V.  Unknown paths: 404
Status "the server could not find the requested resource".

Control API (no auth needed)
----------------------------
  GET  /healthz (also /livez, /readyz)   -> "ok"
  GET  /fake/state[?resource=pods]       -> {"resourceVersion", "compactedResourceVersion",
        "knobs", "openWatches", "objects": {storage: [obj...]}, "bindings": [...],
        "requests": [...]}  (bindings: every binding attempt with its code;
        requests: the last 5000 requests, method/path/query/code/ms and t,
        the Unix time the response was sent; code -1 for a connection
        dropped unanswered and -2 for one dropped after the request was
        processed; leaseWrites: every Lease create/update with
        holderIdentity and time; bindings and leaseWrites carry the
        client's User-Agent and the server's time.time() of the commit)
  POST /fake/reset    -> all objects, logs and knobs back to the start state; open
        watches are dropped; the resourceVersion counter is NOT reset (it only
        ever grows) and history is compacted, so every rv from before the
        reset gets 410.
  POST /fake/objects  -> seed objects without API rules: body is one object, a
        List {"items": [...]}, or {"objects": [...], "defaults": bool}.  Any kind
        the server knows; uid/creationTimestamp/generation are filled when
        missing, resourceVersion is always a fresh one; an existing object is
        replaced (MODIFIED).  Watchers see the events; controllers do not run.
        "defaults": true gives Nodes a Ready condition, 2 CPU / 4Gi allocatable
        and a hostname label, and Pods phase Pending and default-scheduler.
        Reply: {"resourceVersion", "objects": [{kind, namespace, name, uid,
        resourceVersion}]}.
  POST /fake/control  -> JSON object with any of these keys (applied in order):
        {"drop_watches": true}   close every open watch abruptly: half a chunk,
                                 then the TCP connection is shut down
        {"fail_next": {"method": "POST", "path_regex": "...", "code": 500,
                       "count": 2, "reason": opt, "message": opt,
                       "retry_after": opt seconds, "drop": opt,
                       "user_agent_regex": opt}}
                                 the next `count` matching requests (regex
                                 searched in "path?query") fail with a Status of
                                 that code; with "drop": true (or "before") the
                                 connection is closed with no response and the
                                 request is not processed; with "drop": "after"
                                 it is processed (a write commits) and then the
                                 connection is closed before the response: the
                                 client cannot know the outcome.  With
                                 "user_agent_regex" only requests whose
                                 User-Agent matches (one replica of several)
        {"delay_ms": N, "path_regex": "...", "method": opt, "count": opt,
         "user_agent_regex": opt}
                                 delay matching requests (N=0 removes the rule;
                                 "count": only the next N of them).  A client
                                 that gave up during the delay finds nothing
                                 done: the request is dropped unprocessed, as
                                 the real server cancels a request's context
                                 when its connection closes
        {"compact": true}        forget the event history: every rv older than
                                 the current one is expired (410) for watches,
                                 continue tokens and Exact lists
        {"split_chunks": bool}   write watch streams in random-sized chunks that
                                 cut through events, JSON and UTF-8 sequences
        {"watch_410": "error_event"|"status"}
                                 how a watch from an expired rv fails: 200 and an
                                 ERROR event carrying a 410 Status, then the end
                                 of the stream (the default: what the real watch
                                 cache does), or a plain HTTP 410 Status response
        {"bookmark_interval": seconds}, {"history": N events},
        {"controllers": bool}, {"kubelet": bool}, {"seed": N},
        {"clear_faults": true}   (fail_next and delay_ms rules)
      Reply: {"ok": true, "dropped": number of watches dropped}.

Wire behaviour worth knowing
----------------------------
* resourceVersion: one counter for all kinds, a string in JSON; every write
  bumps it and stamps the object.  A write that changes nothing (a no-op
  update or patch) does not bump it and sends no watch event, as etcd.
* Lists: sorted by namespace/name (etcd key order); items carry no
  kind/apiVersion (the List does); metadata.resourceVersion is the snapshot;
  limit/continue pages all come from that snapshot (rebuilt from history),
  remainingItemCount only without selectors.  A continue token older than
  the history gives 410 Expired, with an "inconsistent" continue token in
  the Status metadata (rv -1: continue from the latest state), as etcd does.
  resourceVersion="" or "0": current state; "N" (NotOlderThan): current state
  once it is at least N (waits up to 3 s, then 504 "Too large resource
  version"); resourceVersionMatch=Exact: the state at N (410 if compacted).
* Watch: ?watch=1|true (or the /watch/ path prefix).  resourceVersion ""/"0":
  synthetic ADDED events for what exists, then changes; "N": every change
  after N, replayed from the history.  sendInitialEvents=true (with
  resourceVersionMatch=NotOlderThan and allowWatchBookmarks) ends the initial
  ADDEDs with a BOOKMARK annotated k8s.io/initial-events-end.  With
  selectors, an object that stops matching gives DELETED (with its last
  matching state and the new rv) and one that starts matching gives ADDED,
  like the watch cache.  Each event is one chunk holding one JSON line.
  BOOKMARKs every --bookmark-interval seconds (default 1; the real server
  sends about one a minute) carry kind, apiVersion and only
  metadata.resourceVersion.  timeoutSeconds ends the stream with the
  terminal chunk.  A watcher that falls behind the whole history has its
  stream ended cleanly (the real watch cache closes slow watchers).
* Binding: POST .../pods/P/binding (or .../bindings) with a v1 Binding ->
  201 {"kind":"Status",...,"status":"Success","code":201}; the pod gets
  spec.nodeName and condition PodScheduled=True.  Already bound -> 409
  'Operation cannot be fulfilled on pods/binding "P": pod P is already
  assigned to node "N"'; unknown pod -> 404; binding.metadata.name must equal
  the URL's (400).  Like the real server the node is not checked to exist.
* Status subresources: writes through the main endpoint keep the old status
  of pods, nodes, deployments, replicasets and daemonsets (the real
  PrepareForUpdate); change status through /status (or seed it).  Pod create
  resets status to phase Pending, Deployment create to empty.
* Scale: GET/PUT/PATCH deployments|replicasets/N/scale, autoscaling/v1 Scale
  {spec.replicas, status.replicas, status.selector}; spec.replicas is omitted
  when 0 (omitempty, as the real JSON).  A stale metadata.resourceVersion in
  a PUT (or in a patch) -> 409.
* Optimistic concurrency: PUT with a metadata.resourceVersion that is not the
  current one -> 409 Conflict ("... the object has been modified; please
  apply your changes to the latest version and try again").  Leases need a
  resourceVersion on PUT (422 otherwise) and PUT of a missing lease creates
  it (AllowCreateOnUpdate), as the real lease strategy; creating an existing
  object -> 409 AlreadyExists; a resourceVersion in a create -> 500
  "resourceVersion should not be set on objects to be created".
* Admission and defaulting: pods get the defaults the API server gives
  (schedulerName default-scheduler, restartPolicy, dnsPolicy, grace period,
  requests defaulted from limits, qosClass, priority 0 and the
  DefaultTolerationSeconds not-ready/unreachable tolerations); pod updates may
  change only images, activeDeadlineSeconds, tolerations and
  schedulingGates (422 otherwise); spec.nodeName is set only by binding.
  Deployments default replicas 1 and need a selector matching the template.
  Validation errors are 422 Invalid with causes.
* Controllers (synchronous, inside the write that triggers them, disable
  with --no-controllers / {"controllers": false}): a Deployment gets a
  ReplicaSet "<name>-<pod-template-hash>" owned by it (ownerReferences,
  controller: true), which gets pods "<rs>-xxxxx" owned by it; scaling and
  template changes are followed (a new template: new ReplicaSet, old scaled
  to 0 at once - no rolling update); deleting an owner deletes its
  dependents (garbage collector; propagationPolicy=Orphan removes the
  ownerReferences instead); a deleted RS-owned pod is replaced.  Seeding
  never triggers controllers.  With --kubelet / {"kubelet": true} a pod that
  gets a node becomes Running and Ready (podIP, hostIP, containerStatuses).

Deliberate differences from the real API server
-----------------------------------------------
* JSON only: no protobuf, no YAML bodies (415), no server-side apply (415),
  no Table output, no managedFields, no dryRun (400).
* Deletion is immediate: no graceful pod termination (no deletionTimestamp
  phase), no finalizers; namespaces are deleted at once with their contents.
* Namespaces need not exist: any namespace name is accepted in paths; the
  four default namespaces exist as objects and more can be created.
* No authorization (RBAC): any authenticated request may do anything.
* Strategic merge patch knows the common patchMergeKeys by field name
  (containers/volumes/env by name, conditions/addresses by type,
  ownerReferences by uid, ports by containerPort, volumeMounts by mountPath,
  finalizers merged as a set) and the $patch, $retainKeys,
  $setElementOrder and $deleteFromPrimitiveList directives; any other list
  is replaced.
* Garbage collection deletes a dependent when any of its owners goes, not
  only when all of them are gone.
* Events never expire; bookmarks are frequent (see above); compression is
  gzip for non-watch responses over 128 KiB when the client accepts it.
* The resourceVersion counter starts at 1.
"""

import argparse
import base64
import bisect
import gzip
import json
import os
import random
import re
import select
import signal
import socket
import ssl
import string
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

MAX_BODY = 3 * 1024 * 1024          # the real server's request body limit
MAX_ANNOTATIONS = 256 * 1024        # total annotation size, as validation says
GZIP_MIN = 128 * 1024               # the real server compresses larger bodies
REQUEST_LOG_MAX = 5000
TRUE_WORDS = ("1", "t", "T", "true", "TRUE", "True")  # Go's strconv.ParseBool

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
OPTIMISTIC = ("the object has been modified; please apply your changes to the "
              "latest version and try again")
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.String / SafeEncodeString


def jcopy(obj):
    """Deep copy of JSON data.  Stored objects are shared with the history
    and with watchers, so nobody may mutate them: writers work on copies."""
    return json.loads(json.dumps(obj))


def dumps(obj):
    """Compact JSON as the API server writes it (UTF-8, no spaces)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def now_rfc3339():
    """metav1.Time: RFC 3339 to the second, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def now_micro():
    """metav1.MicroTime: RFC 3339 to the microsecond, UTC."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def get_path(obj, dotted):
    """obj["a"]["b"] for "a.b", None when any step is missing."""
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def meta(obj):
    """The object's metadata dict (created when missing)."""
    md = obj.get("metadata")
    if not isinstance(md, dict):
        md = obj["metadata"] = {}
    return md


def owner_uids(obj):
    return [r.get("uid") for r in meta(obj).get("ownerReferences") or [] if isinstance(r, dict)]


_QTY_SUFFIX = {"": 1, "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
               "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
               "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QTY_RE = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))$")


def parse_quantity(s):
    """A resource.Quantity string ("2", "1500m", "4Gi", "1e3") as an exact
    Fraction, None when it is not one.  Used to compare requests and limits."""
    m = _QTY_RE.match(str(s).strip())
    if not m:
        return None
    num = Fraction(m.group(1))
    if m.group(2):
        return num * Fraction(10) ** int(m.group(2)[1:])
    if m.group(3) not in _QTY_SUFFIX:
        return None
    return num * _QTY_SUFFIX[m.group(3)]


def fnv32a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(s):
    """rand.SafeEncodeString: the alphabet used for pod-template-hash."""
    return "".join(NAME_ALPHABET[ord(c) % len(NAME_ALPHABET)] for c in s)


# --------------------------------------------------------------------------
# Errors: the Status objects of the real server
# --------------------------------------------------------------------------

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
           413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid",
           429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout"}


class ApiError(Exception):
    """An error answered with a metav1.Status, field for field as
    k8s.io/apimachinery/pkg/api/errors builds it."""

    def __init__(self, code, message, reason=None, details=None, headers=None, list_meta=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "")
        self.details = details
        self.headers = headers or {}
        self.list_meta = list_meta or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.list_meta),
              "status": "Failure", "message": self.message}
        if self.reason:
            st["reason"] = self.reason
        if self.details is not None:
            st["details"] = self.details
        st["code"] = self.code
        return st

    # --- the constructors the server uses, named after apimachinery's ---

    @classmethod
    def not_found(cls, rt, name):
        return cls(404, f'{rt.qualified} "{name}" not found', details=rt.details(name))

    @classmethod
    def already_exists(cls, rt, name):
        return cls(409, f'{rt.qualified} "{name}" already exists', "AlreadyExists", rt.details(name))

    @classmethod
    def conflict(cls, qualified, name, why, group=None, kind=None):
        details = {"name": name}
        if group:
            details["group"] = group
        details["kind"] = kind or qualified.split(".")[0]
        return cls(409, f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
                   "Conflict", details)

    @classmethod
    def bad_request(cls, message):
        return cls(400, message)

    @classmethod
    def invalid(cls, kind, group, name, errors):
        """422 with one cause per field error, message as errors.NewInvalid."""
        msgs = [e.text() for e in errors]
        agg = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
        details = {"name": name}
        if group:
            details["group"] = group
        details["kind"] = kind
        details["causes"] = [e.cause() for e in errors]
        return cls(422, f'{kind}{"." + group if group else ""} "{name}" is invalid: {agg}',
                   details=details)

    @classmethod
    def method_not_allowed(cls):
        return cls(405, "the server does not allow this method on the requested resource",
                   details={})

    @classmethod
    def no_route(cls):
        return cls(404, "the server could not find the requested resource", details={})


class FieldError:
    """One field.Error: its text and its StatusCause."""

    CAUSES = {"Required": "FieldValueRequired", "Invalid": "FieldValueInvalid",
              "Forbidden": "FieldValueForbidden", "NotSupported": "FieldValueNotSupported",
              "TooLong": "FieldValueTooLong", "Duplicate": "FieldValueDuplicate"}
    NOVALUE = object()

    def __init__(self, field, etype, detail="", value=NOVALUE):
        self.field, self.type, self.detail, self.value = field, etype, detail, value

    def body(self):
        if self.type == "Required":
            s = "Required value"
        elif self.type == "Forbidden":
            s = "Forbidden"
        elif self.type == "TooLong":
            s = "Too long"
        elif self.type == "NotSupported":
            s = "Unsupported value: " + json.dumps(self.value)
        elif self.type == "Duplicate":
            s = "Duplicate value: " + json.dumps(self.value)
        else:
            v = self.value
            s = "Invalid value: " + (json.dumps(v) if isinstance(v, str) else
                                     ("null" if v is None else str(v) if v is not self.NOVALUE else ""))
        return s + (": " + self.detail if self.detail else "")

    def text(self):
        return f"{self.field}: {self.body()}"

    def cause(self):
        return {"reason": self.CAUSES[self.type], "message": self.body(), "field": self.field}


_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate_meta(obj, dns_label=False):
    """ValidateObjectMeta's checks that clients trip on: name syntax and the
    total size of annotations."""
    md = meta(obj)
    errs = []
    name = md.get("name")
    if not name:
        errs.append(FieldError("metadata.name", "Required", "name or generateName is required"))
    elif dns_label and (len(name) > 63 or not _LABEL.match(name)):
        errs.append(FieldError("metadata.name", "Invalid",
                               "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                               "characters or '-', and must start and end with an alphanumeric "
                               "character", name))
    elif not dns_label and (len(name) > 253 or not _SUBDOMAIN.match(name)):
        errs.append(FieldError("metadata.name", "Invalid",
                               "a lowercase RFC 1123 subdomain must consist of lower case "
                               "alphanumeric characters, '-' or '.', and must start and end with "
                               "an alphanumeric character", name))
    ann = md.get("annotations") or {}
    if not isinstance(ann, dict):
        errs.append(FieldError("metadata.annotations", "Invalid", "must be a map", None))
    else:
        size = sum(len(str(k)) + len(str(v)) for k, v in ann.items())
        if size > MAX_ANNOTATIONS:
            errs.append(FieldError("metadata.annotations", "TooLong",
                                   f"must have at most {MAX_ANNOTATIONS} bytes"))
    labels = md.get("labels")
    if labels is not None and not isinstance(labels, dict):
        errs.append(FieldError("metadata.labels", "Invalid", "must be a map", None))
    return errs


# --------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------

def _split_unescaped(s, sep):
    """Split s at sep characters not preceded by a backslash (fields.Selector
    escaping: \\, \\= and \\, stand for themselves)."""
    out, cur, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _unescape_field(v):
    return re.sub(r"\\(.)", r"\1", v)


class FieldSelector:
    """fieldSelector=a=b,c!=d: exact string comparisons against the few field
    labels each resource supports (400 "field label not supported" for
    others, as the real server)."""

    def __init__(self, text):
        self.terms = []
        text = text or ""
        if not text.strip():
            return
        for term in _split_unescaped(text, ","):
            m = re.match(r"^((?:[^\\=!]|\\.)*)(!=|==|=)(.*)$", term)
            if not m or not m.group(1).strip():
                raise ApiError.bad_request(
                    f"invalid selector: '{text}'; can't understand '{term}'")
            self.terms.append((m.group(1).strip(), m.group(2), _unescape_field(m.group(3))))

    def check(self, rt):
        for field, _, _ in self.terms:
            if field not in rt.field_labels:
                raise ApiError.bad_request(f'field label not supported: {field}')

    def matches(self, rt, obj):
        for field, op, value in self.terms:
            have = rt.field_value(obj, field)
            if (have == value) != (op != "!="):
                return False
        return True

    def __bool__(self):
        return bool(self.terms)


_LKEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"


class LabelSelector:
    """labelSelector: equality (=, ==, !=), sets (in, notin), existence
    (key, !key) and gt/lt, as labels.Parse accepts them; also built from a
    metav1.LabelSelector (matchLabels/matchExpressions)."""

    def __init__(self, text=None, reqs=None):
        self.reqs = list(reqs or [])   # (key, op, [values])
        if text and text.strip():
            for term in self._terms(text):
                self.reqs.append(self._parse_term(term, text))

    @staticmethod
    def _terms(text):
        out, depth, cur = [], 0, []
        for c in text:
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            if c == "," and depth == 0:
                out.append("".join(cur))
                cur = []
            else:
                cur.append(c)
        out.append("".join(cur))
        return [t.strip() for t in out]

    @staticmethod
    def _parse_term(term, text):
        def bad(why):
            return ApiError.bad_request(f"unable to parse requirement: {why}")
        if not term:
            raise bad(f"found '', expected: identifier in '{text}'")
        m = re.match(rf"^({_LKEY})\s+(in|notin)\s*\((.*)\)$", term)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            if any(not re.match(r"^[A-Za-z0-9._-]*$", v) for v in vals):
                raise bad(f"invalid values in '{term}'")
            return (m.group(1), m.group(2), sorted(vals))
        m = re.match(rf"^!\s*({_LKEY})$", term)
        if m:
            return (m.group(1), "!", [])
        m = re.match(rf"^({_LKEY})\s*(==|!=|=|>|<)\s*([A-Za-z0-9._-]*)$", term)
        if m:
            op = {"==": "=", "=": "="}.get(m.group(2), m.group(2))
            if op in (">", "<") and not re.match(r"^-?[0-9]+$", m.group(3)):
                raise bad(f"for 'Gt', 'Lt' operators, the value must be an integer in '{term}'")
            return (m.group(1), op, [m.group(3)])
        m = re.match(rf"^({_LKEY})$", term)
        if m:
            return (m.group(1), "exists", [])
        raise bad(f"found '{term}', expected: in, notin, =, ==, !=, gt, lt")

    @classmethod
    def from_object(cls, sel):
        """A metav1.LabelSelector ({matchLabels, matchExpressions})."""
        reqs = []
        sel = sel or {}
        for k, v in sorted((sel.get("matchLabels") or {}).items()):
            reqs.append((k, "=", [str(v)]))
        for e in sel.get("matchExpressions") or []:
            op = {"In": "in", "NotIn": "notin", "Exists": "exists",
                  "DoesNotExist": "!"}.get(e.get("operator"), "in")
            reqs.append((e.get("key", ""), op, sorted(e.get("values") or [])))
        return cls(reqs=reqs)

    def matches(self, labels):
        labels = labels or {}
        for key, op, vals in self.reqs:
            has = key in labels
            v = labels.get(key)
            if op == "=" and not (has and v == vals[0]):
                return False
            if op == "!=" and has and v == vals[0]:
                return False
            if op == "in" and not (has and v in vals):
                return False
            if op == "notin" and has and v in vals:
                return False
            if op == "exists" and not has:
                return False
            if op == "!" and has:
                return False
            if op in (">", "<"):
                try:
                    n = int(v)
                except (TypeError, ValueError):
                    return False
                if (op == ">" and not n > int(vals[0])) or (op == "<" and not n < int(vals[0])):
                    return False
        return True

    def __str__(self):
        """The canonical string (sorted by key), as Scale.status.selector."""
        parts = []
        for key, op, vals in sorted(self.reqs, key=lambda r: r[0]):
            if op in ("in", "notin"):
                parts.append(f"{key} {op} ({','.join(vals)})")
            elif op == "exists":
                parts.append(key)
            elif op == "!":
                parts.append("!" + key)
            else:
                parts.append(f"{key}{op}{vals[0]}")
        return ",".join(parts)

    def __bool__(self):
        return bool(self.reqs)


# --------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (application/merge-patch+json)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# patchMergeKey of the list fields ksense's objects have, by field name.
SMP_MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
                  "volumes": "name", "env": "name", "imagePullSecrets": "name",
                  "ports": "containerPort", "volumeMounts": "mountPath",
                  "volumeDevices": "devicePath", "conditions": "type", "addresses": "type",
                  "ownerReferences": "uid", "hostAliases": "ip",
                  "topologySpreadConstraints": "topologyKey"}
SMP_SET_LISTS = {"finalizers"}
_SMP_DELETE = object()


def _smp_strip(v):
    """A patch value stored as is: drop directives nested in it."""
    if isinstance(v, dict):
        return {k: _smp_strip(x) for k, x in v.items()
                if not k.startswith("$")}
    if isinstance(v, list):
        return [_smp_strip(x) for x in v]
    return v


def strategic_merge_patch(target, patch):
    """application/strategic-merge-patch+json for the fields in
    SMP_MERGE_KEYS (see the module docstring for what is not modelled)."""
    if not isinstance(patch, dict):
        return patch
    directive = patch.get("$patch")
    if directive == "replace":
        return _smp_strip(patch)
    if directive == "delete":
        return _SMP_DELETE
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            result[f] = [x for x in result.get(f) or [] if x not in (v or [])]
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, list) and k in SMP_MERGE_KEYS:
            result[k] = _smp_merge_list(result.get(k), v, SMP_MERGE_KEYS[k])
        elif isinstance(v, list) and k in SMP_SET_LISTS:
            cur = list(result.get(k) or [])
            result[k] = cur + [x for x in v if x not in cur]
        elif isinstance(v, dict):
            r = strategic_merge_patch(result.get(k), v)
            if r is _SMP_DELETE:
                result.pop(k, None)
            else:
                result[k] = r
        else:
            result[k] = _smp_strip(v)
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _smp_merge_list(cur, items, key):
    if any(isinstance(i, dict) and i.get("$patch") == "replace" and len(i) == 1 for i in items):
        return [_smp_strip(i) for i in items if not (isinstance(i, dict) and i.get("$patch"))]
    out = list(cur) if isinstance(cur, list) else []
    for item in items:
        if not isinstance(item, dict) or key not in item:
            out.append(_smp_strip(item))
            continue
        idx = next((n for n, e in enumerate(out) if isinstance(e, dict) and e.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is None:
            out.append(_smp_strip(item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out


class JsonPatchError(Exception):
    pass


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _jp_parent(doc, parts):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise JsonPatchError(f"path /{'/'.join(parts)} not found")
    return cur


def _jp_get(doc, parts):
    if not parts:
        return doc
    parent, last = _jp_parent(doc, parts), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise JsonPatchError(f"path /{'/'.join(parts)} not found")


def _jp_remove(doc, parts):
    value = _jp_get(doc, parts)
    parent, last = _jp_parent(doc, parts), parts[-1]
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return value


def _jp_add(doc, parts, value):
    if not parts:
        return value
    parent, last = _jp_parent(doc, parts), parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise JsonPatchError(f"index {last} out of range")
    else:
        raise JsonPatchError(f"cannot add to /{'/'.join(parts)}")
    return doc


def json_patch(doc, ops):
    """RFC 6902 JSON patch (application/json-patch+json) on a copy of doc."""
    if not isinstance(ops, list):
        raise JsonPatchError("a JSON patch must be an array of operations")
    doc = jcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise JsonPatchError(f"invalid operation {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _jp_add(doc, parts, jcopy(op.get("value")))
        elif kind == "remove":
            _jp_remove(doc, parts)
        elif kind == "replace":
            _jp_get(doc, parts)
            if not parts:
                doc = jcopy(op.get("value"))
            else:
                _jp_remove(doc, parts)
                doc = _jp_add(doc, parts, jcopy(op.get("value")))
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = _jp_remove(doc, src) if kind == "move" else jcopy(_jp_get(doc, src))
            doc = _jp_add(doc, parts, value)
        elif kind == "test":
            if _jp_get(doc, parts) != op.get("value"):
                raise JsonPatchError(f"testing value /{'/'.join(parts)} failed")
        else:
            raise JsonPatchError(f"unexpected kind of operation {kind!r}")
    return doc


PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")


def apply_patch(content_type, doc, raw):
    """Apply a PATCH body of the given media type to doc (a stored object's
    external form); errors as the real server reports them."""
    if content_type not in PATCH_TYPES:
        raise ApiError(415, "the body of the request was in an unknown format - accepted media "
                            "types include: application/json-patch+json, "
                            "application/merge-patch+json, application/apply-patch+yaml, "
                            "application/strategic-merge-patch+json")
    try:
        patch = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError.bad_request(f"error decoding patch: {e}")
    if content_type == "application/json-patch+json":
        try:
            return json_patch(doc, patch)
        except JsonPatchError as e:
            raise ApiError(422, f"the server rejected our request due to an error in our request: {e}",
                           "Invalid", details={})
    if not isinstance(patch, dict):
        raise ApiError.bad_request("error decoding patch: a merge patch must be a JSON object")
    fn = merge_patch if content_type == "application/merge-patch+json" else strategic_merge_patch
    return jcopy(fn(doc, patch))


# --------------------------------------------------------------------------
# Resource types: names, scope, and each kind's strategy
# --------------------------------------------------------------------------

class Resource:
    """One REST resource: its names and scope, and the per-kind rules the
    real registry's strategy applies (defaults, status handling, generation,
    validation, which field selectors exist)."""

    group = ""
    version = "v1"
    plural = ""
    singular = ""
    kind = ""
    namespaced = True
    short_names = ()
    verbs = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    allow_unconditional_update = True
    allow_create_on_update = False
    return_deleted_object = False
    has_generation = False
    has_status = False            # status is written only through /status
    subresources = ()
    field_labels = ("metadata.name", "metadata.namespace")
    storage_name = None           # views share another resource's storage
    dns_label_names = False

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def storage(self):
        return self.storage_name or self.qualified

    def details(self, name):
        d = {"name": name}
        if self.group:
            d["group"] = self.group
        d["kind"] = self.plural
        return d

    def key(self, ns, name):
        return f"{ns}/{name}" if self.namespaced else name

    def field_value(self, obj, label):
        v = get_path(obj, label)
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    # --- strategy hooks; obj is a private copy the hook may modify ---

    def defaults(self, obj):
        """Defaulting applied to every create and update body."""

    def prepare_create(self, obj):
        """PrepareForCreate plus admission (status reset, added fields)."""

    def prepare_update(self, new, old):
        """PrepareForUpdate: keep the old status when it has a subresource."""
        if self.has_status:
            if "status" in old:
                new["status"] = jcopy(old["status"])
            else:
                new.pop("status", None)

    def validate(self, obj, old):
        """Field errors (a list of FieldError) for a create (old None) or an update."""
        return []

    # --- representation: stored form <-> what this endpoint speaks ---

    def to_external(self, stored):
        return stored

    def from_external(self, body):
        return body

    def discovery(self):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": list(self.verbs)}]
        if self.short_names:
            out[0]["shortNames"] = list(self.short_names)
        for sub in self.subresources:
            entry = {"name": f"{self.plural}/{sub}", "singularName": "", "namespaced": self.namespaced,
                     "kind": self.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                entry.update(group="autoscaling", version="v1", kind="Scale")
            if sub == "binding":
                entry.update(kind="Binding", verbs=["create"])
            out.append(entry)
        return out


class NamespaceResource(Resource):
    """v1 Namespace (cluster-scoped; deleting one deletes what is in it)."""
    plural, singular, kind, namespaced = "namespaces", "namespace", "Namespace", False
    short_names = ("ns",)
    has_status = True
    subresources = ("status",)
    field_labels = ("metadata.name", "status.phase")
    dns_label_names = True

    def prepare_create(self, obj):
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        meta(obj).setdefault("labels", {})["kubernetes.io/metadata.name"] = meta(obj).get("name", "")


class NodeResource(Resource):
    """v1 Node (cluster-scoped; status kept as given on create, written
    through /status afterwards)."""
    plural, singular, kind, namespaced = "nodes", "node", "Node", False
    short_names = ("no",)
    has_status = True
    subresources = ("status",)
    field_labels = ("metadata.name", "spec.unschedulable")

    def field_value(self, obj, label):
        if label == "spec.unschedulable":
            return "true" if get_path(obj, label) else "false"
        return super().field_value(obj, label)

    TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

    def validate(self, obj, old):
        """The real ValidateNode's checks of taints: a key, a known
        effect, unique key+effect pairs."""
        errs, seen = [], set()
        for i, t in enumerate((obj.get("spec") or {}).get("taints") or []):
            f = f"spec.taints[{i}]"
            if not t.get("key"):
                errs.append(FieldError(f + ".key", "Required"))
            if t.get("effect") not in self.TAINT_EFFECTS:
                errs.append(FieldError(f + ".effect", "NotSupported", "supported values: " +
                                       ", ".join(f'"{e}"' for e in self.TAINT_EFFECTS), t.get("effect")))
            if (t.get("key"), t.get("effect")) in seen:
                errs.append(FieldError(f, "Duplicate", "taints must be unique by key and effect pair",
                                       t.get("key")))
            seen.add((t.get("key"), t.get("effect")))
        return errs


class PodResource(Resource):
    """v1 Pod: defaulting and admission of a real cluster, immutable spec
    (nodeName only through binding), status through /status."""
    plural, singular, kind = "pods", "pod", "Pod"
    short_names = ("po",)
    return_deleted_object = True
    has_status = True
    subresources = ("binding", "status")
    field_labels = ("metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
                    "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
                    "status.phase", "status.podIP", "status.nominatedNodeName")

    def field_value(self, obj, label):
        if label == "spec.hostNetwork":
            return "true" if get_path(obj, label) else "false"
        return super().field_value(obj, label)

    def defaults(self, obj):
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("securityContext", {})
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("enableServiceLinks", True)
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            if not isinstance(c, dict):
                continue
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            image = str(c.get("image", ""))
            tag = image.rsplit("/", 1)[-1]
            latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
            c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
            res = c.setdefault("resources", {})
            if isinstance(res, dict) and isinstance(res.get("limits"), dict):
                req = res.setdefault("requests", {})
                for k, v in res["limits"].items():
                    req.setdefault(k, v)

    def prepare_create(self, obj):
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        tols = spec.setdefault("tolerations", [])
        if isinstance(tols, list):
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                if not any(isinstance(t, dict) and t.get("key") == key and
                           t.get("effect") in (None, "", "NoExecute") for t in tols):
                    tols.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                 "tolerationSeconds": 300})
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}

    def validate(self, obj, old):
        errs = []
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [FieldError("spec", "Required")]
        containers = spec.get("containers")
        if not isinstance(containers, list) or not containers:
            errs.append(FieldError("spec.containers", "Required"))
        else:
            for i, c in enumerate(containers):
                if not isinstance(c, dict) or not c.get("name"):
                    errs.append(FieldError(f"spec.containers[{i}].name", "Required"))
                if not isinstance(c, dict) or not c.get("image"):
                    errs.append(FieldError(f"spec.containers[{i}].image", "Required"))
        if old is not None and isinstance(old.get("spec"), dict):
            errs += self._validate_spec_update(spec, old["spec"])
        return errs

    def _validate_spec_update(self, new, old):
        """ValidatePodUpdate: only a few spec fields are mutable.  Both sides
        are defaulted first: the real server defaults what it reads from
        etcd, so a seeded pod compares as if it had been created normally."""
        a, b = {"spec": jcopy(new)}, {"spec": jcopy(old)}
        self.defaults(a)
        self.defaults(b)
        a, b = a["spec"], b["spec"]
        for s in (a, b):
            for f in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
                s.pop(f, None)
            for lst in ("containers", "initContainers"):
                for c in s.get(lst) or []:
                    if isinstance(c, dict):
                        c.pop("image", None)
        if a != b:
            return [FieldError("spec", "Forbidden",
                               "pod updates may not change fields other than `spec.containers[*].image`,"
                               "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                               "`spec.tolerations` (only additions to existing tolerations),"
                               "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
                               "was previously negative)")]
        return []


def qos_class(spec):
    """status.qosClass from the containers' cpu/memory requests and limits."""
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                  if isinstance(c, dict)]
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        for r in ("cpu", "memory"):
            if r in req or r in lim:
                any_set = True
            if r not in lim or (r in req and parse_quantity(req[r]) != parse_quantity(lim[r])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


class EventResource(Resource):
    """v1 Event, the storage of both event APIs."""
    plural, singular, kind = "events", "event", "Event"
    short_names = ("ev",)
    field_labels = ("metadata.name", "metadata.namespace", "involvedObject.kind",
                    "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                    "involvedObject.apiVersion", "involvedObject.resourceVersion",
                    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type")

    def field_value(self, obj, label):
        if label == "source":
            return str(get_path(obj, "source.component") or "")
        return super().field_value(obj, label)

    def prepare_create(self, obj):
        # fields the real JSON always carries (non-omitempty structs)
        obj.setdefault("source", {})
        for f in ("firstTimestamp", "lastTimestamp", "eventTime"):
            obj.setdefault(f, None)
        obj.setdefault("reportingComponent", "")
        obj.setdefault("reportingInstance", "")

    def validate(self, obj, old):
        errs = []
        io = obj.get("involvedObject") or {}
        ns = meta(obj).get("namespace")
        if io.get("namespace") and io["namespace"] != ns:
            errs.append(FieldError("involvedObject.namespace", "Invalid", "does not match event.namespace",
                                   io["namespace"]))
        if obj.get("type") not in (None, "", "Normal", "Warning"):
            errs.append(FieldError("type", "NotSupported", "", obj["type"]))
        return errs


# core v1 Event field -> events.k8s.io/v1 Event field
EVENT_V1_FIELDS = (("eventTime", "eventTime"), ("series", "series"),
                   ("reportingComponent", "reportingController"),
                   ("reportingInstance", "reportingInstance"), ("action", "action"),
                   ("reason", "reason"), ("involvedObject", "regarding"), ("related", "related"),
                   ("message", "note"), ("type", "type"), ("source", "deprecatedSource"),
                   ("firstTimestamp", "deprecatedFirstTimestamp"),
                   ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount"))


class EventV1Resource(EventResource):
    """events.k8s.io/v1 Event: the same objects as core v1 events, converted
    on the way in and out, with the newer API's stricter validation."""
    group = "events.k8s.io"
    storage_name = "events"
    field_labels = EventResource.field_labels + (
        "regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
        "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
        "reportingController")

    def field_value(self, obj, label):
        if label.startswith("regarding."):
            label = "involvedObject." + label.split(".", 1)[1]
        elif label == "reportingController":
            label = "reportingComponent"
        return super().field_value(obj, label)

    def to_external(self, stored):
        out = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": stored.get("metadata", {})}
        for core, v1 in EVENT_V1_FIELDS:
            v = stored.get(core)
            if v in (None, "", {}, 0) and v1 != "eventTime":
                continue
            out[v1] = v
        return out

    def from_external(self, body):
        out = {"kind": "Event", "apiVersion": "v1"}
        if "metadata" in body:
            out["metadata"] = body["metadata"]
        for core, v1 in EVENT_V1_FIELDS:
            if v1 in body:
                out[core] = body[v1]
        return out

    def validate(self, obj, old):
        errs = super().validate(obj, old)
        if not obj.get("eventTime"):
            errs.append(FieldError("eventTime", "Required"))
        if not obj.get("reportingComponent"):
            errs.append(FieldError("reportingController", "Required"))
        if not obj.get("reportingInstance"):
            errs.append(FieldError("reportingInstance", "Required"))
        if not obj.get("action"):
            errs.append(FieldError("action", "Required"))
        if not obj.get("reason"):
            errs.append(FieldError("reason", "Required"))
        if len(str(obj.get("message") or "")) > 1024:
            errs.append(FieldError("note", "TooLong", "must have at most 1024 bytes"))
        return errs


class AppsResource(Resource):
    """Common apps/v1 rules: generation bumped on spec changes, status only
    through /status, a selector that must match the template."""
    group = "apps"
    has_generation = True
    has_status = True
    field_labels = ("metadata.name", "metadata.namespace")

    def prepare_create(self, obj):
        obj["status"] = {}

    def validate(self, obj, old):
        errs = []
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [FieldError("spec", "Required")]
        sel = spec.get("selector")
        if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
            errs.append(FieldError("spec.selector", "Required"))
        else:
            labels = get_path(spec, "template.metadata.labels") or {}
            if not LabelSelector.from_object(sel).matches(labels):
                errs.append(FieldError("spec.template.metadata.labels", "Invalid",
                                       "`selector` does not match template `labels`", str(labels)))
            if old is not None and get_path(old, "spec.selector") != sel:
                errs.append(FieldError("spec.selector", "Invalid", "field is immutable", str(sel)))
        if "replicas" in spec and (not isinstance(spec["replicas"], int) or spec["replicas"] < 0):
            errs.append(FieldError("spec.replicas", "Invalid", "must be greater than or equal to 0",
                                   spec["replicas"]))
        return errs


class DeploymentResource(AppsResource):
    """apps/v1 Deployment (+scale, +status)."""
    plural, singular, kind = "deployments", "deployment", "Deployment"
    short_names = ("deploy",)
    subresources = ("scale", "status")

    def defaults(self, obj):
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("replicas", 1)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)


class ReplicaSetResource(AppsResource):
    """apps/v1 ReplicaSet (+scale, +status)."""
    plural, singular, kind = "replicasets", "replicaset", "ReplicaSet"
    short_names = ("rs",)
    subresources = ("scale", "status")
    field_labels = ("metadata.name", "metadata.namespace", "status.replicas")

    def defaults(self, obj):
        if isinstance(obj.get("spec"), dict):
            obj["spec"].setdefault("replicas", 1)


class DaemonSetResource(AppsResource):
    """apps/v1 DaemonSet: stored and served; no controller runs it."""
    plural, singular, kind = "daemonsets", "daemonset", "DaemonSet"
    short_names = ("ds",)
    subresources = ("status",)


class LeaseResource(Resource):
    """coordination.k8s.io/v1 Lease: PUT needs a resourceVersion and may
    create (the real lease strategy), so leader election races end in 409."""
    group = "coordination.k8s.io"
    plural, singular, kind = "leases", "lease", "Lease"
    allow_unconditional_update = False
    allow_create_on_update = True

    def validate(self, obj, old):
        errs = []
        spec = obj.get("spec") or {}
        d = spec.get("leaseDurationSeconds")
        if d is not None and (not isinstance(d, int) or d <= 0):
            errs.append(FieldError("spec.leaseDurationSeconds", "Invalid", "must be greater than 0", d))
        t = spec.get("leaseTransitions")
        if t is not None and (not isinstance(t, int) or t < 0):
            errs.append(FieldError("spec.leaseTransitions", "Invalid", "must be greater than or equal to 0", t))
        return errs


class HpaResource(Resource):
    """autoscaling/v2 HorizontalPodAutoscaler: stored and served (status
    through /status); no controller acts on it.  Tests use it to show
    ksense-scaler an HPA that targets the same Deployment."""
    group, version = "autoscaling", "v2"
    plural, singular, kind = "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler"
    short_names = ("hpa",)
    has_status = True
    subresources = ("status",)

    def prepare_create(self, obj):
        obj["status"] = {"currentReplicas": 0, "desiredReplicas": 0}

    def validate(self, obj, old):
        errs = []
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [FieldError("spec", "Required")]
        ref = spec.get("scaleTargetRef")
        if not isinstance(ref, dict):
            errs.append(FieldError("spec.scaleTargetRef", "Required"))
        else:
            if not ref.get("kind"):
                errs.append(FieldError("spec.scaleTargetRef.kind", "Required"))
            if not ref.get("name"):
                errs.append(FieldError("spec.scaleTargetRef.name", "Required"))
        mx = spec.get("maxReplicas")
        if not isinstance(mx, int) or mx < 1:
            errs.append(FieldError("spec.maxReplicas", "Invalid", "must be greater than or equal to 1", mx))
        mn = spec.get("minReplicas")
        if mn is not None and (not isinstance(mn, int) or mn < 1 or (isinstance(mx, int) and mn > mx)):
            errs.append(FieldError("spec.minReplicas", "Invalid",
                                   "must be greater than or equal to 1 and not above maxReplicas", mn))
        return errs


class Registry:
    """Every resource the server serves, looked up by URL or by kind."""

    def __init__(self):
        self.types = [NamespaceResource(), NodeResource(), PodResource(), EventResource(),
                      DeploymentResource(), ReplicaSetResource(), DaemonSetResource(),
                      LeaseResource(), EventV1Resource(), HpaResource()]
        self.by_url = {(t.group, t.version, t.plural): t for t in self.types}
        self.by_storage = {t.storage: t for t in self.types if t.storage_name is None}

    def lookup(self, group, version, plural):
        return self.by_url.get((group, version, plural))

    def for_object(self, obj):
        """The resource an object of apiVersion/kind belongs to (for seeding)."""
        api, kind = obj.get("apiVersion"), obj.get("kind")
        for t in self.types:
            if t.kind == kind and (api is None or api == t.api_version):
                return t
        return None

    def groups(self):
        seen = []
        for t in self.types:
            if t.group and t.group not in seen:
                seen.append(t.group)
        return seen


PODS = PodResource()
DEPLOYMENTS = DeploymentResource()
REPLICASETS = ReplicaSetResource()
NODES = NodeResource()


# --------------------------------------------------------------------------
# Store: objects, the resourceVersion counter and the event history
# --------------------------------------------------------------------------

class HistoryEntry:
    """One committed write: what watches replay and what lists at an older
    resourceVersion undo.  obj is the new state (for DELETED: the last state
    stamped with the deletion's rv), prev the state before (None for ADDED)."""

    __slots__ = ("rv", "storage", "key", "type", "obj", "prev", "cache")

    def __init__(self, rv, storage, key, etype, obj, prev):
        self.rv, self.storage, self.key, self.type, self.obj, self.prev = rv, storage, key, etype, obj, prev
        self.cache = {}


class Store:
    """In-memory etcd: a key space per resource, one revision counter, a
    bounded history of changes.  cond guards everything and wakes watchers.
    Objects in it are never modified in place."""

    def __init__(self, history_cap=1000):
        self.cond = threading.Condition(threading.RLock())
        self.rv = 0
        self.objects = {}
        self.history = []
        self.history_cap = history_cap
        self.compacted_rv = 0       # an rv below this cannot be served any more
        self.drop_gen = 0           # bumped to abort every open watch
        self.stopping = False
        self.frozen = False         # the exit dump is taken: no write may follow it
        self.open_watches = 0

    def bucket(self, storage):
        return self.objects.setdefault(storage, {})

    def get(self, storage, key):
        return self.objects.get(storage, {}).get(key)

    def commit(self, storage, key, etype, obj, prev):
        """Write obj (a private dict the store now owns) under a new rv."""
        with self.cond:
            if self.frozen:
                # the state was dumped for the restart: a write acknowledged
                # now would be lost, so it is refused instead
                raise ApiError(503, "the server is shutting down", "ServiceUnavailable", details={},
                               headers={"Retry-After": "1"})
            self.rv += 1
            if etype == DELETED:
                obj = dict(prev)
                obj["metadata"] = dict(prev.get("metadata") or {})
                self.bucket(storage).pop(key, None)
            else:
                self.bucket(storage)[key] = obj
            meta(obj)["resourceVersion"] = str(self.rv)
            self.history.append(HistoryEntry(self.rv, storage, key, etype, obj, prev))
            while len(self.history) > self.history_cap:
                self.compacted_rv = self.history.pop(0).rv
            self.cond.notify_all()
            return obj

    def compact(self):
        """Forget all history: only the current rv can be listed or watched from."""
        with self.cond:
            self.history = []
            self.compacted_rv = self.rv
            self.cond.notify_all()

    def set_history_cap(self, n):
        with self.cond:
            self.history_cap = max(0, int(n))
            while len(self.history) > self.history_cap:
                self.compacted_rv = self.history.pop(0).rv

    def entries_after(self, rv):
        """History entries with a resourceVersion greater than rv."""
        i = bisect.bisect_right(self.history, rv, key=lambda e: e.rv)
        return self.history[i:]

    def state_at(self, storage, rv):
        """{key: object} of one resource as it was at rv (rv >= compacted_rv),
        rebuilt by undoing newer history entries."""
        cur = dict(self.objects.get(storage, {}))
        if rv >= self.rv:
            return cur
        for e in reversed(self.entries_after(rv)):
            if e.storage != storage:
                continue
            if e.type == ADDED:
                cur.pop(e.key, None)
            else:
                cur[e.key] = e.prev
        return cur

    def drop_watches(self):
        with self.cond:
            n = self.open_watches
            self.drop_gen += 1
            self.cond.notify_all()
            return n


# --------------------------------------------------------------------------
# The API: the registry's create/update/patch/delete/list semantics
# --------------------------------------------------------------------------

class Api:
    """What the real registry does with a request once it is routed:
    defaulting, validation, preconditions, optimistic concurrency, the
    write, and the controllers it wakes up."""

    def __init__(self, store, registry, rnd):
        self.store = store
        self.registry = registry
        self.rnd = rnd
        self.controllers = None
        self.bindings = []           # every binding attempt, for tests
        self.lease_writes = []       # every successful Lease create/update, for tests

    def random_suffix(self, n=5):
        return "".join(self.rnd.choice(NAME_ALPHABET) for _ in range(n))

    def _after(self, rt, etype, obj, prev, opts=None):
        if self.controllers:
            self.controllers.after_write(rt, etype, obj, prev, opts or {})

    @staticmethod
    def _check_type(rt, body):
        """kind/apiVersion of a body, when given, must be the endpoint's."""
        if not isinstance(body, dict):
            raise ApiError.bad_request("the body of the request must be a JSON object")
        kind, api = body.get("kind"), body.get("apiVersion")
        if kind and kind != rt.kind:
            raise ApiError.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a '
                                       f'{kind}: the kind in the body does not match "{rt.kind}"')
        if api and api != rt.api_version:
            raise ApiError.bad_request(f"the API version in the data ({api}) does not match the "
                                       f"expected API version ({rt.api_version})")
        if "metadata" in body and not isinstance(body["metadata"], dict):
            raise ApiError.bad_request("metadata must be an object")

    def _stamp_type(self, rt, obj):
        base = self.registry.by_storage[rt.storage]
        obj["apiVersion"], obj["kind"] = base.api_version, base.kind
        # keep apiVersion/kind first, as the real JSON
        rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        obj.clear()
        obj.update({"kind": base.kind, "apiVersion": base.api_version})
        obj.update(rest)
        return obj

    def _validate(self, rt, obj, old):
        errs = validate_meta(obj, rt.dns_label_names) + rt.validate(obj, old)
        if errs:
            raise ApiError.invalid(rt.kind, rt.group, meta(obj).get("name") or "", errs)

    # --- reads ---

    def get(self, rt, ns, name):
        obj = self.store.get(rt.storage, rt.key(ns, name))
        if obj is None:
            raise ApiError.not_found(rt, name)
        return obj

    def list(self, rt, ns, q):
        """A List per the query (selectors, limit/continue, resourceVersion)."""
        fsel = FieldSelector(q.get("fieldSelector"))
        fsel.check(rt)
        lsel = LabelSelector(q.get("labelSelector"))
        limit = _int_param(q, "limit", 0)
        cont = q.get("continue") or ""
        rvp, match = q.get("resourceVersion") or "", q.get("resourceVersionMatch") or ""
        st = self.store
        with st.cond:
            if match and not rvp:
                raise ApiError.invalid("ListOptions", "meta.k8s.io", "", [FieldError(
                    "resourceVersionMatch", "Forbidden",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided")])
            start = ""
            if cont:
                if rvp:
                    raise ApiError.bad_request("specifying resource version is not allowed when using continue")
                start, snap = self._decode_continue(cont, ns)
                if snap == -1:
                    snap = st.rv
                elif snap < st.compacted_rv:
                    tok = _encode_continue(-1, start[len(ns) + 1:] if ns else start)
                    raise ApiError(410, "The provided continue parameter is too old to display a "
                                        "consistent list result. You can start a new list without the "
                                        "continue parameter, or use the continue token in this response "
                                        "to retrieve the remainder of the results. Continuing with the "
                                        "provided token results in an inconsistent list - objects that "
                                        "were created, modified, or deleted between the time the first "
                                        "chunk was returned and now may show up in the list.",
                                   "Expired", list_meta={"continue": tok})
            elif match == "Exact":
                snap = _parse_rv(rvp)
                if snap < st.compacted_rv:
                    raise ApiError(410, "The resourceVersion for the provided list is too old.", "Expired")
                self._wait_for_rv(snap)
            elif rvp not in ("", "0"):
                snap = _parse_rv(rvp)
                self._wait_for_rv(snap)
                snap = st.rv
            else:
                snap = st.rv
            objs = st.state_at(rt.storage, snap)
            keys = sorted(k for k in objs if (not ns or k.startswith(ns + "/")) and k >= start)
            items, more, last = [], False, None
            for i, k in enumerate(keys):
                o = objs[k]
                if fsel and not fsel.matches(rt, o):
                    continue
                if lsel and not lsel.matches(meta(o).get("labels")):
                    continue
                items.append(o)
                if limit and len(items) == limit:
                    more, last = i < len(keys) - 1, k
                    remaining = len(keys) - i - 1
                    break
        md = {"resourceVersion": str(snap)}
        if more:
            md["continue"] = _encode_continue(snap, (last[len(ns) + 1:] if ns else last) + "\x00")
            if not fsel and not lsel:
                md["remainingItemCount"] = remaining
        out_items = []
        for o in items:
            e = dict(rt.to_external(o))
            e.pop("kind", None)
            e.pop("apiVersion", None)
            out_items.append(e)
        return {"kind": rt.kind + "List", "apiVersion": rt.api_version, "metadata": md,
                "items": out_items}

    def _wait_for_rv(self, rv):
        """NotOlderThan/Exact with a future rv: wait up to 3 s, then 504."""
        deadline = time.monotonic() + 3
        while self.store.rv < rv:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(504, f"Too large resource version: {rv}, current: {self.store.rv}",
                               "Timeout", details={"causes": [{"reason": "ResourceVersionTooLarge",
                                                               "message": "Too large resource version"}],
                                                   "retryAfterSeconds": 1})
            self.store.cond.wait(left)

    @staticmethod
    def _decode_continue(tok, ns):
        try:
            raw = json.loads(base64.b64decode(tok + "=" * (-len(tok) % 4), altchars=b"-_"))
            if raw.get("v") != "meta.k8s.io/v1":
                raise ValueError("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
            rv, start = int(raw["rv"]), str(raw["start"])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ApiError.bad_request(f"continue key is not valid: {e}")
        return (f"{ns}/{start}" if ns else start), rv

    # --- writes ---

    def create(self, rt, ns, body, internal=False):
        """POST to a collection: 201 and the stored object."""
        self._check_type(rt, body)
        obj = rt.from_external(jcopy(body))
        md = meta(obj)
        if rt.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise ApiError.bad_request("the namespace of the provided object does not match the "
                                           "namespace sent on the request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        if md.get("resourceVersion"):
            raise ApiError(500, "Internal error occurred: resourceVersion should not be set on "
                                "objects to be created", details={})
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + self.random_suffix()
        self._stamp_type(rt, obj)
        for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            md.pop(f, None)
        rt.defaults(obj)
        rt.prepare_create(obj)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_rfc3339()
        if rt.has_generation:
            md["generation"] = 1
        self._validate(rt, obj, None)
        with self.store.cond:
            key = rt.key(ns, md["name"])
            if self.store.get(rt.storage, key) is not None:
                raise ApiError.already_exists(rt, md["name"])
            stored = self.store.commit(rt.storage, key, ADDED, obj, None)
            self._after(rt, ADDED, stored, None)
            return stored

    def update(self, rt, ns, name, body, sub=None, patched=False):
        """PUT (also the end of PATCH and subresource writes): preconditions,
        PrepareForUpdate, validation; no write when nothing changed.
        Returns (object, created)."""
        self._check_type(rt, body)
        new = rt.from_external(jcopy(body))
        md = meta(new)
        if md.get("name") not in (None, "", name) or (not md.get("name") and not patched):
            raise ApiError.bad_request(f"the name of the object ({md.get('name', '')}) does not "
                                       f"match the name on the URL ({name})")
        if rt.namespaced and md.get("namespace") not in (None, "", ns):
            raise ApiError.bad_request("the namespace of the provided object does not match the "
                                       "namespace sent on the request")
        with self.store.cond:
            key = rt.key(ns, name)
            old = self.store.get(rt.storage, key)
            if old is None:
                if rt.allow_create_on_update and sub is None and not patched:
                    fresh = jcopy(body)
                    meta(fresh).pop("resourceVersion", None)
                    meta(fresh).pop("uid", None)
                    return self.create(rt, ns, fresh), True
                raise ApiError.not_found(rt, name)
            rv = md.get("resourceVersion")
            if not rv:
                if not rt.allow_unconditional_update:
                    raise ApiError.invalid(rt.kind, rt.group, name, [FieldError(
                        "metadata.resourceVersion", "Invalid", "must be specified for an update", 0)])
            elif rv != meta(old).get("resourceVersion"):
                raise ApiError.conflict(rt.qualified, name, OPTIMISTIC, rt.group, rt.plural)
            if md.get("uid") and md["uid"] != meta(old).get("uid"):
                raise ApiError.conflict(rt.qualified, name,
                                        f"Precondition failed: UID in precondition: {md['uid']}, "
                                        f"UID in object meta: {meta(old).get('uid')}", rt.group, rt.plural)
            if sub == "status":
                new_status = new.get("status")
                new = jcopy(old)
                if new_status is None:
                    new.pop("status", None)
                else:
                    new["status"] = new_status
                md = meta(new)
            else:
                self._stamp_type(rt, new)
                for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                    if f in meta(old):
                        md[f] = meta(old)[f]
                    else:
                        md.pop(f, None)
                md["name"] = name
                if rt.namespaced:
                    md["namespace"] = ns
                rt.defaults(new)
                rt.prepare_update(new, old)
                if rt.has_generation:
                    gen = meta(old).get("generation", 1)
                    md["generation"] = gen + 1 if new.get("spec") != old.get("spec") else gen
            md["resourceVersion"] = meta(old).get("resourceVersion")
            self._validate(rt, new, old)
            if new == old:
                return old, False
            stored = self.store.commit(rt.storage, key, MODIFIED, new, old)
            self._after(rt, MODIFIED, stored, old)
            return stored, False

    def patch(self, rt, ns, name, content_type, raw, sub=None):
        """PATCH: the patch is applied to the current object (or its Scale)
        and the result goes through update, so a resourceVersion the patch
        sets is a precondition."""
        with self.store.cond:
            old = self.get(rt, ns, name)
            if sub == "scale":
                result = apply_patch(content_type, self.scale_of(rt, old), raw)
                return self.put_scale(rt, ns, name, result, patched=True)
            result = apply_patch(content_type, jcopy(rt.to_external(old)), raw)
            if not isinstance(result, dict):
                raise ApiError.bad_request("the patched object is not a JSON object")
            return self.update(rt, ns, name, result, sub, patched=True)[0]

    def delete(self, rt, ns, name, opts=None):
        """DELETE: immediate (see the module docstring); preconditions from
        DeleteOptions; returns the object or a Success Status."""
        opts = opts or {}
        with self.store.cond:
            old = self.get(rt, ns, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != meta(old).get("uid"):
                raise ApiError.conflict(rt.qualified, name,
                                        f"Precondition failed: UID in precondition: {pre['uid']}, "
                                        f"UID in object meta: {meta(old).get('uid')}", rt.group, rt.plural)
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta(old).get("resourceVersion"):
                raise ApiError.conflict(rt.qualified, name,
                                        f"Precondition failed: ResourceVersion in precondition: "
                                        f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                        f"{meta(old).get('resourceVersion')}", rt.group, rt.plural)
            gone = self.store.commit(rt.storage, rt.key(ns, name), DELETED, None, old)
            self._after(rt, DELETED, gone, old, opts)
        if rt.return_deleted_object:
            return rt.to_external(old)
        details = rt.details(name)
        details["uid"] = meta(old).get("uid")
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": details}

    def delete_collection(self, rt, ns, q, opts):
        with self.store.cond:
            lst = self.list(rt, ns, {k: v for k, v in q.items() if k in ("fieldSelector", "labelSelector")})
            for item in lst["items"]:
                self.delete(rt, ns or item["metadata"].get("namespace"), item["metadata"]["name"], opts)
        lst["metadata"] = {"resourceVersion": str(self.store.rv)}
        return lst

    # --- subresources ---

    def note_lease(self, stored, user_agent):
        """Remember a Lease write (who held it from when), for tests that
        check no two leaders acted at once."""
        spec = stored.get("spec") or {}
        self.lease_writes.append({"namespace": meta(stored).get("namespace"), "name": meta(stored).get("name"),
                                  "holder": spec.get("holderIdentity") or "",
                                  "renewTime": spec.get("renewTime"),
                                  "leaseDurationSeconds": spec.get("leaseDurationSeconds"),
                                  "resourceVersion": meta(stored).get("resourceVersion"),
                                  "userAgent": user_agent, "time": time.time()})

    def bind(self, ns, name, body, user_agent=""):
        """POST pods/P/binding: set spec.nodeName once (409 when already set)."""
        if not isinstance(body, dict):
            raise ApiError.bad_request("the body of the request must be a JSON object")
        if body.get("kind") not in (None, "Binding"):
            raise ApiError.bad_request(f"not a Binding object: {body.get('kind')}")
        md = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        if name is None:
            name = md.get("name") or ""
        if md.get("name") != name:
            raise ApiError.bad_request("name in URL does not match name in Binding object")
        if md.get("namespace") not in (None, "", ns):
            raise ApiError.bad_request("the namespace of the provided object does not match the "
                                       "namespace sent on the request")
        target = body.get("target") if isinstance(body.get("target"), dict) else {}
        errs = []
        if target.get("kind") not in (None, "", "Node"):
            errs.append(FieldError("target.kind", "NotSupported", 'supported values: "Node"',
                                   target.get("kind")))
        if not target.get("name"):
            errs.append(FieldError("target.name", "Required"))
        node = target.get("name", "")
        with self.store.cond:
            try:
                if errs:
                    raise ApiError.invalid("Binding", "", name, errs)
                old = self.get(PODS, ns, name)
                why = None
                if md.get("uid") and md["uid"] != meta(old).get("uid"):
                    why = (f"Precondition failed: UID in precondition: {md['uid']}, "
                           f"UID in object meta: {meta(old).get('uid')}")
                elif md.get("resourceVersion") and md["resourceVersion"] != meta(old).get("resourceVersion"):
                    why = OPTIMISTIC
                elif meta(old).get("deletionTimestamp"):
                    why = f"pod {name} is being deleted, cannot be assigned to a host"
                elif get_path(old, "spec.nodeName"):
                    why = f'pod {name} is already assigned to node "{old["spec"]["nodeName"]}"'
                elif get_path(old, "spec.schedulingGates"):
                    why = f"pod {name} has non-empty .spec.schedulingGates"
                if why:
                    raise ApiError.conflict("pods/binding", name, why, kind="pods/binding")
                new = jcopy(old)
                new.setdefault("spec", {})["nodeName"] = node
                if md.get("annotations"):
                    meta(new).setdefault("annotations", {}).update(md["annotations"])
                conds = new.setdefault("status", {}).setdefault("conditions", [])
                sched = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                         "lastTransitionTime": now_rfc3339()}
                for i, c in enumerate(conds):
                    if c.get("type") == "PodScheduled":
                        conds[i] = sched
                        break
                else:
                    conds.append(sched)
                stored = self.store.commit(PODS.storage, PODS.key(ns, name), MODIFIED, new, old)
                self.bindings.append({"namespace": ns, "pod": name, "node": node, "code": 201,
                                      "resourceVersion": meta(stored)["resourceVersion"],
                                      "userAgent": user_agent, "time": time.time()})
                self._after(PODS, MODIFIED, stored, old)
            except ApiError as e:
                self.bindings.append({"namespace": ns, "pod": name, "node": node, "code": e.code,
                                      "message": e.message, "userAgent": user_agent, "time": time.time()})
                raise
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    @staticmethod
    def scale_of(rt, obj):
        """autoscaling/v1 Scale of a Deployment or ReplicaSet."""
        md = meta(obj)
        spec = {}
        replicas = get_path(obj, "spec.replicas")
        if replicas:
            spec["replicas"] = replicas
        status = {"replicas": get_path(obj, "status.replicas") or 0}
        sel = str(LabelSelector.from_object(get_path(obj, "spec.selector")))
        if sel:
            status["selector"] = sel
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                "creationTimestamp") if k in md},
                "spec": spec, "status": status}

    def put_scale(self, rt, ns, name, body, patched=False):
        """PUT .../scale: spec.replicas into the owner, resourceVersion as a
        precondition."""
        if not isinstance(body, dict):
            raise ApiError.bad_request("the body of the request must be a JSON object")
        if body.get("kind") not in (None, "Scale"):
            raise ApiError.bad_request(f"not a Scale object: {body.get('kind')}")
        md = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        if md.get("name") not in (None, "", name) or (not md.get("name") and not patched):
            raise ApiError.bad_request(f"the name of the object ({md.get('name', '')}) does not "
                                       f"match the name on the URL ({name})")
        replicas = get_path(body, "spec.replicas") or 0
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError.invalid("Scale", "autoscaling", name, [FieldError(
                "spec.replicas", "Invalid", "must be greater than or equal to 0", replicas)])
        with self.store.cond:
            old = self.get(rt, ns, name)
            if md.get("resourceVersion") and md["resourceVersion"] != meta(old).get("resourceVersion"):
                raise ApiError.conflict(rt.qualified, name, OPTIMISTIC, rt.group, rt.plural)
            new = jcopy(old)
            new.setdefault("spec", {})["replicas"] = replicas
            stored, _ = self.update(rt, ns, name, new)
            return self.scale_of(rt, stored)

    # --- seeding (no API rules) ---

    def seed(self, objs, defaults=False):
        """Store objects as given (see POST /fake/objects)."""
        out = []
        with self.store.cond:
            for body in objs:
                if not isinstance(body, dict):
                    raise ApiError.bad_request("every seeded object must be a JSON object")
                rt = self.registry.for_object(body)
                if rt is None:
                    raise ApiError.bad_request(f"cannot seed kind {body.get('kind')!r} "
                                               f"(apiVersion {body.get('apiVersion')!r})")
                obj = rt.from_external(jcopy(body))
                self._stamp_type(rt, obj)
                md = meta(obj)
                if not md.get("name"):
                    raise ApiError.bad_request("every seeded object needs metadata.name")
                if rt.namespaced:
                    md.setdefault("namespace", "default")
                else:
                    md.pop("namespace", None)
                if defaults:
                    _seed_defaults(rt, obj)
                key = rt.key(md.get("namespace"), md["name"])
                old = self.store.get(rt.storage, key)
                md.setdefault("uid", meta(old).get("uid") if old else str(uuid.uuid4()))
                md.setdefault("creationTimestamp", now_rfc3339())
                if rt.has_generation:
                    md.setdefault("generation", 1)
                stored = self.store.commit(rt.storage, key, MODIFIED if old else ADDED, obj, old)
                out.append({"kind": stored["kind"], "namespace": md.get("namespace"), "name": md["name"],
                            "uid": md["uid"], "resourceVersion": md["resourceVersion"]})
        return out


def _seed_defaults(rt, obj):
    """Convenience defaults for seeded Nodes and Pods ("defaults": true)."""
    if rt.kind == "Node":
        name = meta(obj)["name"]
        meta(obj).setdefault("labels", {}).setdefault("kubernetes.io/hostname", name)
        st = obj.setdefault("status", {})
        st.setdefault("conditions", [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                      "message": "kubelet is posting ready status"}])
        st.setdefault("allocatable", {"cpu": "2", "memory": "4Gi", "pods": "110"})
        st.setdefault("capacity", dict(st["allocatable"]))
        st.setdefault("addresses", [{"type": "InternalIP", "address": "127.0.0.1"},
                                    {"type": "Hostname", "address": name}])
        obj.setdefault("spec", {})
    elif rt.kind == "Pod":
        obj.setdefault("spec", {}).setdefault("schedulerName", "default-scheduler")
        obj.setdefault("status", {}).setdefault("phase", "Pending")


def _int_param(q, name, default):
    v = q.get(name)
    if v in (None, ""):
        return default
    try:
        n = int(v)
    except ValueError:
        raise ApiError.bad_request(f"invalid {name} {v!r}: not an integer")
    return max(n, 0)


def _parse_rv(s):
    try:
        n = int(s)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise ApiError.bad_request(f'invalid resource version "{s}"')


def _encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# --------------------------------------------------------------------------
# Controllers: deployment, replicaset, garbage collector, a pretend kubelet
# --------------------------------------------------------------------------

class Controllers:
    """Synchronous stand-ins for kube-controller-manager (and, optionally,
    the kubelet): they run inside the write that wakes them, under the
    store lock, through a work queue so nested writes do not re-enter."""

    def __init__(self, api, enabled=True, kubelet=False):
        self.api = api
        self.store = api.store
        self.enabled = enabled
        self.kubelet = kubelet
        self.queue = deque()
        self.draining = False
        self.pod_ip = 0

    def after_write(self, rt, etype, obj, prev, opts):
        if not self.enabled:
            return
        md = meta(obj)
        ns, name = md.get("namespace"), md.get("name")
        if etype == DELETED:
            policy = opts.get("propagationPolicy") or "Background"
            self.queue.append(("orphan" if policy == "Orphan" else "gc", md.get("uid"), ns))
            if rt.storage == "namespaces":
                self.queue.append(("nsdelete", name))
            if rt.storage == "pods":
                for ref in md.get("ownerReferences") or []:
                    if ref.get("kind") == "ReplicaSet":
                        self.queue.append(("rs", ns, ref.get("name")))
        elif rt.storage == "deployments.apps":
            if prev is None or prev.get("spec") != obj.get("spec"):
                self.queue.append(("deploy", ns, name))
        elif rt.storage == "replicasets.apps":
            if prev is None or get_path(prev, "spec.replicas") != get_path(obj, "spec.replicas"):
                self.queue.append(("rs", ns, name))
        elif rt.storage == "pods" and self.kubelet:
            if get_path(obj, "spec.nodeName") and get_path(obj, "status.phase") == "Pending":
                self.queue.append(("kubelet", ns, name))
        self._drain()

    def _drain(self):
        if self.draining:
            return
        self.draining = True
        try:
            while self.queue:
                item = self.queue.popleft()
                try:
                    getattr(self, "_do_" + item[0])(*item[1:])
                except ApiError as e:
                    log(f"controller {item}: {e.code} {e.message}")
        finally:
            self.draining = False

    # --- helpers ---

    def _owned(self, storage, ns, uid):
        return [o for k, o in sorted(self.store.bucket(storage).items())
                if meta(o).get("namespace") == ns and uid in owner_uids(o)]

    def _set_status(self, rt, obj, status):
        new = jcopy(obj)
        new["status"] = status
        self.api.update(rt, meta(obj).get("namespace"), meta(obj)["name"], new, sub="status")

    @staticmethod
    def _ready(pod):
        return get_path(pod, "status.phase") == "Running" and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in get_path(pod, "status.conditions") or [])

    @staticmethod
    def _template_key(t):
        t = jcopy(t or {})
        labels = get_path(t, "metadata.labels")
        if isinstance(labels, dict):
            labels.pop("pod-template-hash", None)
        return json.dumps(t, sort_keys=True)

    # --- deployment controller ---

    def _do_deploy(self, ns, name):
        d = self.store.get("deployments.apps", f"{ns}/{name}")
        if d is None:
            return
        spec = d.get("spec") or {}
        replicas = spec.get("replicas", 1)
        template = spec.get("template") or {}
        owned = self._owned("replicasets.apps", ns, meta(d)["uid"])
        want = self._template_key(template)
        current = next((rs for rs in owned if self._template_key(get_path(rs, "spec.template")) == want), None)
        if current is None:
            self._create_rs(d, template, replicas, len(owned) + 1)
        elif get_path(current, "spec.replicas") != replicas:
            new = jcopy(current)
            new["spec"]["replicas"] = replicas
            meta(new).setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(replicas)
            self.api.update(REPLICASETS, ns, meta(current)["name"], new)
        for rs in owned:
            if rs is not current and get_path(rs, "spec.replicas") != 0:
                new = jcopy(rs)
                new["spec"]["replicas"] = 0
                self.api.update(REPLICASETS, ns, meta(rs)["name"], new)
        self.queue.append(("dstatus", ns, name))

    def _create_rs(self, d, template, replicas, revision):
        md = meta(d)
        h = safe_encode(str(fnv32a(json.dumps(template, sort_keys=True).encode())))
        labels = dict(get_path(template, "metadata.labels") or {})
        labels["pod-template-hash"] = h
        sel = jcopy(get_path(d, "spec.selector") or {})
        sel.setdefault("matchLabels", {})["pod-template-hash"] = h
        tmpl = jcopy(template)
        tmpl.setdefault("metadata", {})["labels"] = labels
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{md['name']}-{h}", "namespace": md["namespace"], "labels": labels,
                           "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas),
                                           "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                           "deployment.kubernetes.io/revision": str(revision)},
                           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": md["name"], "uid": md["uid"],
                                                "controller": True, "blockOwnerDeletion": True}]},
              "spec": {"replicas": replicas, "selector": sel, "template": tmpl}}
        if self.store.get("replicasets.apps", f"{md['namespace']}/{rs['metadata']['name']}"):
            rs["metadata"]["name"] += "-" + self.api.random_suffix()
        self.api.create(REPLICASETS, md["namespace"], rs)

    def _do_dstatus(self, ns, name):
        d = self.store.get("deployments.apps", f"{ns}/{name}")
        if d is None:
            return
        owned = self._owned("replicasets.apps", ns, meta(d)["uid"])
        want = self._template_key(get_path(d, "spec.template"))
        pods, updated = [], 0
        for rs in owned:
            p = self._owned("pods", ns, meta(rs)["uid"])
            pods += p
            if self._template_key(get_path(rs, "spec.template")) == want:
                updated += len(p)
        ready = sum(1 for p in pods if self._ready(p))
        status = {"observedGeneration": meta(d).get("generation", 1)}
        for k, v in (("replicas", len(pods)), ("updatedReplicas", updated), ("readyReplicas", ready),
                     ("availableReplicas", ready), ("unavailableReplicas", len(pods) - ready)):
            if v:
                status[k] = v
        if d.get("status") != status:
            self._set_status(DEPLOYMENTS, d, status)

    # --- replicaset controller ---

    def _do_rs(self, ns, name):
        rs = self.store.get("replicasets.apps", f"{ns}/{name}")
        if rs is None:
            return
        want = get_path(rs, "spec.replicas")
        want = 1 if want is None else want
        pods = self._owned("pods", ns, meta(rs)["uid"])
        if len(pods) < want:
            for _ in range(want - len(pods)):
                self._create_pod(rs)
        elif len(pods) > want:
            # the real controller's order: unassigned, pending, not ready, newest first
            def rank(p):
                return (bool(get_path(p, "spec.nodeName")), get_path(p, "status.phase") != "Pending",
                        self._ready(p), [-ord(c) for c in meta(p).get("creationTimestamp", "")],
                        [-ord(c) for c in meta(p)["name"]])
            for p in sorted(pods, key=rank)[:len(pods) - want]:
                self.api.delete(PODS, ns, meta(p)["name"])
        self.queue.append(("rsstatus", ns, name))

    def _create_pod(self, rs):
        md = meta(rs)
        t = jcopy(get_path(rs, "spec.template") or {})
        tmd = t.get("metadata") or {}
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": md["name"] + "-", "namespace": md["namespace"],
                            "labels": tmd.get("labels") or {},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                 "name": md["name"], "uid": md["uid"],
                                                 "controller": True, "blockOwnerDeletion": True}]},
               "spec": t.get("spec") or {}}
        if tmd.get("annotations"):
            pod["metadata"]["annotations"] = tmd["annotations"]
        self.api.create(PODS, md["namespace"], pod)

    def _do_rsstatus(self, ns, name):
        rs = self.store.get("replicasets.apps", f"{ns}/{name}")
        if rs is None:
            return
        pods = self._owned("pods", ns, meta(rs)["uid"])
        ready = sum(1 for p in pods if self._ready(p))
        status = {"replicas": len(pods)}
        for k, v in (("fullyLabeledReplicas", len(pods)), ("readyReplicas", ready),
                     ("availableReplicas", ready), ("observedGeneration", meta(rs).get("generation", 1))):
            if v:
                status[k] = v
        if rs.get("status") != status:
            self._set_status(REPLICASETS, rs, status)
        for ref in meta(rs).get("ownerReferences") or []:
            if ref.get("kind") == "Deployment":
                self.queue.append(("dstatus", ns, ref.get("name")))

    # --- garbage collector ---

    def _dependents(self, uid):
        for storage, bucket in self.store.objects.items():
            rt = self.api.registry.by_storage.get(storage)
            for o in list(bucket.values()):
                if uid in owner_uids(o):
                    yield rt, o

    def _do_gc(self, uid, ns):
        for rt, o in list(self._dependents(uid)):
            try:
                self.api.delete(rt, meta(o).get("namespace"), meta(o)["name"])
            except ApiError:
                pass

    def _do_nsdelete(self, ns):
        """The namespace controller: what was in a deleted namespace goes too."""
        for storage, bucket in list(self.store.objects.items()):
            rt = self.api.registry.by_storage.get(storage)
            if rt is None or not rt.namespaced:
                continue
            for o in [o for o in bucket.values() if meta(o).get("namespace") == ns]:
                try:
                    self.api.delete(rt, ns, meta(o)["name"])
                except ApiError:
                    pass

    def _do_orphan(self, uid, ns):
        for rt, o in list(self._dependents(uid)):
            new = jcopy(o)
            meta(new)["ownerReferences"] = [r for r in meta(new)["ownerReferences"] if r.get("uid") != uid]
            if not meta(new)["ownerReferences"]:
                del meta(new)["ownerReferences"]
            self.api.update(rt, meta(o).get("namespace"), meta(o)["name"], new)

    # --- kubelet ---

    def _do_kubelet(self, ns, name):
        pod = self.store.get("pods", f"{ns}/{name}")
        if pod is None or get_path(pod, "status.phase") != "Pending" or not get_path(pod, "spec.nodeName"):
            return
        node = self.store.get("nodes", pod["spec"]["nodeName"]) or {}
        host_ip = next((a.get("address") for a in get_path(node, "status.addresses") or []
                        if a.get("type") == "InternalIP"), "127.0.0.1")
        self.pod_ip += 1
        ip = f"10.244.{self.pod_ip // 250 % 250}.{self.pod_ip % 250 + 2}"
        now = now_rfc3339()
        status = jcopy(pod.get("status") or {})
        status.update(phase="Running", hostIP=host_ip, hostIPs=[{"ip": host_ip}], podIP=ip,
                      podIPs=[{"ip": ip}], startTime=now)
        conds = [c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"]
        for t in ("Initialized", "Ready", "ContainersReady"):
            conds.append({"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now})
        status["conditions"] = conds
        status["containerStatuses"] = [
            {"name": c.get("name"), "state": {"running": {"startedAt": now}}, "lastState": {},
             "ready": True, "restartCount": 0, "image": c.get("image"), "imageID": "",
             "containerID": "containerd://" + uuid.uuid4().hex, "started": True}
            for c in get_path(pod, "spec.containers") or []]
        self._set_status(PODS, pod, status)
        for ref in meta(pod).get("ownerReferences") or []:
            if ref.get("kind") == "ReplicaSet":
                self.queue.append(("rsstatus", ns, ref.get("name")))


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------

class Faults:
    """Failures and delays injected on command (POST /fake/control)."""

    def __init__(self, split_chunks=False, watch_410="error_event"):
        self.lock = threading.Lock()
        self.fail_rules = []
        self.delays = []
        self.split_chunks = split_chunks
        self.watch_410 = watch_410

    def clear(self):
        with self.lock:
            self.fail_rules, self.delays = [], []

    def add_failure(self, spec):
        if not isinstance(spec, dict):
            raise ApiError.bad_request("fail_next must be an object")
        rule = {"method": str(spec.get("method") or "").upper(),
                "regex": re.compile(spec.get("path_regex") or ""),
                "ua": re.compile(spec.get("user_agent_regex") or ""),
                "code": int(spec.get("code", 500)), "count": int(spec.get("count", 1)),
                "reason": spec.get("reason"), "message": spec.get("message"),
                "retry_after": spec.get("retry_after"), "drop": self._drop_mode(spec.get("drop"))}
        with self.lock:
            self.fail_rules.append(rule)

    @staticmethod
    def _drop_mode(v):
        """drop: false, true or "before" (closed unprocessed), "after" (the
        request is processed, a write committed, then closed unanswered)."""
        if v in (None, False, "", "none"):
            return ""
        if v in (True, "before"):
            return "before"
        if v == "after":
            return "after"
        raise ApiError.bad_request('drop must be true, "before" or "after"')

    def add_delay(self, ms, regex, method, count=None, ua=""):
        with self.lock:
            self.delays = [d for d in self.delays
                           if not (d[1].pattern == regex and d[2] == method and d[4].pattern == ua)]
            if ms > 0:
                # [seconds, regex, method, requests left (None: every one), user agent regex]
                self.delays.append([ms / 1000.0, re.compile(regex), method,
                                    None if count is None else max(1, int(count)), re.compile(ua)])

    def take_failure(self, method, target, ua=""):
        """The first matching rule, its count used up by one; None if none."""
        with self.lock:
            for rule in self.fail_rules:
                if ((not rule["method"] or rule["method"] == method) and rule["regex"].search(target)
                        and rule["ua"].search(ua)):
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self.fail_rules.remove(rule)
                    return rule
        return None

    def delay_for(self, method, target, ua=""):
        with self.lock:
            total = 0.0
            for rule in list(self.delays):
                d, rx, m, left, uarx = rule
                if (m and m != method) or not rx.search(target) or not uarx.search(ua):
                    continue
                total += d
                if left is not None:
                    rule[3] -= 1
                    if rule[3] <= 0:
                        self.delays.remove(rule)
            return total

    def describe(self):
        with self.lock:
            return {"fail_next": [{"method": r["method"], "path_regex": r["regex"].pattern,
                                   "code": r["code"], "count": r["count"], "drop": r["drop"],
                                   "user_agent_regex": r["ua"].pattern}
                                  for r in self.fail_rules],
                    "delays": [{"delay_ms": int(d * 1000), "path_regex": rx.pattern, "method": m, "count": left,
                                "user_agent_regex": uarx.pattern}
                               for d, rx, m, left, uarx in self.delays],
                    "split_chunks": self.split_chunks, "watch_410": self.watch_410}


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

VERBOSE = False


def log(msg):
    print(f"fake-apiserver: {msg}", file=sys.stderr, flush=True)


class ClientGone(Exception):
    """The client went away; nothing more can be written."""


class WatchAborted(Exception):
    """drop_watches: the stream must end abruptly."""


class Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 keep-alive requests routed to the API, the
    control endpoints, or a watch stream."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.0"
    sys_version = ""
    disable_nagle_algorithm = True

    # --- plumbing ---

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):
        if VERBOSE:
            log("%s %s" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def send_response(self, code, message=None):
        self._code = code
        super().send_response(code, message)

    def read_body(self):
        """The request body (Content-Length or chunked); 413 past 3 MiB."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts, total = [], 0
            while True:
                line = self.rfile.readline(4096)
                if not line:
                    raise ClientGone()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise ApiError(413, f"the request body is too large (limit is {MAX_BODY} bytes)")
                parts.append(self.rfile.read(size))
                self.rfile.readline(4096)
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, f"the request body is too large (limit is {MAX_BODY} bytes)")
        data = self.rfile.read(n) if n else b""
        if len(data) < n:
            raise ClientGone()
        return data

    def user_agent(self):
        return self.headers.get("User-Agent") or ""

    def send_bytes(self, code, body, ctype="application/json", headers=None):
        if self._drop_after:
            # the request was processed (a write committed), and the
            # connection goes away before the answer: the client cannot
            # know the outcome
            self._drop_after = False
            self._code = -2
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if (len(body) >= GZIP_MIN and ctype == "application/json"
                and "gzip" in (self.headers.get("Accept-Encoding") or "")):
            body = gzip.compress(body, 1)
            headers = dict(headers or {}, **{"Content-Encoding": "gzip"})
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, code, obj, headers=None):
        self.send_bytes(code, dumps(obj), headers=headers)

    def send_error_status(self, e):
        headers = dict(e.headers)
        if e.code == 429 and "Retry-After" not in headers:
            headers["Retry-After"] = "1"
        self.send_json(e.code, e.status(), headers)

    # --- request dispatch ---

    def dispatch(self, method):
        srv = self.server
        self._code = 0
        t0 = time.monotonic()
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        self.query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        target = path + ("?" + split.query if split.query else "")
        self.is_watch = False
        self._drop_after = False
        try:
            try:
                body = self.read_body()
            except ApiError as e:
                self.send_error_status(e)
                return
            if path.startswith("/fake/"):
                self.route_control(method, path, body)
                return
            if path in ("/healthz", "/livez", "/readyz") and method == "GET":
                self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
                return
            try:
                self.authenticate()
                delay = srv.faults.delay_for(method, target, self.user_agent())
                if delay:
                    time.sleep(delay)
                    if self.client_closed():
                        # the real server cancels the request's context when
                        # its client goes away: a write not yet made is not made
                        self.close_connection = True
                        self._code = -1
                        return
                rule = srv.faults.take_failure(method, target, self.user_agent())
                if rule and rule["drop"] == "after":
                    self._drop_after = True
                    rule = None
                if rule and rule["drop"]:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self._code = -1
                    return
                if rule:
                    hdr = {"Retry-After": rule["retry_after"]} if rule["retry_after"] is not None else {}
                    raise ApiError(rule["code"], rule["message"] or
                                   f"Internal error occurred: injected fault ({rule['code']})",
                                   rule["reason"], details={}, headers=hdr)
                self.route_api(method, path, body)
            except ApiError as e:
                self.send_error_status(e)
        except (ClientGone, ConnectionError, ssl.SSLError, TimeoutError, OSError):
            self.close_connection = True
            self._code = self._code or -1
        except Exception:  # a bug here must not take the server down
            log("internal error:\n" + traceback.format_exc())
            try:
                self.send_json(500, ApiError(500, "Internal error occurred: fake apiserver bug",
                                             details={}).status())
            except OSError:
                self.close_connection = True
        finally:
            srv.record(method, split.path, split.query, self._code, self.is_watch,
                       (time.monotonic() - t0) * 1000)

    def authenticate(self):
        srv = self.server
        if not srv.token and not srv.client_ca:
            return
        auth = self.headers.get("Authorization") or ""
        if srv.token and auth == "Bearer " + srv.token:
            return
        if srv.client_ca and isinstance(self.connection, ssl.SSLSocket) and self.connection.getpeercert():
            return
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def route_control(self, method, path, body):
        """The test-only endpoints under /fake/."""
        srv = self.server
        try:
            data = json.loads(body or b"{}") if method == "POST" else {}
        except ValueError as e:
            self.send_error_status(ApiError.bad_request(f"malformed JSON: {e}"))
            return
        try:
            if path == "/fake/state" and method == "GET":
                self.send_json(200, srv.state_dump(self.query.get("resource")))
            elif path == "/fake/reset" and method == "POST":
                srv.reset()
                self.send_json(200, {"ok": True, "resourceVersion": str(srv.store.rv)})
            elif path == "/fake/objects" and method == "POST":
                if isinstance(data, dict) and isinstance(data.get("objects"), list):
                    objs, defaults = data["objects"], bool(data.get("defaults"))
                elif isinstance(data, dict) and isinstance(data.get("items"), list):
                    objs, defaults = data["items"], False
                else:
                    objs, defaults = [data], False
                seeded = srv.api.seed(objs, defaults)
                self.send_json(200, {"resourceVersion": str(srv.store.rv), "objects": seeded})
            elif path == "/fake/control" and method == "POST":
                self.send_json(200, srv.control(data))
            else:
                raise ApiError.no_route()
        except ApiError as e:
            self.send_error_status(e)
        except (ValueError, TypeError, re.error) as e:
            self.send_error_status(ApiError.bad_request(f"bad control request: {e}"))

    def route_api(self, method, path, body):
        """Map a URL to discovery or to a resource verb."""
        srv = self.server
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return self.send_json(200, VERSION)
        if not parts or parts[0] not in ("api", "apis"):
            raise ApiError.no_route()
        if parts[0] == "api":
            if len(parts) == 1:
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{
                                                "clientCIDR": "0.0.0.0/0",
                                                "serverAddress": f"127.0.0.1:{srv.server_address[1]}"}]})
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 1:
                return self.send_json(200, srv.group_list())
            if len(parts) == 2:
                g = srv.group_doc(parts[1])
                if g is None:
                    raise ApiError.no_route()
                return self.send_json(200, g)
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            doc = srv.resource_list(group, version)
            if doc is None or method != "GET":
                raise ApiError.no_route()
            return self.send_json(200, doc)
        watch_prefix = rest[0] == "watch"
        if watch_prefix:
            rest = rest[1:]
        ns = None
        if (len(rest) >= 3 and rest[0] == "namespaces"
                and (srv.registry.lookup(group, version, rest[2]) is not None
                     or (group == "" and rest[2] == "bindings"))):
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError.no_route()
        if rest[0] == "bindings" and group == "" and ns is not None and len(rest) == 1:
            if method != "POST":
                raise ApiError.method_not_allowed()
            return self.send_json(201, srv.api.bind(ns, None, self.json_body(body), self.user_agent()))
        rt = srv.registry.lookup(group, version, rest[0])
        if rt is None:
            raise ApiError.no_route()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rt.subresources:
            raise ApiError.no_route()
        if (rt.namespaced and ns is None and name is not None) or (not rt.namespaced and ns is not None):
            raise ApiError.no_route()
        if "dryRun" in self.query:
            raise ApiError.bad_request("dryRun is not supported by the fake API server")
        self.serve_resource(method, rt, ns, name, sub, body, watch_prefix)

    def json_body(self, body):
        try:
            obj = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ApiError.bad_request(f"couldn't get version/kind; json parse error: {e}")
        if not isinstance(obj, dict):
            raise ApiError.bad_request("couldn't get version/kind; json parse error: "
                                       "the body is not a JSON object")
        return obj

    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def write_body(self, body):
        """A POST/PUT body: JSON only (415 otherwise)."""
        ct = self.content_type()
        if ct not in ("", "application/json", "*/*"):
            raise ApiError(415, f'the body of the request was in an unknown format - accepted media '
                                f'types include: application/json, application/vnd.kubernetes.protobuf '
                                f'(the fake API server reads JSON only; got "{ct}")')
        return self.json_body(body)

    def serve_resource(self, method, rt, ns, name, sub, body, watch_prefix):
        api = self.server.api
        q = self.query
        if method == "GET":
            if watch_prefix or (name is None and q.get("watch") in TRUE_WORDS):
                if name is not None:
                    if sub is not None:
                        raise ApiError.no_route()
                    q = dict(q, fieldSelector=",".join(
                        x for x in (q.get("fieldSelector"), "metadata.name=" + name) if x))
                return self.serve_watch(rt, ns, q)
            if name is None:
                return self.send_json(200, api.list(rt, ns, q))
            obj = api.get(rt, ns, name)
            if sub == "scale":
                return self.send_json(200, api.scale_of(rt, obj))
            if sub == "binding":
                raise ApiError.method_not_allowed()
            return self.send_json(200, rt.to_external(obj))
        if method == "POST":
            if sub == "binding":
                return self.send_json(201, api.bind(ns, name, self.write_body(body), self.user_agent()))
            if name is not None:
                raise ApiError.method_not_allowed()
            if rt.namespaced and ns is None:
                raise ApiError.method_not_allowed()
            obj = api.create(rt, ns, self.write_body(body))
            if rt.kind == "Lease":
                api.note_lease(obj, self.user_agent())
            return self.send_json(201, rt.to_external(obj))
        if method == "PUT":
            if name is None or sub == "binding":
                raise ApiError.method_not_allowed()
            if sub == "scale":
                return self.send_json(200, api.put_scale(rt, ns, name, self.write_body(body)))
            obj, created = api.update(rt, ns, name, self.write_body(body), sub)
            if rt.kind == "Lease":
                api.note_lease(obj, self.user_agent())
            return self.send_json(201 if created else 200, rt.to_external(obj))
        if method == "PATCH":
            if name is None or sub == "binding":
                raise ApiError.method_not_allowed()
            out = api.patch(rt, ns, name, self.content_type(), body, sub)
            return self.send_json(200, out if sub == "scale" else rt.to_external(out))
        if method == "DELETE":
            if sub is not None:
                raise ApiError.method_not_allowed()
            opts = self.json_body(body) if body.strip() else {}
            if q.get("propagationPolicy"):
                opts["propagationPolicy"] = q["propagationPolicy"]
            if name is None:
                return self.send_json(200, api.delete_collection(rt, ns, q, opts))
            return self.send_json(200, api.delete(rt, ns, name, opts))
        raise ApiError.method_not_allowed()

    # --- watch ---

    def serve_watch(self, rt, ns, q):
        """A watch stream (see the module docstring for the semantics)."""
        srv, st = self.server, self.server.store
        fsel = FieldSelector(q.get("fieldSelector"))
        fsel.check(rt)
        lsel = LabelSelector(q.get("labelSelector"))
        bookmarks = q.get("allowWatchBookmarks") in TRUE_WORDS
        timeout = _int_param(q, "timeoutSeconds", 0)
        rvp = q.get("resourceVersion") or ""
        initial_events = q.get("sendInitialEvents") in TRUE_WORDS
        if initial_events and (q.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks):
            raise ApiError.invalid("ListOptions", "meta.k8s.io", "", [FieldError(
                "sendInitialEvents", "Forbidden",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and "
                "allowWatchBookmarks to true")])

        def matches(o):
            if ns and meta(o).get("namespace") != ns:
                return False
            if fsel and not fsel.matches(rt, o):
                return False
            return not lsel or lsel.matches(meta(o).get("labels"))

        lines, error = [], None
        with st.cond:
            if rvp in ("", "0") or initial_events:
                if rvp not in ("", "0"):
                    srv.api._wait_for_rv(_parse_rv(rvp))
                cursor = st.rv
                for _, o in sorted(st.bucket(rt.storage).items()):
                    if matches(o):
                        lines.append(self.event_line(rt, "ADDED", o))
                if initial_events:
                    lines.append(self.bookmark_line(rt, cursor, initial_end=True))
            else:
                cursor = _parse_rv(rvp)
                if cursor < st.compacted_rv:
                    error = ApiError(410, f"too old resource version: {cursor} ({st.compacted_rv})",
                                     "Expired")
                    if srv.faults.watch_410 == "status":
                        raise error
            gen = st.drop_gen
            st.open_watches += 1
        self.is_watch = True
        try:
            self.send_response(200)
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Content-Type", "application/json")
            self.chunked = self.request_version != "HTTP/1.0"
            if self.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.close_connection = True
            self.end_headers()
            if error is not None:
                self.write_events([dumps({"type": "ERROR", "object": error.status()}) + b"\n"])
                self.end_stream()
                return
            self.stream(rt, matches, lines, cursor, gen, bookmarks, timeout)
        except WatchAborted:
            self.abort_stream()
        finally:
            with st.cond:
                st.open_watches -= 1

    def stream(self, rt, matches, lines, cursor, gen, bookmarks, timeout):
        srv, st = self.server, self.server.store
        now = time.monotonic()
        deadline = now + timeout if timeout else None
        next_bm = now + srv.bookmark_interval
        if lines:
            self.write_events(lines)
        while True:
            with st.cond:
                while True:
                    if st.drop_gen != gen or st.stopping:
                        raise WatchAborted()
                    if cursor < st.compacted_rv:
                        # fell behind the history: the watch cache closes such watchers
                        entries = None
                        break
                    entries = st.entries_after(cursor)
                    now = time.monotonic()
                    if entries or (deadline and now >= deadline) or (bookmarks and now >= next_bm):
                        break
                    wake = min(x for x in (deadline, next_bm if bookmarks else None, now + 1.0) if x)
                    st.cond.wait(max(0.0, wake - now))
                    if self.client_closed():
                        raise ClientGone()
                if entries is None:
                    break
                if entries:
                    cursor = entries[-1].rv
                elif cursor < st.rv:
                    cursor = st.rv
            out = []
            for e in entries:
                if e.storage == rt.storage:
                    line = self.entry_line(rt, e, matches)
                    if line:
                        out.append(line)
            now = time.monotonic()
            if bookmarks and now >= next_bm:
                out.append(self.bookmark_line(rt, cursor))
                next_bm = now + srv.bookmark_interval
            if out:
                self.write_events(out)
            if deadline and time.monotonic() >= deadline:
                break
        self.end_stream()

    def entry_line(self, rt, e, matches):
        """The event a watcher with this filter sees for one history entry."""
        cur_ok = e.type != DELETED and matches(e.obj)
        prev_ok = e.prev is not None and matches(e.prev)
        if e.type == ADDED:
            return self.cached_line(rt, e, "ADDED") if cur_ok else None
        if e.type == DELETED:
            return self.cached_line(rt, e, "DELETED") if prev_ok else None
        if cur_ok and prev_ok:
            return self.cached_line(rt, e, "MODIFIED")
        if cur_ok:
            return self.cached_line(rt, e, "ADDED")
        if prev_ok:
            # stopped matching: DELETED with the last matching state, at this rv
            last = dict(e.prev)
            last["metadata"] = dict(meta(e.prev), resourceVersion=str(e.rv))
            return self.event_line(rt, "DELETED", last)
        return None

    @staticmethod
    def cached_line(rt, e, etype):
        key = (rt.api_version, etype)
        line = e.cache.get(key)
        if line is None:
            line = e.cache[key] = Handler.event_line(rt, etype, e.obj)
        return line

    @staticmethod
    def event_line(rt, etype, obj):
        return b'{"type":"' + etype.encode() + b'","object":' + dumps(rt.to_external(obj)) + b"}\n"

    @staticmethod
    def bookmark_line(rt, rv, initial_end=False):
        md = {"resourceVersion": str(rv)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return dumps({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version,
                                                     "metadata": md}}) + b"\n"

    def write_events(self, lines):
        """One chunk per event, or random chunks across events (split_chunks)."""
        try:
            if not self.chunked:
                self.wfile.write(b"".join(lines))
                return
            if not self.server.faults.split_chunks:
                for line in lines:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                return
            data, pos, rnd = b"".join(lines), 0, self.server.rnd
            while pos < len(data):
                n = rnd.choice((rnd.randint(1, 8), rnd.randint(1, 300), rnd.randint(1, 9000)))
                piece = data[pos:pos + n]
                pos += n
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        except (OSError, ssl.SSLError, ValueError) as e:
            raise ClientGone() from e

    def end_stream(self):
        if self.chunked:
            try:
                self.wfile.write(b"0\r\n\r\n")
            except (OSError, ValueError) as e:
                raise ClientGone() from e

    def abort_stream(self):
        """drop_watches: half a chunk, then the connection goes away."""
        self.close_connection = True
        try:
            if self.chunked:
                self.wfile.write(b"40\r\n" + b'{"type":"MODIFIED","object":{"kind":"Pod","apiVers')
            self.connection.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def client_closed(self):
        """Whether the peer closed an idle watch (plain sockets only)."""
        sock = self.connection
        if isinstance(sock, ssl.SSLSocket):
            return False
        try:
            r, _, _ = select.select([sock], [], [], 0)
            return bool(r) and sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0-ksense-fake",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2024-01-01T00:00:00Z", "goVersion": "go1.22.0", "compiler": "gc",
           "platform": "linux/amd64"}


class FakeApiServer(ThreadingHTTPServer):
    """The server: owns the store, the API, the controllers, the faults and
    the logs, and answers the /fake/ control requests."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, opts):
        super().__init__(addr, Handler)
        self.opts = opts
        self.token = opts.token
        self.client_ca = opts.client_ca
        self.registry = Registry()
        self.log_lock = threading.Lock()
        self._init_state(opts.seed)

    def _init_state(self, seed, keep_rv=None):
        opts = self.opts
        self.rnd = random.Random(seed)
        self.store = Store(opts.history)
        if keep_rv is not None:
            # a client that knew the old state must relist: its rv is expired
            self.store.rv, self.store.compacted_rv = keep_rv, keep_rv + 1
        self.api = Api(self.store, self.registry, self.rnd)
        self.controllers = Controllers(self.api, not opts.no_controllers, opts.kubelet)
        self.api.controllers = self.controllers
        self.faults = Faults(opts.split_chunks, opts.watch_410)
        self.bookmark_interval = opts.bookmark_interval
        self.requests = deque(maxlen=REQUEST_LOG_MAX)
        ns = NamespaceResource()
        for name in ("default", "kube-node-lease", "kube-public", "kube-system"):
            self.api.create(ns, None, {"metadata": {"name": name}})

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            if VERBOSE:
                log(f"connection from {client_address[0]}: {exc}")
            return
        log("unexpected error:\n" + traceback.format_exc())

    def record(self, method, path, query, code, watch, ms):
        with self.log_lock:
            self.requests.append({"method": method, "path": path, "query": query, "code": code,
                                  "watch": watch, "ms": round(ms, 2), "t": round(time.time(), 3)})

    # --- control ---

    def control(self, data):
        if not isinstance(data, dict):
            raise ApiError.bad_request("the control body must be a JSON object")
        out = {"ok": True}
        for key, value in data.items():
            if key == "drop_watches":
                if value:
                    out["dropped"] = self.store.drop_watches()
            elif key == "fail_next":
                for spec in value if isinstance(value, list) else [value]:
                    self.faults.add_failure(spec)
            elif key == "delay_ms":
                self.faults.add_delay(int(value), data.get("path_regex") or "",
                                      str(data.get("method") or "").upper(), data.get("count"),
                                      data.get("user_agent_regex") or "")
            elif key in ("path_regex", "method", "count", "user_agent_regex"):
                continue
            elif key == "compact":
                if value:
                    self.store.compact()
            elif key == "split_chunks":
                self.faults.split_chunks = bool(value)
            elif key == "watch_410":
                if value not in ("error_event", "status"):
                    raise ApiError.bad_request('watch_410 must be "error_event" or "status"')
                self.faults.watch_410 = value
            elif key == "bookmark_interval":
                self.bookmark_interval = max(0.01, float(value))
            elif key == "history":
                self.store.set_history_cap(int(value))
            elif key == "controllers":
                self.controllers.enabled = bool(value)
            elif key == "kubelet":
                self.controllers.kubelet = bool(value)
            elif key == "seed":
                self.rnd.seed(value)
            elif key == "clear_faults":
                if value:
                    self.faults.clear()
            else:
                raise ApiError.bad_request(f"unknown control knob {key!r}")
        out["resourceVersion"] = str(self.store.rv)
        return out

    def reset(self):
        with self.store.cond:
            self.store.stopping = True
            self.store.drop_watches()
            rv = self.store.rv
            old_store = self.store
            self._init_state(self.opts.seed, keep_rv=rv)
            with old_store.cond:
                old_store.cond.notify_all()

    def state_dump(self, resource=None):
        st = self.store
        with st.cond:
            objects = {s: [o for _, o in sorted(b.items())] for s, b in sorted(st.objects.items())
                       if resource in (None, "", s, s.split(".")[0])}
            out = {"resourceVersion": str(st.rv), "compactedResourceVersion": str(st.compacted_rv),
                   "historyLength": len(st.history), "openWatches": st.open_watches,
                   "knobs": dict(self.faults.describe(), bookmark_interval=self.bookmark_interval,
                                 history=st.history_cap, controllers=self.controllers.enabled,
                                 kubelet=self.controllers.kubelet),
                   "objects": objects, "bindings": list(self.api.bindings),
                   "leaseWrites": list(self.api.lease_writes)}
        with self.log_lock:
            out["requests"] = list(self.requests)
        return out

    # --- discovery ---

    def resource_list(self, group, version):
        rts = [t for t in self.registry.types if t.group == group and t.version == version]
        if not rts:
            return None
        res = [r for t in rts for r in t.discovery()]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": res}

    def group_doc(self, group):
        if group not in self.registry.groups():
            return None
        version = next(t.version for t in self.registry.types if t.group == group)
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv],
                "preferredVersion": gv}

    def group_list(self):
        groups = [self.group_doc(g) for g in self.registry.groups()]
        for g in groups:
            del g["kind"], g["apiVersion"]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Fake Kubernetes API server for ksense tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the listening port here once listening")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca", help="accept client certificates signed by this CA as authentication")
    p.add_argument("--token", help="require Authorization: Bearer TOKEN")
    p.add_argument("--state-file", help="seed objects from this JSON file at start")
    p.add_argument("--dump-on-exit", help="write GET /fake/state to this file on SIGTERM/SIGINT")
    p.add_argument("--bookmark-interval", type=float, default=1.0)
    p.add_argument("--history", type=int, default=1000, help="watch event history length")
    p.add_argument("--seed", type=int, default=None, help="random seed (names, chunk splits)")
    p.add_argument("--no-controllers", action="store_true")
    p.add_argument("--kubelet", action="store_true", help="bound pods become Running")
    p.add_argument("--watch-410", choices=("error_event", "status"), default="error_event")
    p.add_argument("--split-chunks", action="store_true")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if a.client_ca and not a.tls_cert:
        p.error("--client-ca needs --tls-cert/--tls-key")
    return a


def main(argv=None):
    global VERBOSE
    opts = parse_args(argv)
    VERBOSE = opts.verbose
    srv = FakeApiServer((opts.host, opts.port), opts)
    if opts.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        if opts.client_ca:
            ctx.load_verify_locations(opts.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    if opts.state_file and os.path.exists(opts.state_file):
        with open(opts.state_file) as f:
            data = json.load(f)
        if isinstance(data.get("objects"), dict):
            objs = [o for lst in data["objects"].values() for o in lst]
        else:
            objs = data.get("objects") or data.get("items") or [data]
        restored_rv = data.get("resourceVersion")
        if restored_rv is not None:
            # a restart: resourceVersions never go back
            srv.store.rv = max(srv.store.rv, _parse_rv(str(restored_rv)))
        srv.api.seed(objs, bool(data.get("defaults")))
        if restored_rv is not None:
            srv.store.compact()
            srv.api.bindings = list(data.get("bindings") or [])
            srv.api.lease_writes = list(data.get("leaseWrites") or [])
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.replace(tmp, opts.port_file)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"listening on {'https' if opts.tls_cert else 'http'}://{opts.host}:{srv.server_address[1]}")
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        # handler threads still run: freeze the store and dump it in one
        # critical section, so no write is acknowledged that the dump lacks
        with srv.store.cond:
            srv.store.stopping = True
            srv.store.frozen = True
            srv.store.cond.notify_all()
            state = srv.state_dump() if opts.dump_on_exit else None
        if state is not None:
            tmp = opts.dump_on_exit + ".tmp"
            with open(tmp, "w") as f:
                json.dump(state, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, opts.dump_on_exit)
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
