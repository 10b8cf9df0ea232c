package io.finlake.flinkjob.contract;

import com.fasterxml.jackson.core.JsonGenerator;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.validate.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * A dead-letter record: a raw record the job rejected, every check it failed and where it was read. At most one
 * of {@code raw} (the value as text) and {@code rawBase64} (when it was not UTF-8) is set; with neither,
 * {@code "raw":null} is written. {@code source.timestamp} is null when the raw record's is unknown.
 */
public record DeadLetterRecord(List<ErrorDetail> errors, String raw, String rawBase64, Source source,
        String deadLetteredAt) {

    /** Where the rejected record was read. */
    public record Source(String topic, int partition, long offset, String timestamp) {}

    public byte[] write(Json.Writer w) {
        JsonGenerator g = w.begin();
        try {
            g.writeStartObject();
            g.writeArrayFieldStart("errors");
            for (ErrorDetail e : errors) {
                g.writeStartObject();
                g.writeStringField("field", e.field);
                g.writeStringField("rule", e.rule);
                g.writeStringField("expected", e.expected);
                g.writeStringField("actual", e.actual);
                g.writeEndObject();
            }
            g.writeEndArray();
            if (raw != null) {
                g.writeStringField("raw", raw);
            } else if (rawBase64 != null) {
                g.writeStringField("raw_base64", rawBase64);
            } else {
                g.writeNullField("raw");
            }
            g.writeObjectFieldStart("source");
            g.writeStringField("topic", source.topic());
            g.writeNumberField("partition", source.partition());
            g.writeNumberField("offset", source.offset());
            if (source.timestamp() == null) {
                g.writeNullField("timestamp");
            } else {
                g.writeStringField("timestamp", source.timestamp());
            }
            g.writeEndObject();
            g.writeStringField("dead_lettered_at", deadLetteredAt);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.end(g);
    }
}
