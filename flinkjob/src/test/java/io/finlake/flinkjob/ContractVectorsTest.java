package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.finlake.flinkjob.contract.AlertRecord;
import io.finlake.flinkjob.contract.DeadLetterRecord;
import io.finlake.flinkjob.contract.EnrichedTransaction;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.rules.AlertIds;
import io.finlake.flinkjob.rules.FxTable;
import io.finlake.flinkjob.rules.Rule;
import io.finlake.flinkjob.rules.RuleParser;
import io.finlake.flinkjob.validate.Json;
import io.finlake.flinkjob.validate.Validator;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The shared test vectors of contract/testdata/ (one canonical record each, also checked by Go's contract
 * package): the job writes its records byte for byte as the vectors hold them, from the vectors' values, and
 * reads the records Go writes (the raw event, the rule, the FX table).
 */
class ContractVectorsTest {
    private static final Path DIR = Fixtures.repoRoot().resolve("contract/testdata");

    private static String vector(String name) throws IOException {
        return Files.readString(DIR.resolve(name), StandardCharsets.UTF_8);
    }

    private static JsonNode node(String name) throws IOException {
        return Fixtures.JSON.readTree(vector(name));
    }

    /** The field, which the vector must have: a renamed field fails here. */
    private static JsonNode field(JsonNode n, String name) {
        JsonNode v = n.get(name);
        assertThat(v).as("field %s in %s", name, n).isNotNull();
        return v;
    }

    private static String text(JsonNode n, String name) {
        JsonNode v = field(n, name);
        return v.isNull() ? null : v.asText();
    }

    private static String written(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void enrichedTransactionIsWrittenExactlyAsTheVector() throws IOException {
        JsonNode n = node("enriched_transaction.json");
        EnrichedTransaction r = new EnrichedTransaction(text(n, "transaction_id"), text(n, "timestamp"),
                text(n, "account_id"), field(n, "amount").decimalValue(), text(n, "currency"),
                text(n, "merchant_name"), text(n, "merchant_category"), text(n, "transaction_type"),
                text(n, "location_country"), text(n, "status"), field(n, "amount_usd").decimalValue(),
                text(n, "processing_timestamp"), text(n, "partition_date"), field(n, "is_flagged").booleanValue());
        assertThat(written(r.write(new Json.Writer()))).isEqualTo(vector("enriched_transaction.json"));
    }

    @Test
    void alertIsWrittenExactlyAsTheVectorWithTheRawEventVerbatim() throws IOException {
        JsonNode n = node("alert.json");
        String raw = vector("raw_transaction.json");
        assertThat(field(n, "transaction")).isEqualTo(Fixtures.JSON.readTree(raw));
        assertThat(text(n, "alert_id")).isEqualTo(AlertIds.alertId(text(n, "transaction_id"), text(n, "rule_name")));
        AlertRecord r = new AlertRecord(text(n, "alert_id"), text(n, "transaction_id"), text(n, "account_id"),
                text(n, "rule_name"), text(n, "rule_type"), field(n, "rule_version").longValue(), text(n, "severity"),
                text(n, "alert_timestamp"), text(n, "description"), raw);
        assertThat(written(r.write(new Json.Writer()))).isEqualTo(vector("alert.json"));
    }

    @Test
    void deadLetterIsWrittenExactlyAsTheVector() throws IOException {
        deadLetterIsWrittenExactlyAs("dead_letter.json");
    }

    /** The dead letter of an alert-rules record the job rejects: source topic alert-rules, no timestamp. */
    @Test
    void rejectedRuleDeadLetterIsWrittenExactlyAsTheVectorWithTheParsersError() throws Exception {
        deadLetterIsWrittenExactlyAs("dead_letter_rule.json");
        JsonNode n = node("dead_letter_rule.json");
        assertThat(text(field(n, "source"), "topic")).isEqualTo(RuleParser.TOPIC);
        RuleParser.InvalidRuleException e = org.assertj.core.api.Assertions.catchThrowableOfType(
                () -> RuleParser.parseRule("rapid_activity", text(n, "raw")), RuleParser.InvalidRuleException.class);
        JsonNode want = field(n, "errors").get(0);
        assertThat(e.detail()).isEqualTo(new ErrorDetail(text(want, "field"), text(want, "rule"),
                text(want, "expected"), text(want, "actual")));
    }

    private static void deadLetterIsWrittenExactlyAs(String vector) throws IOException {
        JsonNode n = node(vector);
        List<ErrorDetail> errors = new ArrayList<>();
        for (JsonNode e : field(n, "errors")) {
            errors.add(new ErrorDetail(text(e, "field"), text(e, "rule"), text(e, "expected"), text(e, "actual")));
        }
        assertThat(errors).isNotEmpty();
        JsonNode s = field(n, "source");
        DeadLetterRecord r = new DeadLetterRecord(errors, text(n, "raw"),
                n.has("raw_base64") ? text(n, "raw_base64") : null,
                new DeadLetterRecord.Source(text(s, "topic"), field(s, "partition").intValue(),
                        field(s, "offset").longValue(), text(s, "timestamp")),
                text(n, "dead_lettered_at"));
        assertThat(written(r.write(new Json.Writer()))).isEqualTo(vector(vector));
    }

    @Test
    void theGeneratorsRawEventIsAValidTransactionWithTheVectorsValues() throws IOException {
        JsonNode n = node("raw_transaction.json");
        long now = Instant.parse(text(n, "timestamp")).toEpochMilli();
        Parsed p = new Validator(() -> now, false).parse(vector("raw_transaction.json").getBytes(StandardCharsets.UTF_8),
                text(n, "account_id").getBytes(StandardCharsets.UTF_8), "raw-transactions", 0, 0, now);
        assertThat(p.errors).as("validation errors").isNull();
        assertThat(List.of(p.txn.transactionId, p.txn.timestamp, p.txn.accountId, p.txn.amount.toPlainString(),
                p.txn.currency, p.txn.merchantName, p.txn.merchantCategory, p.txn.transactionType,
                p.txn.locationCountry, p.txn.status)).containsExactly(text(n, "transaction_id"), text(n, "timestamp"),
                text(n, "account_id"), field(n, "amount").decimalValue().toPlainString(), text(n, "currency"),
                text(n, "merchant_name"), text(n, "merchant_category"), text(n, "transaction_type"),
                text(n, "location_country"), text(n, "status"));
    }

    @Test
    void theRuleRecordGoWritesParsesWithItsValues() throws Exception {
        JsonNode n = node("rule.json");
        Rule r = RuleParser.parseRule(text(n, "rule_name"), vector("rule.json"));
        JsonNode params = field(n, "params");
        assertThat(List.of(r.name, r.type, String.valueOf(r.version), String.valueOf(r.enabled), r.severity,
                r.description, String.valueOf(r.count), r.windowText)).containsExactly(text(n, "rule_name"),
                text(n, "rule_type"), text(n, "version"), text(n, "enabled"), text(n, "severity"),
                text(n, "description"), text(params, "count"), text(params, "window"));
    }

    @Test
    void theFxRecordGoWritesParsesWithItsRates() throws Exception {
        JsonNode n = node("fx_rates.json");
        FxTable fx = RuleParser.parseFx(vector("fx_rates.json"));
        JsonNode rates = field(n, "usd_per_unit");
        assertThat(rates.size()).isGreaterThan(1);
        rates.fieldNames().forEachRemaining(c -> assertThat(fx.rate(c)).as(c)
                .isEqualByComparingTo(new BigDecimal(rates.get(c).asText())));
        assertThat(fx.version()).isEqualTo(field(n, "version").longValue());
    }
}
