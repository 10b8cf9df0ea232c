package io.finlake.flinkjob.engine;

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
import java.time.LocalDate;

/** The JSON of the enriched transaction and of the alert. */
final class Records {
    private static final ObjectMapper MAPPER =
            JsonMapper.builder().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES).build();

    private Records() {}

    private static long lastDay = Long.MIN_VALUE;
    private static String lastDayText;

    /** The UTC date of an epoch day; consecutive records mostly share it. */
    private static synchronized String day(long epochDay) {
        if (epochDay != lastDay) {
            lastDay = epochDay;
            lastDayText = LocalDate.ofEpochDay(epochDay).toString();
        }
        return lastDayText;
    }

    static byte[] processed(Json.Writer w, Txn t, boolean flagged, long now) {
        JsonGenerator g = w.begin();
        try {
            g.writeStartObject();
            g.writeStringField("transaction_id", t.transactionId);
            g.writeStringField("timestamp", t.timestamp);
            g.writeStringField("account_id", t.accountId);
            g.writeFieldName("amount");
            g.writeNumber(t.amount);
            g.writeStringField("currency", t.currency);
            g.writeStringField("merchant_name", t.merchantName);
            g.writeStringField("merchant_category", t.merchantCategory);
            g.writeStringField("transaction_type", t.transactionType);
            g.writeStringField("location_country", t.locationCountry);
            g.writeStringField("status", t.status);
            g.writeFieldName("amount_usd");
            g.writeNumber(t.amountUsd);
            g.writeStringField("processing_timestamp", Json.millis(now));
            g.writeStringField("partition_date", day(Math.floorDiv(t.eventNanos, 86_400_000_000_000L)));
            g.writeBooleanField("is_flagged", flagged);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.end(g);
    }

    static byte[] alert(Json.Writer w, Txn t, Rule r, String description, long now) {
        JsonGenerator g = w.begin();
        try {
            g.writeStartObject();
            g.writeStringField("alert_id", AlertIds.alertId(t.transactionId, r.name));
            g.writeStringField("transaction_id", t.transactionId);
            g.writeStringField("account_id", t.accountId);
            g.writeStringField("rule_name", r.name);
            g.writeStringField("rule_type", r.type);
            g.writeNumberField("rule_version", r.version);
            g.writeStringField("severity", r.severity);
            g.writeStringField("alert_timestamp", Json.millis(now));
            g.writeStringField("description", description);
            g.writeFieldName("transaction");
            if (t.raw.indexOf('\n') < 0 && t.raw.indexOf('\r') < 0) {
                g.writeRawValue(t.raw.strip());
            } else {
                // Keep alerts one line each (JSON Lines in replay): re-serialize a multi-line original.
                MAPPER.writeTree(g, MAPPER.readTree(t.raw));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.end(g);
    }
}
