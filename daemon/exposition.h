/*
 * exposition.h -- tpoold's metrics in Prometheus's text exposition format
 * (exposition.c): metrics.c's counters and the gauges of the other
 * modules.  Layer: above the job table, the connections, the pools, the
 * plugins and the store; below the requests and the metrics endpoint.
 * Loop thread.
 */
#ifndef TPD_EXPOSITION_H
#define TPD_EXPOSITION_H

#include <stddef.h>

/*
 * The whole text, as of now: *ret_text is malloc'ed and NUL-terminated
 * (the caller frees it), *ret_len its length.  0 or ENOMEM.
 */
int	tpd_exposition(char **ret_text, size_t *ret_len);

#endif /* TPD_EXPOSITION_H */
