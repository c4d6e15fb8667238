/*
 * Black Duck Detect RAPID results.  The result file is a JSON array with
 * one element per component that violates a policy (the server's own
 * answer wraps the same elements as {totalCount, items}).  Two shapes
 * exist: 2021's names the policies in violatingPolicyNames, without
 * severities; later ones give violatingPolicies [{policyName,
 * policySeverity}], full vulnerability records and upgrade guidance.
 * Neither has file or line: the manifest locator below finds the first
 * manifest line that names the component.
 */
#define _GNU_SOURCE		/* memmem, memrchr */
#include "prscan/detect.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/error.h"

#define REPORT_MAX ((size_t)256 * 1024 * 1024)
#define FINDINGS_MAX 10000	/* duplicates are looked for linearly */
#define POLICIES_MAX 1000	/* per component */
#define LIST_MAX 50		/* vulnerabilities or licenses described */

/* One violated policy; strings borrowed from the JSON document. */
struct bd_policy {
	const char *name;
	const char *severity;	/* NULL: not given (2021 shape) */
};

/* One component element; strings and arrays borrowed. */
struct bd_component {
	const char *name;
	const char *version;
	const char *identifier;
	const json_t *vulns;	/* policyViolationVulnerabilities or NULL */
	const json_t *licenses;	/* policyViolationLicenses or NULL */
	const json_t *short_term;
	const json_t *long_term;
	struct bd_policy *pol;
	size_t npol, cappol;
};

static const char *const exit_names[] = {
	"SUCCESS", "FAILURE_BLACKDUCK_CONNECTIVITY", "FAILURE_TIMEOUT",
	"FAILURE_POLICY_VIOLATION", "FAILURE_PROXY_CONNECTIVITY",
	"FAILURE_DETECTOR", "FAILURE_SCAN", "FAILURE_CONFIGURATION"
};

const char *
prs_detect_exit_name(int code)
{
	if (code >= 0 && code < (int)(sizeof(exit_names) /
	    sizeof(exit_names[0])))
		return exit_names[code];
	if (code == 99)
		return "FAILURE_GENERAL_ERROR";
	if (code == 100)
		return "FAILURE_UNKNOWN_ERROR";
	return NULL;
}

/* Black Duck's policy severities in prscan's scale. */
static enum prs_severity
policy_severity(const char *s)
{
	if (s == NULL)
		return PRS_SEV_INFO;
	if (strcasecmp(s, "BLOCKER") == 0)
		return PRS_SEV_CRITICAL;
	if (strcasecmp(s, "CRITICAL") == 0)
		return PRS_SEV_HIGH;
	if (strcasecmp(s, "MAJOR") == 0)
		return PRS_SEV_MEDIUM;
	if (strcasecmp(s, "MINOR") == 0)
		return PRS_SEV_LOW;
	return PRS_SEV_INFO;
}

static int
einput(const char *what, size_t idx, const char *key, const char *why)
{
	prs_error_set("Detect result: %s %zu: %s %s", what, idx, key, why);
	return PRS_EINPUT;
}

/* Member key of o as a string (borrowed); absent or null gives NULL. */
static int
get_string(const json_t *o, const char *key, int required, size_t idx,
    const char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if ((v == NULL || json_is_null(v)) && !required)
		return 0;
	if (!json_is_string(v))
		return einput("component", idx, key, v == NULL ||
		    json_is_null(v) ? "is missing" : "is not a string");
	*out = json_string_value(v);
	return 0;
}

/* Member key of o of the given JSON type, or NULL when absent or null. */
static int
get_typed(const json_t *o, const char *key, json_type type, size_t idx,
    const json_t **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_typeof(v) != type)
		return einput("component", idx, key, type == JSON_ARRAY ?
		    "is not an array" : "is not an object");
	*out = v;
	return 0;
}

/* Adds a policy, or raises the severity of one already listed. */
static int
policy_add(struct bd_component *c, size_t idx, const char *name,
    const char *sev)
{
	size_t i;

	for (i = 0; i < c->npol; i++) {
		if (strcmp(c->pol[i].name, name) != 0)
			continue;
		if (sev != NULL && (c->pol[i].severity == NULL ||
		    policy_severity(sev) > policy_severity(c->pol[i].severity)))
			c->pol[i].severity = sev;
		return 0;
	}
	if (c->npol >= POLICIES_MAX)
		return einput("component", idx, "policies", "are too many");
	if (c->npol == c->cappol) {
		size_t cap = c->cappol ? c->cappol * 2 : 8;
		struct bd_policy *p = realloc(c->pol, cap * sizeof(*p));

		if (p == NULL)
			return prs_error_set("out of memory");
		c->pol = p;
		c->cappol = cap;
	}
	c->pol[c->npol].name = name;
	c->pol[c->npol].severity = sev;
	c->npol++;
	return 0;
}

