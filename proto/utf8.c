/*
 * utf8.c -- the rule for names people read, and an escape for the names
 * that break it (utf8.h).  The decoder follows RFC 3629: a lead byte
 * C0, C1 or F5..FF is never valid, a sequence must use the fewest bytes
 * its code point needs, and the code points of UTF-16's surrogates and
 * those above U+10FFFF are refused.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t
tp_utf8_next(const void *s, size_t n, uint32_t *ret_cp)
{
	const unsigned char *p = s;
	uint32_t cp, min;
	size_t len, i;

	if (p[0] < 0x80) {
		if (ret_cp != NULL)
			*ret_cp = p[0];
		return 1;
	}
	if (p[0] < 0xc2)	/* a continuation byte, or overlong C0/C1 */
		return 0;
	if (p[0] < 0xe0) {
		len = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] < 0xf0) {
		len = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] < 0xf5) {
		len = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (ret_cp != NULL)
		*ret_cp = cp;
	return len;
}

static bool
utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

bool
tp_utf8_name_ok(const char *s, size_t len, size_t *ret_off)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t off = 0, n;
	uint32_t cp;

	while (off < len) {
		n = tp_utf8_next(p + off, len - off, &cp);
		if (n == 0 || utf8_is_control(cp)) {
			if (ret_off != NULL)
				*ret_off = off;
			return false;
		}
		off += n;
	}
	return true;
}

/*
 * The piece of s at *off printed by tp_name_escape() into piece[5]; moves
 * *off past the bytes it stands for.  Its length.
 */
static size_t
utf8_escape_piece(const unsigned char *s, size_t len, size_t *off,
    char piece[5])
{
	size_t n;
	uint32_t cp;

	n = tp_utf8_next(s + *off, len - *off, &cp);
	if (n == 0 || utf8_is_control(cp)) {
		(void)snprintf(piece, 5, "\\x%02x", (unsigned int)s[*off]);
		n = 1;
	} else if (cp == '\\')
		memcpy(piece, "\\\\", 3);
	else {
		memcpy(piece, s + *off, n);
		piece[n] = '\0';
	}
	*off += n;
	return strlen(piece);
}

char *
tp_name_escape(char *buf, size_t buflen, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), off = 0, out = 0, n, room;
	char piece[5];
	bool cut;

	if (buflen == 0)
		return buf;
	/* All of it when it fits, else as much as fits before "...". */
	for (n = 0; off < len; )
		n += utf8_escape_piece(p, len, &off, piece);
	cut = n >= buflen;
	room = !cut ? buflen - 1 : buflen > 3 ? buflen - 4 : 0;
	for (off = 0; off < len; ) {
		n = utf8_escape_piece(p, len, &off, piece);
		if (out + n > room)
			break;
		memcpy(buf + out, piece, n);
		out += n;
	}
	if (cut && buflen > 3) {
		memcpy(buf + out, "...", 3);
		out += 3;
	}
	buf[out] = '\0';
	return buf;
}
