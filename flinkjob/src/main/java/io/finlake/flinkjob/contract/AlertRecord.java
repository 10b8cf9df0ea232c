package io.finlake.flinkjob.contract;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.rules.AlertIds;
import io.finlake.flinkjob.rules.Rule;
import io.finlake.flinkjob.validate.Json;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An alerts record: one rule that fired on a transaction's first event. {@code transaction} is that raw event's
 * JSON text, embedded verbatim.
 */
public record AlertRecord(String alertId, String transactionId, String accountId, String ruleName, String ruleType,
        long ruleVersion, String severity, String alertTimestamp, String description, String transaction) {

    private static final ObjectMapper MAPPER =
            JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES).build();

    /** The alert rule {@code r} raises on {@code t} at {@code now} (epoch ms). */
    public static AlertRecord of(Txn t, Rule r, String description, long now) {
        return new AlertRecord(AlertIds.alertId(t.transactionId, r.name), t.transactionId, t.accountId, r.name,
                r.type, r.version, r.severity, Json.millis(now), description, t.raw);
    }

    public byte[] write(Json.Writer w) {
        JsonGenerator g = w.begin();
        try {
            g.writeStartObject();
            g.writeStringField("alert_id", alertId);
            g.writeStringField("transaction_id", transactionId);
            g.writeStringField("account_id", accountId);
            g.writeStringField("rule_name", ruleName);
            g.writeStringField("rule_type", ruleType);
            g.writeNumberField("rule_version", ruleVersion);
            g.writeStringField("severity", severity);
            g.writeStringField("alert_timestamp", alertTimestamp);
            g.writeStringField("description", description);
            g.writeFieldName("transaction");
            if (transaction.indexOf('\n') < 0 && transaction.indexOf('\r') < 0) {
                g.writeRawValue(transaction.strip());
            } else {
                // Keep alerts one line each (JSON Lines in replay): re-serialize a multi-line original.
                MAPPER.writeTree(g, MAPPER.readTree(transaction));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.end(g);
    }
}
