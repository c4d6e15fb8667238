/*
 * .github/prscan.yml and PRSCAN_CONFIG.  The text is first read as
 * libyaml events, refusing aliases, anchors, tags, several documents,
 * deep nesting and too many events; only then is it loaded as a
 * document and walked along the one shape it may have.
 */
#include "prscan/repoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "prscan/error.h"

/* The keys of the top-level mapping, as bits for the duplicate check. */
enum { RC_SCANNERS = 1, RC_EXCLUDE = 2, RC_FAIL_ON = 4, RC_ANNOTATE = 8 };

struct rc_walk {
	yaml_document_t *doc;
	const char *const *known;
	size_t nknown;
	struct prs_repoconfig *cfg;
};

static const char *const kics_paths[] = {
	"*.tf", "*.tfvars", "*.tf.json", "*.hcl",
	"*.yaml", "*.yml",
	"Dockerfile", "*.dockerfile", "Dockerfile.*", "Containerfile",
	"*.bicep",
	"*.template", "*.cfn.json", "*.template.json",
	"azuredeploy*.json", "mainTemplate.json", "*.arm.json",
	"**/templates/*.tpl",
	NULL
};

static const char *const blackduck_paths[] = {
	"package.json", "package-lock.json", "npm-shrinkwrap.json",
	"yarn.lock", "pnpm-lock.yaml",
	"pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle",
	"settings.gradle.kts", "gradle.lockfile",
	"requirements*.txt", "Pipfile", "Pipfile.lock", "poetry.lock",
	"pyproject.toml", "setup.py", "setup.cfg",
	"go.mod", "go.sum",
	"Gemfile", "Gemfile.lock", "*.gemspec",
	"Cargo.toml", "Cargo.lock",
	"composer.json", "composer.lock",
	"*.csproj", "*.fsproj", "*.vbproj", "packages.config",
	"packages.lock.json", "Directory.Packages.props", "paket.lock",
	"Podfile", "Podfile.lock", "Package.swift", "Package.resolved",
	"conanfile.txt", "conanfile.py", "mix.exs", "mix.lock",
	"pubspec.yaml", "pubspec.lock",
	NULL
};

const char *const *
prs_repoconfig_default_paths(const char *scanner)
{
	if (strcmp(scanner, "kics") == 0)
		return kics_paths;
	if (strcmp(scanner, "blackduck") == 0)
		return blackduck_paths;
	return NULL;
}

/* Sets "line N: ..." as the last error; PRS_EINPUT. */
static int
rc_fail(size_t line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
rc_fail(size_t line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	prs_error_set("line %zu: %s", line, msg);
	return PRS_EINPUT;
}

static size_t
rc_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* -- the event pass ------------------------------------------------ */

/* What one event may not carry; 0 or PRS_EINPUT. */
static int
rc_event_check(const yaml_event_t *ev, int *depth, int *docs)
{
	size_t line = ev->start_mark.line + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return rc_fail(line, "aliases (*name) are not supported");
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		anchor = ev->type == YAML_SEQUENCE_START_EVENT ?
		    ev->data.sequence_start.anchor :
		    ev->data.mapping_start.anchor;
		tag = ev->type == YAML_SEQUENCE_START_EVENT ?
		    ev->data.sequence_start.tag : ev->data.mapping_start.tag;
		if (++*depth > PRS_REPOCONFIG_MAX_DEPTH)
			return rc_fail(line, "nested deeper than %d levels",
			    PRS_REPOCONFIG_MAX_DEPTH);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		--*depth;
		break;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return rc_fail(line, "more than one YAML document");
		break;
	default:
		break;
	}
	if (anchor != NULL)
		return rc_fail(line, "anchors (&name) are not supported");
	if (tag != NULL)
		return rc_fail(line, "tags (!name) are not supported");
	return 0;
}

static int
rc_parser_error(const yaml_parser_t *p)
{
	if (p->error == YAML_MEMORY_ERROR)
		return prs_error_set("out of memory reading YAML");
	return rc_fail(p->problem_mark.line + 1, "YAML syntax error: %s%s%s",
	    p->problem != NULL ? p->problem : "unreadable", p->context !=
	    NULL ? " " : "", p->context != NULL ? p->context : "");
}

static int
rc_events(const char *text, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0, end = 0;
	long n = 0;

	if (!yaml_parser_initialize(&p))
		return prs_error_set("out of memory reading YAML");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (rc == 0 && !end) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = rc_parser_error(&p);
			break;
		}
		if (++n > PRS_REPOCONFIG_MAX_EVENTS)
			rc = rc_fail(ev.start_mark.line + 1, "more than %d "
			    "YAML nodes", PRS_REPOCONFIG_MAX_EVENTS);
		else
			rc = rc_event_check(&ev, &depth, &docs);
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* -- the walk ------------------------------------------------------ */

