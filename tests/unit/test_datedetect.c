/*
 * Unit tests of the date detector: every default template, year and day
 * inference, zones, logtimezone, epoch/TAI64N, special patterns, errors
 * with their lines, template names, and a randomised proof that the
 * hand-written syslog/ISO matchers agree with the regular expressions.
 * The expected values were obtained by running fail2ban 1.0.2 on these
 * (our own) lines, TZ=CET-01CEST-02,M3.5.0,M10.5.0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datedetect.h"
#include "diag.h"
#include "tap.h"

#define N2005 1124013600 /* 2005-08-14 10:00:00 UTC */
#define N2026 1795262400 /* 2026-11-21 10:00:00 UTC */

enum result { R_OK, R_VALUE, R_EXC, R_NONE, R_EMPTY, R_EXC_MATCH };

struct tcase {
	const char *pattern, *tz;
	time_t now;
	const char *line;
	enum result res;
	const char *text;
	double time;
	const char *name;
};

static const struct tcase cases[] = {
    {NULL, NULL, N2005, "2005-01-23T21:59:59.981746 x", R_OK,
        "2005-01-23T21:59:59.981746", 1106513999.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "Jan 23 21:59:59 host sshd[1]: x", R_OK,
        "Jan 23 21:59:59", 1106513999.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2005, "Sun Jan 23 2005 21:59:59.011 x", R_OK,
        "Sun Jan 23 2005 21:59:59.011", 1106513999.0,
        "{^LN-BEG}(?:DAY )?MON Day ExYear "
        "%k:Minute:Second(?:\\.Microseconds)?"},
    {NULL, NULL, N2005, "23/01/2005 21:59:59 x", R_OK, "23/01/2005 21:59:59",
        1106513999.0,
        "{^LN-BEG}Day(?P<_sep>[-/])Month(?P=_sep)(?:ExYear|ExYear2) "
        "%k:Minute:Second"},
    {NULL, NULL, N2005, "23-01-05 21:59:59 x", R_OK, "23-01-05 21:59:59",
        1106513999.0,
        "{^LN-BEG}Day(?P<_sep>[-/])Month(?P=_sep)(?:ExYear|ExYear2) "
        "%k:Minute:Second"},
    {NULL, NULL, N2005, "[31/Oct/2006:09:22:55 -0000] x", R_OK,
        "31/Oct/2006:09:22:55 -0000", 1162286575.0,
        "{^LN-BEG}Day(?P<_sep>[-/])MON(?P=_sep)ExYear[ "
        ":]?24hour:Minute:Second(?:\\.Microseconds)?(?: Zone offset)?"},
    {NULL, NULL, N2005, "05/20/2008:01:57:39 x", R_OK, "05/20/2008:01:57:39",
        1211241459.0, "{^LN-BEG}Month/Day/ExYear:24hour:Minute:Second"},
    {NULL, NULL, N2005, "01-27-2012 16:22:44.252 x", R_OK,
        "01-27-2012 16:22:44.252", 1327677764.0,
        "{^LN-BEG}Month-Day-ExYear %k:Minute:Second(?:\\.Microseconds)?"},
    {NULL, NULL, N2005, "1124013600 x", R_OK, "1124013600", 1124013600.0,
        "{^LN-BEG}Epoch"},
    {NULL, NULL, N2005, "[1124013600.5] x", R_OK, "1124013600", 1124013600.0,
        "{^LN-BEG}Epoch"},
    {NULL, NULL, N2005, "130322 11:46:11 x", R_OK, "130322 11:46:11",
        1363949171.0, "{^LN-BEG}ExYear2ExMonthExDay  ?24hour:Minute:Second"},
    {NULL, NULL, N2005, "Apr 16, 2005 9:05:29 PM x", R_OK,
        "Apr 16, 2005 9:05:29 PM", 1113678329.0,
        "{^LN-BEG}MON Day, ExYear 12hour:Minute:Second AMPM"},
    {NULL, NULL, N2005, "20050123T215959 x", R_OK, "20050123T215959",
        1106513999.0,
        "{^LN-BEG}ExYearExMonthExDay(?:T|  "
        "?)Ex24hourExMinuteExSecond(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "PDT Apr 16 21:05:29 x", R_OK, "PDT Apr 16 21:05:29",
        1113710729.0,
        "{^LN-BEG}(?:Zone name )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "+0200 Apr 16 21:05:29 x", R_OK,
        "+0200 Apr 16 21:05:29", 1113678329.0,
        "{^LN-BEG}(?:Zone offset )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "@4000000052aebcd831f42f64 x", R_OK,
        "@4000000052aebcd831f42f64", 1387183320.0, "{^LN-BEG}TAI64N"},
    {NULL, NULL, N2005, "text 2005-01-23 21:59:59+01:30 x", R_OK,
        "2005-01-23 21:59:59+01:30", 1106512199.0,
        "ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "text Mon Jan 23 21:59:59 2005 x", R_VALUE,
        "text Mon Jan 23 21:59:59 2005", 0,
        "{^LN-BEG}(?:Zone name )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "text Jan 23 2005 21:59:59 x", R_OK,
        "Jan 23 2005 21:59:59", 1106513999.0,
        "(?:DAY )?MON Day ExYear %k:Minute:Second(?:\\.Microseconds)?"},
    {NULL, NULL, N2005, "text 23/01/2005 21:59:59 x", R_OK,
        "23/01/2005 21:59:59", 1106513999.0,
        "Day(?P<_sep>[-/])Month(?P=_sep)(?:ExYear|ExYear2) %k:Minute:Second"},
    {NULL, NULL, N2005, "text 26-Jul-2007 15:20:52.252 x", R_OK,
        "26-Jul-2007 15:20:52.252", 1185456052.0,
        "Day(?P<_sep>[-/])MON(?P=_sep)ExYear[ "
        ":]?24hour:Minute:Second(?:\\.Microseconds)?(?: Zone offset)?"},
    {NULL, NULL, N2005, "text 05/20/2008:01:57:39 x", R_OK,
        "05/20/2008:01:57:39", 1211241459.0,
        "Month/Day/ExYear:24hour:Minute:Second"},
    {NULL, NULL, N2005, "text 01-27-2012 16:22:44 x", R_OK,
        "01-27-2012 16:22:44", 1327677764.0,
        "Month-Day-ExYear %k:Minute:Second(?:\\.Microseconds)?"},
    {NULL, NULL, N2005, "type=AVC msg=audit(1124013600.123:45): x", R_OK,
        "1124013600.123", 1124013600.123, "Epoch"},
    {NULL, NULL, N2005, "21:59:59 x", R_OK, "21:59:59", 1123963199.0,
        "{^LN-BEG}24hour:Minute:Second"},
    {NULL, NULL, N2005, "<09/16/08@05:03:30> x", R_OK, "<09/16/08@05:03:30>",
        1221534210.0, "^<Month/Day/ExYear2@24hour:Minute:Second>"},
    {NULL, NULL, N2005, "text 130322 11:46:11 x", R_OK, "130322 11:46:11",
        1363949171.0, "ExYear2ExMonthExDay  ?24hour:Minute:Second"},
    {NULL, NULL, N2005, "text Apr 16, 2005 9:05:29 AM x", R_OK,
        "Apr 16, 2005 9:05:29 AM", 1113635129.0,
        "MON Day, ExYear 12hour:Minute:Second AMPM"},
    {NULL, NULL, N2005, "Apr-27-13 02:33:06 x", R_OK, "Apr-27-13 02:33:06",
        1367022786.0, "^MON-Day-ExYear2 %k:Minute:Second"},
    {NULL, NULL, N2005, "text 20050123 215959Z x", R_OK, "20050123 215959Z",
        1106517599.0,
        "ExYearExMonthExDay(?:T|  "
        "?)Ex24hourExMinuteExSecond(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "text PDT Apr 16 21:05:29 x", R_OK,
        "PDT Apr 16 21:05:29", 1113710729.0,
        "(?:Zone name )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "text +0200 Apr 16 21:05:29 x", R_OK,
        "+0200 Apr 16 21:05:29", 1113678329.0,
        "(?:Zone offset )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "text @4000000052aebcd831f42f64 x", R_OK,
        "@4000000052aebcd831f42f64", 1387183320.0, "TAI64N"},
    {NULL, NULL, N2005, "no date at all", R_NONE, "", 0, ""},
    {NULL, NULL, N2005, "", R_NONE, "", 0, ""},
    {NULL, NULL, N2005, "INFO Jan 23 21:59:59 x", R_EXC, "INFO Jan 23 21:59:59",
        0,
        "{^LN-BEG}(?:Zone name )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "Info Jan 23 21:59:59 x", R_VALUE,
        "Info Jan 23 21:59:59", 0,
        "{^LN-BEG}(?:Zone name )?(?:DAY )?MON Day "
        "%k:Minute:Second(?:\\.Microseconds)?(?: ExYear)?"},
    {NULL, NULL, N2005, "Feb 30 10:00:00 x", R_VALUE, "Feb 30 10:00:00", 0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2005, "Jan 23 24:00:00 x", R_VALUE, "Jan 23 24:00:00", 0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2005, "  Jan  3 01:02:03.123456789 x", R_OK,
        "Jan  3 01:02:03", 1104710523.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2005, "2005-01-23 21:59:59 2006", R_OK, "2005-01-23 21:59:59",
        1106513999.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "2005-01-23T21:59:59Z", R_OK, "2005-01-23T21:59:59Z",
        1106517599.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "2005-01-23 21:59:59 UTC", R_OK,
        "2005-01-23 21:59:59 UTC", 1106517599.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "2005-01-23 21:59:59 -05", R_OK,
        "2005-01-23 21:59:59 -05", 1106535599.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "2005-01-23 21:59:59 +0530", R_OK,
        "2005-01-23 21:59:59 +0530", 1106497799.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, NULL, N2005, "2035-01-23 21:59:59 x", R_NONE, "", 0, ""},
    {NULL, NULL, N2026, "Dec 31 23:59:59 late", R_OK, "Dec 31 23:59:59",
        1767221999.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2026, "Nov 22 10:00:00 tomorrow", R_OK, "Nov 22 10:00:00",
        1795338000.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2026, "Nov 23 10:00:00 two days ahead", R_OK,
        "Nov 23 10:00:00", 1763888400.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2026, "Nov 21 11:00:00 today", R_OK, "Nov 21 11:00:00",
        1795255200.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2026, "Jan  1 00:00:01 new year", R_OK, "Jan  1 00:00:01",
        1767222001.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2026, "23:00:00 later today", R_OK, "23:00:00", 1795212000.0,
        "{^LN-BEG}24hour:Minute:Second"},
    {NULL, NULL, N2026, "10:59:00 earlier today", R_OK, "10:59:00",
        1795255140.0, "{^LN-BEG}24hour:Minute:Second"},
    {NULL, NULL, N2026, "Feb 29 12:00:00 leap", R_VALUE, "Feb 29 12:00:00", 0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, "UTC", N2005, "2005-01-23 21:59:59 x", R_OK, "2005-01-23 21:59:59",
        1106517599.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, "UTC+0200", N2005, "2005-01-23 21:59:59 x", R_OK,
        "2005-01-23 21:59:59", 1106510399.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, "GMT-0100", N2005, "2005-01-23 21:59:59 x", R_OK,
        "2005-01-23 21:59:59", 1106521199.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, "Z", N2005, "Jan 23 21:59:59 x", R_OK, "Jan 23 21:59:59",
        1106517599.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, "CET", N2005, "Jan 23 21:59:59 x", R_OK, "Jan 23 21:59:59",
        1106513999.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, "CET", N2005, "2005-01-23 21:59:59 +0300 x", R_OK,
        "2005-01-23 21:59:59 +0300", 1106506799.0,
        "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {NULL, "EST", N2005, "Aug 14 10:00:00 x", R_OK, "Aug 14 10:00:00",
        1124031600.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2005, "Jul 14 10:00:00 x", R_OK, "Jul 14 10:00:00",
        1121328000.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {NULL, NULL, N2005, "Mar 27 02:30:00 x", R_OK, "Mar 27 02:30:00",
        1111887000.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {"EPOCH", NULL, N2005, "1124013600.123 x", R_OK, "1124013600.123",
        1124013600.123, "Epoch"},
    {"EPOCH", NULL, N2005, "x 1124013600 x", R_NONE, "", 0, ""},
    {"LEPOCH", NULL, N2005, "1124013600123 x", R_OK, "1124013600123",
        1124013600.123, "LongEpoch"},
    {"LEPOCH", NULL, N2005, "1124013600123456 x", R_OK, "1124013600123456",
        1124013600.123456, "LongEpoch"},
    {"LEPOCH", NULL, N2005, "1124013600123.456 x", R_OK, "1124013600123.456",
        1124013600.123456, "LongEpoch"},
    {"^EPOCH", NULL, N2005, "x 1124013600 x", R_NONE, "", 0, ""},
    {"{^LN-BEG}EPOCH", NULL, N2005, "[1124013600] x", R_OK, "1124013600",
        1124013600.0, "{^LN-BEG}Epoch"},
    {"^<{EPOCH}>", NULL, N2005, "<1124013600> x", R_OK, "<1124013600>",
        1124013600.0, "^<{EPOCH}>"},
    {"^\\[{LEPOCH}\\]", NULL, N2005, "[1124013600999] x", R_OK,
        "[1124013600999]", 1124013600.999, "^\\[{LEPOCH}\\]"},
    {"TAI64N", NULL, N2005, "x @4000000052aebcd831f42f64 x", R_OK,
        "@4000000052aebcd831f42f64", 1387183320.0, "TAI64N"},
    {"^TAI64N", NULL, N2005, "x @4000000052aebcd831f42f64 x", R_NONE, "", 0,
        ""},
    {"{NONE}", NULL, N2005, "anything", R_EMPTY, "", 0, "^"},
    {"{UNB}%H:%M:%S", NULL, N2005, "ab12:34:56cd", R_OK, "12:34:56",
        1123929296.0, "24hour:Minute:Second"},
    {"%H:%M:%S", NULL, N2005, "ab12:34:56cd", R_NONE, "", 0, ""},
    {"**%H:%M:%S", NULL, N2005, "ab12:34:56 cd", R_OK, "12:34:56", 1123929296.0,
        "**24hour:Minute:Second"},
    {"%H:%M:%S**", NULL, N2005, "ab 12:34:56cd", R_OK, "12:34:56", 1123929296.0,
        "24hour:Minute:Second**"},
    {"{^LN-BEG}%H:%M:%S", NULL, N2005, "x 12:34:56", R_NONE, "", 0, ""},
    {"{^LN-BEG}%H:%M:%S", NULL, N2005, "[12:34:56] x", R_OK, "12:34:56",
        1123929296.0, "{^LN-BEG}24hour:Minute:Second"},
    {"^%Y %j %H:%M:%S", NULL, N2005, "2005 023 21:59:59 x", R_OK,
        "2005 023 21:59:59", 1106513999.0,
        "^Year Yearday 24hour:Minute:Second"},
    {"^%Y %U %a %H:%M:%S", NULL, N2005, "2005 03 Sun 21:59:59 x", R_OK,
        "2005 03 Sun 21:59:59", 1105909199.0,
        "^Year Yearweek DAY 24hour:Minute:Second"},
    {"^%Y %W %w %H:%M:%S", NULL, N2005, "2005 03 1 21:59:59 x", R_OK,
        "2005 03 1 21:59:59", 1105995599.0,
        "^Year Yearweek Weekday 24hour:Minute:Second"},
    {"^%I:%M:%S %p", NULL, N2005, "09:15:00 pm x", R_OK, "09:15:00 pm",
        1123960500.0, "^12hour:Minute:Second AMPM"},
    {"^%I:%M:%S %p", NULL, N2005, "12:15:00 AM x", R_OK, "12:15:00 AM",
        1123971300.0, "^12hour:Minute:Second AMPM"},
    {"^%y-%m-%d %H:%M", NULL, N2005, "05-01-23 21:59 x", R_OK, "05-01-23 21:59",
        1106513940.0, "^Year2-Month-Day 24hour:Minute"},
    {"^%d %B %Y %H:%M:%S", NULL, N2005, "23 January 2005 21:59:59 x", R_OK,
        "23 January 2005 21:59:59", 1106513999.0,
        "^Day MONTH Year 24hour:Minute:Second"},
    {"^%A, %d %b %Y %H:%M:%S", NULL, N2005, "Sunday, 23 jan 2005 21:59:59 x",
        R_OK, "Sunday, 23 jan 2005 21:59:59", 1106513999.0,
        "^DAYNAME, Day MON Year 24hour:Minute:Second"},
    {"^%b %d %H:%M:%S %Z", NULL, N2005, "Jan 23 21:59:59 CEST x", R_OK,
        "Jan 23 21:59:59 CEST", 1106510399.0,
        "^MON Day 24hour:Minute:Second Zone name"},
    {"^%b %d %H:%M:%S %Exz", NULL, N2005, "Jan 23 21:59:59 EST+0100 x", R_OK,
        "Jan 23 21:59:59 EST+0100", 1106531999.0,
        "^MON Day 24hour:Minute:Second ExZone offset"},
    {"^%b %d %H:%M:%S %Exz", NULL, N2005, "Jan 23 21:59:59 FOO x", R_EXC,
        "Jan 23 21:59:59 FOO", 0,
        "^MON Day 24hour:Minute:Second ExZone offset"},
    {"^%%%Y-%m-%d", NULL, N2005, "%2005-01-23 x", R_OK, "%2005-01-23",
        1106434800.0, "^%Year-Month-Day"},
    {"^<\\d+>\\d+\\s+{DATE}", NULL, N2005,
        "<34>1 2005-01-23T21:59:59.003Z host x", R_OK,
        "<34>1 2005-01-23T21:59:59.003Z", 1106517599.0,
        "^<\\d+>\\d+\\s+ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  "
        "?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?"},
    {"{^LN-BEG}", NULL, N2005, "x Jan 23 21:59:59", R_NONE, "", 0, ""},
    {"{^LN-BEG}", NULL, N2005, "Jan 23 21:59:59 x", R_OK, "Jan 23 21:59:59",
        1106513999.0,
        "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
        "ExYear)?"},
    {"epoch", NULL, N2005, "1124013600 x", R_OK, "1124013600", 1124013600.0,
        "Epoch"},
    {"^%m-%d %H:%M", NULL, N2005, "01-23 21:59 x", R_OK, "01-23 21:59",
        1106513940.0, "^Month-Day 24hour:Minute"},
    {"^%d %H:%M", NULL, N2005, "23 21:59 x", R_EXC, "23 21:59", 0,
        "^Day 24hour:Minute"},
    {"(?i)^t=%Y-%m-%dT%H:%M:%S", NULL, N2005, "T=2005-01-23T21:59:59 x", R_OK,
        "T=2005-01-23T21:59:59", 1106513999.0,
        "(?i)^t=Year-Month-DayT24hour:Minute:Second"},
};

static const char *const result_names[] = {
    "ok", "value", "exc", "none", "empty", "match-exception"};

static struct datedetect *
mk(const char *pattern, const char *tz, unsigned flags)
{
	struct diags d = DIAGS_INIT;
	struct datedetect *dd =
	    datedetect_new(pattern, tz, flags, N2026, "test.conf", 7, &d);

	if (dd == NULL)
		diags_print(&d, stdout);
	diags_cleanup(&d);
	return dd;
}

/* Runs one line; returns the result kind and fills text/time/name. */
static enum result
run(struct datedetect *dd, const char *line, size_t len, time_t now, char *text,
    size_t tsz, double *t, const char **name)
{
	struct date_match m;

	*t = 0;
	*name = "";
	text[0] = '\0';
	if (!datedetect_match(dd, line, len, now, &m))
		return R_NONE;
	*name = datedetect_name(dd, (size_t)m.tmpl);
	if (m.start == m.end)
		return m.err == DATE_EOTHER ? R_EXC_MATCH : R_EMPTY;
	snprintf(text, tsz, "%.*s", (int)(m.end - m.start), line + m.start);
	if (m.has_time) {
		*t = m.time;
		return R_OK;
	}
	return m.err == DATE_EVALUE ? R_VALUE : R_EXC;
}

static void
test_cases(unsigned flags)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct datedetect *dd = mk(c->pattern, c->tz, flags);
		char text[256];
		double t;
		const char *name;
		enum result r;

		if (dd == NULL) {
			ok(0, "case %zu: detector for '%s'", i,
			    c->pattern ? c->pattern : "(default)");
			continue;
		}
		r = run(dd, c->line, strlen(c->line), c->now, text,
		    sizeof(text), &t, &name);
		if (!ok(r == c->res && strcmp(text, c->text) == 0 &&
		            t == c->time && strcmp(name, c->name) == 0,
		        "%s'%s' with '%s'%s%s", flags ? "regex only: " : "",
		        c->line, c->pattern ? c->pattern : "(default)",
		        c->tz ? ", logtimezone " : "", c->tz ? c->tz : ""))
			printf("#   got  %s '%s' %.6f %s\n#   want %s '%s' "
			       "%.6f %s\n",
			    result_names[r], text, t, name,
			    result_names[c->res], c->text, c->time, c->name);
		datedetect_free(dd);
	}
}

