package io.finlake.flinkjob.validate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Small helpers for writing the job's output JSON with Jackson's streaming generator. */
public final class Json {
    public static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
            .build();

    /** Output timestamps: UTC, always milliseconds, e.g. 2026-11-26T01:02:03.456Z. */
    public static final DateTimeFormatter MILLIS =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private Json() {}

    private static final ThreadLocal<long[]> LAST_MS = ThreadLocal.withInitial(() -> new long[] {Long.MIN_VALUE});
    private static final ThreadLocal<String[]> LAST_TEXT = ThreadLocal.withInitial(() -> new String[1]);

    /** Formats epoch millis; consecutive calls within one millisecond (most of them) reuse the text. */
    public static String millis(long epochMillis) {
        long[] last = LAST_MS.get();
        String[] text = LAST_TEXT.get();
        if (last[0] != epochMillis) {
            last[0] = epochMillis;
            text[0] = MILLIS.format(Instant.ofEpochMilli(epochMillis));
        }
        return text[0];
    }

    /** A reusable buffer and generator factory; not thread-safe, one per operator instance. */
    public static final class Writer {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream(1024);

        public JsonGenerator begin() {
            buf.reset();
            try {
                return FACTORY.createGenerator(buf);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public byte[] end(JsonGenerator g) {
            try {
                g.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return buf.toByteArray();
        }
    }
}
