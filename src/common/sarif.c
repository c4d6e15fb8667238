/*
 * SARIF 2.1.0 logs.  A log holds runs[]; a run holds its tool's rules
 * (tool.driver.rules[]) and results[].  A result names its rule by ruleId
 * or ruleIndex and points at a file through locations[0].physicalLocation
 * (artifactLocation.uri, optionally relative to a uriBaseId that the run's
 * originalUriBaseIds may define, and region.startLine).  Everything but
 * runs and each run's tool.driver is optional; unknown keys are ignored.
 */
#include "prscan/sarif.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prscan/error.h"

#define SARIF_LOG_MAX ((size_t)256 * 1024 * 1024)
/* Above the 64 KiB prs_result_add() keeps: it cuts at a UTF-8 boundary. */
#define SARIF_TEXT_MAX ((size_t)128 * 1024)
#define SARIF_BASE_DEPTH 8
#define SARIF_WHERE_MAX 64

/* One run's tables; every pointer borrowed from the log but by_id. */
struct sarif_run {
	size_t index;
	const char *root;
	json_t *rules;		/* array or NULL */
	json_t *by_id;		/* rule id -> rule: a new reference */
	json_t *bases;		/* originalUriBaseIds or NULL */
	json_t *artifacts;	/* array or NULL */
};

/* What one result says; strings borrowed from the log. */
struct sarif_result {
	char where[SARIF_WHERE_MAX];	/* "run 0 result 3" for messages */
	json_t *rule;			/* NULL when none is named */
	const char *rule_id;
	const char *level;
	double score;			/* security-severity, -1: none */
};

enum prs_severity
prs_sarif_severity(const char *level, double score)
{
	if (score >= 9.0)
		return PRS_SEV_CRITICAL;
	if (score >= 7.0)
		return PRS_SEV_HIGH;
	if (score >= 4.0)
		return PRS_SEV_MEDIUM;
	if (score > 0.0)
		return PRS_SEV_LOW;
	if (score == 0.0)
		return PRS_SEV_INFO;
	if (level == NULL || strcmp(level, "warning") == 0)
		return PRS_SEV_MEDIUM;
	if (strcmp(level, "error") == 0)
		return PRS_SEV_HIGH;
	if (strcmp(level, "note") == 0)
		return PRS_SEV_LOW;
	return PRS_SEV_INFO;
}

static int
bad(const char *where, const char *key, const char *what)
{
	if (*where == '\0')
		prs_error_set("SARIF log: %s %s", key, what);
	else
		prs_error_set("SARIF log: %s: %s %s", where, key, what);
	return PRS_EINPUT;
}

/* Member key of o (an object or NULL) as a string; absent or null: NULL. */
static int
get_str(const json_t *o, const char *key, const char *where,
    const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(where, key, "is not a string");
	*out = json_string_value(v);
	return 0;
}

static int
get_obj(const json_t *o, const char *key, const char *where, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(where, key, "is not an object");
	*out = v;
	return 0;
}

static int
get_arr(const json_t *o, const char *key, const char *where, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(where, key, "is not an array");
	*out = v;
	return 0;
}

/* An index member: absent or null -1, else an integer from -1 up. */
static int
get_index(const json_t *o, const char *key, const char *where,
    json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < -1)
		return bad(where, key, "is not an index");
	*out = json_integer_value(v);
	return 0;
}

/* o[key].text, for message-like members (shortDescription, ...). */
static int
get_text(const json_t *o, const char *key, const char *where,
    const char **out)
{
	json_t *m;
	int rc;

	*out = NULL;
	rc = get_obj(o, key, where, &m);
	if (rc == 0 && m != NULL)
		rc = get_str(m, "text", where, out);
	return rc;
}

static int
dup_or_null(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	*out = strdup(s);
	return *out == NULL ? prs_error_set("out of memory") : 0;
}

/*
 * ---- rules ----
 */

