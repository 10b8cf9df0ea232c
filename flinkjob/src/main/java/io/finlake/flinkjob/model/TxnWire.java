package io.finlake.flinkjob.model;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.BigDecSerializer;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The type of {@link Txn} on the wire from validation to the engine. Flink's POJO serializer writes each
 * String char by char, which was the largest single cost of moving a transaction between the two; this one
 * writes each as length-prefixed UTF-8 bytes (a plain copy for ASCII). Only the stream uses it: state that
 * holds a Txn keeps the POJO serializer, so checkpoints keep their format.
 */
public final class TxnWire extends TypeInformation<Txn> {
    private static final long serialVersionUID = 1L;
    public static final TxnWire TYPE = new TxnWire();

    private TxnWire() {}

    @Override
    public boolean isBasicType() {
        return false;
    }

    @Override
    public boolean isTupleType() {
        return false;
    }

    @Override
    public int getArity() {
        return 1;
    }

    @Override
    public int getTotalFields() {
        return 1;
    }

    @Override
    public Class<Txn> getTypeClass() {
        return Txn.class;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<Txn> createSerializer(SerializerConfig config) {
        return Serializer.INSTANCE;
    }

    @Override
    public String toString() {
        return "TxnWire";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TxnWire;
    }

    @Override
    public int hashCode() {
        return TxnWire.class.hashCode();
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof TxnWire;
    }

    /** Stateless: strings as UTF-8 with a length (-1 for null), decimals as Flink's BigDecSerializer does. */
    public static final class Serializer extends TypeSerializerSingleton<Txn> {
        private static final long serialVersionUID = 1L;
        public static final Serializer INSTANCE = new Serializer();

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
            BigDecSerializer.INSTANCE.serialize(t.amount, out);
            writeString(t.currency, out);
            writeString(t.merchantName, out);
            writeString(t.merchantCategory, out);
            writeString(t.transactionType, out);
            writeString(t.locationCountry, out);
            writeString(t.status, out);
            BigDecSerializer.INSTANCE.serialize(t.amountUsd, out);
            writeString(t.raw, out);
            writeBytes(t.key, out);
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
            t.amount = BigDecSerializer.readBigDecimal(in);
            t.currency = readString(in);
            t.merchantName = readString(in);
            t.merchantCategory = readString(in);
            t.transactionType = readString(in);
            t.locationCountry = readString(in);
            t.status = readString(in);
            t.amountUsd = BigDecSerializer.readBigDecimal(in);
            t.raw = readString(in);
            t.key = readBytes(in);
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

        private static void writeString(String s, DataOutputView out) throws IOException {
            writeBytes(s == null ? null : s.getBytes(StandardCharsets.UTF_8), out);
        }

        private static String readString(DataInputView in) throws IOException {
            int n = in.readInt();
            if (n < 0) {
                return null;
            }
            byte[] b = new byte[n];
            in.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        }

        private static void writeBytes(byte[] b, DataOutputView out) throws IOException {
            if (b == null) {
                out.writeInt(-1);
                return;
            }
            out.writeInt(b.length);
            out.write(b);
        }

        private static byte[] readBytes(DataInputView in) throws IOException {
            int n = in.readInt();
            if (n < 0) {
                return null;
            }
            byte[] b = new byte[n];
            in.readFully(b);
            return b;
        }
    }

    /** Required by Flink for any serializer; this one only ever serves a stream, never state. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Txn> {
        public Snapshot() {
            super(() -> Serializer.INSTANCE);
        }
    }
}
