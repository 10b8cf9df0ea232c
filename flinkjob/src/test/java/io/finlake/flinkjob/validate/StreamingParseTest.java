package io.finlake.flinkjob.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.Txn;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The validator's fast paths (streaming parser into a field table, the common timestamp shape) give exactly
 * what the general paths (Jackson tree, java.time) give, for records and timestamps of every shape: what
 * is valid, the errors and their text.
 */
class StreamingParseTest {
    private static final long NOW = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
    private static final String GOOD = "{\"transaction_id\":\"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10\","
            + "\"timestamp\":\"2026-11-26T01:02:03.456Z\",\"account_id\":\"AC0001234\",\"amount\":125.40,"
            + "\"currency\":\"EUR\",\"merchant_name\":\"Café \\\"Zürich\\\" \\u00e9\",\"merchant_category\":\"dining\","
            + "\"transaction_type\":\"purchase\",\"location_country\":\"FR\",\"status\":\"pending\"}";

    static Stream<String> records() {
        List<String> r = new ArrayList<>(List.of(GOOD, "", " ", "null", "[1,2]", "{} {}", "{}", "{\"a\":1}x", "42",
                "\"s\"", "{\"transaction_id\":\"0b0f6c1e", GOOD + " ", " " + GOOD, GOOD + "\n", GOOD + " []",
                GOOD.replace("{\"transaction_id\"", "{\"extra\":{\"x\":[1]},\"transaction_id\""),
                GOOD.replace("{\"transaction_id\"", "{\"extra\":1,\"transaction_id\""),
                GOOD.replace("\"status\":\"pending\"", "\"status\":\"pending\",\"status\":\"failed\""),
                GOOD.replace("\"status\":\"pending\"", "\"status\":\"pending\",\"extra\":1,\"extra\":2"),
                GOOD.replace("\"account_id\":\"AC0001234\"", "\"account_id\":1234"),
                GOOD.replace("\"account_id\":\"AC0001234\"", "\"account_id\":true"),
                GOOD.replace("\"account_id\":\"AC0001234\"", "\"account_id\":{\"a\":\"b\"}"),
                GOOD.replace("\"account_id\":\"AC0001234\"", "\"account_id\":null"),
                GOOD.replace("\"account_id\":\"AC0001234\",", ""),
                GOOD.replace("\"currency\":\"EUR\"", "\"currency\":[\"EUR\"]")));
        for (String amount : new String[] {"\"125.40\"", "0", "0.00", "-0", "-0.0", "1e3", "1E+2", "1.0e-5",
            "12345678901234567890123", "-20.00", "10.500", "9999999999999999.99", "10000000000000000", "1e400",
            "null", "true", "[1]", "{\"v\":1}", "01", "1.", "NaN", "125.4000000000000000000000001"}) {
            r.add(GOOD.replace("\"amount\":125.40", "\"amount\":" + amount));
        }
        for (String ts : new String[] {"2026-11-26T01:02:03Z", "2026-11-26T01:02:03.4Z", "2026-11-26T01:02:03.123456789Z",
            "2026-11-26T01:02:03.1234567890Z", "2026-11-26T01:02Z", "2026-11-26t01:02:03z", "2026-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z", "2026-11-26T01:02:03+01:00", "2026-11-26T24:00:00Z", "2026-11-26T01:02:03.Z",
            "2026-11-26T01:02:03", "1899-12-31T23:59:59.999Z", "2262-04-12T00:00:00Z", "+12026-11-26T01:02:03Z",
            "2126-11-26T12:00:00.000Z", "2026-11-26T12:01:00.001Z", "2026-11-26T12:01:00.000Z"}) {
            r.add(GOOD.replace("2026-11-26T01:02:03.456Z", ts));
        }
        return r.stream();
    }

    @ParameterizedTest
    @MethodSource("records")
    void streamingParseGivesWhatTheTreeGives(String record) {
        byte[] raw = record.getBytes(StandardCharsets.UTF_8);
        Parsed fast = new Validator(() -> NOW, true, true).parse(raw, null, "t", 0, 1, 2);
        Parsed tree = new Validator(() -> NOW, true, false).parse(raw, null, "t", 0, 1, 2);
        assertThat(fast.errors == null ? null : Arrays.asList(fast.errors))
                .isEqualTo(tree.errors == null ? null : Arrays.asList(tree.errors));
        assertThat(fast.srcTimestamp).isEqualTo(tree.srcTimestamp);
        assertThat(fields(fast.txn)).isEqualTo(fields(tree.txn));
    }

    @org.junit.jupiter.api.Test
    void theCommonRecordTakesTheStreamingPathAndAnUnknownFieldTheTree() {
        Validator v = new Validator(() -> NOW, true, true);
        assertThat(v.readFlat(GOOD.getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(v.readFlat(GOOD.replace("{\"transaction_id\"", "{\"extra\":1,\"transaction_id\"")
                .getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    static Stream<String> timestamps() {
        return records().filter(r -> r.startsWith("{\"transaction_id\":\"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10\","
                + "\"timestamp\":\"")).map(r -> r.substring(63, r.indexOf('"', 63)));
    }

    @ParameterizedTest
    @MethodSource("timestamps")
    void commonTimestampShapeReadsAsJavaTimeReadsIt(String ts) {
        long fast = Timestamps.utcEpochNanos(ts);
        Long general;
        try {
            Instant at = OffsetDateTime.parse(ts, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
            general = Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000_000L), at.getNano());
        } catch (DateTimeParseException | ArithmeticException e) {
            general = null;
        }
        if (fast != Timestamps.NOT_SIMPLE) {
            assertThat(fast).as(ts).isEqualTo(general);
        }
        if (ts.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?Z") && general != null
                && ts.compareTo("1900") > 0 && ts.compareTo("2200") < 0) {
            assertThat(fast).as("common shape %s takes the fast path", ts).isNotEqualTo(Timestamps.NOT_SIMPLE);
        }
    }

    private static List<Object> fields(Txn t) {
        if (t == null) {
            return null;
        }
        return Arrays.asList(t.transactionId, t.timestamp, t.eventNanos, t.accountId,
                t.amount == null ? null : t.amount.toString(), t.currency, t.merchantName, t.merchantCategory,
                t.transactionType, t.locationCountry, t.status, t.raw);
    }
}
