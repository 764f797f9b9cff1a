/*
 * utf8.h -- names people read: the rule a name sent by a client must
 * follow before the daemon keeps it (a job's name shows in thread names,
 * ps, logs and every JobInfo), and an escape for printing a string that
 * may break that rule (an unknown plugin's name, a client's name) in a
 * message or a log line; the decoder under both, which tpctl uses to
 * tell text from bytes.  Pure functions: no allocation, no I/O.
 */
#ifndef TP_UTF8_H
#define TP_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The length of the UTF-8 sequence at s[0..n) (n > 0), its code point in
 * *ret_cp (may be NULL); 0 when no valid, shortest-form sequence starts
 * there (a cut one included).
 */
size_t	tp_utf8_next(const void *s, size_t n, uint32_t *ret_cp);

/*
 * Is s[0..len) a readable name: valid UTF-8 in its shortest form, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, and no control
 * character (C0 U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F)?  true,
 * or false with *ret_off (may be NULL) the byte offset where the first
 * bad sequence starts.
 */
bool	tp_utf8_name_ok(const char *s, size_t len, size_t *ret_off);

/*
 * s (NUL-terminated) made safe to print, into buf[buflen] (NUL-terminated
 * when buflen > 0): every character tp_utf8_name_ok() accepts is copied,
 * except '\\', written "\\\\"; every other byte is written "\\xHH".  When
 * it does not fit it is cut at a character's end and ends in "...".
 * Returns buf.
 */
char	*tp_name_escape(char *buf, size_t buflen, const char *s);

#endif /* TP_UTF8_H */