/* violatingPolicyNames: an array of strings. */
static int
policies_from_names(struct bd_component *c, const json_t *o, size_t idx)
{
	const json_t *a, *v;
	size_t i;
	int rc;

	rc = get_typed(o, "violatingPolicyNames", JSON_ARRAY, idx, &a);
	for (i = 0; rc == 0 && i < json_array_size(a); i++) {
		v = json_array_get(a, i);
		if (!json_is_string(v))
			return einput("component", idx, "violatingPolicyNames",
			    "holds a value that is not a string");
		rc = policy_add(c, idx, json_string_value(v), NULL);
	}
	return rc;
}

/* violatingPolicies and the like: [{policyName, policySeverity}]. */
static int
policies_from_objects(struct bd_component *c, const json_t *o,
    const char *key, size_t idx)
{
	const json_t *a, *v;
	const char *name, *sev;
	size_t i;
	int rc;

	rc = get_typed(o, key, JSON_ARRAY, idx, &a);
	for (i = 0; rc == 0 && i < json_array_size(a); i++) {
		v = json_array_get(a, i);
		if (!json_is_object(v))
			return einput("component", idx, key,
			    "holds a value that is not an object");
		if ((rc = get_string(v, "policyName", 1, idx, &name)) < 0 ||
		    (rc = get_string(v, "policySeverity", 0, idx, &sev)) < 0)
			return rc;
		rc = policy_add(c, idx, name, sev);
	}
	return rc;
}

static int
policies_of(struct bd_component *c, const json_t *o, size_t idx)
{
	int rc;

	if ((rc = policies_from_names(c, o, idx)) < 0 ||
	    (rc = policies_from_objects(c, o, "violatingPolicies", idx)) < 0)
		return rc;
	return policies_from_objects(c, o, "componentViolatingPolicies",
	    idx);
}

/* The policies named inside each vulnerability or license entry. */
static int
policies_of_entries(struct bd_component *c, const json_t *a,
    const char *key, size_t idx)
{
	const json_t *v;
	size_t i;
	int rc = 0;

	json_array_foreach(a, i, v) {
		if (!json_is_object(v))
			return einput("component", idx, key,
			    "holds a value that is not an object");
		if ((rc = policies_of(c, v, idx)) < 0)
			return rc;
	}
	return rc;
}

static int
component_read(const json_t *o, size_t idx, struct bd_component *c)
{
	int rc;

	if (!json_is_object(o)) {
		prs_error_set("Detect result: component %zu is not an object",
		    idx);
		return PRS_EINPUT;
	}
	if ((rc = get_string(o, "componentName", 1, idx, &c->name)) < 0 ||
	    (rc = get_string(o, "versionName", 0, idx, &c->version)) < 0 ||
	    (rc = get_string(o, "componentIdentifier", 0, idx,
	    &c->identifier)) < 0 ||
	    (rc = get_typed(o, "policyViolationVulnerabilities", JSON_ARRAY,
	    idx, &c->vulns)) < 0 ||
	    (rc = get_typed(o, "policyViolationLicenses", JSON_ARRAY, idx,
	    &c->licenses)) < 0 ||
	    (rc = get_typed(o, "shortTermUpgradeGuidance", JSON_OBJECT, idx,
	    &c->short_term)) < 0 ||
	    (rc = get_typed(o, "longTermUpgradeGuidance", JSON_OBJECT, idx,
	    &c->long_term)) < 0)
		return rc;
	if (c->version != NULL && *c->version == '\0')
		c->version = NULL;
	if (c->identifier != NULL && *c->identifier == '\0')
		c->identifier = NULL;

	if ((rc = policies_of(c, o, idx)) < 0 ||
	    (rc = policies_of_entries(c, c->vulns,
	    "policyViolationVulnerabilities", idx)) < 0)
		return rc;
	return policies_of_entries(c, c->licenses, "policyViolationLicenses",
	    idx);
}

