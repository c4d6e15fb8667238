/*
 * One line per event on stderr, as text or JSON.
 *
 * Text:  <time> level=<lvl> daemon=<name> msg="<msg>" <fields>
 * JSON:  {"time":..,"level":..,"daemon":..,"msg":..,<field>:<value>,...}
 *
 * Every byte outside printable ASCII is replaced by '?' so that a value
 * from the network can neither split a line nor break the JSON encoder.
 */
#include "prscan/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "prscan/error.h"

#define PRS_LOG_FIELDS_SIZE 4096
#define PRS_LOG_MSG_SIZE 1024
#define PRS_LOG_LINE_SIZE (PRS_LOG_FIELDS_SIZE + PRS_LOG_MSG_SIZE + 256)
#define PRS_LOG_TIME_SIZE 40

static enum prs_log_level prs_log_min = PRS_LOG_INFO;
static int prs_log_json;
static char prs_log_daemon[64] = "prscan";

static const char *const prs_log_names[] = {
	"debug", "info", "warn", "error", "fatal"
};

static int
prs_log_parse_level(const char *s, enum prs_log_level *out)
{
	if (strcasecmp(s, "debug") == 0)
		*out = PRS_LOG_DEBUG;
	else if (strcasecmp(s, "info") == 0)
		*out = PRS_LOG_INFO;
	else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		*out = PRS_LOG_WARN;
	else if (strcasecmp(s, "error") == 0)
		*out = PRS_LOG_ERROR;
	else
		return -1;
	return 0;
}

int
prs_log_init(const char *daemon)
{
	const char *lvl = getenv("LOG_LEVEL");
	const char *fmt = getenv("LOG_FORMAT");
	enum prs_log_level min = PRS_LOG_INFO;
	int json = 0;

	if (lvl != NULL && *lvl != '\0' && prs_log_parse_level(lvl, &min) < 0)
		return prs_error_set("LOG_LEVEL: must be one of debug, info, "
		    "warn, error");

	if (fmt != NULL && *fmt != '\0') {
		if (strcasecmp(fmt, "json") == 0)
			json = 1;
		else if (strcasecmp(fmt, "text") != 0)
			return prs_error_set("LOG_FORMAT: must be text or "
			    "json");
	}

	prs_log_min = min;
	prs_log_json = json;
	if (daemon != NULL)
		snprintf(prs_log_daemon, sizeof(prs_log_daemon), "%s", daemon);
	return 0;
}

int
prs_log_enabled(enum prs_log_level level)
{
	return level >= PRS_LOG_FATAL || level >= prs_log_min;
}

static int
prs_log_printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/* Replaces every byte outside printable ASCII by '?', in place. */
static void
prs_log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if (!prs_log_printable((unsigned char)*s))
			*s = '?';
}

static int
prs_log_needs_quotes(const char *s)
{
	if (*s == '\0')
		return 1;
	for (; *s != '\0'; s++)
		if (*s == ' ' || *s == '"' || *s == '\\' || *s == '=')
			return 1;
	return 0;
}

static const char *
prs_log_quote_into(const char *s, char *buf, unsigned long n, int quote)
{
	unsigned long i = 0;

	if (n == 0)
		return buf;
	if (s == NULL)
		s = "";
	if (quote && n < 3) {
		buf[0] = '\0';
		return buf;
	}
	if (quote)
		buf[i++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int esc = quote && (c == '"' || c == '\\');

		/* room for the byte, its escape, a closing quote and NUL */
		if (i + (unsigned long)esc + (unsigned long)quote + 2 > n)
			break;
		if (esc)
			buf[i++] = '\\';
		buf[i++] = prs_log_printable(c) ? (char)c : '?';
	}
	if (quote)
		buf[i++] = '"';
	buf[i] = '\0';
	return buf;
}

const char *
prs_log_quote(const char *s, char *buf, unsigned long n)
{
	return prs_log_quote_into(s, buf, n,
	    prs_log_needs_quotes(s != NULL ? s : ""));
}

const char *
prs_log_q(const char *s)
{
	static _Thread_local char ring[PRS_LOG_Q_SLOTS][PRS_LOG_Q_SIZE];
	static _Thread_local unsigned int next;
	char *buf = ring[next++ % PRS_LOG_Q_SLOTS];

	return prs_log_quote(s != NULL ? s : "-", buf, PRS_LOG_Q_SIZE);
}

static void
prs_log_time(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char base[24];
	unsigned int ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	ms = (unsigned int)(ts.tv_nsec / 1000000L) % 1000u;
	snprintf(buf, n, "%s.%03uZ", base, ms);
}

