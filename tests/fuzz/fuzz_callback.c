/*
 * The callback's result (prs_result_from_json) and the job record
 * (prs_job_from_json) from arbitrary JSON: no crash, no leak, and what is
 * accepted survives a round trip through its JSON form unchanged.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "prscan/finding.h"
#include "prscan/job.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	return 0;
}

static void
result_round_trip(const json_t *j)
{
	struct prs_scan_result *r = NULL, *again = NULL;
	json_t *out = NULL, *out2 = NULL;

	if (prs_result_from_json(j, &r) != 0)
		goto done;
	out = prs_result_to_json(r);
	if (out == NULL || prs_result_from_json(out, &again) != 0)
		abort();
	out2 = prs_result_to_json(again);
	if (out2 == NULL || !json_equal(out, out2))
		abort();
done:
	json_decref(out);
	json_decref(out2);
	prs_result_free(r);
	prs_result_free(again);
}

static void
job_round_trip(const json_t *j)
{
	struct prs_job *job = NULL, *again = NULL;
	json_t *out = NULL;

	if (prs_job_from_json(j, &job) != 0)
		goto done;
	out = prs_job_to_json(job);
	if (out == NULL || prs_job_from_json(out, &again) != 0 ||
	    strcmp(job->head_sha, again->head_sha) != 0 ||
	    strcmp(job->owner, again->owner) != 0 ||
	    job->pr_number != again->pr_number)
		abort();
done:
	json_decref(out);
	prs_job_free(job);
	prs_job_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)data, size, 0, &err);

	if (j == NULL)
		return 0;
	result_round_trip(j);
	job_round_trip(j);
	json_decref(j);
	return 0;
}
