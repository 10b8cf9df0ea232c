package io.finlake.flinkjob.validate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.finlake.flinkjob.contract.EnrichedTransaction;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.Txn;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Currency;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Parses one raw record and runs every stateless check of the contract, collecting all errors rather than
 * stopping at the first. Not thread-safe: one instance per parallel subtask.
 */
public final class Validator {
    public static final String[] REQUIRED = {
        "transaction_id", "timestamp", "account_id", "amount", "currency", "merchant_name",
        "merchant_category", "transaction_type", "location_country", "status"
    };
    public static final Set<String> CATEGORIES =
            Set.of("retail", "dining", "travel", "online", "groceries", "entertainment", "utilities");
    public static final Set<String> TYPES = Set.of("purchase", "withdrawal", "transfer", "refund");
    public static final Set<String> STATUSES = Set.of("pending", "completed", "failed", "reversed");
    /** How far ahead of the processing wall clock an event timestamp may lie. */
    public static final long MAX_FUTURE_MILLIS = 60_000L;

    private static final Set<String> COUNTRIES = Set.of(Locale.getISOCountries());
    private static final Set<String> CURRENCIES = currencyCodes();
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final LongSupplier wallClock;
    private final boolean generationTimeIsEventTime;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    /**
     * @param wallClock processing time in epoch millis, for the "not in the future" check
     * @param generationTimeIsEventTime replay mode: a record has no Kafka timestamp, its generation time is
     *     its own {@code timestamp}
     */
    public Validator(LongSupplier wallClock, boolean generationTimeIsEventTime) {
        this.wallClock = wallClock;
        this.generationTimeIsEventTime = generationTimeIsEventTime;
    }

    public Parsed parse(byte[] value, byte[] key, String topic, int partition, long offset, long kafkaTimestamp) {
        Parsed p = new Parsed();
        p.key = key;
        p.srcTopic = topic;
        p.srcPartition = partition;
        p.srcOffset = offset;
        p.srcTimestamp = kafkaTimestamp;
        List<ErrorDetail> errors = new ArrayList<>(2);
        Txn t = check(value, errors);
        if (t != null && generationTimeIsEventTime) {
            p.srcTimestamp = t.eventMillis();
        }
        if (errors.isEmpty() && t != null) {
            t.key = key;
            t.srcTopic = topic;
            t.srcPartition = partition;
            t.srcOffset = offset;
            t.srcTimestamp = p.srcTimestamp;
            p.txn = t;
        } else {
            p.raw = value;
            p.errors = errors.toArray(new ErrorDetail[0]);
        }
        return p;
    }