static enum prs_severity
component_severity(const struct bd_component *c)
{
	enum prs_severity s = PRS_SEV_INFO, p;
	size_t i;

	for (i = 0; i < c->npol; i++) {
		p = policy_severity(c->pol[i].severity);
		if (p > s)
			s = p;
	}
	return s;
}

/* "Black Duck policy names, severities in parentheses when known." */
static void
write_policies(FILE *fp, const struct bd_component *c, int severities)
{
	size_t i;

	for (i = 0; i < c->npol; i++) {
		fprintf(fp, "%s%s", i ? ", " : "", c->pol[i].name);
		if (severities && c->pol[i].severity != NULL)
			fprintf(fp, " (%s)", c->pol[i].severity);
	}
}

/* A vulnerability: "NAME (SEVERITY, score S, CWE-1 CWE-2)". */
static int
write_vuln(FILE *fp, const json_t *v, size_t idx)
{
	const char *name, *sev, *msg;
	const json_t *score, *cwes, *cwe;
	size_t i;
	int rc;

	if ((rc = get_string(v, "name", 0, idx, &name)) < 0 ||
	    (rc = get_string(v, "vulnSeverity", 0, idx, &sev)) < 0 ||
	    (rc = get_string(v, "errorMessage", 0, idx, &msg)) < 0 ||
	    (rc = get_typed(v, "cweIds", JSON_ARRAY, idx, &cwes)) < 0)
		return rc;
	score = json_object_get(v, "overallScore");
	if (score != NULL && !json_is_null(score) && !json_is_number(score))
		return einput("component", idx, "overallScore",
		    "is not a number");

	fprintf(fp, "\n- %s", name ? name : msg ? msg : "(unnamed)");
	if (name == NULL)
		return 0;
	fprintf(fp, " (%s", sev ? sev : "severity unknown");
	if (json_is_number(score))
		fprintf(fp, ", score %.1f", json_number_value(score));
	json_array_foreach(cwes, i, cwe) {
		if (!json_is_string(cwe))
			return einput("component", idx, "cweIds",
			    "holds a value that is not a string");
		fprintf(fp, "%s%s", i ? " " : ", ", json_string_value(cwe));
	}
	fputc(')', fp);
	return 0;
}

static int
write_license(FILE *fp, const json_t *v, size_t idx)
{
	const char *name, *lname, *msg;
	int rc;

	if ((rc = get_string(v, "name", 0, idx, &name)) < 0 ||
	    (rc = get_string(v, "licenseName", 0, idx, &lname)) < 0 ||
	    (rc = get_string(v, "errorMessage", 0, idx, &msg)) < 0)
		return rc;
	fprintf(fp, "\n- %s", name ? name : lname ? lname : msg ? msg :
	    "(unnamed)");
	return 0;
}

/* Writes a titled list of at most LIST_MAX entries of a. */
static int
write_list(FILE *fp, const char *title, const json_t *a, size_t idx,
    int (*one)(FILE *, const json_t *, size_t))
{
	size_t i, n = json_array_size(a);
	int rc;

	if (n == 0)
		return 0;
	fprintf(fp, "\n\n%s:", title);
	for (i = 0; i < n && i < LIST_MAX; i++)
		if ((rc = one(fp, json_array_get(a, i), idx)) < 0)
			return rc;
	if (n > LIST_MAX)
		fprintf(fp, "\n- and %zu more", n - LIST_MAX);
	return 0;
}

static int
write_guidance(FILE *fp, const struct bd_component *c, size_t idx)
{
	const char *st = NULL, *lt = NULL;
	int rc;

	if ((c->short_term != NULL && (rc = get_string(c->short_term,
	    "versionName", 0, idx, &st)) < 0) ||
	    (c->long_term != NULL && (rc = get_string(c->long_term,
	    "versionName", 0, idx, &lt)) < 0))
		return rc;
	if (st == NULL && lt == NULL)
		return 0;
	fprintf(fp, "\n\nUpgrade guidance:");
	if (st != NULL)
		fprintf(fp, " short term %s", st);
	if (lt != NULL)
		fprintf(fp, "%s long term %s", st ? "," : "", lt);
	return 0;
}

