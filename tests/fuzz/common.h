/* What the harnesses share: a quiet log and a small clone to confine to. */
#ifndef PRSCAN_FUZZ_COMMON_H
#define PRSCAN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Logging at error level only, named "fuzz". */
void fuzz_quiet_log(void);

/*
 * A temporary clone made once per process and removed at exit, holding
 * main.tf, a/b/c.yaml, package.json, pom.xml, a symlink inside
 * (inner -> a) and one out (outer -> /etc).  Its absolute, real path.
 */
const char *fuzz_clone_root(void);

/* A NUL-terminated copy of data (free it); aborts on OOM. */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
