/*
 * prscanctl redeliver --since DURATION [--dry-run]: GitHub redelivers
 * the App's failed deliveries of the window that prscan never recorded.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prscan/error.h"
#include "prscan/redeliver.h"

static const char *const rd_words[] = {
	[PRS_REDELIVER_DELIVERED] = "delivered",
	[PRS_REDELIVER_RECORDED] = "recorded",
	[PRS_REDELIVER_REQUESTED] = "redelivery requested",
	[PRS_REDELIVER_WOULD] = "would redeliver",
	[PRS_REDELIVER_REFUSED] = "redelivery refused",
	[PRS_REDELIVER_CLAIMED] = "asked for lately",
};

static void
rd_print(const struct prs_redeliver_item *it, void *arg)
{
	struct ctl *ctl = ((void **)arg)[0];
	json_t *items = ((void **)arg)[1];
	char when[32];
	struct tm tm;

	gmtime_r(&it->delivered_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ctl->json) {
		json_array_append_new(items, json_pack(
		    "{s:s,s:s,s:s,s:I,s:s,s:i,s:i,s:s}", "guid", it->guid,
		    "event", it->event, "action", it->action, "id",
		    (json_int_t)it->id, "delivered_at", when, "status_code",
		    (int)it->status_code, "attempts", (int)it->attempts,
		    "outcome", rd_words[it->what]));
		return;
	}
	printf("%-36s %-14s %-10s %s %3ld  %s\n", it->guid, it->event,
	    it->action, when, it->status_code, rd_words[it->what]);
}

static void
rd_summary(struct ctl *ctl, const struct prs_redeliver_report *rep,
    json_t *items)
{
	if (ctl->json) {
		ctl_print_new(json_pack("{s:O,s:I,s:I,s:I,s:I,s:I,s:b}",
		    "deliveries", items, "attempts", (json_int_t)rep->attempts,
		    "delivered", (json_int_t)rep->delivered, "recorded",
		    (json_int_t)rep->recorded, "requested",
		    (json_int_t)rep->requested, "refused",
		    (json_int_t)rep->refused, "dry_run", ctl->dry_run));
		return;
	}
	printf("%ld attempts: %ld delivered, %ld failed but recorded, "
	    "%ld %s, %ld refused\n", rep->attempts, rep->delivered,
	    rep->recorded, rep->requested, ctl->dry_run ?
	    "would be redelivered" : "redelivered", rep->refused);
}

int
ctl_redeliver(struct ctl *ctl)
{
	struct prs_github_app app;
	struct prs_redeliver_report rep;
	json_t *items = json_array();
	void *arg[2] = { ctl, items };
	long long window;
	int rc = -1;

	memset(&app, 0, sizeof(app));
	memset(&rep, 0, sizeof(rep));
	if (ctl->nargs != 0 || ctl->since == NULL) {
		fprintf(stderr, "prscanctl: redeliver --since DURATION "
		    "[--dry-run]\n");
		json_decref(items);
		return CTL_USAGE;
	}
	if (ctl_parse_duration(ctl->since, &window) < 0 ||
	    ctl_redis(ctl) == NULL || prs_github_app_from_env(&app) < 0)
		goto out;
	rc = prs_redeliver_sweep(&app, ctl->redis, time(NULL) -
	    (time_t)window, ctl->dry_run, rd_print, arg, &rep);
	if (rc == 0)
		rd_summary(ctl, &rep, items);
	if (rc == 0 && rep.refused > 0)
		rc = prs_error_set("GitHub refused %ld redeliveries",
		    rep.refused);
out:
	prs_github_app_dispose(&app);
	json_decref(items);
	return rc < 0 ? ctl_fail("redeliver") : 0;
}
