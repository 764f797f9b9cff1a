/*
 * test_utf8.c -- Check runner for the name rule and the escape of
 * proto/utf8.c: what a job name may hold (valid, shortest-form UTF-8, no
 * surrogate, nothing above U+10FFFF, no C0/C1 control or DEL), the byte
 * offset reported for each kind of bad sequence, every one-byte value,
 * and the escape's output and cut.
 *
 * CK_FORK=no is honoured (nothing here depends on a fork).
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define	TEST_TIMEOUT	30	/* seconds, per test case */

/* tp_utf8_name_ok over a C string: -1 when accepted, else the offset. */
static long
bad_at(const char *s, size_t len)
{
	size_t off = 12345;

	if (tp_utf8_name_ok(s, len, &off))
		return -1;
	return (long)off;
}

START_TEST(test_name_ok_accepts_readable_utf8)
{
	/* ASCII, 2-, 3- and 4-byte characters, the edges of each range. */
	static const char *const good[] = {
		"", "job-1", "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac",
		"\xc2\xa0",			/* U+00A0, first after C1 */
		"\xdf\xbf",			/* U+07FF */
		"\xe0\xa0\x80",			/* U+0800 */
		"\xed\x9f\xbf",			/* U+D7FF */
		"\xee\x80\x80",			/* U+E000 */
		"\xef\xbf\xbf",			/* U+FFFF */
		"\xf0\x90\x80\x80",		/* U+10000 */
		"\xf4\x8f\xbf\xbf",		/* U+10FFFF */
		"~ !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(bad_at(good[i], strlen(good[i])) == -1,
		    "refused good name %zu", i);
}
END_TEST

START_TEST(test_name_ok_reports_offset_of_bad_sequence)
{
	static const struct {
		const char	*s;
		long		off;
		const char	*what;
	} bad[] = {
		{ "ab\x01", 2, "C0 control" },
		{ "a\tb", 1, "tab" },
		{ "a\nb", 1, "newline" },
		{ "abc\x1b[31m", 3, "escape" },
		{ "x\x7f", 1, "DEL" },
		{ "x\xc2\x80", 1, "C1 U+0080" },
		{ "xy\xc2\x9f", 2, "C1 U+009F" },
		{ "\x80", 0, "lone continuation byte" },
		{ "ok\xbf", 2, "lone continuation byte later" },
		{ "\xc0\xaf", 0, "overlong '/' (C0)" },
		{ "a\xc1\xbf", 1, "overlong (C1)" },
		{ "\xe0\x80\xaf", 0, "overlong 3-byte '/'" },
		{ "\xe0\x9f\xbf", 0, "overlong 3-byte U+07FF" },
		{ "\xf0\x80\x80\xaf", 0, "overlong 4-byte '/'" },
		{ "\xf0\x8f\xbf\xbf", 0, "overlong 4-byte U+FFFF" },
		{ "ab\xed\xa0\x80", 2, "surrogate U+D800" },
		{ "\xed\xbf\xbf", 0, "surrogate U+DFFF" },
		{ "\xf4\x90\x80\x80", 0, "U+110000" },
		{ "\xf5\x80\x80\x80", 0, "lead F5" },
		{ "\xfe", 0, "FE" },
		{ "\xff", 0, "FF" },
		{ "caf\xc3", 3, "cut 2-byte sequence" },
		{ "\xe6\x97", 0, "cut 3-byte sequence" },
		{ "\xe6\x97x", 0, "3-byte sequence with ASCII inside" },
		{ "\xc3\xc3\xa9", 0, "lead byte followed by lead byte" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(bad_at(bad[i].s, strlen(bad[i].s)) == bad[i].off,
		    "%s: offset %ld, expected %ld", bad[i].what,
		    bad_at(bad[i].s, strlen(bad[i].s)), bad[i].off);
}
END_TEST

START_TEST(test_name_ok_every_single_byte)
{
	char c;
	int b;

	/* One byte is a name only when it is printable ASCII. */
	for (b = 0; b < 256; b++) {
		c = (char)b;
		ck_assert_msg((bad_at(&c, 1) == -1) == (b >= 0x20 && b < 0x7f),
		    "byte 0x%02x", b);
	}
	/* A NUL inside the length is a control character too. */
	ck_assert_int_eq(bad_at("ab\0c", 4), 2);
	/* NULL for the offset is allowed. */
	ck_assert(!tp_utf8_name_ok("\x01", 1, NULL));
}
END_TEST

START_TEST(test_escape_keeps_good_escapes_bad)
{
	char buf[64];

	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "echo"), "echo");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf),
	    "caf\xc3\xa9"), "caf\xc3\xa9");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "a\nb\x1b[0m"),
	    "a\\x0ab\\x1b[0m");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "a\\x"), "a\\\\x");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "\xc0\xaf\x7f"),
	    "\\xc0\\xaf\\x7f");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "\xc2\x85"),
	    "\\xc2\\x85");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), ""), "");
}
END_TEST

START_TEST(test_escape_cuts_at_a_character)
{
	char buf[8];

	/* Fits exactly: no cut. */
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "1234567"),
	    "1234567");
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "12345678"),
	    "1234...");
	/* An escape is never cut in half. */
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf), "12\x01xxxxx"),
	    "12...");
	/* Nor a UTF-8 character. */
	ck_assert_str_eq(tp_name_escape(buf, sizeof(buf),
	    "123\xe6\x97\xa5xx"), "123...");
	ck_assert_str_eq(tp_name_escape(buf, 4, "abcdef"), "...");
	ck_assert_str_eq(tp_name_escape(buf, 3, "abcdef"), "");
	buf[0] = 'x';
	(void)tp_name_escape(buf, 0, "abc");
	ck_assert_int_eq(buf[0], 'x');
}
END_TEST

static Suite *
utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("names");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_name_ok_accepts_readable_utf8);
	tcase_add_test(tc, test_name_ok_reports_offset_of_bad_sequence);
	tcase_add_test(tc, test_name_ok_every_single_byte);
	tcase_add_test(tc, test_escape_keeps_good_escapes_bad);
	tcase_add_test(tc, test_escape_cuts_at_a_character);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int nfailed;

	sr = srunner_create(utf8_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