/* Indexes rules[] by id; the first rule with an id wins. */
static int
run_index_rules(struct sarif_run *run, const char *where)
{
	const char *id;
	json_t *rule;
	size_t i;

	run->by_id = json_object();
	if (run->by_id == NULL)
		return prs_error_set("out of memory");
	json_array_foreach(run->rules, i, rule) {
		if (!json_is_object(rule)) {
			prs_error_set("SARIF log: %s: rule %zu is not an "
			    "object", where, i);
			return PRS_EINPUT;
		}
		if (get_str(rule, "id", where, &id) < 0)
			return PRS_EINPUT;
		if (id != NULL && json_object_get(run->by_id, id) == NULL &&
		    json_object_set(run->by_id, id, rule) < 0)
			return prs_error_set("out of memory");
	}
	return 0;
}

/* The rule a result names: ruleIndex, rule.index, ruleId or rule.id. */
static int
result_rule(const struct sarif_run *run, const json_t *res,
    struct sarif_result *sr)
{
	json_t *ref;
	const char *ref_id;
	json_int_t idx, ref_idx;

	if (get_str(res, "ruleId", sr->where, &sr->rule_id) < 0 ||
	    get_index(res, "ruleIndex", sr->where, &idx) < 0 ||
	    get_obj(res, "rule", sr->where, &ref) < 0 ||
	    get_str(ref, "id", sr->where, &ref_id) < 0 ||
	    get_index(ref, "index", sr->where, &ref_idx) < 0)
		return PRS_EINPUT;
	if (sr->rule_id == NULL)
		sr->rule_id = ref_id;
	if (idx < 0)
		idx = ref_idx;

	if (idx >= 0 && (size_t)idx >= json_array_size(run->rules))
		return bad(sr->where, "ruleIndex", "is outside the rules");
	if (idx >= 0)
		sr->rule = json_array_get(run->rules, (size_t)idx);
	else if (sr->rule_id != NULL)
		sr->rule = json_object_get(run->by_id, sr->rule_id);
	if (sr->rule_id == NULL && sr->rule != NULL &&
	    get_str(sr->rule, "id", sr->where, &sr->rule_id) < 0)
		return PRS_EINPUT;
	return 0;
}

/*
 * ---- severity ----
 */

static int
level_known(const char *level)
{
	return strcmp(level, "error") == 0 || strcmp(level, "warning") == 0 ||
	    strcmp(level, "note") == 0 || strcmp(level, "none") == 0;
}

/* The level: the result's, the rule's default, or the kind's default. */
static int
result_level(const json_t *res, const char *kind, struct sarif_result *sr)
{
	json_t *conf;

	if (get_str(res, "level", sr->where, &sr->level) < 0)
		return PRS_EINPUT;
	if (sr->level == NULL) {
		if (get_obj(sr->rule, "defaultConfiguration", sr->where,
		    &conf) < 0 ||
		    get_str(conf, "level", sr->where, &sr->level) < 0)
			return PRS_EINPUT;
	}
	if (sr->level == NULL)
		sr->level = kind == NULL || strcmp(kind, "fail") == 0 ?
		    "warning" : "none";
	if (!level_known(sr->level)) {
		prs_error_set("SARIF log: %s: level \"%.40s\" is not error, "
		    "warning, note or none", sr->where, sr->level);
		return PRS_EINPUT;
	}
	return 0;
}

/* A security-severity as GitHub reads it: a number, or one in a string. */
static int
score_value(const json_t *v, const char *where, double *out)
{
	const char *s;
	char *end;
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		d = strtod(s, &end);
		while (end != s && isspace((unsigned char)*end))
			end++;
		if (end == s || *end != '\0')
			return bad(where, "security-severity",
			    "is not a number");
	} else {
		return bad(where, "security-severity", "is not a number");
	}
	if (!isfinite(d) || d < 0.0)
		return bad(where, "security-severity",
		    "is not a score from 0 up");
	*out = d;
	return 0;
}