static void
test_lists(void)
{
	struct datedetect *dd = mk(NULL, NULL, 0);

	is_int(datedetect_count(dd), 31, "default list has 31 templates");
	is_str(datedetect_name(dd, 0),
	    "{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:"
	    "Minute:Second(?:[.,]Microseconds)?(?:\\s*Zone offset)?",
	    "first default template: anchored ISO");
	is_str(datedetect_name(dd, 13), "{^LN-BEG}TAI64N",
	    "last anchored copy: TAI64N");
	is_str(datedetect_name(dd, 21), "Epoch", "original Epoch");
	is_str(datedetect_name(dd, 22), "{^LN-BEG}24hour:Minute:Second",
	    "time-only template has no extra copy");
	is_str(datedetect_name(dd, 30), "TAI64N", "last template: TAI64N");
	is_str(datedetect_regex(dd, 30), "(@[0-9a-f]{24})(?=\\b|\\W|$)",
	    "TAI64N regex as fail2ban prints it");
	is_str(datedetect_pattern(dd, 1),
	    "{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?",
	    "pattern of the anchored syslog template");
	ok(datedetect_pattern(dd, 7) == NULL, "Epoch has no pattern");
	is_str(
	    datedetect_describe(dd), "Default Detectors", "describe default");
	is_dbl(datedetect_template_weight(dd, 0), 100.0, "anchored weight 100");
	is_dbl(datedetect_template_weight(dd, 14), 1.0, "original weight 1");
	datedetect_free(dd);

	dd = mk("{^LN-BEG}", NULL, 0);
	is_int(datedetect_count(dd), 17, "{^LN-BEG}: 17 line-start templates");
	is_str(datedetect_name(dd, 16), "^MON-Day-ExYear2 %k:Minute:Second",
	    "{^LN-BEG} keeps the ^-anchored ASSP template");
	datedetect_free(dd);

	dd = mk("{DEFAULT}\n{DEFAULT}", NULL, 0);
	is_int(datedetect_count(dd), 31, "{DEFAULT} twice: duplicates ignored");
	datedetect_free(dd);

	dd = mk("^<\\d+>\\d+\\s+{DATE}", NULL, 0);
	is_int(datedetect_count(dd), 17, "{DATE}: one copy per default");
	is_str(datedetect_name(dd, 7), "^<\\d+>\\d+\\s+Epoch",
	    "{DATE} with Epoch gives a literal name");
	datedetect_free(dd);

	dd = mk("%Y-%m-%d", NULL, 0);
	is_str(datedetect_describe(dd), "Year-Month-Day", "describe one");
	is_str(datedetect_regex(dd, 0),
	    "(?=^|\\b|\\W)((?P<Y>\\d{4})-(?P<m>0?[1-9]|1[0-2])-(?P<d>[1-2]\\d|"
	    "[0 ]?[1-9]|3[0-1]))(?=\\b|\\W|$)",
	    "word boundaries and group around a pattern");
	datedetect_free(dd);

	dd = mk("{NONE}", NULL, 0);
	is_str(datedetect_name(dd, 0), "^", "{NONE} is named ^");
	is_str(datedetect_regex(dd, 0), "^()", "{NONE} matches empty");
	datedetect_free(dd);

	dd = mk("%b %d\n%H:%M\n%S", NULL, 0);
	is_str(datedetect_describe(dd), "Default Detectors",
	    "describe for three templates");
	datedetect_free(dd);

	dd = mk(" \n\n", NULL, 0);
	is_int(datedetect_count(dd), 31, "blank pattern: default list");
	datedetect_free(dd);

	dd = mk("T%Exk:%M %Exl", NULL, 0);
	is_str(
	    datedetect_name(dd, 0), "T%Exk:Minute %Exl", "names of %%Exk etc.");
	datedetect_free(dd);

	dd = mk(NULL, NULL, DATEDETECT_WIDE_YEARS);
	is_str(datedetect_regex(dd, 0) + 14,
	    "(?P<Y>20[012]\\d)(?P<_sep>[-/.])"
	    "(?P<m>0?[1-9]|1[0-2])(?P=_sep)(?P<d>"
	    "[1-2]\\d|[0 ]?[1-9]|3[0-1])(?:T|  "
	    "?)(?P<H>[0-1]?\\d|2[0-3]):(?P<M>"
	    "[0-5]?\\d):(?P<S>[0-5]?\\d|6[0-1])"
	    "(?:[.,](?P<f>[0-9]{1,6}))?(?:\\s*(?"
	    "P<z>Z|UTC|GMT|[+-][01]\\d(?::?\\d{2"
	    "})?))?)(?=\\b|\\W|$)",
	    "%%ExY in 2026: 20[012]\\d, also in fail2ban-regex mode");
	datedetect_free(dd);
}

