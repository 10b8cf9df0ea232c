package io.finlake.flinkjob.validate;

import com.fasterxml.jackson.core.JsonGenerator;
import io.finlake.flinkjob.model.ErrorDetail;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Writes the dead-letter record of the contract. */
public final class DeadLetters {
    private DeadLetters() {}

    /**
     * @param raw the original value; written as {@code raw} when it is UTF-8, else as {@code raw_base64}
     * @param srcTimestamp Kafka timestamp of the raw record, Long.MIN_VALUE when unknown (written as null)
     */
    public static byte[] write(Json.Writer w, List<ErrorDetail> errors, byte[] raw, String rawText, String topic,
            int partition, long offset, long srcTimestamp, long now) {
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
            String text = rawText != null ? rawText : utf8OrNull(raw);
            if (text != null) {
                g.writeStringField("raw", text);
            } else if (raw != null) {
                g.writeStringField("raw_base64", Base64.getEncoder().encodeToString(raw));
            } else {
                g.writeNullField("raw");
            }
            g.writeObjectFieldStart("source");
            g.writeStringField("topic", topic);
            g.writeNumberField("partition", partition);
            g.writeNumberField("offset", offset);
            if (srcTimestamp == Long.MIN_VALUE) {
                g.writeNullField("timestamp");
            } else {
                g.writeStringField("timestamp", Json.millis(srcTimestamp));
            }
            g.writeEndObject();
            g.writeStringField("dead_lettered_at", Json.millis(now));
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.end(g);
    }

    static String utf8OrNull(byte[] raw) {
        if (raw == null) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
