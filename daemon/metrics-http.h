/*
 * metrics-http.h -- the metrics endpoint (metrics-http.c): GET /metrics
 * over HTTP on the socket systemd passes as "metrics" or one bound at
 * --metrics-listen.  Layer: beside the listening socket, above the
 * exposition.  Loop thread.
 */
#ifndef TPD_METRICS_HTTP_H
#define TPD_METRICS_HTTP_H

struct event_base;

/* Listen, when there is a socket to: 0, or an errno (logged). */
int	tpd_metrics_http_start(struct event_base *base);
/* Close the socket and every connection (a later start listens again). */
void	tpd_metrics_http_stop(void);

#endif /* TPD_METRICS_HTTP_H */
