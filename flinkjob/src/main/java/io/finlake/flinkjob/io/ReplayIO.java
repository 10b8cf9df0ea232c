package io.finlake.flinkjob.io;

import io.finlake.flinkjob.model.OutRecord;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.validate.Validator;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/** JSON Lines in and out for replay mode. */
public final class ReplayIO {
    public static final String TOPIC = "replay";

    private ReplayIO() {}

    /**
     * One raw record per line (the file order is the arrival order), validated as read. The source
     * coordinates are topic "replay", partition 0 and the line's 0-based index as offset; blank lines are
     * skipped but keep their index.
     */
    public static final class LineFormat extends SimpleStreamFormat<Parsed> {
        private static final long serialVersionUID = 1L;

        @Override
        public StreamFormat.Reader<Parsed> createReader(Configuration config, FSDataInputStream stream) {
            return new LineReader(stream);
        }

        @Override
        public TypeInformation<Parsed> getProducedType() {
            return TypeInformation.of(Parsed.class);
        }
    }

    static final class LineReader implements StreamFormat.Reader<Parsed> {
        private final InputStream in;
        private final Validator validator = new Validator(System::currentTimeMillis, true);
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int limit;
        private boolean eof;
        private long index = -1;

        LineReader(InputStream in) {
            this.in = in;
        }

        @Override
        public Parsed read() throws IOException {
            while (true) {
                byte[] line = nextLine();
                if (line == null) {
                    return null;
                }
                index++;
                if (isBlank(line)) {
                    continue;
                }
                return validator.parse(line, null, TOPIC, 0, index, Long.MIN_VALUE);
            }
        }

        /** The next line without its terminator (\n or \r\n), or null at the end of the file. */
        private byte[] nextLine() throws IOException {
            ByteArrayOutputStream spill = null;
            while (true) {
                for (int i = pos; i < limit; i++) {
                    if (buf[i] == '\n') {
                        byte[] line = take(spill, i);
                        pos = i + 1;
                        return line;
                    }
                }
                if (eof) {
                    if (pos == limit && spill == null) {
                        return null;
                    }
                    byte[] line = take(spill, limit);
                    pos = limit;
                    return line;
                }
                if (pos < limit) {
                    if (spill == null) {
                        spill = new ByteArrayOutputStream(1024);
                    }
                    spill.write(buf, pos, limit - pos);
                }
                pos = 0;
                limit = 0;
                int n = in.read(buf);
                if (n < 0) {
                    eof = true;
                } else {
                    limit = n;
                }
            }
        }

        private byte[] take(ByteArrayOutputStream spill, int end) {
            byte[] line;
            if (spill == null) {
                line = java.util.Arrays.copyOfRange(buf, pos, end);
            } else {
                spill.write(buf, pos, end - pos);
                line = spill.toByteArray();
            }
            int len = line.length;
            if (len > 0 && line[len - 1] == '\r') {
                line = java.util.Arrays.copyOf(line, len - 1);
            }
            return line;
        }

        private static boolean isBlank(byte[] b) {
            for (byte c : b) {
                if (c != ' ' && c != '\t') {
                    return false;
                }
            }
            return true;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** Writes each record's value as one line of a local file (parallelism 1). */
    public static final class JsonlSink implements Sink<OutRecord> {
        private static final long serialVersionUID = 1L;
        private final String path;

        public JsonlSink(Path path) {
            this.path = path.toAbsolutePath().toString();
        }

        @Override
        public SinkWriter<OutRecord> createWriter(WriterInitContext context) throws IOException {
            OutputStream out = new BufferedOutputStream(Files.newOutputStream(Paths.get(path)), 1 << 20);
            return new SinkWriter<>() {
                @Override
                public void write(OutRecord r, Context ctx) throws IOException {
                    out.write(r.value);
                    out.write('\n');
                }

                @Override
                public void flush(boolean endOfInput) throws IOException {
                    out.flush();
                }

                @Override
                public void close() throws IOException {
                    out.close();
                }
            };
        }
    }
}