/* holder.properties.security-severity into *score when there is one. */
static int
score_read(const json_t *holder, const char *where, double *score)
{
	json_t *props, *v;

	if (get_obj(holder, "properties", where, &props) < 0)
		return PRS_EINPUT;
	v = json_object_get(props, "security-severity");
	if (v == NULL || json_is_null(v))
		return 0;
	return score_value(v, where, score);
}

/*
 * ---- texts ----
 */

/* A growing string, cut at SARIF_TEXT_MAX bytes. */
struct sarif_buf {
	char *s;
	size_t n, cap;
};

static int
buf_add(struct sarif_buf *b, const char *s, size_t n)
{
	char *grown;

	if (b->n + n > SARIF_TEXT_MAX)
		n = SARIF_TEXT_MAX - b->n;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;

		while (cap < b->n + n + 1)
			cap *= 2;
		grown = realloc(b->s, cap);
		if (grown == NULL)
			return prs_error_set("out of memory");
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return 0;
}

/*
 * Fills a messageStrings template: {N} becomes arguments[N], {{ and }}
 * single braces; anything else stays as written.
 */
static int
message_fill(const char *tmpl, const json_t *args, char **out)
{
	struct sarif_buf b = { NULL, 0, 0 };
	const char *p = tmpl, *arg;
	char *end;
	unsigned long n;
	int rc = 0;

	while (rc == 0 && *p != '\0') {
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			rc = buf_add(&b, p, 1);
			p += 2;
			continue;
		}
		if (p[0] == '{' && isdigit((unsigned char)p[1])) {
			n = strtoul(p + 1, &end, 10);
			arg = json_string_value(json_array_get(args, n));
			if (*end == '}' && arg != NULL) {
				rc = buf_add(&b, arg, strlen(arg));
				p = end + 1;
				continue;
			}
		}
		rc = buf_add(&b, p, 1);
		p++;
	}
	if (rc == 0 && b.s == NULL)
		rc = buf_add(&b, "", 0);
	if (rc < 0)
		free(b.s);
	*out = rc == 0 ? b.s : NULL;
	return rc;
}

/* The result's message: text, markdown, or the rule's messageStrings. */
static int
message_text(const json_t *res, const struct sarif_result *sr, char **out)
{
	json_t *msg, *strings, *args;
	const char *text, *id;

	*out = NULL;
	if (get_obj(res, "message", sr->where, &msg) < 0 ||
	    get_str(msg, "text", sr->where, &text) < 0)
		return PRS_EINPUT;
	if (text == NULL && get_str(msg, "markdown", sr->where, &text) < 0)
		return PRS_EINPUT;
	if (text != NULL)
		return dup_or_null(text, out);

	if (get_str(msg, "id", sr->where, &id) < 0 ||
	    get_arr(msg, "arguments", sr->where, &args) < 0 ||
	    get_obj(sr->rule, "messageStrings", sr->where, &strings) < 0)
		return PRS_EINPUT;
	if (id == NULL || strings == NULL)
		return 0;
	if (get_text(strings, id, sr->where, &text) < 0)
		return PRS_EINPUT;
	return text != NULL ? message_fill(text, args, out) : 0;
}

/* The message, then the rule's fullDescription when it adds something. */
static int
description(const json_t *res, const struct sarif_result *sr, char **out)
{
	const char *full = NULL;
	char *msg = NULL;
	size_t n;
	int rc;

	*out = NULL;
	rc = message_text(res, sr, &msg);
	if (rc == 0)
		rc = get_text(sr->rule, "fullDescription", sr->where, &full);
	if (rc < 0 || full == NULL || *full == '\0' ||
	    (msg != NULL && strstr(msg, full) != NULL)) {
		*out = msg;
		return rc;
	}
	if (msg == NULL)
		return dup_or_null(full, out);

	n = strlen(msg) + strlen(full) + 3;
	*out = malloc(n);
	if (*out != NULL)
		snprintf(*out, n, "%s\n\n%s", msg, full);
	free(msg);
	return *out == NULL ? prs_error_set("out of memory") : 0;
}

