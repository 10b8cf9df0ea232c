package io.finlake.flinkjob.model;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Txn between the validator and the keyed engine, field by field without reflection. Strings of ASCII
 * (nearly all) go as one length and their bytes; others, and any char sequence Java can hold, char by char,
 * so nothing is changed on the way (a lone surrogate from a JSON escape included).
 */
public final class TxnSerializer extends TypeSerializer<Txn> {
    private static final long serialVersionUID = 1L;

    /** Scratch for ASCII strings: the serializer is stateful, {@link #duplicate} gives each user its own. */
    private transient byte[] scratch = new byte[512];

    @Override
    public TypeSerializer<Txn> duplicate() {
        return new TxnSerializer();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TxnSerializer;
    }

    @Override
    public int hashCode() {
        return TxnSerializer.class.hashCode();
    }

    private static final byte NULL = 0, ASCII = 1, CHARS = 2;
    private static final byte DEC_NULL = 0, DEC_LONG = 1, DEC_BIG = 2;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Txn createInstance() {
        return new Txn();
    }

    @Override
    public Txn copy(Txn f) {
        Txn t = new Txn();
        t.transactionId = f.transactionId;
        t.timestamp = f.timestamp;
        t.eventNanos = f.eventNanos;
        t.accountId = f.accountId;
        t.amount = f.amount;
        t.currency = f.currency;
        t.merchantName = f.merchantName;
        t.merchantCategory = f.merchantCategory;
        t.transactionType = f.transactionType;
        t.locationCountry = f.locationCountry;
        t.status = f.status;
        t.amountUsd = f.amountUsd;
        t.raw = f.raw;
        t.key = f.key == null ? null : f.key.clone();
        t.srcTopic = f.srcTopic;
        t.srcPartition = f.srcPartition;
        t.srcOffset = f.srcOffset;
        t.srcTimestamp = f.srcTimestamp;
        return t;
    }

    @Override
    public Txn copy(Txn from, Txn reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Txn t, DataOutputView out) throws IOException {
        writeString(t.transactionId, out);
        writeString(t.timestamp, out);
        out.writeLong(t.eventNanos);
        writeString(t.accountId, out);
        writeDecimal(t.amount, out);
        writeString(t.currency, out);
        writeString(t.merchantName, out);
        writeString(t.merchantCategory, out);
        writeString(t.transactionType, out);
        writeString(t.locationCountry, out);
        writeString(t.status, out);
        writeDecimal(t.amountUsd, out);
        writeString(t.raw, out);
        if (t.key == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(t.key.length);
            out.write(t.key);
        }
        writeString(t.srcTopic, out);
        out.writeInt(t.srcPartition);
        out.writeLong(t.srcOffset);
        out.writeLong(t.srcTimestamp);
    }

    @Override
    public Txn deserialize(DataInputView in) throws IOException {
        Txn t = new Txn();
        t.transactionId = readString(in);
        t.timestamp = readString(in);
        t.eventNanos = in.readLong();
        t.accountId = readString(in);
        t.amount = readDecimal(in);
        t.currency = readString(in);
        t.merchantName = readString(in);
        t.merchantCategory = readString(in);
        t.transactionType = readString(in);
        t.locationCountry = readString(in);
        t.status = readString(in);
        t.amountUsd = readDecimal(in);
        t.raw = readString(in);
        int k = in.readInt();
        if (k >= 0) {
            t.key = new byte[k];
            in.readFully(t.key);
        }
        t.srcTopic = readString(in);
        t.srcPartition = in.readInt();
        t.srcOffset = in.readLong();
        t.srcTimestamp = in.readLong();
        return t;
    }

    @Override
    public Txn deserialize(Txn reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<Txn> snapshotConfiguration() {
        return new Snapshot();
    }

    @SuppressWarnings("deprecation")
    void writeString(String s, DataOutputView out) throws IOException {
        if (s == null) {
            out.writeByte(NULL);
            return;
        }
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                out.writeByte(CHARS);
                out.writeInt(n);
                for (int j = 0; j < n; j++) {
                    out.writeChar(s.charAt(j));
                }
                return;
            }
        }
        if (scratch == null || scratch.length < n) {
            scratch = new byte[Math.max(n, 512)];
        }
        s.getBytes(0, n, scratch, 0); // the low byte of each char: the char itself, in ASCII
        out.writeByte(ASCII);
        out.writeInt(n);
        out.write(scratch, 0, n);
    }

    static String readString(DataInputView in) throws IOException {
        byte tag = in.readByte();
        if (tag == NULL) {
            return null;
        }
        int n = in.readInt();
        if (tag == ASCII) {
            byte[] b = new byte[n];
            in.readFully(b);
            return new String(b, StandardCharsets.ISO_8859_1);
        }
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = in.readChar();
        }
        return new String(c);
    }

    static void writeDecimal(BigDecimal d, DataOutputView out) throws IOException {
        if (d == null) {
            out.writeByte(DEC_NULL);
            return;
        }
        BigInteger u = d.unscaledValue();
        if (u.bitLength() < 64) {
            out.writeByte(DEC_LONG);
            out.writeLong(u.longValue());
        } else {
            byte[] b = u.toByteArray();
            out.writeByte(DEC_BIG);
            out.writeInt(b.length);
            out.write(b);
        }
        out.writeInt(d.scale());
    }

    static BigDecimal readDecimal(DataInputView in) throws IOException {
        byte tag = in.readByte();
        if (tag == DEC_NULL) {
            return null;
        }
        if (tag == DEC_LONG) {
            long u = in.readLong();
            return BigDecimal.valueOf(u, in.readInt());
        }
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new BigDecimal(new BigInteger(b), in.readInt());
    }

    /** The snapshot of a serializer without configuration. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Txn> {
        public Snapshot() {
            super(TxnSerializer::new);
        }
    }
}