static void
test_exy_years(void)
{
	struct diags d = DIAGS_INIT;
	/* 2098-06-01: the decades 200..209 and 210 */
	struct datedetect *dd =
	    datedetect_new(NULL, NULL, 0, 4052304000, NULL, 0, &d);

	ok(dd != NULL &&
	        strstr(datedetect_regex(dd, 0),
	            "(?P<Y>2(?:00|01|02|03|04|05|06|07|08|09|10)\\d)") != NULL,
	    "%%ExY across a century: %s", dd ? datedetect_regex(dd, 0) : "-");
	datedetect_free(dd);
	/* 2009: 200..201 */
	dd =
	    datedetect_new(NULL, NULL, 0, 1230768000 + 86400 * 40, NULL, 0, &d);
	ok(dd != NULL &&
	        strstr(datedetect_regex(dd, 0), "(?P<Y>20[01]\\d)") != NULL,
	    "%%ExY in 2009");
	datedetect_free(dd);
	diags_cleanup(&d);
}

/* Expects datedetect_new(pattern, tz) to fail with msg at file:line. */
static void
expect_error(const char *pattern, const char *tz, int line, const char *msg)
{
	struct diags d = DIAGS_INIT;
	struct datedetect *dd =
	    datedetect_new(pattern, tz, 0, N2026, "jail.local", 10, &d);
	bool found = false;

	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].level == DIAG_ERROR && d.v[i].line == line &&
		    d.v[i].file != NULL &&
		    strcmp(d.v[i].file, "jail.local") == 0 &&
		    strstr(d.v[i].msg, msg) != NULL)
			found = true;
	ok(dd == NULL && found, "error '%s' at line %d for '%s'", msg, line,
	    pattern ? pattern : tz);
	if (!found)
		diags_print(&d, stdout);
	datedetect_free(dd);
	diags_cleanup(&d);
}

