/*
 * installed-echo.c -- a client built against the installed libtpclient
 * only (tests/client/installed.sh compiles it with the flags of the
 * installed tpclient.pc): submit an echo job to the daemon at
 * $TPOOL_SOCKET, wait for its end, check that it succeeded with the
 * input as its result.  Exits 0 when it did.
 */
#include <stdio.h>
#include <string.h>

#include <tpool/tpclient.h>

int
main(int argc, char **argv)
{
	const char *input = argc > 1 ? argv[1] : "hi";
	struct tpc *c;
	Tpool__JobInfo *job;
	uint64_t id;
	int error, ok;

	if ((error = tpc_connect(NULL, &c)) != 0) {
		(void)fprintf(stderr, "connect %s: %s\n", tpc_default_path(),
		    tpc_strerror(error));
		return 1;
	}
	(void)tpc_set_timeout(c, 10000);
	if ((error = tpc_submit(c, TPC_SUBMIT_ARGS("echo", input, strlen(input)),
	    &id)) != 0 || (error = tpc_wait_job(c, id, &job, NULL, NULL)) != 0) {
		(void)fprintf(stderr, "echo: %s\n", tpc_strerror(error));
		tpc_free(c);
		return 1;
	}
	ok = job->state == TPOOL__JOB_STATE__JOB_SUCCEEDED &&
	    job->result.len == strlen(input) &&
	    memcmp(job->result.data, input, job->result.len) == 0;
	(void)printf("job %llu %s: %.*s\n", (unsigned long long)id,
	    tp_state_name(job->state), (int)job->result.len,
	    (const char *)job->result.data);
	tpool__job_info__free_unpacked(job, NULL);
	tpc_free(c);
	return ok ? 0 : 1;
}