static yaml_node_t *
rc_node(const struct rc_walk *w, int id)
{
	return yaml_document_get_node(w->doc, id);
}

/* A scalar's text, or NULL after setting the error for what. */
static const char *
rc_scalar(const yaml_node_t *n, const char *what)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE) {
		rc_fail(rc_line(n), "%s: must be a string", what);
		return NULL;
	}
	if (strlen(s) != n->data.scalar.length) {
		rc_fail(rc_line(n), "%s: contains a NUL character", what);
		return NULL;
	}
	return s;
}

static int
rc_bool(const yaml_node_t *n, const char *what, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char *s = n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ?
	    (const char *)n->data.scalar.value : "";
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return rc_fail(rc_line(n), "%s: must be true or false", what);
}

/* A sequence of patterns into *list; 0, PRS_EINPUT or -1. */
static int
rc_patterns(const struct rc_walk *w, const yaml_node_t *n, const char *what,
    char ***list, size_t *count)
{
	yaml_node_item_t *it;
	const char *s;
	size_t k = 0, total;

	if (n->type != YAML_SEQUENCE_NODE)
		return rc_fail(rc_line(n), "%s: must be a list of path "
		    "patterns", what);
	total = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
	if (total > PRS_REPOCONFIG_MAX_PATTERNS)
		return rc_fail(rc_line(n), "%s: more than %d patterns", what,
		    PRS_REPOCONFIG_MAX_PATTERNS);
	*list = calloc(total + 1, sizeof(**list));
	if (*list == NULL)
		return prs_error_set("out of memory");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		const yaml_node_t *item = rc_node(w, *it);

		s = rc_scalar(item, what);
		if (s == NULL)
			return PRS_EINPUT;
		if (!prs_glob_valid(s))
			return rc_fail(rc_line(item), "%s: %s", what,
			    prs_error_last());
		(*list)[k] = strdup(s);
		if ((*list)[k++] == NULL)
			return prs_error_set("out of memory");
		*count = k;
	}
	return 0;
}

static int
rc_known(const struct rc_walk *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nknown; i++)
		if (strcmp(w->known[i], name) == 0)
			return 1;
	return 0;
}

/* One scanner's mapping {enabled, paths}. */
static int
rc_scanner(const struct rc_walk *w, struct prs_repoconfig_scanner *s,
    const yaml_node_t *n)
{
	yaml_node_pair_t *pr;
	char what[96];
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE)
		return rc_fail(rc_line(n), "scanners.%s: must be a mapping "
		    "with enabled and paths", s->name);
	for (pr = n->data.mapping.pairs.start;
	    rc == 0 && pr < n->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = rc_node(w, pr->key);
		const yaml_node_t *v = rc_node(w, pr->value);
		const char *key = rc_scalar(k, "a key");

		snprintf(what, sizeof(what), "scanners.%s.%.20s", s->name,
		    key != NULL ? key : "");
		if (key == NULL)
			rc = PRS_EINPUT;
		else if (strcmp(key, "enabled") == 0 && s->enabled < 0)
			rc = rc_bool(v, what, &s->enabled);
		else if (strcmp(key, "paths") == 0 && s->paths == NULL &&
		    v != NULL && v->type == YAML_SEQUENCE_NODE &&
		    v->data.sequence.items.top == v->data.sequence.items.start)
			rc = rc_fail(rc_line(v), "%s: an empty list matches no "
			    "file (turn the scanner off with enabled: false)",
			    what);
		else if (strcmp(key, "paths") == 0 && s->paths == NULL)
			rc = rc_patterns(w, v, what, &s->paths, &s->npaths);
		else if (strcmp(key, "enabled") == 0 ||
		    strcmp(key, "paths") == 0)
			rc = rc_fail(rc_line(k), "%s: given twice", what);
		else
			rc = rc_fail(rc_line(k), "%s: unknown key (known: "
			    "enabled, paths)", what);
	}
	return rc;
}