/* The first string value of o[key] (fingerprints, partialFingerprints). */
static int
first_value(const json_t *o, const char *key, const char *where,
    const char **out)
{
	const char *k;
	json_t *m, *v;

	*out = NULL;
	if (get_obj(o, key, where, &m) < 0)
		return PRS_EINPUT;
	json_object_foreach(m, k, v) {
		if (json_is_string(v) && *json_string_value(v) != '\0') {
			*out = json_string_value(v);
			break;
		}
	}
	return 0;
}

static int
fingerprint(const json_t *res, const char *where, const char **out)
{
	if (first_value(res, "fingerprints", where, out) < 0)
		return PRS_EINPUT;
	if (*out == NULL &&
	    first_value(res, "partialFingerprints", where, out) < 0)
		return PRS_EINPUT;
	if (*out == NULL && get_str(res, "guid", where, out) < 0)
		return PRS_EINPUT;
	return 0;
}

/*
 * ---- paths ----
 */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Is s valid UTF-8 without control characters? */
static int
path_text_ok(const char *s)
{
	json_t *t;
	const char *c;

	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	t = json_string(s);	/* jansson refuses invalid UTF-8 */
	json_decref(t);
	return t != NULL;
}

/*
 * Percent-decodes s into a new *out; NULL when the result would hold a
 * control character (%00 included) or invalid UTF-8.
 */
static int
uri_decode(const char *s, char **out)
{
	char *d;
	int hi, lo, ok = 1;

	*out = malloc(strlen(s) + 1);
	if (*out == NULL)
		return prs_error_set("out of memory");
	for (d = *out; *s != '\0'; s++) {
		hi = s[0] == '%' ? hexval((unsigned char)s[1]) : -1;
		lo = hi >= 0 ? hexval((unsigned char)s[2]) : -1;
		if (lo < 0) {
			*d++ = *s;
			continue;
		}
		if (hi < 2)
			ok = 0;		/* %00 to %1F */
		else
			*d++ = (char)(hi * 16 + lo);
		s += 2;
	}
	*d = '\0';
	if (!ok || !path_text_ok(*out)) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

/* Length of a leading "scheme:" of two characters or more, else 0. */
static size_t
uri_scheme_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '+' || s[n] == '-' ||
	    s[n] == '.')
		n++;
	return n >= 2 && s[n] == ':' ? n + 1 : 0;
}

/*
 * The local path a URI reference names, decoded, in *out: a relative
 * reference as it is, a file: URI without its scheme and an empty or
 * "localhost" authority.  Other schemes and hosts give NULL.
 */
static int
uri_to_path(const char *uri, char **out)
{
	size_t scheme = uri_scheme_len(uri);
	const char *p = uri + scheme, *slash;

	*out = NULL;
	if (scheme > 0 && strncasecmp(uri, "file:", 5) != 0)
		return 0;
	if (scheme > 0 && p[0] == '/' && p[1] == '/') {
		p += 2;
		slash = strchr(p, '/');
		if (slash == NULL || (slash != p &&
		    ((size_t)(slash - p) != 9 ||
		    strncasecmp(p, "localhost", 9) != 0)))
			return 0;
		p = slash;
	}
	return uri_decode(p, out);
}

static int
path_is_absolute(const char *p)
{
	return p[0] == '/' || p[0] == '\\' ||
	    (isalpha((unsigned char)p[0]) && p[1] == ':');
}

/* "<a>/<b>" in a new string. */
static char *
path_join(const char *a, const char *b)
{
	size_t na = strlen(a), n;
	char *s;

	while (na > 0 && (a[na - 1] == '/' || a[na - 1] == '\\'))
		na--;
	n = na + strlen(b) + 2;
	s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%.*s/%s", (int)na, a, b);
	return s;
}

/*
 * The path that base id stands for, through originalUriBaseIds (at most
 * SARIF_BASE_DEPTH deep), in *out; NULL when the run does not say.
 */
