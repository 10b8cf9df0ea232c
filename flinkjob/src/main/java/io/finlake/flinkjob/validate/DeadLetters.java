package io.finlake.flinkjob.validate;

import io.finlake.flinkjob.contract.DeadLetterRecord;
import io.finlake.flinkjob.model.ErrorDetail;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** Builds the dead-letter record of the contract ({@link DeadLetterRecord}) from what the job knows. */
public final class DeadLetters {
    private DeadLetters() {}

    /** The failed checks as field:rule, for a log line (no values: they may be personal data). */
    public static String failedChecks(List<ErrorDetail> errors) {
        StringBuilder b = new StringBuilder();
        for (ErrorDetail e : errors) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(e.field).append(':').append(e.rule);
        }
        return b.toString();
    }

    /**
     * @param raw the original value; written as {@code raw} when it is UTF-8, else as {@code raw_base64}
     * @param srcTimestamp Kafka timestamp of the raw record, Long.MIN_VALUE when unknown (written as null)
     */
    public static byte[] write(Json.Writer w, List<ErrorDetail> errors, byte[] raw, String rawText, String topic,
            int partition, long offset, long srcTimestamp, long now) {
        String text = rawText != null ? rawText : utf8OrNull(raw);
        String base64 = text == null && raw != null ? Base64.getEncoder().encodeToString(raw) : null;
        String ts = srcTimestamp == Long.MIN_VALUE ? null : Json.millis(srcTimestamp);
        return new DeadLetterRecord(errors, text, base64, new DeadLetterRecord.Source(topic, partition, offset, ts),
                Json.millis(now)).write(w);
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