static int
rc_scanners(const struct rc_walk *w, const yaml_node_t *n)
{
	struct prs_repoconfig *cfg = w->cfg;
	yaml_node_pair_t *pr;
	const char *name;
	size_t i;
	int rc = 0;

	if (n->type != YAML_MAPPING_NODE)
		return rc_fail(rc_line(n), "scanners: must be a mapping of "
		    "scanner names");
	for (pr = n->data.mapping.pairs.start;
	    rc == 0 && pr < n->data.mapping.pairs.top; pr++) {
		const yaml_node_t *k = rc_node(w, pr->key);

		if ((name = rc_scalar(k, "scanners: a name")) == NULL)
			return PRS_EINPUT;
		if (!rc_known(w, name))
			return rc_fail(rc_line(k), "scanners: unknown scanner "
			    "\"%.64s\"", name);
		for (i = 0; i < cfg->nscanners; i++)
			if (strcmp(cfg->scanners[i].name, name) == 0)
				return rc_fail(rc_line(k), "scanners: %.64s "
				    "given twice", name);
		if (cfg->nscanners == PRS_REPOCONFIG_MAX_SCANNERS)
			return rc_fail(rc_line(k), "scanners: too many");
		cfg->scanners[cfg->nscanners].enabled = -1;
		cfg->scanners[cfg->nscanners].name = strdup(name);
		if (cfg->scanners[cfg->nscanners].name == NULL)
			return prs_error_set("out of memory");
		rc = rc_scanner(w, &cfg->scanners[cfg->nscanners++],
		    rc_node(w, pr->value));
	}
	return rc;
}

static int
rc_fail_on(const struct rc_walk *w, const yaml_node_t *n)
{
	const char *s = rc_scalar(n, "fail_on");

	if (s == NULL)
		return PRS_EINPUT;
	if (prs_severity_parse(s, &w->cfg->fail_on) < 0)
		return rc_fail(rc_line(n), "fail_on: \"%.40s\" is not one of "
		    "CRITICAL, HIGH, MEDIUM, LOW, INFO, TRACE", s);
	w->cfg->has_fail_on = 1;
	return 0;
}

static int
rc_annotate(const struct rc_walk *w, const yaml_node_t *n)
{
	const char *s = rc_scalar(n, "annotate");

	if (s == NULL)
		return PRS_EINPUT;
	if (strcmp(s, "changed") != 0 && strcmp(s, "all") != 0)
		return rc_fail(rc_line(n), "annotate: \"%.40s\" is not "
		    "changed or all", s);
	w->cfg->annotate = strcmp(s, "changed") == 0;
	return 0;
}

/* One top-level key; its bit in *seen. */
static int
rc_top_key(const struct rc_walk *w, const yaml_node_t *k,
    const yaml_node_t *v, int *seen)
{
	static const struct {
		const char *name;
		int bit;
	} keys[] = { { "scanners", RC_SCANNERS }, { "exclude", RC_EXCLUDE },
		{ "fail_on", RC_FAIL_ON }, { "annotate", RC_ANNOTATE } };
	const char *key = rc_scalar(k, "a key");
	size_t i;

	if (key == NULL)
		return PRS_EINPUT;
	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (strcmp(key, keys[i].name) == 0)
			break;
	if (i == sizeof(keys) / sizeof(*keys))
		return rc_fail(rc_line(k), "unknown key \"%.64s\" (known: "
		    "scanners, exclude, fail_on, annotate)", key);
	if (*seen & keys[i].bit)
		return rc_fail(rc_line(k), "%s: given twice", key);
	*seen |= keys[i].bit;
	switch (keys[i].bit) {
	case RC_SCANNERS:
		return rc_scanners(w, v);
	case RC_EXCLUDE:
		return rc_patterns(w, v, "exclude", &w->cfg->exclude,
		    &w->cfg->nexclude);
	case RC_FAIL_ON:
		return rc_fail_on(w, v);
	default:
		return rc_annotate(w, v);
	}
}

static int
rc_walk_root(const struct rc_walk *w, const yaml_node_t *root)
{
	yaml_node_pair_t *pr;
	int seen = 0, rc = 0;

	if (root == NULL || (root->type == YAML_SCALAR_NODE &&
	    root->data.scalar.length == 0))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return rc_fail(rc_line(root), "the configuration must be a "
		    "mapping (scanners, exclude, fail_on, annotate)");
	for (pr = root->data.mapping.pairs.start;
	    rc == 0 && pr < root->data.mapping.pairs.top; pr++)
		rc = rc_top_key(w, rc_node(w, pr->key), rc_node(w, pr->value),
		    &seen);
	return rc;
}

