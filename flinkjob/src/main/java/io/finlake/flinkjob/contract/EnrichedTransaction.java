package io.finlake.flinkjob.contract;

import com.fasterxml.jackson.core.JsonGenerator;
import io.finlake.flinkjob.model.Txn;
import io.finlake.flinkjob.validate.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.time.LocalDate;

/** A transactions-processed record: the transaction as received plus what the job adds. */
public record EnrichedTransaction(String transactionId, String timestamp, String accountId, BigDecimal amount,
        String currency, String merchantName, String merchantCategory, String transactionType,
        String locationCountry, String status, BigDecimal amountUsd, String processingTimestamp,
        String partitionDate, boolean isFlagged) {

    /** Largest magnitude of amount and amount_usd: the lake's columns are decimal(18,2). */
    public static final BigDecimal MAX_AMOUNT = new BigDecimal("9999999999999999.99");
    /** The dead letters' "expected" for a value beyond {@link #MAX_AMOUNT}. */
    public static final String RANGE_EXPECTED = "at most 9999999999999999.99 in magnitude (the lake's decimal(18,2))";

    /** The record of a processed event: processed at {@code now} (epoch ms), flagged when a rule fired on it. */
    public static EnrichedTransaction of(Txn t, boolean flagged, long now) {
        return new EnrichedTransaction(t.transactionId, t.timestamp, t.accountId, t.amount, t.currency,
                t.merchantName, t.merchantCategory, t.transactionType, t.locationCountry, t.status, t.amountUsd,
                Json.millis(now), day(Math.floorDiv(t.eventNanos, 86_400_000_000_000L)), flagged);
    }

    private static final byte[] TRANSACTION_ID = Json.ascii("{\"transaction_id\":"),
            TIMESTAMP = Json.ascii(",\"timestamp\":"), ACCOUNT_ID = Json.ascii(",\"account_id\":"),
            AMOUNT = Json.ascii(",\"amount\":"), CURRENCY = Json.ascii(",\"currency\":"),
            MERCHANT_NAME = Json.ascii(",\"merchant_name\":"), MERCHANT_CATEGORY = Json.ascii(",\"merchant_category\":"),
            TRANSACTION_TYPE = Json.ascii(",\"transaction_type\":"), LOCATION_COUNTRY = Json.ascii(",\"location_country\":"),
            STATUS = Json.ascii(",\"status\":"), AMOUNT_USD = Json.ascii(",\"amount_usd\":"),
            PROCESSING_TIMESTAMP = Json.ascii(",\"processing_timestamp\":"),
            PARTITION_DATE = Json.ascii(",\"partition_date\":"), IS_FLAGGED = Json.ascii(",\"is_flagged\":"),
            END = Json.ascii("}");

    /** The record as JSON: by hand when every string is plain ASCII (nearly always), else with Jackson. */
    public byte[] write(Json.Writer w) {
        w.fast();
        boolean plain = w.raw(TRANSACTION_ID).string(transactionId)
                && w.raw(TIMESTAMP).string(timestamp)
                && w.raw(ACCOUNT_ID).string(accountId)
                && w.raw(AMOUNT).decimal(amount)
                && w.raw(CURRENCY).string(currency)
                && w.raw(MERCHANT_NAME).string(merchantName)
                && w.raw(MERCHANT_CATEGORY).string(merchantCategory)
                && w.raw(TRANSACTION_TYPE).string(transactionType)
                && w.raw(LOCATION_COUNTRY).string(locationCountry)
                && w.raw(STATUS).string(status)
                && w.raw(AMOUNT_USD).decimal(amountUsd)
                && w.raw(PROCESSING_TIMESTAMP).string(processingTimestamp)
                && w.raw(PARTITION_DATE).string(partitionDate);
        if (plain) {
            w.raw(IS_FLAGGED).bool(isFlagged);
            w.raw(END);
            return w.bytes();
        }
        return writeWithJackson(w);
    }

    /** The reference writer, for records with a string to escape or beyond ASCII. */
    public byte[] writeWithJackson(Json.Writer w) {
        JsonGenerator g = w.begin();
        try {
            g.writeStartObject();
            g.writeStringField("transaction_id", transactionId);
            g.writeStringField("timestamp", timestamp);
            g.writeStringField("account_id", accountId);
            g.writeFieldName("amount");
            g.writeNumber(amount);
            g.writeStringField("currency", currency);
            g.writeStringField("merchant_name", merchantName);
            g.writeStringField("merchant_category", merchantCategory);
            g.writeStringField("transaction_type", transactionType);
            g.writeStringField("location_country", locationCountry);
            g.writeStringField("status", status);
            g.writeFieldName("amount_usd");
            g.writeNumber(amountUsd);
            g.writeStringField("processing_timestamp", processingTimestamp);
            g.writeStringField("partition_date", partitionDate);
            g.writeBooleanField("is_flagged", isFlagged);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.end(g);
    }

    private static long lastDay = Long.MIN_VALUE;
    private static String lastDayText;

    /** The UTC date of an epoch day; consecutive records mostly share it. */
    private static synchronized String day(long epochDay) {
        if (epochDay != lastDay) {
            lastDay = epochDay;
            lastDayText = LocalDate.ofEpochDay(epochDay).toString();
        }
        return lastDayText;
    }
}
