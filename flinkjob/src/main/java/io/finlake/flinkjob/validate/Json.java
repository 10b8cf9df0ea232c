package io.finlake.flinkjob.validate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;

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

    /**
     * A reusable buffer and generator factory; not thread-safe, one per operator instance. Besides Jackson's
     * generator it writes the common record by hand ({@link #fast}): every string plain printable ASCII, which
     * is written as is, exactly as Jackson writes it; any other string makes the writer say so, and the caller
     * writes the record with Jackson instead, so the bytes never depend on which path wrote them.
     */
    public static final class Writer {
        /** Jackson's limit for writing a BigDecimal as plain digits (StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN). */
        private static final int MAX_PLAIN_SCALE = 9999;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream(1024);
        private byte[] out = new byte[1024];
        private int len;

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

        /** Starts a hand-written record. */
        public Writer fast() {
            len = 0;
            return this;
        }

        /** The hand-written record. */
        public byte[] bytes() {
            return Arrays.copyOf(out, len);
        }

        /** JSON punctuation and field names, as pre-encoded ASCII. */
        public Writer raw(byte[] ascii) {
            ensure(ascii.length);
            System.arraycopy(ascii, 0, out, len, ascii.length);
            len += ascii.length;
            return this;
        }

        /** A quoted string; false when {@code s} is null or needs escaping or is not printable ASCII. */
        @SuppressWarnings("deprecation")
        public boolean string(String s) {
            if (s == null) {
                return false;
            }
            int n = s.length();
            for (int i = 0; i < n; i++) {
                char c = s.charAt(i);
                if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                    return false;
                }
            }
            ensure(n + 2);
            out[len++] = '"';
            s.getBytes(0, n, out, len); // printable ASCII: each char is its low byte
            len += n;
            out[len++] = '"';
            return true;
        }

        /** A decimal in plain digits, as Jackson writes it; false when null or beyond Jackson's scale limit. */
        public boolean decimal(BigDecimal d) {
            if (d == null || d.scale() > MAX_PLAIN_SCALE || d.scale() < -MAX_PLAIN_SCALE) {
                return false;
            }
            ascii(d.toPlainString());
            return true;
        }

        public void number(long v) {
            ascii(Long.toString(v));
        }

        public void bool(boolean v) {
            ascii(v ? "true" : "false");
        }

        /** Text embedded verbatim (an original record); false unless it is ASCII. */
        @SuppressWarnings("deprecation")
        public boolean rawAscii(String s) {
            int n = s.length();
            for (int i = 0; i < n; i++) {
                if (s.charAt(i) >= 0x80) {
                    return false;
                }
            }
            ensure(n);
            s.getBytes(0, n, out, len);
            len += n;
            return true;
        }

        @SuppressWarnings("deprecation")
        private void ascii(String s) {
            int n = s.length();
            ensure(n);
            s.getBytes(0, n, out, len);
            len += n;
        }

        private void ensure(int more) {
            if (len + more > out.length) {
                out = Arrays.copyOf(out, Math.max(out.length * 2, len + more));
            }
        }
    }

    /** Pre-encoded ASCII for {@link Writer#raw}. */
    public static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