static int
describe(const struct bd_component *c, size_t idx, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int rc;

	*out = NULL;
	fp = open_memstream(&buf, &len);
	if (fp == NULL)
		return prs_error_set("out of memory");
	fprintf(fp, "%s%s%s violates Black Duck policies: ", c->name,
	    c->version ? " " : "", c->version ? c->version : "");
	write_policies(fp, c, 1);
	fputc('.', fp);
	rc = write_list(fp, "Vulnerabilities", c->vulns, idx, write_vuln);
	if (rc == 0)
		rc = write_list(fp, "Licenses", c->licenses, idx,
		    write_license);
	if (rc == 0)
		rc = write_guidance(fp, c, idx);
	if (fclose(fp) != 0 && rc == 0)
		rc = prs_error_set("out of memory");
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

static char *
print_alloc(const struct bd_component *c, int title)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	if (title) {
		fprintf(fp, "%s%s%s: ", c->name, c->version ? " " : "",
		    c->version ? c->version : "");
		write_policies(fp, c, 0);
	} else if (c->identifier != NULL) {
		fputs(c->identifier, fp);
	} else {
		fprintf(fp, "%s%s%s", c->name, c->version ? ":" : "",
		    c->version ? c->version : "");
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The forge of an identifier ("maven" of "maven:g:a:1") or NULL. */
static int
forge_of(const char *identifier, char **out)
{
	const char *colon;

	*out = NULL;
	if (identifier == NULL || (colon = strchr(identifier, ':')) == NULL ||
	    colon == identifier)
		return 0;
	*out = strndup(identifier, (size_t)(colon - identifier));
	return *out == NULL ? -1 : 0;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
already_listed(const struct prs_scan_result *r, const struct prs_finding *f)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (same(r->findings[i].rule_id, f->rule_id) &&
		    same(r->findings[i].rule_name, f->rule_name) &&
		    same(r->findings[i].description, f->description))
			return 1;
	return 0;
}

static int
component_add(struct prs_scan_result *r, const struct bd_component *c,
    size_t idx)
{
	struct prs_finding f;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	f.severity = component_severity(c);
	rc = describe(c, idx, &f.description);
	if (rc < 0)
		goto out;
	rc = -1;
	f.rule_id = print_alloc(c, 0);
	f.rule_name = print_alloc(c, 1);
	if (forge_of(c->identifier, &f.category) < 0 || f.rule_id == NULL ||
	    f.rule_name == NULL) {
		prs_error_set("out of memory");
		goto out;
	}
	if (already_listed(r, &f)) {
		rc = 0;
		goto out;
	}
	if (r->nfindings >= FINDINGS_MAX) {
		rc = PRS_EINPUT;
		prs_error_set("Detect result: more than %d violating "
		    "components", FINDINGS_MAX);
		goto out;
	}
	rc = prs_result_add(r, &f);
out:
	free(f.description);
	free(f.rule_id);
	free(f.rule_name);
	free(f.category);
	return rc;
}

static int
component_parse(struct prs_scan_result *r, const json_t *o, size_t idx)
{
	struct bd_component c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = component_read(o, idx, &c);
	/* A component without any policy violates nothing. */
	if (rc == 0 && c.npol > 0)
		rc = component_add(r, &c, idx);
	free(c.pol);
	return rc;
}

/* The component array: the document itself or its items. */
static int
components_of(const json_t *j, const json_t **out)
{
	const json_t *items;

	*out = NULL;
	if (json_is_array(j)) {
		*out = j;
		return 0;
	}
	if (!json_is_object(j)) {
		prs_error_set("Detect result is neither an array nor an "
		    "object with items");
		return PRS_EINPUT;
	}
	items = json_object_get(j, "items");
	if (!json_is_array(items)) {
		prs_error_set("Detect result: items is %s", items == NULL ?
		    "missing" : "not an array");
		return PRS_EINPUT;
	}
	*out = items;
	return 0;
}

static int
result_load(const char *text, size_t len, json_t **out)
{
	json_error_t err;

	*out = NULL;
	if (text == NULL || len > REPORT_MAX) {
		prs_error_set("Detect result: missing or larger than %zu "
		    "bytes", REPORT_MAX);
		return PRS_EINPUT;
	}
	*out = json_loadb(text, len, 0, &err);
	if (*out == NULL) {
		prs_error_set("Detect result is not JSON: line %d: %s",
		    err.line, err.text);
		return PRS_EINPUT;
	}
	return 0;
}

int
prs_detect_parse(const char *text, size_t len, const char *root,
    struct prs_scan_result **out)
{
	struct prs_scan_result *r = NULL;
	const json_t *items;
	json_t *j = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = result_load(text, len, &j)) < 0 ||
	    (rc = components_of(j, &items)) < 0)
		goto out;
	r = prs_result_new();
	if (r == NULL) {
		rc = prs_error_set("out of memory");
		goto out;
	}
	for (i = 0; rc == 0 && i < json_array_size(items); i++)
		rc = component_parse(r, json_array_get(items, i), i);
	if (rc == 0 && root != NULL)
		rc = prs_detect_locate(root, r);
	if (rc < 0)
		goto out;

	*out = r;
	r = NULL;
out:
	prs_result_free(r);
	json_decref(j);
	return rc;
}