static int
rc_load(const char *text, size_t len, struct rc_walk *w)
{
	yaml_parser_t p;
	yaml_document_t doc;
	int rc;

	if (!yaml_parser_initialize(&p))
		return prs_error_set("out of memory reading YAML");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &doc)) {
		rc = rc_parser_error(&p);
		yaml_parser_delete(&p);
		return rc;
	}
	w->doc = &doc;
	rc = rc_walk_root(w, yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

int
prs_repoconfig_parse(const char *text, size_t len,
    const char *const *known, size_t nknown, struct prs_repoconfig **out)
{
	struct rc_walk w = { NULL, known, nknown, NULL };
	int rc;

	*out = NULL;
	if (len > PRS_REPOCONFIG_MAX_BYTES)
		return rc_fail(1, "larger than %d bytes",
		    PRS_REPOCONFIG_MAX_BYTES);
	rc = rc_events(text, len);
	if (rc != 0)
		return rc;
	w.cfg = calloc(1, sizeof(*w.cfg));
	if (w.cfg == NULL)
		return prs_error_set("out of memory");
	w.cfg->annotate = -1;
	rc = rc_load(text, len, &w);
	if (rc != 0) {
		prs_repoconfig_free(w.cfg);
		return rc;
	}
	*out = w.cfg;
	return 0;
}

static void
rc_list_free(char **list)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

void
prs_repoconfig_free(struct prs_repoconfig *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nscanners; i++) {
		free(cfg->scanners[i].name);
		rc_list_free(cfg->scanners[i].paths);
	}
	rc_list_free(cfg->exclude);
	free(cfg);
}

/* -- the layers ---------------------------------------------------- */

static const struct prs_repoconfig_scanner *
rc_section(const struct prs_repoconfig *cfg, const char *scanner)
{
	size_t i;

	for (i = 0; cfg != NULL && i < cfg->nscanners; i++)
		if (strcmp(cfg->scanners[i].name, scanner) == 0)
			return &cfg->scanners[i];
	return NULL;
}

int
prs_repoconfig_enabled(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, const char *scanner)
{
	const struct prs_repoconfig_scanner *r = rc_section(repo, scanner);
	const struct prs_repoconfig_scanner *s = rc_section(srv, scanner);

	if (r != NULL && r->enabled >= 0)
		return r->enabled;
	if (s != NULL && s->enabled >= 0)
		return s->enabled;
	return 1;
}

enum prs_severity
prs_repoconfig_fail_on(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, enum prs_severity dflt)
{
	if (repo != NULL && repo->has_fail_on)
		return repo->fail_on;
	if (srv != NULL && srv->has_fail_on)
		return srv->fail_on;
	return dflt;
}

int
prs_repoconfig_annotate_changed(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, int dflt)
{
	if (repo != NULL && repo->annotate >= 0)
		return repo->annotate;
	if (srv != NULL && srv->annotate >= 0)
		return srv->annotate;
	return dflt;
}

/* 1 when a pattern matches file, 0, or -1 when that cannot be told. */
static int
rc_any(const char *const *pats, const char *file, long long *budget)
{
	size_t i;
	int m;

	for (i = 0; pats != NULL && pats[i] != NULL; i++)
		if ((m = prs_glob_match_within(pats[i], file, budget)) != 0)
			return m;
	return 0;
}

int
prs_repoconfig_wants(const struct prs_repoconfig *srv,
    const struct prs_repoconfig *repo, const char *scanner,
    const char *const *files, size_t nfiles, char *why, size_t n)
{
	const struct prs_repoconfig_scanner *r = rc_section(repo, scanner);
	const struct prs_repoconfig_scanner *s = rc_section(srv, scanner);
	const char *const *paths = prs_repoconfig_default_paths(scanner);
	const char *const *excl = NULL;
	long long budget = PRS_REPOCONFIG_MATCH_BUDGET;
	size_t i, excluded = 0;
	int ex, in;

	if (r != NULL && r->paths != NULL)
		paths = (const char *const *)r->paths;
	else if (s != NULL && s->paths != NULL)
		paths = (const char *const *)s->paths;
	if (repo != NULL && repo->exclude != NULL)
		excl = (const char *const *)repo->exclude;
	else if (srv != NULL)
		excl = (const char *const *)srv->exclude;
	for (i = 0; i < nfiles; i++) {
		ex = rc_any(excl, files[i], &budget);
		if (ex > 0) {
			excluded++;
			continue;
		}
		in = paths == NULL ? 1 : rc_any(paths, files[i], &budget);
		if (ex < 0 || in != 0)
			return 1;
	}
	if (nfiles == 0)
		snprintf(why, n, "the pull request changes no file");
	else if (excluded == nfiles)
		snprintf(why, n, "all %zu changed files are excluded", nfiles);
	else
		snprintf(why, n, "none of the %zu changed files matches its "
		    "path patterns%s", nfiles, excluded > 0 ?
		    " (some are excluded)" : "");
	return 0;
}
