/*
 * The command line of a SARIF scanner, from a template such as
 * `flawfinder --sarif {source}` or `tool scan -o {output} {source}`.
 * The template is split once, at start-up; each scan fills in the
 * placeholders of a copy.  Nothing here goes through a shell.
 */
#include "prscan/sarif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prscan/error.h"

#define CMD_WORDS_MAX 256
#define PH_SOURCE "{source}"
#define PH_OUTPUT "{output}"

struct prs_sarif_cmd {
	char **words;		/* NULL-terminated */
	size_t n;
	int has_output;
};

void
prs_sarif_argv_free(char **argv)
{
	size_t i;

	for (i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

void
prs_sarif_cmd_free(struct prs_sarif_cmd *c)
{
	if (c == NULL)
		return;
	prs_sarif_argv_free(c->words);
	free(c);
}

/* The next word of *p (quotes removed) in a new *out; NULL at the end. */
static int
cmd_next_word(const char **p, char **out)
{
	const char *s = *p;
	char *w, *d;
	int quoted = 0;

	*out = NULL;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	w = d = malloc(strlen(s) + 1);
	if (w == NULL)
		return prs_error_set("out of memory");
	for (; *s != '\0'; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (!quoted && strchr(" \t\r\n", *s) != NULL)
			break;
		else
			*d++ = *s;
	}
	*d = '\0';
	*p = s;
	if (quoted) {
		free(w);
		prs_error_set("SCANNER_CMD: a double quote is not closed");
		return PRS_EINPUT;
	}
	*out = w;
	return 0;
}

static int
cmd_push(struct prs_sarif_cmd *c, char *w)
{
	char **grown;

	if (c->n >= CMD_WORDS_MAX) {
		free(w);
		prs_error_set("SCANNER_CMD: more than %d words",
		    CMD_WORDS_MAX);
		return PRS_EINPUT;
	}
	grown = realloc(c->words, (c->n + 2) * sizeof(*grown));
	if (grown == NULL) {
		free(w);
		return prs_error_set("out of memory");
	}
	c->words = grown;
	c->words[c->n++] = w;
	c->words[c->n] = NULL;
	if (strstr(w, PH_OUTPUT) != NULL)
		c->has_output = 1;
	return 0;
}

int
prs_sarif_cmd_parse(const char *tmpl, struct prs_sarif_cmd **out)
{
	struct prs_sarif_cmd *c;
	const char *p = tmpl != NULL ? tmpl : "";
	char *w = NULL;
	int rc = 0;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return prs_error_set("out of memory");
	while (rc == 0 && (rc = cmd_next_word(&p, &w)) == 0 && w != NULL)
		rc = cmd_push(c, w);
	if (rc == 0 && c->n == 0) {
		prs_error_set("SCANNER_CMD is empty");
		rc = PRS_EINPUT;
	}
	if (rc == 0 && (c->words[0][0] == '\0' ||
	    strchr(c->words[0], '{') != NULL)) {
		prs_error_set("SCANNER_CMD: the first word must name the "
		    "program");
		rc = PRS_EINPUT;
	}
	if (rc < 0) {
		prs_sarif_cmd_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
prs_sarif_cmd_has_output(const struct prs_sarif_cmd *c)
{
	return c->has_output;
}

const char *
prs_sarif_cmd_program(const struct prs_sarif_cmd *c)
{
	return c->words[0];
}

/* Counts the occurrences of ph in w. */
static size_t
count_of(const char *w, const char *ph)
{
	size_t n = 0;

	while ((w = strstr(w, ph)) != NULL) {
		n++;
		w += strlen(ph);
	}
	return n;
}

/* w with every placeholder filled in: a new string, NULL on OOM. */
static char *
word_fill(const char *w, const char *source, const char *output)
{
	size_t ns = count_of(w, PH_SOURCE), no = count_of(w, PH_OUTPUT);
	size_t len = strlen(w) + ns * strlen(source) + no * strlen(output);
	char *s = malloc(len + 1), *d = s;

	while (s != NULL && *w != '\0') {
		const char *val = NULL;
		size_t skip = 0;

		if (strncmp(w, PH_SOURCE, strlen(PH_SOURCE)) == 0) {
			val = source;
			skip = strlen(PH_SOURCE);
		} else if (strncmp(w, PH_OUTPUT, strlen(PH_OUTPUT)) == 0) {
			val = output;
			skip = strlen(PH_OUTPUT);
		}
		if (val != NULL) {
			memcpy(d, val, strlen(val));
			d += strlen(val);
			w += skip;
		} else {
			*d++ = *w++;
		}
	}
	if (s != NULL)
		*d = '\0';
	return s;
}

int
prs_sarif_cmd_argv(const struct prs_sarif_cmd *c, const char *source,
    const char *output, char ***argv)
{
	char **v;
	size_t i;

	*argv = NULL;
	v = calloc(c->n + 1, sizeof(*v));
	if (v == NULL)
		return prs_error_set("out of memory");
	for (i = 0; i < c->n; i++) {
		v[i] = word_fill(c->words[i], source, output);
		if (v[i] == NULL) {
			prs_sarif_argv_free(v);
			return prs_error_set("out of memory");
		}
	}
	*argv = v;
	return 0;
}

int
prs_sarif_exits_parse(const char *list, unsigned char ok[256])
{
	const char *p = list != NULL ? list : "";
	char *end;
	long code;
	int any = 0;

	memset(ok, 0, 256);
	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		errno = 0;
		code = strtol(p, &end, 10);
		if (end == p || errno != 0 || code < 0 || code > 255 ||
		    (*end != '\0' && strchr(" \t,", *end) == NULL)) {
			prs_error_set("SCANNER_OK_EXITS: \"%.20s\" is not an "
			    "exit code from 0 to 255", p);
			return PRS_EINPUT;
		}
		ok[code] = 1;
		any = 1;
		p = end;
	}
	if (!any) {
		prs_error_set("SCANNER_OK_EXITS lists no exit code");
		return PRS_EINPUT;
	}
	return 0;
}
