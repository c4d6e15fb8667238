/*
 * Check run bodies from scan results.  GitHub counts its limits in
 * characters: the summary and text of an output hold at most 65535, an
 * annotation's title 255 and its message 64 KiB.  Text is counted here in
 * code points and always cut between two UTF-8 sequences, and the long
 * lists are cut between two lines with a last line saying what was left.
 */
#include "prscan/checkrun.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/diffmap.h"

#define TITLE_MAX 255		/* characters in an annotation title */
#define MESSAGE_MAX 65535	/* bytes in a message or raw_details */
#define REASON_MAX 100		/* characters of the reason in a title */
#define ITEM_MAX 300		/* characters of a description in a list */
#define FOOTER_ROOM 200		/* characters kept for a last line */

/* A growing string that counts its characters. */
struct sbuf {
	char *s;
	size_t len;
	size_t cap;
	size_t chars;
	int oom;
};

/* Code points in the n bytes at s. */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t i;
	size_t c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

/* Bytes of the longest prefix of s (n bytes) with at most max chars. */
static size_t
utf8_prefix(const char *s, size_t n, size_t max)
{
	size_t i;
	size_t c = 0;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && c++ == max)
			break;
	}
	return i;
}

/* Bytes of the longest prefix of s (n bytes) within max bytes. */
static size_t
utf8_cut_bytes(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;

	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static void
sbuf_addn(struct sbuf *b, const char *s, size_t n)
{
	char *grown;
	size_t cap;

	if (b->oom)
		return;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		grown = realloc(b->s, cap);
		if (grown == NULL) {
			b->oom = 1;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	b->chars += utf8_chars(s, n);
}

static void
sbuf_add(struct sbuf *b, const char *s)
{
	sbuf_addn(b, s, strlen(s));
}

static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For short formatted pieces only: numbers and fixed words. */
static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		b->oom = 1;
	else
		sbuf_add(b, tmp);
}

/*
 * Appends the first line of s, at most max characters; one cut short ends
 * in "…" (within max).
 */
static void
sbuf_add_oneline(struct sbuf *b, const char *s, size_t max)
{
	size_t n;
	size_t cut;

	n = strcspn(s, "\r\n");
	cut = utf8_prefix(s, n, max);
	if (cut == n || max == 0) {
		sbuf_addn(b, s, cut);
		return;
	}
	sbuf_addn(b, s, utf8_prefix(s, n, max - 1));
	sbuf_add(b, "…");
}

/*
 * ASCII punctuation that means something to GitHub's Markdown inside a
 * line: emphasis, code, links, HTML, tables, strikethrough, math,
 * mentions and issue references.
 */
static const char md_special[] = "\\`*_{}[]<>|~&!$@#";

/*
 * Appends the first line of s, at most max characters of it, with every
 * Markdown-special character backslash-escaped so that a name such as
 * "```" or "<img>" shows as written.
 */
static void
sbuf_add_md(struct sbuf *b, const char *s, size_t max)
{
	struct sbuf plain = { 0 };
	size_t i, start = 0;

	sbuf_add_oneline(&plain, s, max);
	if (plain.oom) {
		b->oom = 1;
		return;
	}
	for (i = 0; i < plain.len; i++) {
		if (strchr(md_special, plain.s[i]) == NULL)
			continue;
		sbuf_addn(b, plain.s + start, i - start);
		sbuf_add(b, "\\");
		start = i;
	}
	if (plain.s != NULL)
		sbuf_addn(b, plain.s + start, plain.len - start);
	free(plain.s);
}

/* Appends s percent-encoded for a URL path ('/' kept). */
static void
sbuf_add_urlpath(struct sbuf *b, const char *s)
{
	char hex[4];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || strchr("-._~/", c) != NULL) {
			sbuf_addn(b, s, 1);
			continue;
		}
		snprintf(hex, sizeof(hex), "%%%02X", c);
		sbuf_add(b, hex);
	}
}

/* Appends item when it, and room for a last line, still fit. */
static int
sbuf_add_fitting(struct sbuf *b, const struct sbuf *item)
{
	if (item->oom) {
		b->oom = 1;
		return 0;
	}
	if (b->chars + item->chars + FOOTER_ROOM > PRS_CHECKRUN_MAX_TEXT)
		return 0;

	sbuf_addn(b, item->s, item->len);
	return 1;
}

