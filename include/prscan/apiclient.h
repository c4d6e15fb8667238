/* A worker's signed requests to the API: /callback and /token. */
#ifndef PRSCAN_APICLIENT_H
#define PRSCAN_APICLIENT_H

#include <jansson.h>

/*
 * POSTs body as JSON to api_url + path, with X-Prscan-Timestamp and
 * X-Prscan-Signature under secret.  *status is the HTTP status (0: no
 * answer); *resp, when not NULL, the parsed JSON answer or NULL.  Returns
 * 0 on a 2xx, PRS_ERETRY on no answer or 5xx, -1 on other statuses.
 */
int prs_api_post(const char *api_url, const char *path, const char *secret,
    const json_t *body, long *status, json_t **resp);

#endif