static void
test_errors(void)
{
	expect_error("%H:%M:%S\n%q", NULL, 11, "unsupported directive '%q'");
	expect_error(
	    "%Y\n\n%Y", NULL, 12, "There is already a template with name Year");
	expect_error("%Y 100%", NULL, 10, "unescaped percent");
	expect_error("%Y (", NULL, 10, "bad date pattern regex");
	expect_error("%Y \\p{L}", NULL, 10, "bad escape");
	expect_error("%H %H", NULL, 10, "bad date pattern regex");
	expect_error("%Y (?L)", NULL, 10, "unknown extension");
	expect_error(
	    NULL, "FOO", 10, "Unknown or unsupported time zone: 'FOO'");
	expect_error(
	    NULL, "Europe/Paris", 10, "Unknown or unsupported time zone");
	expect_error(NULL, "+0100x", 10, "Unknown or unsupported time zone");
}

static void
test_hits_and_order(void)
{
	struct datedetect *dd = mk(NULL, NULL, 0);
	const char *l = "Jan 23 21:59:59 host x";
	struct date_match m;

	for (int i = 0; i < 3; i++)
		datedetect_match(dd, l, strlen(l), N2005, &m);
	is_str(datedetect_name(dd, 0),
	    "{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\\.Microseconds)?(?: "
	    "ExYear)?",
	    "the used template bubbles up to the front");
	is_int(datedetect_hits(dd, 0), 3, "three hits counted");
	is_int(m.tmpl, 0, "match reports the template's new index");
	is_dbl(datedetect_weight(dd, 0), 300.0, "weight = hits * 100 / 1");
	datedetect_free(dd);
}