static void
prs_log_write_text(const char *tstamp, enum prs_log_level level,
    const char *msg, const char *fields)
{
	char qmsg[PRS_LOG_MSG_SIZE];
	char line[PRS_LOG_LINE_SIZE];

	/* msg is always quoted, even without spaces, for easy grepping */
	prs_log_quote_into(msg, qmsg, sizeof(qmsg), 1);

	snprintf(line, sizeof(line), "%s level=%s daemon=%s msg=%s%s%s\n",
	    tstamp, prs_log_names[level], prs_log_daemon, qmsg,
	    *fields != '\0' ? " " : "", fields);
	fputs(line, stderr);
}

/*
 * Reads one value at *p: a quoted one (as prs_log_quote writes it) or one
 * running to the next space.  Unquotes in place; sets *quoted.
 */
static char *
prs_log_take_value(char **p, int *quoted)
{
	char *s = *p;
	char *w = NULL;
	char *start = NULL;

	*quoted = (*s == '"');
	if (!*quoted) {
		start = s;
		while (*s != '\0' && *s != ' ')
			s++;
		if (*s == ' ')
			*s++ = '\0';
		*p = s;
		return start;
	}

	start = w = ++s;
	while (*s != '\0' && *s != '"') {
		if (*s == '\\' && s[1] != '\0')
			s++;
		*w++ = *s++;
	}
	if (*s == '"')
		s++;
	*w = '\0';
	*p = s;
	return start;
}

static json_t *
prs_log_json_value(const char *v, int quoted)
{
	char *end = NULL;
	long long n;

	if (!quoted && (*v == '-' || (*v >= '0' && *v <= '9'))) {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && end != v && *end == '\0')
			return json_integer(n);
	}
	return json_string(v);
}

/* Splits `key=value key="v a l"` into members of obj. */
static void
prs_log_split_fields(json_t *obj, char *p)
{
	char key[128];
	size_t klen;

	while (*p != '\0') {
		char *k = NULL;
		const char *v = NULL;
		int quoted = 0;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		k = p;
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		if (*p == '=') {
			*p++ = '\0';
			v = prs_log_take_value(&p, &quoted);
		} else {
			if (*p == ' ')
				*p++ = '\0';
			v = "";
		}
		if (json_object_get(obj, k) == NULL) {
			json_object_set_new(obj, k,
			    prs_log_json_value(v, quoted));
			continue;
		}
		/* a field named like a fixed member keeps both */
		klen = strlen(k);
		if (klen > sizeof(key) - 7)
			klen = sizeof(key) - 7;
		memcpy(key, "field_", 6);
		memcpy(key + 6, k, klen);
		key[6 + klen] = '\0';
		json_object_set_new(obj, key, prs_log_json_value(v, quoted));
	}
}

static void
prs_log_write_json(const char *tstamp, enum prs_log_level level,
    const char *msg, char *fields)
{
	char m[PRS_LOG_MSG_SIZE];
	json_t *obj = NULL;
	char *text = NULL;
	size_t len;

	snprintf(m, sizeof(m), "%s", msg);
	prs_log_sanitize(m);
	obj = json_pack("{s:s, s:s, s:s, s:s}", "time", tstamp,
	    "level", prs_log_names[level], "daemon", prs_log_daemon,
	    "msg", m);
	if (obj == NULL)
		goto out;

	prs_log_split_fields(obj, fields);
	text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;

	/* one write: the text followed by its newline */
	len = strlen(text);
	text[len] = '\n';
	fwrite(text, 1, len + 1, stderr);
	text[len] = '\0';

out:
	free(text);
	json_decref(obj);
}

void
prs_log(enum prs_log_level level, const char *msg, const char *fields, ...)
{
	char tstamp[PRS_LOG_TIME_SIZE];
	char buf[PRS_LOG_FIELDS_SIZE];
	va_list ap;

	if ((int)level < PRS_LOG_DEBUG || level > PRS_LOG_FATAL)
		level = PRS_LOG_ERROR;
	if (!prs_log_enabled(level))
		return;

	buf[0] = '\0';
	if (fields != NULL) {
		va_start(ap, fields);
		vsnprintf(buf, sizeof(buf), fields, ap);
		va_end(ap);
	}
	prs_log_sanitize(buf);
	prs_log_time(tstamp, sizeof(tstamp));

	if (msg == NULL)
		msg = "";
	if (prs_log_json)
		prs_log_write_json(tstamp, level, msg, buf);
	else
		prs_log_write_text(tstamp, level, msg, buf);
}
