package io.finlake.flinkjob.validate;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.finlake.flinkjob.contract.EnrichedTransaction;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.Parsed;
import io.finlake.flinkjob.model.Txn;
import java.io.IOException;
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
import java.util.Arrays;
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

    /** Indexes into {@link #REQUIRED}, the field table of the record being checked. */
    private static final int F_TRANSACTION_ID = 0, F_TIMESTAMP = 1, F_ACCOUNT_ID = 2, F_AMOUNT = 3, F_CURRENCY = 4,
            F_MERCHANT_NAME = 5, F_MERCHANT_CATEGORY = 6, F_TRANSACTION_TYPE = 7, F_LOCATION_COUNTRY = 8,
            F_STATUS = 9;
    /** What a field of the table holds: absent, JSON null, the expected type, or another type. */
    private static final byte MISSING = 0, NULL = 1, VALUE = 2, OTHER = 3;
    /** The streaming parser's factory: same read constraints as MAPPER's; duplicates are caught by the table. */
    private static final JsonFactory FLAT = JsonFactory.builder().build();

    private final LongSupplier wallClock;
    private final boolean generationTimeIsEventTime;
    /** False: every record through the tree (the reference the fast path is tested against). */
    private final boolean streaming;
    private final byte[] kind = new byte[REQUIRED.length];
    /** A string field's value, or for {@link #OTHER} the field's JSON text (as in the error message). */
    private final String[] str = new String[REQUIRED.length];
    private BigDecimal number;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);

    /**
     * @param wallClock processing time in epoch millis, for the "not in the future" check
     * @param generationTimeIsEventTime replay mode: a record has no Kafka timestamp, its generation time is
     *     its own {@code timestamp}
     */
    public Validator(LongSupplier wallClock, boolean generationTimeIsEventTime) {
        this(wallClock, generationTimeIsEventTime, true);
    }

    Validator(LongSupplier wallClock, boolean generationTimeIsEventTime, boolean streaming) {
        this.wallClock = wallClock;
        this.generationTimeIsEventTime = generationTimeIsEventTime;
        this.streaming = streaming;
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
        if (!(streaming && readFlat(value)) && !readTree(text, errors)) {
            return null;
        }
        Txn t = new Txn();
        t.raw = text;
        t.transactionId = string(F_TRANSACTION_ID, errors);
        if (t.transactionId != null && !isUuid(t.transactionId)) {
            errors.add(new ErrorDetail("transaction_id", "uuid", "UUID: 8-4-4-4-12 hexadecimal digits",
                    clip(t.transactionId)));
        }
        t.timestamp = string(F_TIMESTAMP, errors);
        boolean timeOk = false;
        if (t.timestamp != null) {
            long nanos = Timestamps.utcEpochNanos(t.timestamp);
            if (nanos != Timestamps.NOT_SIMPLE) {
                t.eventNanos = nanos;
                timeOk = true;
            } else {
                try {
                    Instant at = OffsetDateTime.parse(t.timestamp, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
                    t.eventNanos = Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000_000L), at.getNano());
                    timeOk = true;
                } catch (DateTimeParseException | ArithmeticException e) {
                    errors.add(new ErrorDetail("timestamp", "iso8601",
                            "ISO 8601 date-time with zone, e.g. 2026-11-26T01:02:03.456Z", clip(t.timestamp)));
                }
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
        t.accountId = string(F_ACCOUNT_ID, errors);
        if (t.accountId != null && !isAlphanumeric(t.accountId)) {
            errors.add(new ErrorDetail("account_id", "alphanumeric", "letters and digits only, non-empty",
                    clip(t.accountId)));
        }
        t.transactionType = string(F_TRANSACTION_TYPE, errors);
        if (t.transactionType != null && !TYPES.contains(t.transactionType)) {
            errors.add(new ErrorDetail("transaction_type", "enum", "one of purchase, withdrawal, transfer, refund",
                    clip(t.transactionType)));
        }
        boolean amount = present(F_AMOUNT, "non-null decimal", errors);
        t.currency = string(F_CURRENCY, errors);
        boolean currencyOk = t.currency != null && CURRENCIES.contains(t.currency);
        if (t.currency != null && !currencyOk) {
            errors.add(new ErrorDetail("currency", "iso4217", "ISO 4217 currency code, e.g. USD", clip(t.currency)));
        }
        if (amount) {
            if (kind[F_AMOUNT] == OTHER) {
                errors.add(new ErrorDetail("amount", "decimal", "a JSON number", clip(str[F_AMOUNT])));
            } else {
                t.amount = number;
                checkAmount(t, currencyOk, errors);
            }
        }
        t.merchantName = string(F_MERCHANT_NAME, errors);
        if (t.merchantName != null && t.merchantName.isBlank()) {
            errors.add(new ErrorDetail("merchant_name", "non_blank", "a non-blank merchant name", clip(t.merchantName)));
        }
        t.merchantCategory = string(F_MERCHANT_CATEGORY, errors);
        if (t.merchantCategory != null && !CATEGORIES.contains(t.merchantCategory)) {
            errors.add(new ErrorDetail("merchant_category", "enum",
                    "one of retail, dining, travel, online, groceries, entertainment, utilities",
                    clip(t.merchantCategory)));
        }
        t.locationCountry = string(F_LOCATION_COUNTRY, errors);
        if (t.locationCountry != null && !COUNTRIES.contains(t.locationCountry)) {
            errors.add(new ErrorDetail("location_country", "iso3166_alpha2",
                    "ISO 3166-1 alpha-2 country code, e.g. FR", clip(t.locationCountry)));
        }
        t.status = string(F_STATUS, errors);
        if (t.status != null && !STATUSES.contains(t.status)) {
            errors.add(new ErrorDetail("status", "enum", "one of pending, completed, failed, reversed",
                    clip(t.status)));
        }
        return timeOk ? t : null;
    }

    /**
     * The fast path, for the common record: a flat object of the known fields only, each at most once, with
     * a string (amount: a number) or null each. Fills the field table straight from Jackson's streaming parser,
     * without a tree. Anything else (nesting, other types, unknown or repeated fields, bad JSON) returns false
     * and the record goes through {@link #readTree}, which owns every error message about the record's shape.
     */
    boolean readFlat(byte[] value) {
        Arrays.fill(kind, MISSING);
        Arrays.fill(str, null);
        number = null;
        try (JsonParser p = FLAT.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            String name;
            while ((name = p.nextFieldName()) != null) {
                int i = fieldIndex(name);
                if (i < 0 || kind[i] != MISSING) {
                    return false;
                }
                JsonToken tok = p.nextToken();
                if (tok == JsonToken.VALUE_NULL) {
                    kind[i] = NULL;
                } else if (i == F_AMOUNT) {
                    if (tok != JsonToken.VALUE_NUMBER_INT && tok != JsonToken.VALUE_NUMBER_FLOAT) {
                        return false;
                    }
                    number = p.getDecimalValue();
                    kind[i] = VALUE;
                } else if (tok == JsonToken.VALUE_STRING) {
                    str[i] = p.getText();
                    kind[i] = VALUE;
                } else {
                    return false;
                }
            }
            return p.currentToken() == JsonToken.END_OBJECT && p.nextToken() == null;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The general path: the record as a Jackson tree; false (with the error) when it is not a JSON object. */
    private boolean readTree(String text, List<ErrorDetail> errors) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            errors.add(new ErrorDetail("$", "json", "a JSON object", "not JSON: " + firstLine(e.getOriginalMessage())));
            return false;
        }
        if (root == null || !root.isObject()) {
            errors.add(new ErrorDetail("$", "json", "a JSON object",
                    root == null ? "empty input" : "JSON " + root.getNodeType().name().toLowerCase(Locale.ROOT)));
            return false;
        }
        number = null;
        for (int i = 0; i < REQUIRED.length; i++) {
            JsonNode n = root.get(REQUIRED[i]);
            str[i] = null;
            if (n == null) {
                kind[i] = MISSING;
            } else if (n.isNull()) {
                kind[i] = NULL;
            } else if (i == F_AMOUNT ? n.isNumber() : n.isTextual()) {
                kind[i] = VALUE;
                if (i == F_AMOUNT) {
                    number = n.decimalValue();
                } else {
                    str[i] = n.textValue();
                }
            } else {
                kind[i] = OTHER;
                str[i] = n.toString();
            }
        }
        return true;
    }

    /**
     * Money is never silently changed: an amount with more decimals than its currency's minor unit (ISO 4217:
     * 2 for USD, EUR, GBP, 0 for JPY), judged on the value (10.500 USD and 1000.0 JPY are fine), or beyond the
     * lake's decimal(18,2), is rejected rather than rounded downstream.
     */
    private static void checkAmount(Txn t, boolean currencyOk, List<ErrorDetail> errors) {
        if (t.amount.signum() == 0) {
            errors.add(new ErrorDetail("amount", "non_zero", "non-zero decimal", plain(t.amount)));
            return;
        }
        if (t.amount.signum() < 0 && t.transactionType != null && TYPES.contains(t.transactionType)
                && !"refund".equals(t.transactionType)) {
            errors.add(new ErrorDetail("amount", "sign", "positive, negative only for refunds",
                    plain(t.amount) + " (" + t.transactionType + ")"));
        }
        if (t.amount.abs().compareTo(EnrichedTransaction.MAX_AMOUNT) > 0) {
            errors.add(new ErrorDetail("amount", "range", EnrichedTransaction.RANGE_EXPECTED, plain(t.amount)));
        }
        int digits = currencyOk ? minorUnits(t.currency) : -1;
        if (digits >= 0 && t.amount.stripTrailingZeros().scale() > digits) {
            errors.add(new ErrorDetail("amount", "minor_units",
                    "at most " + digits + " decimal" + (digits == 1 ? "" : "s") + " (the minor unit of " + t.currency
                            + ")",
                    plain(t.amount)));
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

    /** Whether field {@code i} holds a value; reports it missing or null otherwise. */
    private boolean present(int i, String expected, List<ErrorDetail> errors) {
        if (kind[i] == MISSING) {
            errors.add(new ErrorDetail(REQUIRED[i], "required", "field present", "missing"));
            return false;
        }
        if (kind[i] == NULL) {
            errors.add(new ErrorDetail(REQUIRED[i], "not_null", expected, "null"));
            return false;
        }
        return true;
    }

    private String string(int i, List<ErrorDetail> errors) {
        if (!present(i, "non-null string", errors)) {
            return null;
        }
        if (kind[i] == OTHER) {
            errors.add(new ErrorDetail(REQUIRED[i], "type", "a JSON string", clip(str[i])));
            return null;
        }
        return str[i];
    }

    private static int fieldIndex(String name) {
        return switch (name) {
            case "transaction_id" -> F_TRANSACTION_ID;
            case "timestamp" -> F_TIMESTAMP;
            case "account_id" -> F_ACCOUNT_ID;
            case "amount" -> F_AMOUNT;
            case "currency" -> F_CURRENCY;
            case "merchant_name" -> F_MERCHANT_NAME;
            case "merchant_category" -> F_MERCHANT_CATEGORY;
            case "transaction_type" -> F_TRANSACTION_TYPE;
            case "location_country" -> F_LOCATION_COUNTRY;
            case "status" -> F_STATUS;
            default -> -1;
        };
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
