/*
 * sha256.c -- the sha256 plugin: a real CPU-bound job.  The result is the
 * SHA-256 digest of the input as 64 lowercase hex digits.
 *
 * To make heavy jobs from small requests, an input of the form
 * "repeat:N:TEXT" (N a decimal count, 1 to 10^12) hashes TEXT repeated N
 * times, streamed (nothing of size N is allocated); such a job reports
 * progress and stops when cancelled.  Any other input, including one that
 * starts with "repeat:" but does not parse, is hashed as it is.
 *
 * The hashing is libcrypto's (OpenSSL's EVP digest interface), which uses
 * the CPU's SHA instructions where there are any.  tpp_init hashes once, so
 * that libcrypto's one-time set-up (configuration, providers: files read)
 * is done when the plugin is loaded, before a plugin worker's sandbox shuts
 * those system calls off; each run then only computes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <tpool/plugin.h>

#define	SHA256_DIGEST	32
#define	REPEAT_MAX	1000000000000ull

/*
 * Does the input say "repeat:N:TEXT"?  On success *ret_n and the text's
 * bounds are set.
 */
static bool
sha256_parse_repeat(const uint8_t *in, size_t len, uint64_t *ret_n,
    const uint8_t **ret_text, size_t *ret_textlen)
{
	static const char prefix[] = "repeat:";
	size_t i = sizeof(prefix) - 1, digits = 0;
	uint64_t n = 0;

	if (len < i || memcmp(in, prefix, i) != 0)
		return false;
	for (; i < len && in[i] >= '0' && in[i] <= '9'; i++, digits++) {
		if (digits >= 13)
			return false;
		n = n * 10 + (uint64_t)(in[i] - '0');
	}
	if (digits == 0 || i >= len || in[i] != ':' || n == 0 || n > REPEAT_MAX)
		return false;
	*ret_n = n;
	*ret_text = in + i + 1;
	*ret_textlen = len - i - 1;
	return true;
}

/*
 * Hash one stretch of input; false when libcrypto refused (it does not for
 * SHA-256 short of running out of memory).
 */
static bool
sha256_update(EVP_MD_CTX *md, const uint8_t *p, size_t len)
{
	return EVP_DigestUpdate(md, p, len) == 1;
}

static int
sha256_run(struct tp_plugin_ctx *ctx)
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *md;			/* ours: freed before returning */
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int digestlen = 0;
	char out[2 * SHA256_DIGEST];
	const uint8_t *text;
	size_t textlen;
	uint64_t n, i, step;
	unsigned int percent, last_percent = 0;
	bool ok = true;
	int j;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		tp_plugin_fail(ctx, "EVP_MD_CTX_new: out of memory");
		return ENOMEM;
	}
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		tp_plugin_fail(ctx, "EVP_DigestInit_ex(sha256) failed");
		return EIO;
	}
	if (sha256_parse_repeat(ctx->ctx_input, ctx->ctx_input_len, &n, &text, &textlen)) {
		/*
		 * Look at cancel and progress every ~1 MiB of hashing.  An
		 * empty TEXT hashes nothing however often: no loop at all (a
		 * loop of n empty updates would never look at cancel).
		 */
		if (textlen == 0)
			n = 0;
		step = (1u << 20) / (textlen == 0 ? 1 : textlen) + 1;
		for (i = 0; i < n && ok; i++) {
			ok = sha256_update(md, text, textlen);
			if ((i + 1) % step != 0)
				continue;
			if (tp_plugin_cancel_requested(ctx)) {
				EVP_MD_CTX_free(md);
				tp_plugin_fail(ctx, "cancelled after %llu of %llu repeats",
				    (unsigned long long)(i + 1), (unsigned long long)n);
				return ECANCELED;
			}
			percent = (unsigned int)((i + 1) * 100 / n);
			if (percent != last_percent) {
				tp_plugin_progress(ctx, percent, NULL);
				last_percent = percent;
			}
		}
	} else {
		ok = sha256_update(md, ctx->ctx_input, ctx->ctx_input_len);
	}
	if (ok)
		ok = EVP_DigestFinal_ex(md, digest, &digestlen) == 1 &&
		    digestlen == SHA256_DIGEST;
	EVP_MD_CTX_free(md);
	if (!ok) {
		tp_plugin_fail(ctx, "libcrypto failed to compute SHA-256");
		return EIO;
	}
	for (j = 0; j < SHA256_DIGEST; j++) {
		out[2 * j] = hex[digest[j] >> 4];
		out[2 * j + 1] = hex[digest[j] & 0xf];
	}
	return tp_plugin_set_result(ctx, out, sizeof(out));
}

/*
 * At load: one digest of "abc", checked against FIPS 180-4's vector, so
 * that libcrypto is initialised here (see the top of the file) and a
 * libcrypto without a working SHA-256 keeps the plugin from loading.
 */
static int
sha256_init(void **ret_data)
{
	static const uint8_t abc[SHA256_DIGEST] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int digestlen = 0;

	if (EVP_Digest("abc", 3, digest, &digestlen, EVP_sha256(), NULL) != 1 ||
	    digestlen != SHA256_DIGEST || memcmp(digest, abc, sizeof(abc)) != 0)
		return ENOSYS;
	*ret_data = NULL;
	return 0;
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "sha256",
	.tpp_description = "SHA-256 of the input in hex; \"repeat:N:TEXT\" hashes TEXT N times",
	.tpp_init = sha256_init,
	.tpp_run = sha256_run,
};
