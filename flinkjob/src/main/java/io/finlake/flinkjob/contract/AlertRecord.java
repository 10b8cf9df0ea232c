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

    private static final byte[] ALERT_ID = Json.ascii("{\"alert_id\":"),
            TRANSACTION_ID = Json.ascii(",\"transaction_id\":"), ACCOUNT_ID = Json.ascii(",\"account_id\":"),
            RULE_NAME = Json.ascii(",\"rule_name\":"), RULE_TYPE = Json.ascii(",\"rule_type\":"),
            RULE_VERSION = Json.ascii(",\"rule_version\":"), SEVERITY = Json.ascii(",\"severity\":"),
            ALERT_TIMESTAMP = Json.ascii(",\"alert_timestamp\":"), DESCRIPTION = Json.ascii(",\"description\":"),
            TRANSACTION = Json.ascii(",\"transaction\":"), END = Json.ascii("}");

    /**
     * The record as JSON: by hand when every string is plain ASCII and the original a single ASCII line (nearly
     * always), else with Jackson.
     */
    public byte[] write(Json.Writer w) {
        w.fast();
        boolean plain = transaction.indexOf('\n') < 0 && transaction.indexOf('\r') < 0
                && w.raw(ALERT_ID).string(alertId)
                && w.raw(TRANSACTION_ID).string(transactionId)
                && w.raw(ACCOUNT_ID).string(accountId)
                && w.raw(RULE_NAME).string(ruleName)
                && w.raw(RULE_TYPE).string(ruleType);
        if (plain) {
            w.raw(RULE_VERSION).number(ruleVersion);
            plain = w.raw(SEVERITY).string(severity)
                    && w.raw(ALERT_TIMESTAMP).string(alertTimestamp)
                    && w.raw(DESCRIPTION).string(description)
                    && w.raw(TRANSACTION).rawAscii(transaction.strip());
        }
        if (plain) {
            w.raw(END);
            return w.bytes();
        }
        return writeWithJackson(w);
    }

    /** The reference writer, for records with a string to escape or beyond ASCII. */
    public byte[] writeWithJackson(Json.Writer w) {
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
