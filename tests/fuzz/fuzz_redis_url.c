/*
 * REDIS_URL parsing with arbitrary text: no crash, no leak; what is
 * accepted has a host and a port in range, and a refusal changes nothing.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "prscan/redis.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prs_redis_config cfg;
	char *url = fuzz_strndup(data, size);

	memset(&cfg, 0, sizeof(cfg));
	cfg.port = 6379;
	if (prs_redis_url_parse(url, &cfg) == 0) {
		if (cfg.host == NULL || cfg.host[0] == '\0' || cfg.port < 1 ||
		    cfg.port > 65535 || cfg.db < 0)
			abort();
	} else if (cfg.host != NULL || cfg.password != NULL ||
	    cfg.port != 6379) {
		abort();
	}
	prs_redis_config_dispose(&cfg);
	free(url);
	return 0;
}