static void
test_logtimezone_ok(void)
{
	struct diags d = DIAGS_INIT;
	struct datedetect *dd =
	    datedetect_new(NULL, "UTC+02", 0, N2026, "x", 1, &d);

	ok(dd != NULL && d.n == 0, "logtimezone UTC+02 accepted");
	datedetect_free(dd);
	dd = datedetect_new(NULL, "", 0, N2026, "x", 1, &d);
	if (ok(dd != NULL, "empty logtimezone accepted")) {
		struct date_match m;
		const char *l = "2005-01-23 21:59:59 x";

		ok(datedetect_match(dd, l, strlen(l), N2005, &m) == 1 &&
		        m.has_time && m.time == 1106517599.0,
		    "empty logtimezone means UTC, as in fail2ban");
	}
	datedetect_free(dd);
	diags_cleanup(&d);
}

static void
test_bytes(void)
{
	struct datedetect *dd = mk(NULL, NULL, 0);
	char text[256], *big;
	double t;
	const char *name;
	enum result r;
	size_t n = 65536;
	static const char bad[] = "\xff\xfeJan 23 21:59:59 x\xc3";

	r = run(dd, bad, sizeof(bad) - 1, N2005, text, sizeof(text), &t, &name);
	ok(r == R_OK && strcmp(text, "Jan 23 21:59:59") == 0 &&
	        t == 1106513999.0 && strncmp(name, "{^LN-BEG}", 9) == 0,
	    "invalid UTF-8 bytes act as non-word characters");
	r = run(
	    dd, "Jan 23 21:59:59\0x", 17, N2005, text, sizeof(text), &t, &name);
	ok(r == R_OK && t == 1106513999.0, "NUL bytes after the date");
	big = malloc(n);
	memset(big, '1', n);
	r = run(dd, big, n, N2005, text, sizeof(text), &t, &name);
	ok(r == R_NONE, "64 KiB of digits: no date, bounded");
	memcpy(big + n - 20, " Jan 23 21:59:59 ", 17);
	r = run(dd, big, n, N2005, text, sizeof(text), &t, &name);
	ok(r == R_OK && t == 1106513999.0, "date at the end of a 64 KiB line");
	free(big);
	datedetect_free(dd);
}

