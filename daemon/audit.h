/*
 * audit.h -- who ran what (audit.c): one entry per job that ends, to the
 * journal as structured fields, or as a line on stderr, or nowhere
 * (--audit-log).  Layer: the bottom, beside the log.  Loop thread.
 */
#ifndef TPD_AUDIT_H
#define TPD_AUDIT_H

#include "tpool.pb-c.h"

/* A job has its final state: info is its final JobInfo (borrowed). */
void	tpd_audit_job_ended(const Tpool__JobInfo *info);

#endif /* TPD_AUDIT_H */