static int
base_path(const struct sarif_run *run, const char *id, int depth,
    const char *where, char **out)
{
	const char *uri, *parent_id;
	char *p = NULL, *parent = NULL;
	json_t *entry;
	int rc;

	*out = NULL;
	if (depth > SARIF_BASE_DEPTH)
		return bad(where, "uriBaseId", "chain is too long");
	if (get_obj(run->bases, id, where, &entry) < 0 ||
	    get_str(entry, "uri", where, &uri) < 0 ||
	    get_str(entry, "uriBaseId", where, &parent_id) < 0)
		return PRS_EINPUT;
	if (uri == NULL)
		return 0;
	rc = uri_to_path(uri, &p);
	if (rc < 0 || p == NULL || path_is_absolute(p) || parent_id == NULL) {
		*out = p;
		return rc;
	}
	rc = base_path(run, parent_id, depth + 1, where, &parent);
	if (rc == 0 && parent != NULL) {
		*out = path_join(parent, p);
		rc = *out == NULL ? prs_error_set("out of memory") : 0;
		free(p);
	} else {
		*out = p;
	}
	free(parent);
	return rc;
}

/* prs_path_confine, with an escaping path as no path at all. */
static int
confine(const char *root, const char *path, char **out)
{
	int rc = prs_path_confine(root, path, out);

	return rc == PRS_EINPUT ? 0 : rc;
}

/* The repository-relative path of uri (relative to base_id), or NULL. */
static int
uri_resolve(const struct sarif_run *run, const char *uri,
    const char *base_id, const char *where, char **out)
{
	char *rel = NULL, *base = NULL, *joined = NULL;
	int rc;

	*out = NULL;
	rc = uri_to_path(uri, &rel);
	if (rc < 0 || rel == NULL || *rel == '\0')
		goto out;
	if (base_id != NULL && !path_is_absolute(rel))
		rc = base_path(run, base_id, 0, where, &base);
	if (rc < 0)
		goto out;
	if (base != NULL) {
		joined = path_join(base, rel);
		if (joined == NULL) {
			rc = prs_error_set("out of memory");
			goto out;
		}
		rc = confine(run->root, joined, out);
	}
	/* A base elsewhere: the scanner saw the clone under another name. */
	if (rc == 0 && *out == NULL)
		rc = confine(run->root, rel, out);
out:
	free(joined);
	free(base);
	free(rel);
	return rc;
}

/* uri and uriBaseId of an artifactLocation, or of artifacts[index]. */
static int
artifact_uri(const struct sarif_run *run, json_t *art, const char *where,
    const char **uri, const char **base_id)
{
	json_int_t idx;
	json_t *a;

	if (get_str(art, "uri", where, uri) < 0 ||
	    get_str(art, "uriBaseId", where, base_id) < 0 ||
	    get_index(art, "index", where, &idx) < 0)
		return PRS_EINPUT;
	if (*uri != NULL || idx < 0)
		return 0;
	if ((size_t)idx >= json_array_size(run->artifacts))
		return bad(where, "artifactLocation.index",
		    "is outside the artifacts");
	a = json_array_get(run->artifacts, (size_t)idx);
	if (!json_is_object(a) || get_obj(a, "location", where, &art) < 0)
		return bad(where, "artifact", "is not an object");
	if (get_str(art, "uri", where, uri) < 0 ||
	    get_str(art, "uriBaseId", where, base_id) < 0)
		return PRS_EINPUT;
	return 0;
}

static int
region_line(const json_t *phys, const char *where, long *line)
{
	json_t *region, *v;

	*line = 1;
	if (get_obj(phys, "region", where, &region) < 0)
		return PRS_EINPUT;
	v = json_object_get(region, "startLine");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return bad(where, "startLine", "is not an integer");
	if (json_integer_value(v) > INT_MAX)
		return bad(where, "startLine", "is too large");
	if (json_integer_value(v) > 1)
		*line = (long)json_integer_value(v);
	return 0;
}