    /** Returns the fields read, or null when not even the event time could be read. */
    private Txn check(byte[] value, List<ErrorDetail> errors) {
        if (value == null) {
            errors.add(new ErrorDetail("$", "json", "a JSON object", "null record value (tombstone)"));
            return null;
        }
        String text;
        try {
            text = decode(value);
        } catch (CharacterCodingException e) {
            errors.add(new ErrorDetail("$", "utf8", "UTF-8 encoded JSON text", "bytes that are not valid UTF-8"));
            return null;
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            errors.add(new ErrorDetail("$", "json", "a JSON object", "not JSON: " + firstLine(e.getOriginalMessage())));
            return null;
        }
        if (root == null || !root.isObject()) {
            errors.add(new ErrorDetail("$", "json", "a JSON object",
                    root == null ? "empty input" : "JSON " + root.getNodeType().name().toLowerCase(Locale.ROOT)));
            return null;
        }
        Txn t = new Txn();
        t.raw = text;
        t.transactionId = string(root, "transaction_id", errors);
        if (t.transactionId != null && !isUuid(t.transactionId)) {
            errors.add(new ErrorDetail("transaction_id", "uuid", "UUID: 8-4-4-4-12 hexadecimal digits",
                    clip(t.transactionId)));
        }
        t.timestamp = string(root, "timestamp", errors);
        boolean timeOk = false;
        if (t.timestamp != null) {
            try {
                Instant at = OffsetDateTime.parse(t.timestamp, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
                t.eventNanos = Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000_000L), at.getNano());
                timeOk = true;
            } catch (DateTimeParseException | ArithmeticException e) {
                errors.add(new ErrorDetail("timestamp", "iso8601",
                        "ISO 8601 date-time with zone, e.g. 2026-11-26T01:02:03.456Z", clip(t.timestamp)));
            }
        }
        if (timeOk) {
            long now = wallClock.getAsLong();
            if (t.eventMillis() > now + MAX_FUTURE_MILLIS) {
                errors.add(new ErrorDetail("timestamp", "not_future",
                        "at most 1 minute after processing time " + Instant.ofEpochMilli(now),
                        clip(t.timestamp)));
            }
        }
        t.accountId = string(root, "account_id", errors);
        if (t.accountId != null && !isAlphanumeric(t.accountId)) {
            errors.add(new ErrorDetail("account_id", "alphanumeric", "letters and digits only, non-empty",
                    clip(t.accountId)));
        }
        t.transactionType = string(root, "transaction_type", errors);
        if (t.transactionType != null && !TYPES.contains(t.transactionType)) {
            errors.add(new ErrorDetail("transaction_type", "enum", "one of purchase, withdrawal, transfer, refund",
                    clip(t.transactionType)));
        }
        JsonNode amount = present(root, "amount", "non-null decimal", errors);
        t.currency = string(root, "currency", errors);
        boolean currencyOk = t.currency != null && CURRENCIES.contains(t.currency);
        if (t.currency != null && !currencyOk) {
            errors.add(new ErrorDetail("currency", "iso4217", "ISO 4217 currency code, e.g. USD", clip(t.currency)));
        }
        if (amount != null) {
            if (!amount.isNumber()) {
                errors.add(new ErrorDetail("amount", "decimal", "a JSON number", clip(amount.toString())));
            } else {
                t.amount = amount.decimalValue();
                checkAmount(t, currencyOk, errors);
            }
        }
        t.merchantName = string(root, "merchant_name", errors);
        if (t.merchantName != null && t.merchantName.isBlank()) {
            errors.add(new ErrorDetail("merchant_name", "non_blank", "a non-blank merchant name", clip(t.merchantName)));
        }
        t.merchantCategory = string(root, "merchant_category", errors);
        if (t.merchantCategory != null && !CATEGORIES.contains(t.merchantCategory)) {
            errors.add(new ErrorDetail("merchant_category", "enum",
                    "one of retail, dining, travel, online, groceries, entertainment, utilities",
                    clip(t.merchantCategory)));
        }
        t.locationCountry = string(root, "location_country", errors);
        if (t.locationCountry != null && !COUNTRIES.contains(t.locationCountry)) {
            errors.add(new ErrorDetail("location_country", "iso3166_alpha2",
                    "ISO 3166-1 alpha-2 country code, e.g. FR", clip(t.locationCountry)));
        }
        t.status = string(root, "status", errors);
        if (t.status != null && !STATUSES.contains(t.status)) {
            errors.add(new ErrorDetail("status", "enum", "one of pending, completed, failed, reversed",
                    clip(t.status)));
        }
        return timeOk ? t : null;
    }

    /**
     * Money is never silently changed: an amount with more decimals than its currency's minor unit (ISO 4217:
     * 2 for USD, EUR, GBP, 0 for JPY), judged on the value (10.500 USD and 1000.0 JPY are fine), or beyond the
     * lake's decimal(18,2), is rejected rather than rounded downstream.
     */
    private static void checkAmount(Txn t, boolean currencyOk, List<ErrorDetail> errors) {
        String plain = plain(t.amount);
        if (t.amount.signum() == 0) {
            errors.add(new ErrorDetail("amount", "non_zero", "non-zero decimal", plain));
            return;
        }
        if (t.amount.signum() < 0 && t.transactionType != null && TYPES.contains(t.transactionType)
                && !"refund".equals(t.transactionType)) {
            errors.add(new ErrorDetail("amount", "sign", "positive, negative only for refunds",
                    plain + " (" + t.transactionType + ")"));
        }
        if (t.amount.abs().compareTo(EnrichedTransaction.MAX_AMOUNT) > 0) {
            errors.add(new ErrorDetail("amount", "range", EnrichedTransaction.RANGE_EXPECTED, plain));
        }
        int digits = currencyOk ? minorUnits(t.currency) : -1;
        if (digits >= 0 && t.amount.stripTrailingZeros().scale() > digits) {
            errors.add(new ErrorDetail("amount", "minor_units",
                    "at most " + digits + " decimal" + (digits == 1 ? "" : "s") + " (the minor unit of " + t.currency
                            + ")",
                    plain));
        }
    }

    /**
     * The check of amount_usd, which the engine computes from the FX table in force: null when {@code usd} (the
     * rounded column value) fits the lake's decimal(18,2), else the error to dead-letter.
     */
    public static ErrorDetail amountUsdError(BigDecimal usd) {
        if (usd.abs().compareTo(EnrichedTransaction.MAX_AMOUNT) <= 0) {
            return null;
        }
        return new ErrorDetail("amount_usd", "range", EnrichedTransaction.RANGE_EXPECTED, plain(usd));
    }

    /** A decimal as written in dead letters: plain digits, or scientific when the exponent is extreme. */
    static String plain(BigDecimal d) {
        return clip(Math.abs(d.scale()) > 64 ? d.toString() : d.toPlainString());
    }

    /** Decimals of a currency's minor unit (ISO 4217), -1 when it has none (XAU, XXX, ...). */
    public static int minorUnits(String currency) {
        return Currency.getInstance(currency).getDefaultFractionDigits();
    }

    private String decode(byte[] value) throws CharacterCodingException {
        // Fast path: pure ASCII is valid UTF-8.
        boolean ascii = true;
        for (byte b : value) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(value, StandardCharsets.ISO_8859_1);
        }
        CharBuffer chars = utf8.reset().decode(ByteBuffer.wrap(value));
        return chars.toString();
    }

    private static JsonNode present(JsonNode root, String field, String expected, List<ErrorDetail> errors) {
        JsonNode n = root.get(field);
        if (n == null) {
            errors.add(new ErrorDetail(field, "required", "field present", "missing"));
            return null;
        }
        if (n.isNull()) {
            errors.add(new ErrorDetail(field, "not_null", expected, "null"));
            return null;
        }
        return n;
    }

    private static String string(JsonNode root, String field, List<ErrorDetail> errors) {
        JsonNode n = present(root, field, "non-null string", errors);
        if (n == null) {
            return null;
        }
        if (!n.isTextual()) {
            errors.add(new ErrorDetail(field, "type", "a JSON string", clip(n.toString())));
            return null;
        }
        return n.textValue();
    }

    static boolean isUuid(String s) {
        if (s.length() != 36) {
            return false;
        }
        for (int i = 0; i < 36; i++) {
            char c = s.charAt(i);
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (c != '-') {
                    return false;
                }
            } else if (Character.digit(c, 16) < 0 || c > 'f') {
                return false;
            }
        }
        return true;
    }

    static boolean isAlphanumeric(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
                return false;
            }
        }
        return true;
    }

    private static Set<String> currencyCodes() {
        Set<String> codes = new HashSet<>();
        for (Currency c : Currency.getAvailableCurrencies()) {
            codes.add(c.getCurrencyCode());
        }
        return Set.copyOf(codes);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unparseable";
        }
        int nl = s.indexOf('\n');
        return clip(nl >= 0 ? s.substring(0, nl) : s);
    }

    static String clip(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