/*
 * A JSON string of the n bytes at s.  Bytes that are not valid UTF-8
 * (a finding built by hand may hold some) make every non-ASCII byte a '?'.
 */
static json_t *
json_text(const char *s, size_t n)
{
	json_t *j;
	char *copy;
	size_t i;

	j = json_stringn(s, n);
	if (j != NULL)
		return j;

	copy = malloc(n + 1);
	if (copy == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		copy[i] = (s[i] & 0x80) || s[i] == '\0' ? '?' : s[i];
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

static json_t *
json_str(const char *s)
{
	return json_text(s, strlen(s));
}

const char *
prs_checkrun_level(enum prs_severity s)
{
	if (s >= PRS_SEV_HIGH)
		return "failure";
	if (s == PRS_SEV_MEDIUM)
		return "warning";
	return "notice";
}

const char *
prs_checkrun_conclusion(const struct prs_scan_result *r,
    enum prs_severity fail_on)
{
	size_t i;

	for (i = 0; r != NULL && i < r->nfindings; i++)
		if (r->findings[i].severity >= fail_on)
			return "failure";
	if (r != NULL && r->nfindings == 0 && r->omitted > 0)
		return "neutral";
	return "success";
}

/* Most severe first, findings with a path first, then path and line. */
static int
finding_cmp(const void *a, const void *b)
{
	const struct prs_finding *x = *(const struct prs_finding *const *)a;
	const struct prs_finding *y = *(const struct prs_finding *const *)b;
	int c;

	if (x->severity != y->severity)
		return x->severity > y->severity ? -1 : 1;
	if ((x->path == NULL) != (y->path == NULL))
		return x->path == NULL ? 1 : -1;
	if (x->path != NULL && (c = strcmp(x->path, y->path)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x != y)
		return x < y ? -1 : 1;
	return 0;
}

/* The findings of r in display order: an array the caller frees. */
static const struct prs_finding **
findings_sorted(const struct prs_scan_result *r)
{
	const struct prs_finding **v;
	size_t i;

	v = calloc(r->nfindings ? r->nfindings : 1, sizeof(*v));
	if (v == NULL)
		return NULL;

	for (i = 0; i < r->nfindings; i++)
		v[i] = &r->findings[i];
	qsort(v, r->nfindings, sizeof(*v), finding_cmp);
	return v;
}

static int
sev_ok(enum prs_severity s)
{
	return (int)s >= 0 && (int)s < PRS_SEV_COUNT;
}

static void
count_severities(const struct prs_scan_result *r, size_t *counts)
{
	size_t i;

	memset(counts, 0, PRS_SEV_COUNT * sizeof(*counts));
	for (i = 0; i < r->nfindings; i++)
		if (sev_ok(r->findings[i].severity))
			counts[r->findings[i].severity]++;
}

static int
on_changed_line(const struct prs_checkrun_style *st,
    const struct prs_finding *f)
{
	return st->changed != NULL && f->path != NULL &&
	    prs_diffmap_has(st->changed, f->path, f->line);
}

/* Per severity, the findings on lines the pull request changed. */
static void
count_changed(const struct prs_checkrun_style *st,
    const struct prs_scan_result *r, size_t *counts)
{
	size_t i;

	memset(counts, 0, PRS_SEV_COUNT * sizeof(*counts));
	for (i = 0; i < r->nfindings; i++)
		if (sev_ok(r->findings[i].severity) &&
		    on_changed_line(st, &r->findings[i]))
			counts[r->findings[i].severity]++;
}

/* "CRITICAL" -> "critical" in buf. */
static const char *
severity_lower(enum prs_severity s, char *buf, size_t n)
{
	const char *name = prs_severity_name(s);
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < n; i++)
		buf[i] = (char)(name[i] - 'A' + 'a');
	buf[i] = '\0';
	return buf;
}

/* "3 high, 2 medium findings" or "No findings". */
static void
output_title(struct sbuf *b, const struct prs_scan_result *r)
{
	size_t counts[PRS_SEV_COUNT];
	char low[16];
	int s;
	int first = 1;

	count_severities(r, counts);
	if (r->nfindings == 0) {
		if (r->omitted > 0)
			sbuf_printf(b, "%ld findings not reported", r->omitted);
		else
			sbuf_add(b, "No findings");
		return;
	}

	for (s = PRS_SEV_COUNT - 1; s >= 0; s--) {
		if (counts[s] == 0)
			continue;
		sbuf_printf(b, "%s%zu %s", first ? "" : ", ", counts[s],
		    severity_lower((enum prs_severity)s, low, sizeof(low)));
		first = 0;
	}
	sbuf_add(b, r->nfindings == 1 ? " finding" : " findings");
	if (r->omitted > 0)
		sbuf_printf(b, " (%ld more not reported)", r->omitted);
}

/* The table of counts: per severity, changed lines and elsewhere. */
static void
summary_table(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_scan_result *r)
{
	size_t counts[PRS_SEV_COUNT], changed[PRS_SEV_COUNT], nch = 0;
	int s;

	count_severities(r, counts);
	count_changed(st, r, changed);
	if (st->changed == NULL) {
		sbuf_add(b, "| Severity | Findings |\n| --- | ---: |\n");
		for (s = PRS_SEV_COUNT - 1; s >= 0; s--)
			sbuf_printf(b, "| %s | %zu |\n",
			    prs_severity_name((enum prs_severity)s),
			    counts[s]);
		sbuf_printf(b, "| **Total** | %zu |\n\n", r->nfindings);
		return;
	}
	sbuf_add(b, "| Severity | On lines this pull request changed | "
	    "Elsewhere in the repository | Total |\n"
	    "| --- | ---: | ---: | ---: |\n");
	for (s = PRS_SEV_COUNT - 1; s >= 0; s--) {
		sbuf_printf(b, "| %s | %zu | %zu | %zu |\n",
		    prs_severity_name((enum prs_severity)s), changed[s],
		    counts[s] - changed[s], counts[s]);
		nch += changed[s];
	}
	sbuf_printf(b, "| **Total** | %zu | %zu | %zu |\n\n", nch,
	    r->nfindings - nch, r->nfindings);
}

static size_t
max_annotations(const struct prs_checkrun_style *st)
{
	return st->max_annotations > 0 ? st->max_annotations :
	    PRS_CHECKRUN_DEFAULT_MAX_ANNOTATIONS;
}

/* The line saying which findings got no annotation, if any. */
static void
summary_unannotated(struct sbuf *b, const struct prs_checkrun_style *st,
    size_t with_path, size_t annotated)
{
	if (annotated == with_path)
		return;
	sbuf_printf(b, "- %zu of %zu findings in files are not annotated",
	    with_path - annotated, with_path);
	if (st->changed_only)
		sbuf_add(b, " (only findings on lines this pull request "
		    "changed are)");
	if (annotated == max_annotations(st))
		sbuf_printf(b, " (at most %zu annotations are made)",
		    max_annotations(st));
	sbuf_add(b, "; they are all listed below.\n");
}

static void
summary_head(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_scan_result *r)
{
	sbuf_printf(b, "## %s results\n\n",
	    st->check_name ? st->check_name : "Scan");
	summary_table(b, st, r);
	if (r->omitted > 0)
		sbuf_printf(b, "- **%ld more findings are not reported**: the "
		    "scan's results were too large to send whole, so the "
		    "worker kept the most severe (its CALLBACK_MAX_BYTES).\n",
		    r->omitted);
	sbuf_add(b, "- Scanner version: ");
	if (r->scanner_version != NULL)
		sbuf_add_md(b, r->scanner_version, ITEM_MAX);
	else
		sbuf_add(b, "unknown");
	if (r->files_scanned >= 0)
		sbuf_printf(b, "\n- Files scanned: %ld", r->files_scanned);
	if (r->duration_ms >= 0)
		sbuf_printf(b, "\n- Duration: %ld.%01ld s",
		    r->duration_ms / 1000, r->duration_ms % 1000 / 100);
	sbuf_add(b, "\n");
}

/* "path:line", a link to the line at the head when blob_url is set. */
static void
item_place(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_finding *f)
{
	if (st->blob_url != NULL && strlen(f->path) <= ITEM_MAX) {
		sbuf_add(b, "[");
		sbuf_add_md(b, f->path, ITEM_MAX);
		sbuf_printf(b, ":%ld](", f->line);
		sbuf_add(b, st->blob_url);
		sbuf_add(b, "/");
		sbuf_add_urlpath(b, f->path);
		sbuf_printf(b, "#L%ld) ", f->line);
		return;
	}
	sbuf_add_md(b, f->path, ITEM_MAX);
	sbuf_printf(b, ":%ld ", f->line);
}

/* One list line: "- **HIGH** [path:line](url) name (id): description". */
static void
item_line(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_finding *f)
{
	sbuf_printf(b, "- **%s** ", prs_severity_name(f->severity));
	if (f->path != NULL)
		item_place(b, st, f);
	if (on_changed_line(st, f))
		sbuf_add(b, "(changed here) ");
	sbuf_add_md(b, f->rule_name ? f->rule_name : "(unnamed rule)",
	    ITEM_MAX);
	if (f->rule_id != NULL) {
		sbuf_add(b, " \\(");
		sbuf_add_md(b, f->rule_id, ITEM_MAX);
		sbuf_add(b, "\\)");
	}
	if (f->description != NULL) {
		sbuf_add(b, ": ");
		sbuf_add_md(b, f->description, ITEM_MAX);
	}
	sbuf_add(b, "\n");
}

/*
 * Appends the list of v[0..n); stops cleanly before the limit with a line
 * naming what is left out.
 */
static void
item_list(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_finding **v, size_t n)
{
	struct sbuf item;
	size_t i;
	size_t left = 0;

	for (i = 0; i < n; i++) {
		if (left > 0) {
			left++;
			continue;
		}
		memset(&item, 0, sizeof(item));
		item_line(&item, st, v[i]);
		if (!sbuf_add_fitting(b, &item))
			left++;
		free(item.s);
	}
	if (left > 0)
		sbuf_printf(b, "\n_%zu more findings are not shown here: "
		    "GitHub keeps at most %d characters._\n", left,
		    PRS_CHECKRUN_MAX_TEXT);
}

static void
output_summary(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_scan_result *r, const struct prs_finding **v,
    size_t with_path, size_t annotated)
{
	size_t i;

	summary_head(b, st, r);
	summary_unannotated(b, st, with_path, annotated);
	if (r->nfindings == 0)
		return;

	sbuf_add(b, "\n### Most severe findings\n\n");
	item_list(b, st, v, r->nfindings);
	for (i = 0; i < r->nfindings; i++)
		if (v[i]->path == NULL)
			break;
	if (i < r->nfindings)
		sbuf_add(b, "\nFindings without a place are outside the "
		    "repository's files.\n");
}

static void
output_text(struct sbuf *b, const struct prs_checkrun_style *st,
    const struct prs_scan_result *r, const struct prs_finding **v)
{
	if (r->nfindings == 0) {
		sbuf_add(b, "Nothing was found.\n");
		return;
	}
	sbuf_add(b, "### All findings\n\n");
	item_list(b, st, v, r->nfindings);
}

static void
annotation_message(struct sbuf *b, const struct prs_finding *f)
{
	if (f->description != NULL)
		sbuf_add(b, f->description);
	else
		sbuf_add(b, f->rule_name ? f->rule_name : "Finding");
	if (f->expected != NULL) {
		sbuf_add(b, "\nExpected: ");
		sbuf_add(b, f->expected);
	}
	if (f->actual != NULL) {
		sbuf_add(b, "\nActual: ");
		sbuf_add(b, f->actual);
	}
}

static void
annotation_details(struct sbuf *b, const struct prs_finding *f)
{
	if (f->rule_id != NULL)
		sbuf_printf(b, "Rule: %.200s\n", f->rule_id);
	if (f->category != NULL)
		sbuf_printf(b, "Category: %.200s\n", f->category);
	if (f->fingerprint != NULL)
		sbuf_printf(b, "Fingerprint: %.200s\n", f->fingerprint);
	if (f->url != NULL)
		sbuf_printf(b, "Documentation: %.400s\n", f->url);
}

/* Sets key to the text of b, cut to max bytes; -1 on OOM. */
static int
set_cut(json_t *o, const char *key, const struct sbuf *b, size_t max)
{
	if (b->oom)
		return -1;
	return json_object_set_new(o, key,
	    json_text(b->s, utf8_cut_bytes(b->s, b->len, max)));
}

static int
annotation_strings(json_t *a, const struct prs_finding *f)
{
	struct sbuf msg = { 0 };
	struct sbuf raw = { 0 };
	const char *title;
	int bad = 0;

	title = f->rule_name ? f->rule_name : f->rule_id ? f->rule_id :
	    prs_severity_name(f->severity);
	bad |= json_object_set_new(a, "title", json_text(title,
	    utf8_prefix(title, strlen(title), TITLE_MAX)));

	annotation_message(&msg, f);
	bad |= set_cut(a, "message", &msg, MESSAGE_MAX);
	annotation_details(&raw, f);
	if (raw.len > 0 || raw.oom)
		bad |= set_cut(a, "raw_details", &raw, MESSAGE_MAX);
	free(msg.s);
	free(raw.s);
	return bad ? -1 : 0;
}

static json_t *
annotation(const struct prs_finding *f)
{
	json_t *a;
	long line = f->line < 1 ? 1 : f->line;
	int bad = 0;

	a = json_object();
	if (a == NULL)
		return NULL;

	bad |= json_object_set_new(a, "path", json_str(f->path));
	bad |= json_object_set_new(a, "start_line", json_integer(line));
	bad |= json_object_set_new(a, "end_line", json_integer(line));
	bad |= json_object_set_new(a, "annotation_level",
	    json_string(prs_checkrun_level(f->severity)));
	bad |= annotation_strings(a, f);
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The pieces every body repeats. */
struct output_parts {
	json_t *title;
	json_t *summary;
	json_t *text;
};

/* One PATCH body with the annotations of v[from..to). */
static json_t *
completion_body(const struct output_parts *p,
    const struct prs_finding **v, size_t from, size_t to)
{
	json_t *body = NULL;
	json_t *out = NULL;
	json_t *list = NULL;
	size_t i;
	int bad = 0;

	body = json_object();
	out = json_object();
	list = json_array();
	if (body == NULL || out == NULL || list == NULL)
		goto fail;

	for (i = from; i < to; i++)
		if (json_array_append_new(list, annotation(v[i])) < 0)
			goto fail;

	bad |= json_object_set(out, "title", p->title);
	bad |= json_object_set(out, "summary", p->summary);
	bad |= json_object_set(out, "text", p->text);
	bad |= json_object_set_new(out, "annotations", list);
	list = NULL;
	bad |= json_object_set_new(body, "output", out);
	out = NULL;
	if (bad)
		goto fail;
	return body;

fail:
	json_decref(list);
	json_decref(out);
	json_decref(body);
	return NULL;
}

static int
completion_status(json_t *body, const struct prs_checkrun_style *st,
    const struct prs_scan_result *r)
{
	int bad = 0;

	bad |= json_object_set_new(body, "status", json_string("completed"));
	bad |= json_object_set_new(body, "conclusion",
	    json_string(prs_checkrun_conclusion(r, st->fail_on)));
	if (st->completed_at != NULL)
		bad |= json_object_set_new(body, "completed_at",
		    json_str(st->completed_at));
	return bad ? -1 : 0;
}

/*
 * The findings to annotate, into out (room for all): those on changed
 * lines first, then the others unless changed_only, at most the cap.
 * Returns how many; *with_path counts the findings that have a file.
 */
static size_t
annotated_pick(const struct prs_checkrun_style *st,
    const struct prs_scan_result *r, const struct prs_finding **v,
    const struct prs_finding **out, size_t *with_path)
{
	size_t cap = max_annotations(st), n = 0, i;
	int pass;

	*with_path = 0;
	for (i = 0; i < r->nfindings; i++)
		if (v[i]->path != NULL)
			(*with_path)++;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && st->changed_only)
			break;
		for (i = 0; i < r->nfindings && n < cap; i++)
			if (v[i]->path != NULL &&
			    on_changed_line(st, v[i]) == (pass == 0))
				out[n++] = v[i];
	}
	return n;
}

/* All bodies: the annotated findings, in order, 50 to a body. */
static json_t *
completion_bodies(const struct prs_checkrun_style *st,
    const struct prs_scan_result *r, const struct output_parts *p,
    const struct prs_finding **annotated, size_t npath)
{
	json_t *bodies = NULL;
	json_t *body;
	size_t from = 0;
	size_t to;

	bodies = json_array();
	if (bodies == NULL)
		goto fail;

	do {
		to = from + PRS_CHECKRUN_MAX_ANNOTATIONS_PER_REQUEST;
		if (to > npath)
			to = npath;
		body = completion_body(p, annotated, from, to);
		if (json_array_append_new(bodies, body) < 0 ||
		    (from == 0 && completion_status(body, st, r) < 0))
			goto fail;
		from = to;
	} while (from < npath);
	return bodies;

fail:
	json_decref(bodies);
	return NULL;
}

json_t *
prs_checkrun_completion(const struct prs_checkrun_style *st,
    const struct prs_scan_result *r)
{
	struct output_parts p = { NULL, NULL, NULL };
	struct sbuf title = { 0 };
	struct sbuf summary = { 0 };
	struct sbuf text = { 0 };
	const struct prs_finding **v;
	const struct prs_finding **picked = NULL;
	size_t npicked = 0, with_path = 0;
	json_t *bodies = NULL;

	v = findings_sorted(r);
	picked = calloc(r->nfindings ? r->nfindings : 1, sizeof(*picked));
	if (v == NULL || picked == NULL)
		goto out;

	npicked = annotated_pick(st, r, v, picked, &with_path);
	output_title(&title, r);
	output_summary(&summary, st, r, v, with_path, npicked);
	output_text(&text, st, r, v);
	if (title.oom || summary.oom || text.oom)
		goto out;

	p.title = json_str(title.s);
	p.summary = json_str(summary.s);
	p.text = json_str(text.s);
	if (p.title != NULL && p.summary != NULL && p.text != NULL)
		bodies = completion_bodies(st, r, &p, picked, npicked);
out:
	free(picked);
	json_decref(p.title);
	json_decref(p.summary);
	json_decref(p.text);
	free(title.s);
	free(summary.s);
	free(text.s);
	free(v);
	return bodies;
}

static json_t *
scan_error_output(const struct prs_checkrun_style *st, const char *reason)
{
	struct sbuf title = { 0 };
	struct sbuf summary = { 0 };
	json_t *out = NULL;
	size_t cut;
	int bad = 0;

	sbuf_add(&title, "Scan failed: ");
	sbuf_add_oneline(&title, reason, REASON_MAX);
	sbuf_printf(&summary, "## %s could not scan this pull request\n\n",
	    st->check_name ? st->check_name : "The scanner");
	cut = utf8_prefix(reason, strlen(reason),
	    PRS_CHECKRUN_MAX_TEXT - FOOTER_ROOM - summary.chars);
	sbuf_addn(&summary, reason, cut);
	if (cut < strlen(reason))
		sbuf_add(&summary, "\n\n_The reason was cut short._");
	sbuf_add(&summary, "\n");
	if (title.oom || summary.oom)
		goto out;

	out = json_object();
	if (out == NULL)
		goto out;
	bad |= json_object_set_new(out, "title", json_str(title.s));
	bad |= json_object_set_new(out, "summary", json_str(summary.s));
	if (bad) {
		json_decref(out);
		out = NULL;
	}
out:
	free(title.s);
	free(summary.s);
	return out;
}

json_t *
prs_checkrun_scan_error(const struct prs_checkrun_style *st,
    const char *reason)
{
	json_t *body;
	int bad = 0;

	if (reason == NULL || *reason == '\0')
		reason = "unknown error";

	body = json_object();
	if (body == NULL)
		return NULL;

	bad |= json_object_set_new(body, "status", json_string("completed"));
	bad |= json_object_set_new(body, "conclusion",
	    json_string(st->error_neutral ? "neutral" : "failure"));
	if (st->completed_at != NULL)
		bad |= json_object_set_new(body, "completed_at",
		    json_str(st->completed_at));
	bad |= json_object_set_new(body, "output",
	    scan_error_output(st, reason));
	if (bad) {
		json_decref(body);
		return NULL;
	}
	return body;
}