/* The first location's path (or NULL) and line. */
static int
location(const struct sarif_run *run, const json_t *res, const char *where,
    char **path, long *line)
{
	const char *uri = NULL, *base_id = NULL;
	json_t *locs, *loc, *phys = NULL, *art = NULL;

	*path = NULL;
	*line = 1;
	if (get_arr(res, "locations", where, &locs) < 0)
		return PRS_EINPUT;
	if (json_array_size(locs) == 0)
		return 0;
	loc = json_array_get(locs, 0);
	if (!json_is_object(loc))
		return bad(where, "locations[0]", "is not an object");
	if (get_obj(loc, "physicalLocation", where, &phys) < 0 ||
	    get_obj(phys, "artifactLocation", where, &art) < 0 ||
	    region_line(phys, where, line) < 0)
		return PRS_EINPUT;
	if (art == NULL)
		return 0;
	if (artifact_uri(run, art, where, &uri, &base_id) < 0)
		return PRS_EINPUT;
	return uri == NULL ? 0 : uri_resolve(run, uri, base_id, where, path);
}

/*
 * ---- results ----
 */

static void
finding_clear(struct prs_finding *f)
{
	free(f->rule_id);
	free(f->rule_name);
	free(f->path);
	free(f->description);
	free(f->url);
	free(f->fingerprint);
	memset(f, 0, sizeof(*f));
}

/* The finding's strings from the result and its rule. */
static int
finding_texts(const json_t *res, const struct sarif_result *sr,
    struct prs_finding *f)
{
	const char *name, *url, *fp;

	if (get_str(sr->rule, "name", sr->where, &name) < 0 ||
	    (name == NULL && get_text(sr->rule, "shortDescription",
	    sr->where, &name) < 0) ||
	    get_str(sr->rule, "helpUri", sr->where, &url) < 0 ||
	    fingerprint(res, sr->where, &fp) < 0)
		return PRS_EINPUT;
	if (dup_or_null(sr->rule_id, &f->rule_id) < 0 ||
	    dup_or_null(name, &f->rule_name) < 0 ||
	    dup_or_null(url, &f->url) < 0 ||
	    dup_or_null(fp, &f->fingerprint) < 0)
		return -1;
	return description(res, sr, &f->description);
}

static int
result_parse(const struct sarif_run *run, const json_t *res, size_t ri,
    struct prs_scan_result *r)
{
	struct sarif_result sr;
	struct prs_finding f;
	const char *kind;
	int rc;

	memset(&sr, 0, sizeof(sr));
	memset(&f, 0, sizeof(f));
	sr.score = -1.0;
	snprintf(sr.where, sizeof(sr.where), "run %zu result %zu",
	    run->index, ri);
	if (!json_is_object(res))
		return bad(sr.where, "the result", "is not an object");
	if (get_str(res, "kind", sr.where, &kind) < 0)
		return PRS_EINPUT;
	if (kind != NULL && (strcmp(kind, "pass") == 0 ||
	    strcmp(kind, "notApplicable") == 0))
		return 0;

	if ((rc = result_rule(run, res, &sr)) < 0 ||
	    (rc = result_level(res, kind, &sr)) < 0 ||
	    (rc = score_read(sr.rule, sr.where, &sr.score)) < 0 ||
	    (rc = score_read(res, sr.where, &sr.score)) < 0 ||
	    (rc = finding_texts(res, &sr, &f)) < 0 ||
	    (rc = location(run, res, sr.where, &f.path, &f.line)) < 0)
		goto out;
	f.severity = prs_sarif_severity(sr.level, sr.score);
	rc = prs_result_add(r, &f);
out:
	finding_clear(&f);
	return rc;
}

/* The tool's version, kept from the first run that has one. */
static int
run_version(const json_t *driver, const char *where,
    struct prs_scan_result *r)
{
	const char *v, *sv;