/*
 * The manifest locator.  The clone is walked once (no symlinks, .git and
 * node_modules skipped, bounded) and the manifests are read into memory,
 * ordered by depth then path; each finding then takes the first line of
 * the first manifest that names its component.
 */

#define WALK_DEPTH_MAX 8
#define WALK_ENTRIES_MAX 50000
#define MANIFESTS_MAX 200
#define MANIFEST_SIZE_MAX ((off_t)4 * 1024 * 1024)
#define MANIFESTS_BYTES_MAX ((size_t)32 * 1024 * 1024)
#define SEARCH_BUDGET ((size_t)2 * 1024 * 1024 * 1024)
#define NAMES_MAX 4
#define NAME_MIN 2

enum mf_kind {
	MF_JSON,		/* "name" */
	MF_POM,			/* <artifactId>name</artifactId> */
	MF_REQUIREMENTS,	/* name at the start of a line */
	MF_TOKEN		/* name as a whole token */
};

static const struct {
	const char *file;
	enum mf_kind kind;
} manifest_files[] = {
	{ "package.json", MF_JSON },
	{ "package-lock.json", MF_JSON },
	{ "composer.json", MF_JSON },
	{ "Pipfile.lock", MF_JSON },
	{ "pom.xml", MF_POM },
	{ "requirements.txt", MF_REQUIREMENTS },
	{ "yarn.lock", MF_TOKEN },
	{ "build.gradle", MF_TOKEN },
	{ "build.gradle.kts", MF_TOKEN },
	{ "go.mod", MF_TOKEN },
	{ "Gemfile.lock", MF_TOKEN },
	{ "Cargo.toml", MF_TOKEN },
};

/* Forges that begin a Detect component identifier. */
static const char *const forges[] = {
	"alpine", "anaconda", "android", "bitbucket", "bower", "centos",
	"clearlinux", "cocoapods", "conan", "cpan", "cran", "crates", "dart",
	"debian", "fedora", "github", "gitlab", "golang", "hackage", "hex",
	"long_tail", "maven", "npmjs", "nuget", "opensuse", "packagist",
	"pear", "pypi", "redhat", "ros", "rubygems", "ubuntu", "yocto",
};

struct manifest {
	char *path;		/* repository-relative */
	int depth;
	enum mf_kind kind;
	char *text;
	size_t len;
};

struct manifest_set {
	struct manifest *v;
	size_t n, cap;
	size_t entries;		/* directory entries seen */
	size_t bytes;		/* manifest bytes held */
	size_t searched;	/* bytes searched so far */
	const char *root;
};

struct names {
	char *v[NAMES_MAX];
	size_t n;
};

static void
manifests_dispose(struct manifest_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].text);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
manifest_kind(const char *name, enum mf_kind *kind)
{
	size_t i;

	for (i = 0; i < sizeof(manifest_files) / sizeof(manifest_files[0]);
	    i++) {
		if (strcmp(name, manifest_files[i].file) == 0) {
			*kind = manifest_files[i].kind;
			return 1;
		}
	}
	return 0;
}

/* Reads a regular file (not a symlink) below dirfd; NULL when it can't. */
static char *
read_at(int dirfd, const char *name, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MANIFEST_SIZE_MAX)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (got < (size_t)st.st_size &&
	    (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return buf;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "%s%s%s", dir, *dir ? "/" : "", name);
	return s;
}

