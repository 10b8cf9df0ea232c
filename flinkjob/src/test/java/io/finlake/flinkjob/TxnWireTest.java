package io.finlake.flinkjob;

import static org.assertj.core.api.Assertions.assertThat;

import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.model.TxnWire;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The wire format of a transaction between validation and the engine keeps every field as it was. */
class TxnWireTest {
    private static Txn roundTrip(Txn t) throws Exception {
        TypeSerializer<Txn> s = TxnWire.TYPE.createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(t, out);
        return s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    @Test
    void everyFieldSurvivesIncludingNullsNonAsciiAndDecimalScale() throws Exception {
        Txn t = new Txn();
        t.transactionId = "0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10";
        t.timestamp = "2026-11-26T01:02:03.456+01:00";
        t.eventNanos = -5L;
        t.accountId = "AC0001234";
        t.amount = new BigDecimal("-125.400");
        t.currency = "EUR";
        t.merchantName = "Café Zürich 東京 🍣";
        t.merchantCategory = "dining";
        t.transactionType = "refund";
        t.locationCountry = null;
        t.status = "pending";
        t.amountUsd = null;
        t.raw = "{\"merchant_name\":\"Café Zürich 東京 🍣\"}";
        t.key = "AC0001234".getBytes(StandardCharsets.UTF_8);
        t.srcTopic = "raw-transactions";
        t.srcPartition = 3;
        t.srcOffset = 4711;
        t.srcTimestamp = Long.MIN_VALUE;

        Txn b = roundTrip(t);

        assertThat(b).usingRecursiveComparison().isEqualTo(t);
        assertThat(b.amount.scale()).isEqualTo(3);
    }
}
