/* What the harnesses share: a quiet log and a small clone to confine to. */
#include "common.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prscan/log.h"

static char clone_root[PATH_MAX];

void
fuzz_quiet_log(void)
{
	setenv("LOG_LEVEL", "error", 1);
	unsetenv("LOG_FORMAT");
	if (prs_log_init("fuzz") < 0)
		abort();
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

static void
remove_clone(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", clone_root);
	if (clone_root[0] == '/' && system(cmd) != 0)
		fprintf(stderr, "fuzz: %s not removed\n", clone_root);
}

const char *
fuzz_clone_root(void)
{
	char tmpl[] = "/tmp/prscan-fuzz-XXXXXX", path[PATH_MAX];

	if (clone_root[0] != '\0')
		return clone_root;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, clone_root) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/a", clone_root);
	if (mkdir(path, 0700) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/a/b", clone_root);
	if (mkdir(path, 0700) < 0)
		abort();
	write_file(clone_root, "main.tf", "resource \"aws_s3_bucket\" \"b\" {"
	    "\n  acl = \"public-read\"\n}\n");
	write_file(clone_root, "a/b/c.yaml", "apiVersion: v1\nkind: Pod\n");
	write_file(clone_root, "package.json", "{\n  \"dependencies\": {\n"
	    "    \"lodash\": \"4.17.20\",\n    \"minimist\": \"0.0.8\"\n"
	    "  }\n}\n");
	write_file(clone_root, "pom.xml", "<project><dependencies><dependency>"
	    "\n<artifactId>log4j-core</artifactId>\n</dependency>"
	    "</dependencies></project>\n");
	snprintf(path, sizeof(path), "%s/inner", clone_root);
	if (symlink("a", path) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/outer", clone_root);
	if (symlink("/etc", path) < 0)
		abort();
	atexit(remove_clone);
	return clone_root;
}

char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