/* Keeps one manifest (rel, text owned and taken here). */
static int
manifest_keep(struct manifest_set *s, char *rel, int depth,
    enum mf_kind kind, char *text, size_t len)
{
	char *confined = NULL;

	if (prs_path_confine(s->root, rel, &confined) < 0 ||
	    s->n >= MANIFESTS_MAX || s->bytes + len > MANIFESTS_BYTES_MAX) {
		free(confined);
		free(text);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct manifest *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL) {
			free(confined);
			free(text);
			return prs_error_set("out of memory");
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].path = confined;
	s->v[s->n].depth = depth;
	s->v[s->n].kind = kind;
	s->v[s->n].text = text;
	s->v[s->n].len = len;
	s->n++;
	s->bytes += len;
	return 0;
}

static int walk_dir(struct manifest_set *s, int dirfd, const char *rel,
    int depth);

/* One directory entry: a manifest to keep or a directory to enter. */
static int
walk_entry(struct manifest_set *s, int dirfd, const char *rel, int depth,
    const char *name)
{
	enum mf_kind kind = MF_TOKEN;
	struct stat st;
	char *path, *text;
	size_t len = 0;
	int fd, rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode) ? depth >= WALK_DEPTH_MAX :
	    !(S_ISREG(st.st_mode) && manifest_kind(name, &kind)))
		return 0;
	path = path_join(rel, name);
	if (path == NULL)
		return prs_error_set("out of memory");
	if (S_ISDIR(st.st_mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd >= 0)
			rc = walk_dir(s, fd, path, depth + 1);
	} else if ((text = read_at(dirfd, name, &len)) != NULL) {
		rc = manifest_keep(s, path, depth, kind, text, len);
	}
	free(path);
	return rc;
}

/* Walks the directory open as dirfd (closed here). */
static int
walk_dir(struct manifest_set *s, int dirfd, const char *rel, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = fdopendir(dirfd);
	if (d == NULL) {
		close(dirfd);
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".git") == 0 ||
		    strcmp(de->d_name, "node_modules") == 0)
			continue;
		if (++s->entries > WALK_ENTRIES_MAX)
			break;
		rc = walk_entry(s, dirfd, rel, depth, de->d_name);
	}
	closedir(d);
	return rc;
}

static int
manifest_cmp(const void *a, const void *b)
{
	const struct manifest *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int
manifests_load(const char *root, struct manifest_set *s)
{
	int fd, rc;

	memset(s, 0, sizeof(*s));
	s->root = root;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	rc = walk_dir(s, fd, "", 0);
	if (rc == 0 && s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), manifest_cmp);
	return rc;
}

static int
name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/' ||
	    c == '@';
}

/* Whether the occurrence of name at p (in text[0..len)) counts. */
static int
occurrence_counts(enum mf_kind kind, const char *text, size_t len,
    const char *p, size_t n)
{
	static const char open_tag[] = "<artifactId>";
	static const char close_tag[] = "</artifactId>";
	const char *end = p + n, *limit = text + len, *q;
	int before = p > text ? (unsigned char)p[-1] : '\n';
	int after = end < limit ? (unsigned char)*end : '\n';

	switch (kind) {
	case MF_JSON:
		return before == '"' && after == '"';
	case MF_POM:
		return (size_t)(p - text) >= sizeof(open_tag) - 1 &&
		    memcmp(p - (sizeof(open_tag) - 1), open_tag,
		    sizeof(open_tag) - 1) == 0 &&
		    (size_t)(limit - end) >= sizeof(close_tag) - 1 &&
		    memcmp(end, close_tag, sizeof(close_tag) - 1) == 0;
	case MF_REQUIREMENTS:
		for (q = p; q > text && (q[-1] == ' ' || q[-1] == '\t'); q--)
			;
		return (q == text || q[-1] == '\n') &&
		    strchr(" \t\r\n=<>!~;[#", after) != NULL && after != '\0';
	case MF_TOKEN:
	default:
		return !name_char(before) && (after == '@' ||
		    !name_char(after));
	}
}

/* Offset of the first counting occurrence of name, or len when none. */
static size_t
first_occurrence(struct manifest_set *s, const struct manifest *m,
    const char *name)
{
	size_t n = strlen(name), off = 0;
	const char *p;

	s->searched += m->len;
	while (off < m->len &&
	    (p = memmem(m->text + off, m->len - off, name, n)) != NULL) {
		if (occurrence_counts(m->kind, m->text, m->len, p, n))
			return (size_t)(p - m->text);
		off = (size_t)(p - m->text) + 1;
	}
	return m->len;
}