/* A small deterministic PRNG (xorshift64). */
static uint64_t rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Lines around the two hand-matched formats, with random damage. */
static size_t
gen_line(char *buf, size_t cap)
{
	static const char *const seeds[] = {"Jan 23 21:59:59",
	    "Mon Jan  3 01:02:03.123456 2005", "  Feb 28 23:59:60",
	    "[Dec 31 24:00:00 2029", "2005-01-23T21:59:59.981746+01:30",
	    "2005/1/3  9:05:07,5 Z", "(2029.12.31 23:59:61 -0500",
	    "2005-01-23 21:59:59 UTC", "2005-01-23 21:59:59\t GMT",
	    "2019-13-01 00:00:00", "sep 30 1:2:3 2011",
	    "@4000000052aebcd831f42f64", "x 1124013600.123 y",
	    "20050123T215959", "130322 11:46:11",
	    "audit(1124013600.123:45):", "[1124013600]",
	    "x 26-Jul-2007 15:20:52 +0200", "12:34", "<09/16/08@05:03:30>",
	    "Apr-27-13 02:33:06"};
	static const char alphabet[] =
	    "0123456789 :-/.,TZ+aAjJnN\t[]_x\xc3\xa9";
	const char *s = seeds[rnd(sizeof(seeds) / sizeof(seeds[0]))];
	size_t n = strlen(s);

	if (n + 8 > cap)
		n = cap - 8;
	memcpy(buf, s, n);
	for (unsigned k = rnd(4); k > 0; k--) {
		size_t at = rnd((unsigned)n + 1);
		unsigned op = rnd(3);
		char c = alphabet[rnd(sizeof(alphabet) - 1)];

		if (op == 0 && at < n) {
			buf[at] = c;
		} else if (op == 1 && n + 1 < cap - 8) {
			memmove(buf + at + 1, buf + at, n - at);
			buf[at] = c;
			n++;
		} else if (at < n) {
			memmove(buf + at, buf + at + 1, n - at - 1);
			n--;
		}
	}
	for (unsigned k = rnd(3); k > 0 && n + 1 < cap; k--)
		buf[n++] = alphabet[rnd(sizeof(alphabet) - 1)];
	return n;
}

