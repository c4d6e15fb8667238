/* Gauges of the scan streams, read from Redis for /metrics. */
#ifndef PRSCAN_STREAMSTATS_H
#define PRSCAN_STREAMSTATS_H

#include <stddef.h>
#include <hiredis/hiredis.h>

/*
 * Declares redis_stream_length{stream} and
 * redis_pending_messages{stream,consumer}.  Call once before rendering.
 */
void prs_streamstats_describe(void);

/*
 * Sets both gauges anew for the n streams: XLEN of each, and the pending
 * entries of each consumer of each of its groups (XINFO GROUPS, then
 * XPENDING's summary).  A stream that does not exist reads 0.  c may be
 * NULL (Redis unreachable): the gauges are then cleared.  Returns 0, or
 * -1 when Redis failed (what was read so far stays set).
 */
int prs_streamstats_collect(redisContext *c, const char *const *streams,
    size_t n);

#endif