static long
line_of(const struct manifest *m, size_t off)
{
	long line = 1;
	const char *p = m->text, *end = m->text + off;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

static void
names_dispose(struct names *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	nm->n = 0;
}

/* Adds a copy of s[0..n) unless too short, already there or full. */
static int
names_add(struct names *nm, const char *s, size_t n)
{
	size_t i;

	if (n < NAME_MIN || nm->n >= NAMES_MAX || memchr(s, '\n', n))
		return 0;
	for (i = 0; i < nm->n; i++)
		if (strlen(nm->v[i]) == n && memcmp(nm->v[i], s, n) == 0)
			return 0;
	nm->v[nm->n] = strndup(s, n);
	if (nm->v[nm->n] == NULL)
		return prs_error_set("out of memory");
	nm->n++;
	return 0;
}

static int
forge_known(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(forges) / sizeof(forges[0]); i++)
		if (strlen(forges[i]) == n && strncasecmp(forges[i], s, n) == 0)
			return 1;
	return 0;
}

/*
 * Names from a rule id: "maven:group:artifact:1.0" gives "group:artifact"
 * and "artifact"; "npmjs:lodash/4.17.20" "lodash"; "golang:mod/path:v1"
 * "mod/path"; "name:version" (no known forge) "name"; else the id.
 */
static int
names_from_id(struct names *nm, const char *id)
{
	const char *colon = strchr(id, ':'), *rest, *cut;
	size_t n;

	if (colon == NULL)
		return names_add(nm, id, strlen(id));
	if (!forge_known(id, (size_t)(colon - id)))
		return names_add(nm, id, (size_t)(strrchr(id, ':') - id));
	rest = colon + 1;
	cut = strrchr(rest, ':');
	if (cut == NULL)
		cut = strrchr(rest, '/');
	n = cut != NULL && cut > rest ? (size_t)(cut - rest) : strlen(rest);
	if (names_add(nm, rest, n) < 0)
		return -1;
	cut = memrchr(rest, ':', n);
	if (cut == NULL)
		return 0;
	return names_add(nm, cut + 1, n - (size_t)(cut + 1 - rest));
}

/* The component name that begins "name version: policies". */
static int
names_from_title(struct names *nm, const char *title)
{
	const char *end = strstr(title, ": "), *sp;
	size_t n = end != NULL ? (size_t)(end - title) : strlen(title);
	size_t i;

	sp = memrchr(title, ' ', n);
	if (sp != NULL) {
		for (i = (size_t)(sp - title) + 1; i < n; i++)
			if (isdigit((unsigned char)title[i]))
				break;
		if (i < n)
			n = (size_t)(sp - title);
	}
	return names_add(nm, title, n);
}

static int
locate_one(struct manifest_set *s, struct prs_finding *f)
{
	struct names nm = { { NULL }, 0 };
	size_t i, k, off, best;
	int rc = 0;

	if ((f->rule_id != NULL && names_from_id(&nm, f->rule_id) < 0) ||
	    (f->rule_name != NULL && names_from_title(&nm, f->rule_name) < 0))
		rc = -1;
	for (i = 0; rc == 0 && i < s->n && s->searched < SEARCH_BUDGET;
	    i++) {
		best = s->v[i].len;
		for (k = 0; k < nm.n; k++) {
			off = first_occurrence(s, &s->v[i], nm.v[k]);
			if (off < best)
				best = off;
		}
		if (best == s->v[i].len)
			continue;
		f->path = strdup(s->v[i].path);
		if (f->path == NULL)
			rc = prs_error_set("out of memory");
		f->line = line_of(&s->v[i], best);
		break;
	}
	names_dispose(&nm);
	return rc;
}

int
prs_detect_locate(const char *root, struct prs_scan_result *r)
{
	struct manifest_set s;
	size_t i;
	int rc;

	if (root == NULL || r == NULL || r->nfindings == 0)
		return 0;
	rc = manifests_load(root, &s);
	for (i = 0; rc == 0 && i < r->nfindings; i++)
		if (r->findings[i].path == NULL)
			rc = locate_one(&s, &r->findings[i]);
	manifests_dispose(&s);
	return rc;
}
