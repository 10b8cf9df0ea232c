package io.finlake.flinkjob.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigDecimal;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Txn crosses the keyed exchange unchanged, whatever its strings and decimals hold. */
class TxnSerializerTest {
    private static Txn roundTrip(Txn t) throws IOException {
        TxnSerializer s = new TxnSerializer();
        DataOutputSerializer out = new DataOutputSerializer(16); // small: the buffer must grow
        s.serialize(t, out);
        s.serialize(t, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        s.deserialize(in);
        Txn back = s.deserialize(in);
        assertThat(in.available()).isZero();
        return back;
    }

    private static Txn sample() {
        Txn t = new Txn();
        t.transactionId = "0b0f6c1e-6a8e-4c39-9a55-3c1f3f6a9d10";
        t.timestamp = "2026-11-26T01:02:03.456Z";
        t.eventNanos = 1_795_000_000_123_456_789L;
        t.accountId = "AC0001234";
        t.amount = new BigDecimal("125.40");
        t.currency = "EUR";
        t.merchantName = "Café \"Zürich\" \ud83d\ude00 lone \ud800 end";
        t.merchantCategory = "dining";
        t.transactionType = "purchase";
        t.locationCountry = "FR";
        t.status = "pending";
        t.amountUsd = new BigDecimal("123456789012345678901234567890.123456789");
        t.raw = "{\"x\":\"" + "a".repeat(3000) + "\"}";
        t.key = new byte[] {1, 2, 3};
        t.srcTopic = "raw-transactions";
        t.srcPartition = 7;
        t.srcOffset = 4711;
        t.srcTimestamp = Long.MIN_VALUE;
        return t;
    }

    private static Object[] fields(Txn t) {
        return new Object[] {t.transactionId, t.timestamp, t.eventNanos, t.accountId, t.amount, t.currency,
            t.merchantName, t.merchantCategory, t.transactionType, t.locationCountry, t.status, t.amountUsd, t.raw,
            t.key, t.srcTopic, t.srcPartition, t.srcOffset, t.srcTimestamp};
    }

    @Test
    void everyFieldSurvivesTheRoundTripIncludingNonAsciiAndLoneSurrogates() throws IOException {
        Txn t = sample();
        assertThat(fields(roundTrip(t))).containsExactly(fields(t));
    }

    @Test
    void nullFieldsStayNullAndDecimalsKeepTheirScale() throws IOException {
        Txn t = new Txn();
        t.amount = new BigDecimal("-0.00");
        Txn back = roundTrip(t);
        assertThat(fields(back)).containsExactly(fields(t));
        assertThat(back.amount.scale()).isEqualTo(2);
    }
}
