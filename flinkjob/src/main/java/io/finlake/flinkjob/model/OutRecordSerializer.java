package io.finlake.flinkjob.model;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** OutRecord from the engine to its sinks: two byte arrays and a long, without reflection. */
public final class OutRecordSerializer extends TypeSerializerSingleton<OutRecord> {
    private static final long serialVersionUID = 1L;
    public static final OutRecordSerializer INSTANCE = new OutRecordSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public OutRecord createInstance() {
        return new OutRecord();
    }

    @Override
    public OutRecord copy(OutRecord from) {
        return new OutRecord(from.key == null ? null : from.key.clone(), from.value == null ? null : from.value.clone(),
                from.timestamp);
    }

    @Override
    public OutRecord copy(OutRecord from, OutRecord reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(OutRecord r, DataOutputView out) throws IOException {
        writeBytes(r.key, out);
        writeBytes(r.value, out);
        out.writeLong(r.timestamp);
    }

    @Override
    public OutRecord deserialize(DataInputView in) throws IOException {
        byte[] key = readBytes(in);
        byte[] value = readBytes(in);
        return new OutRecord(key, value, in.readLong());
    }

    @Override
    public OutRecord deserialize(OutRecord reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<OutRecord> snapshotConfiguration() {
        return new Snapshot();
    }

    private static void writeBytes(byte[] b, DataOutputView out) throws IOException {
        if (b == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(b.length);
            out.write(b);
        }
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

    /** The snapshot of a serializer without configuration. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<OutRecord> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
