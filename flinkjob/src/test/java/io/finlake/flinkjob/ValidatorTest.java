package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.validate.Validator;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The stateless checks, one malformed kind of the generator at a time. */
class ValidatorTest {
    private static final long NOW = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
    private final Validator v = new Validator(() -> NOW, false);

    static final List<String> REQUIRED = Arrays.asList(Validator.REQUIRED);

    private static ObjectNode good() {
        return Fixtures.txn("0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10", "2026-11-26T01:02:03.456Z", "AC0001234",
                "125.40", "EUR");
    }

    private Parsed parse(String json) {
        return parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private Parsed parse(byte[] bytes) {
        return v.parse(bytes, "AC0001234".getBytes(StandardCharsets.UTF_8), "raw-transactions", 1, 4711, NOW - 5);
    }

    private static List<String> rules(Parsed p) {
        return Arrays.stream(p.errors).map(e -> e.field + ":" + e.rule).toList();
    }

    @Test
    void validRecordPassesWithExactDecimalAndEventTime() {
        Parsed p = parse(good().toString());
        assertThat(p.errors).isNull();
        assertThat(p.txn.amount.toPlainString()).isEqualTo("125.40");
        assertThat(p.txn.eventMillis()).isEqualTo(Instant.parse("2026-11-26T01:02:03.456Z").toEpochMilli());
        assertThat(p.txn.srcOffset).isEqualTo(4711);
    }

    @ParameterizedTest
    @FieldSource("REQUIRED")
    void missingFieldIsReportedAsRequired(String field) {
        ObjectNode n = good();
        n.remove(field);
        assertThat(rules(parse(n.toString()))).containsExactly(field + ":required");
    }

    @ParameterizedTest
    @FieldSource("REQUIRED")
    void nullFieldIsReportedAsNotNull(String field) {
        ObjectNode n = good();
        n.putNull(field);
        assertThat(rules(parse(n.toString()))).containsExactly(field + ":not_null");
    }

    @Test
    void zeroAmountIsReportedAsNonZero() {
        ObjectNode n = good();
        n.put("amount", new java.math.BigDecimal("0.00"));
        Parsed p = parse(n.toString());
        assertThat(p.errors).containsExactly(new ErrorDetail("amount", "non_zero", "non-zero decimal", "0.00"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"EURO", "US$", "DOLLAR", "E1R", "GBPP", "usd", "ABC"})
    void badCurrencyIsReportedAsIso4217(String currency) {
        ObjectNode n = good();
        n.put("currency", currency);
        assertThat(rules(parse(n.toString()))).containsExactly("currency:iso4217");
    }

    @ParameterizedTest
    @ValueSource(strings = {"merchant_category:shopping", "merchant_category:RETAIL", "transaction_type:payment",
        "transaction_type:PURCHASE", "status:settled"})
    void badEnumIsReportedAsEnum(String fieldAndValue) {
        String[] fv = fieldAndValue.split(":");
        ObjectNode n = good();
        n.put(fv[0], fv[1]);
        assertThat(rules(parse(n.toString()))).containsExactly(fv[0] + ":enum");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d1", "txn-0b0f6c1e", "zz0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10"})
    void badUuidIsReportedAsUuid(String id) {
        ObjectNode n = good();
        n.put("transaction_id", id);
        assertThat(rules(parse(n.toString()))).containsExactly("transaction_id:uuid");
    }

    @ParameterizedTest
    @ValueSource(strings = {"yesterday at noon", "26/11/2026 10:15:00", "2026-13-45T10:00:00Z", "2026-11-26T25:61:00Z",
        "not-a-timestamp", "2026-11-26T01:02:03"})
    void badTimestampIsReportedAsIso8601(String ts) {
        ObjectNode n = good();
        n.put("timestamp", ts);
        assertThat(rules(parse(n.toString()))).containsExactly("timestamp:iso8601");
    }

    @Test
    void timestampMoreThanOneMinuteAheadOfTheWallClockIsFuture() {
        ObjectNode n = good();
        n.put("timestamp", "2026-11-26T12:01:00.001Z");
        assertThat(rules(parse(n.toString()))).containsExactly("timestamp:not_future");
        n.put("timestamp", "2026-11-26T12:01:00.000Z");
        assertThat(parse(n.toString()).errors).isNull();
        n.put("timestamp", "2126-11-26T12:00:00.000Z");
        assertThat(rules(parse(n.toString()))).containsExactly("timestamp:not_future");
    }

    @ParameterizedTest
    @ValueSource(strings = {"ERROR upstream timeout after 30000 ms", "<transaction id=\"42\"/>",
        "transaction_id=42;amount=10.00", "{\"transaction_id\":\"0b0f6c1e", "[1,2]", "{} {}"})
    void nonJsonIsReportedAsJson(String raw) {
        assertThat(rules(parse(raw))).containsExactly("$:json");
    }

    @Test
    void bytesThatAreNotUtf8AreReportedAndKeptAsBytes() {
        byte[] raw = {(byte) 0xff, (byte) 0xfe, 0x00, 0x01, (byte) 0x80, 0x41};
        Parsed p = parse(raw);
        assertThat(rules(p)).containsExactly("$:utf8");
        assertThat(p.raw).isEqualTo(raw);
    }

    @Test
    void negativeAmountIsOnlyValidForRefunds() {
        ObjectNode n = good();
        n.put("amount", new java.math.BigDecimal("-20.00"));
        assertThat(rules(parse(n.toString()))).containsExactly("amount:sign");
        n.put("transaction_type", "refund");
        assertThat(parse(n.toString()).errors).isNull();
    }

    @Test
    void everyErrorOfARecordIsReported() {
        ObjectNode n = good();
        n.put("transaction_id", "nope");
        n.put("amount", 0);
        n.put("currency", "EURO");
        n.remove("status");
        n.put("location_country", "France");
        assertThat(rules(parse(n.toString()))).containsExactlyInAnyOrder("transaction_id:uuid", "amount:non_zero",
                "currency:iso4217", "status:required", "location_country:iso3166_alpha2");
    }

    @Test
    void wrongJsonTypesAreReported() {
        ObjectNode n = good();
        n.put("amount", "125.40");
        n.put("account_id", 1234);
        assertThat(rules(parse(n.toString()))).containsExactlyInAnyOrder("amount:decimal", "account_id:type");
    }
}
