package io.finlake.flinkjob.validate;

import java.time.LocalDate;

/**
 * The common shape of event timestamps, read without java.time's general parser (a third of the validator's
 * time): {@code uuuu-MM-ddTHH:mm:ss[.fraction]Z} in upper case, 1 to 9 fraction digits, years 1900 to 2199.
 * Everything else, valid or not, is left to {@code DateTimeFormatter.ISO_OFFSET_DATE_TIME}, so what is
 * accepted and how it is reported does not change.
 */
final class Timestamps {
    /** Returned when the text is not of the common shape (not: not a timestamp). */
    static final long NOT_SIMPLE = Long.MIN_VALUE;

    private Timestamps() {}

    /** Epoch nanoseconds of a timestamp of the common shape, else {@link #NOT_SIMPLE}. */
    static long utcEpochNanos(String s) {
        int n = s.length();
        if (n < 20 || n > 30 || s.charAt(n - 1) != 'Z' || s.charAt(4) != '-' || s.charAt(7) != '-'
                || s.charAt(10) != 'T' || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return NOT_SIMPLE;
        }
        int year = digits(s, 0, 4);
        int month = digits(s, 5, 2);
        int day = digits(s, 8, 2);
        int hour = digits(s, 11, 2);
        int minute = digits(s, 14, 2);
        int second = digits(s, 17, 2);
        if (year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23
                || minute < 0 || minute > 59 || second < 0 || second > 59) {
            return NOT_SIMPLE;
        }
        long nano = 0;
        if (n > 20) {
            int fracDigits = n - 21;
            if (s.charAt(19) != '.' || fracDigits < 1 || fracDigits > 9) {
                return NOT_SIMPLE;
            }
            int frac = digits(s, 20, fracDigits);
            if (frac < 0) {
                return NOT_SIMPLE;
            }
            nano = frac;
            for (int i = fracDigits; i < 9; i++) {
                nano *= 10;
            }
        }
        LocalDate first = LocalDate.of(year, month, 1);
        if (day > first.lengthOfMonth()) {
            return NOT_SIMPLE;
        }
        long epochDay = first.toEpochDay() + day - 1;
        long secs = epochDay * 86_400L + hour * 3_600L + minute * 60L + second;
        return secs * 1_000_000_000L + nano;
    }

    /** The decimal value of {@code len} ASCII digits at {@code from}, or -1 when one is not a digit. */
    private static int digits(String s, int from, int len) {
        int v = 0;
        for (int i = from; i < from + len; i++) {
            int d = s.charAt(i) - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }
}