	if (get_str(driver, "version", where, &v) < 0 ||
	    get_str(driver, "semanticVersion", where, &sv) < 0)
		return PRS_EINPUT;
	if (r->scanner_version != NULL)
		return 0;
	return dup_or_null(v != NULL ? v : sv, &r->scanner_version);
}

/* The run's tables: rules, originalUriBaseIds, artifacts. */
static int
run_tables(const json_t *j, struct sarif_run *run, const char *where,
    struct prs_scan_result *r)
{
	json_t *tool, *driver;

	if (get_obj(j, "tool", where, &tool) < 0 ||
	    get_obj(tool, "driver", where, &driver) < 0)
		return PRS_EINPUT;
	if (driver == NULL)
		return bad(where, "tool.driver", "is missing");
	if (run_version(driver, where, r) < 0 ||
	    get_arr(driver, "rules", where, &run->rules) < 0 ||
	    get_obj(j, "originalUriBaseIds", where, &run->bases) < 0 ||
	    get_arr(j, "artifacts", where, &run->artifacts) < 0)
		return PRS_EINPUT;
	return run_index_rules(run, where);
}

static int
run_parse(const json_t *j, size_t index, const char *root,
    struct prs_scan_result *r, size_t *seen)
{
	struct sarif_run run;
	char where[SARIF_WHERE_MAX];
	json_t *results, *res;
	size_t i;
	int rc;

	memset(&run, 0, sizeof(run));
	run.index = index;
	run.root = root;
	snprintf(where, sizeof(where), "run %zu", index);
	if (!json_is_object(j))
		return bad(where, "the run", "is not an object");
	rc = run_tables(j, &run, where, r);
	if (rc == 0)
		rc = get_arr(j, "results", where, &results);
	for (i = 0; rc == 0 && i < json_array_size(results); i++) {
		if (++*seen > PRS_SARIF_RESULTS_MAX) {
			prs_error_set("SARIF log: more than %d results",
			    PRS_SARIF_RESULTS_MAX);
			rc = PRS_EINPUT;
			break;
		}
		res = json_array_get(results, i);
		rc = result_parse(&run, res, i, r);
	}
	json_decref(run.by_id);
	return rc;
}

static int
log_load(const char *text, size_t len, json_t **out)
{
	json_error_t err;

	*out = NULL;
	if (text == NULL || len > SARIF_LOG_MAX) {
		prs_error_set("SARIF log: missing or larger than %zu bytes",
		    SARIF_LOG_MAX);
		return PRS_EINPUT;
	}
	*out = json_loadb(text, len, 0, &err);
	if (*out == NULL) {
		prs_error_set("SARIF log is not JSON: line %d: %s", err.line,
		    err.text);
		return PRS_EINPUT;
	}
	if (!json_is_object(*out)) {
		prs_error_set("SARIF log is not a JSON object");
		return PRS_EINPUT;
	}
	return 0;
}

int
prs_sarif_parse(const char *text, size_t len, const char *root,
    struct prs_scan_result **out)
{
	struct prs_scan_result *r = NULL;
	const char *version;
	json_t *j = NULL, *runs;
	size_t i, seen = 0;
	int rc;

	*out = NULL;
	rc = log_load(text, len, &j);
	if (rc == 0)
		rc = get_str(j, "version", "", &version);
	if (rc == 0)
		rc = get_arr(j, "runs", "", &runs);
	if (rc == 0 && runs == NULL)
		rc = bad("", "runs", "is missing");
	if (rc < 0)
		goto out;

	r = prs_result_new();
	if (r == NULL) {
		rc = prs_error_set("out of memory");
		goto out;
	}
	for (i = 0; rc == 0 && i < json_array_size(runs); i++)
		rc = run_parse(json_array_get(runs, i), i, root, r, &seen);
	if (rc < 0)
		goto out;
	*out = r;
	r = NULL;
out:
	prs_result_free(r);
	json_decref(j);
	return rc;
}