static void
test_fast_path_equivalence(void)
{
	static const char *const pats[] = {NULL, "{^LN-BEG}",
	    "{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  "
	    "?)%H:%M:%S(?:[.,]%f)?"
	    "(?:\\s*%z)?"};
	long bad = 0, total = 0, fastcount = 0;

	for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
		struct datedetect *fast = mk(pats[p], NULL, 0);
		struct datedetect *slow =
		    mk(pats[p], NULL, DATEDETECT_NO_FASTPATH);

		for (int i = 0; i < 100000; i++) {
			char buf[96];
			size_t n = gen_line(buf, sizeof(buf));
			struct date_match a, b;
			int ra = datedetect_match(fast, buf, n, N2005, &a);
			int rb = datedetect_match(slow, buf, n, N2005, &b);

			total++;
			fastcount += ra;
			if (ra != rb ||
			    (ra &&
			        (a.start != b.start || a.end != b.end ||
			            a.has_time != b.has_time ||
			            a.err != b.err || a.tmpl != b.tmpl ||
			            (a.has_time && a.time != b.time)))) {
				if (bad++ < 5)
					printf(
					    "# differs: '%.*s'\n", (int)n, buf);
			}
		}
		datedetect_free(fast);
		datedetect_free(slow);
	}
	ok(bad == 0 && fastcount > total / 8,
	    "shortcuts (hand-written matchers, cache, pre-checks) agree with "
	    "PCRE2 on %ld random lines "
	    "(%ld dated, %ld differ)",
	    total, fastcount, bad);
}

