package io.finlake.flinkjob.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** OutRecord reaches the sinks as the engine wrote it: a null key stays null, the value byte for byte. */
class OutRecordSerializerTest {
    @Test
    void keyValueAndTimestampSurviveTheRoundTrip() throws IOException {
        OutRecord[] records = {new OutRecord(null, "{\"a\":1}".getBytes(), Long.MIN_VALUE),
            new OutRecord(new byte[] {65, -1}, new byte[0], 1_795_000_000_123L)};
        DataOutputSerializer out = new DataOutputSerializer(4);
        for (OutRecord r : records) {
            OutRecordSerializer.INSTANCE.serialize(r, out);
        }
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        for (OutRecord r : records) {
            OutRecord back = OutRecordSerializer.INSTANCE.deserialize(in);
            assertThat(back.key).isEqualTo(r.key);
            assertThat(back.value).isEqualTo(r.value);
            assertThat(back.timestamp).isEqualTo(r.timestamp);
        }
        assertThat(in.available()).isZero();
    }
}
