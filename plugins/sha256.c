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
 * SHA-256 is implemented here (FIPS 180-4), so the plugin needs no library.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tpool/plugin.h>

#define	SHA256_BLOCK	64
#define	SHA256_DIGEST	32
#define	REPEAT_MAX	1000000000000ull

struct sha256 {
	uint32_t	s_h[8];
	uint64_t	s_len;			/* bytes hashed so far */
	uint8_t		s_buf[SHA256_BLOCK];	/* partial block */
	size_t		s_buflen;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define	ROTR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->s_h, h0, sizeof(h0));
	s->s_len = 0;
	s->s_buflen = 0;
}

static void
sha256_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		    w[i - 7] + (ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10));

	a = s->s_h[0]; b = s->s_h[1]; c = s->s_h[2]; d = s->s_h[3];
	e = s->s_h[4]; f = s->s_h[5]; g = s->s_h[6]; h = s->s_h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) +
		    sha256_k[i] + w[i];
		t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->s_h[0] += a; s->s_h[1] += b; s->s_h[2] += c; s->s_h[3] += d;
	s->s_h[4] += e; s->s_h[5] += f; s->s_h[6] += g; s->s_h[7] += h;
}

static void
sha256_update(struct sha256 *s, const uint8_t *p, size_t len)
{
	size_t n;

	s->s_len += len;
	if (s->s_buflen > 0) {
		n = SHA256_BLOCK - s->s_buflen;
		if (n > len)
			n = len;
		memcpy(s->s_buf + s->s_buflen, p, n);
		s->s_buflen += n;
		p += n;
		len -= n;
		if (s->s_buflen < SHA256_BLOCK)
			return;
		sha256_block(s, s->s_buf);
		s->s_buflen = 0;
	}
	for (; len >= SHA256_BLOCK; p += SHA256_BLOCK, len -= SHA256_BLOCK)
		sha256_block(s, p);
	memcpy(s->s_buf, p, len);
	s->s_buflen = len;
}

static void
sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST])
{
	uint64_t bits = s->s_len * 8;
	uint8_t pad[SHA256_BLOCK + 8];
	size_t padlen;
	int i;

	/* 0x80, zeros up to 56 mod 64, then the length in bits, big-endian. */
	padlen = (s->s_buflen < 56 ? 56 : 120) - s->s_buflen;
	memset(pad, 0, sizeof(pad));
	pad[0] = 0x80;
	for (i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(s->s_h[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(s->s_h[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(s->s_h[i] >> 8);
		digest[4 * i + 3] = (uint8_t)s->s_h[i];
	}
}

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

static int
sha256_run(struct tp_plugin_ctx *ctx)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256 s;
	uint8_t digest[SHA256_DIGEST];
	char out[2 * SHA256_DIGEST];
	const uint8_t *text;
	size_t textlen;
	uint64_t n, i, step;
	unsigned int percent, last_percent = 0;
	int j;

	sha256_init(&s);
	if (sha256_parse_repeat(ctx->ctx_input, ctx->ctx_input_len, &n, &text, &textlen)) {
		/*
		 * Look at cancel and progress every ~1 MiB of hashing.  An
		 * empty TEXT hashes nothing however often: no loop at all (a
		 * loop of n empty updates would never look at cancel).
		 */
		if (textlen == 0)
			n = 0;
		step = (1u << 20) / (textlen == 0 ? 1 : textlen) + 1;
		for (i = 0; i < n; i++) {
			sha256_update(&s, text, textlen);
			if ((i + 1) % step != 0)
				continue;
			if (tp_plugin_cancel_requested(ctx)) {
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
		sha256_update(&s, ctx->ctx_input, ctx->ctx_input_len);
	}
	sha256_final(&s, digest);
	for (j = 0; j < SHA256_DIGEST; j++) {
		out[2 * j] = hex[digest[j] >> 4];
		out[2 * j + 1] = hex[digest[j] & 0xf];
	}
	return tp_plugin_set_result(ctx, out, sizeof(out));
}

TP_PLUGIN_EXPORT const struct tp_plugin tpool_plugin = {
	.tpp_abi_version = TP_PLUGIN_ABI_VERSION,
	.tpp_name = "sha256",
	.tpp_description = "SHA-256 of the input in hex; \"repeat:N:TEXT\" hashes TEXT N times",
	.tpp_run = sha256_run,
};