/*
 * "{^LN-BEG}Epoch" next to the default list is fail2ban's line-start copy
 * of Epoch, weight 100 (as --VD shows it): with two epoch lines and one
 * ISO line, the epoch template stays in front (nsd's sample order).
 */
static void
test_shared_default_weight(void)
{
	static const char *const lines[] = {
	    "[1138412480] nsd[1]: info: x from 192.0.2.5",
	    "[1138412490] nsd[2]: info: x from 192.0.2.6",
	    "[2005-01-23 21:59:59.562] nsd[3]: info: x from 192.0.2.7"};
	struct datedetect *dd = mk("{^LN-BEG}Epoch\n{^LN-BEG}", NULL, 0);
	struct date_match m;
	size_t iso = 0;

	if (!ok(dd != NULL, "epoch and line-start defaults"))
		return;
	is_dbl(datedetect_template_weight(dd, 0), 100.0,
	    "{^LN-BEG}Epoch has the line-start weight 100");
	for (size_t i = 0; i < 3; i++)
		datedetect_match(dd, lines[i], strlen(lines[i]), N2005, &m);
	is_str(datedetect_name(dd, 0), "{^LN-BEG}Epoch",
	    "the epoch template stays first");
	is_dbl(datedetect_weight(dd, 0), 200.0, "its weight: 2 * 100 / 1");
	for (size_t i = 1; i < datedetect_count(dd); i++)
		if (datedetect_hits(dd, i) == 1)
			iso = i;
	is_int(iso, 1, "the ISO template second");
	is_dbl(datedetect_weight(dd, iso), 100.0, "its weight: 1 * 100 / 1");
	is_str(datedetect_pattern(dd, iso),
	    "{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S"
	    "(?:[.,]%f)?(?:\\s*%z)?",
	    "--VD shows its pattern");
	datedetect_free(dd);
}

/* fail2ban's date is an int when a zone applies (timegm) or for TAI64N,
 * a float otherwise (mktime, epochs). */
static void
test_int_time(void)
{
	static const struct {
		const char *tz, *line;
		bool is_int;
	} c[] = {
	    {NULL, "2009-03-26 14:44:20 +0100 x", true},
	    {NULL, "2009-03-26 14:44:20 x", false},
	    {"UTC", "2009-03-26 14:44:20 x", true},
	    {"UTC", "Mar 26 14:44:20 x", true},
	    {NULL, "Mar 26 14:44:20 x", false},
	    {NULL, "@4000000049cb8b4c00000000 x", true},
	    {NULL, "1238075060 x", false},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct datedetect *dd = mk(NULL, c[i].tz, 0);
		struct date_match m;

		/* twice: the second from the caches */
		for (int k = 0; k < 2; k++) {
			memset(&m, 0, sizeof(m));
			if (dd)
				datedetect_match(dd, c[i].line,
				    strlen(c[i].line), N2026, &m);
			ok(m.has_time && m.int_time == c[i].is_int,
			    "%s, tz %s: %s (%s)", c[i].line,
			    c[i].tz ? c[i].tz : "none",
			    c[i].is_int ? "int" : "float",
			    k ? "again" : "first");
		}
		datedetect_free(dd);
	}
}

/* A fast match the cache did not keep (it looked past 64 bytes) is not
 * given the cached line's conversion (found by fuzzing). */
static void
test_uncached_fast_match(void)
{
	struct datedetect *fast = mk(NULL, NULL, 0);
	struct datedetect *slow = mk(NULL, NULL, DATEDETECT_NO_FASTPATH);
	char second[128];
	const char *first = "2005-01-23T21:59:59.981746+01:00 x";
	struct date_match a, b;

	/* "...21:59:5", then a long run of \x1c (Python whitespace) */
	memcpy(second, "2005-01-23T21:59:5", 18);
	memset(second + 18, 0x1c, 80);
	memcpy(second + 98, "9.981746+01:00 y", 17);
	if (!ok(fast && slow, "detectors"))
		return;
	datedetect_match(fast, first, strlen(first), N2005, &a);
	datedetect_match(slow, first, strlen(first), N2005, &b);
	ok(a.has_time && a.time == b.time, "the first line alike");
	datedetect_match(fast, second, strlen(second), N2005, &a);
	datedetect_match(slow, second, strlen(second), N2005, &b);
	ok(a.has_time && b.has_time && a.end == 18 && b.end == 18,
	    "the second line's date is its first 18 bytes");
	is_dbl(a.time, b.time, "converted from its own text");
	is_int(a.int_time, b.int_time, "no zone in it");
	datedetect_free(fast);
	datedetect_free(slow);
}

int
main(void)
{
	setenv("TZ", "CET-01CEST-02,M3.5.0,M10.5.0", 1);
	tzset();
	test_cases(0);
	test_cases(DATEDETECT_NO_FASTPATH);
	test_lists();
	test_exy_years();
	test_errors();
	test_hits_and_order();
	test_logtimezone_ok();
	test_bytes();
	test_fast_path_equivalence();
	test_shared_default_weight();
	test_int_time();
	test_uncached_fast_match();
	return done_testing();
}
