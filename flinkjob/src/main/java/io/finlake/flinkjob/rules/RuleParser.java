package io.finlake.flinkjob.rules;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.finlake.flinkjob.model.ErrorDetail;
import io.finlake.flinkjob.model.RuleUpdate;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads rule and FX records (alert-rules JSON, or the YAML files for replay) in the one rule language that
 * {@code lakectl rules validate} (Go, rules/config.go) also enforces: the shared corpus in
 * contract/testdata/rules holds both to the same verdicts, and DATA_DICTIONARY.md ("Rule language") is the
 * grammar. Every rejection names the field and the check in the vocabulary both sides use.
 */
public final class RuleParser {
    /** The topic the rule and FX records travel on (KafkaIO reads it). */
    public static final String TOPIC = "alert-rules";
    public static final String FX_KEY = "_fx_rates";
    private static final Set<String> SEVERITIES = Set.of("low", "medium", "high", "critical");
    private static final Set<String> TYPES =
            Set.of(Rule.THRESHOLD, Rule.VELOCITY, Rule.TIME_OF_DAY, Rule.NEW_COUNTRY);
    private static final List<String> RULE_KEYS =
            List.of("rule_name", "rule_type", "version", "enabled", "severity", "description", "params");
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,127}");
    private static final Pattern DURATION = Pattern.compile("([1-9][0-9]*)(ms|s|m|h|d)");
    private static final Pattern HHMM = Pattern.compile("([01][0-9]|2[0-3]):([0-5][0-9])");
    private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
    private static final Set<String> ZONES = Set.copyOf(ZoneId.getAvailableZoneIds());
    private static final long NANOS_PER_DAY = 86_400_000_000_000L;
    /** Bound of velocity count and new_country min_history, the same in Go (rules.MaxCount). */
    public static final long MAX_COUNT = Integer.MAX_VALUE;

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();
    // YAML 1.1 would read yes/no/on/off as booleans; lakectl's YAML 1.2 parser reads them as strings, and
    // the rule language wants true or false: read them as strings too, so both reject `enabled: yes`.
    private static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory())
            .enable(YAMLParser.Feature.PARSE_BOOLEAN_LIKE_WORDS_AS_STRINGS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    private RuleParser() {}

    /**
     * A record the job cannot use: {@code field} (relative to the rule, e.g. params.count), {@code check} (the
     * rule of the grammar that failed, e.g. range), what was expected and what was found; written as the error
     * of the dead letter the job emits for it.
     */
    public static final class InvalidRuleException extends Exception {
        private final ErrorDetail detail;

        public InvalidRuleException(String field, String check, String expected, String actual) {
            super(field + " (" + check + "): expected " + expected + ", got " + actual);
            this.detail = new ErrorDetail(field, check, expected, actual);
        }

        private InvalidRuleException(String context, InvalidRuleException cause) {
            super(context + ": " + cause.getMessage());
            this.detail = cause.detail;
        }

        public ErrorDetail detail() {
            return detail;
        }

        public String field() {
            return detail.field;
        }

        public String check() {
            return detail.rule;
        }
    }

    public static Rule parseRule(String key, String json) throws InvalidRuleException {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRuleException("$", "json", "a JSON object", "not JSON: " + e.getOriginalMessage());
        }
        try {
            return parseRule(key, n);
        } catch (InvalidRuleException e) {
            throw new InvalidRuleException("rule " + key, e);
        }
    }

    /** @param key the alert-rules key, which must equal rule_name; null when there is none (YAML) */
    static Rule parseRule(String key, JsonNode n) throws InvalidRuleException {
        if (n == null || !n.isObject()) {
            throw new InvalidRuleException("$", "json", "a JSON object", n == null ? "nothing" : n.toString());
        }
        unknownKeys(n, "", RULE_KEYS);
        Rule r = new Rule();
        r.name = requiredText(n, "rule_name", "");
        if (r.name.startsWith("_")) {
            throw new InvalidRuleException("rule_name", "name",
                    "a name not starting with _ (reserved: the FX table travels as " + FX_KEY + ")", r.name);
        }
        if (!NAME.matcher(r.name).matches()) {
            throw new InvalidRuleException("rule_name", "name",
                    "letters, digits, _ . - starting with a letter, at most 128", r.name);
        }
        if (key != null && !key.equals(r.name)) {
            throw new InvalidRuleException("rule_name", "key", "the record key " + key, r.name);
        }
        r.type = requiredText(n, "rule_type", "");
        if (!TYPES.contains(r.type)) {
            throw new InvalidRuleException("rule_type", "enum", "threshold, velocity, time_of_day or new_country",
                    r.type);
        }
        r.version = n.has("version") ? integer(n, "version", "", 1, Long.MAX_VALUE) : 1;
        JsonNode en = n.get("enabled");
        if (en != null && !en.isBoolean()) {
            throw new InvalidRuleException("enabled", "type", "true or false", en.toString());
        }
        r.enabled = en == null || en.booleanValue();
        r.severity = requiredText(n, "severity", "");
        if (!SEVERITIES.contains(r.severity)) {
            throw new InvalidRuleException("severity", "enum", "low, medium, high or critical", r.severity);
        }
        r.description = requiredText(n, "description", "");
        JsonNode p = n.get("params");
        if (p == null) {
            throw new InvalidRuleException("params", "required", "the " + r.type + " parameters", "missing");
        }
        if (!p.isObject()) {
            throw new InvalidRuleException("params", "type", "a mapping of the " + r.type + " parameters",
                    p.toString());
        }
        switch (r.type) {
            case Rule.THRESHOLD -> {
                unknownKeys(p, "params.", List.of("amount_usd"));
                JsonNode v = required(p, "amount_usd", "params.");
                if (!v.isNumber()) {
                    throw new InvalidRuleException("params.amount_usd", "type", "a number", v.toString());
                }
                r.amountUsd = v.decimalValue();
                if (r.amountUsd.signum() <= 0) {
                    throw new InvalidRuleException("params.amount_usd", "range", "a positive number",
                            r.amountUsd.toPlainString());
                }
            }
            case Rule.VELOCITY -> {
                unknownKeys(p, "params.", List.of("count", "window"));
                r.count = (int) integer(p, "count", "params.", 1, MAX_COUNT);
                r.windowText = durationText(p, "window");
                r.windowNanos = durationNanos(r.windowText, "params.window");
            }
            case Rule.TIME_OF_DAY -> {
                unknownKeys(p, "params.", List.of("start", "end", "timezone"));
                r.startText = hhmm(p, "start");
                r.endText = hhmm(p, "end");
                r.startNanos = timeOfDayNanos(r.startText);
                r.endNanos = timeOfDayNanos(r.endText);
                if (r.startNanos == r.endNanos) {
                    throw new InvalidRuleException("params.end", "empty_window", "an end other than the start",
                            r.endText);
                }
                JsonNode tz = required(p, "timezone", "params.");
                if (!tz.isTextual() || !ZONES.contains(tz.textValue())) {
                    throw new InvalidRuleException("params.timezone", "timezone",
                            "an IANA time zone such as UTC or Europe/Paris", tz.isTextual() ? tz.textValue() : tz.toString());
                }
                r.timezone = tz.textValue();
            }
            case Rule.NEW_COUNTRY -> {
                unknownKeys(p, "params.", List.of("min_history", "lookback"));
                r.minHistory = (int) integer(p, "min_history", "params.", 0, MAX_COUNT);
                r.lookbackText = durationText(p, "lookback");
                r.lookbackNanos = durationNanos(r.lookbackText, "params.lookback");
            }
            default -> throw new IllegalStateException(r.type);
        }
        return r;
    }

    public static FxTable parseFx(String json) throws InvalidRuleException {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRuleException("$", "json", "a JSON object", "not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new InvalidRuleException("$", "json", "a JSON object", n == null ? "nothing" : n.toString());
        }
        unknownKeys(n, "", List.of("usd_per_unit", "version"));
        JsonNode rates = required(n, "usd_per_unit", "");
        if (!rates.isObject()) {
            throw new InvalidRuleException("usd_per_unit", "type", "a mapping {CURRENCY: USD per unit}",
                    rates.toString());
        }
        Map<String, BigDecimal> m = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = rates.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String field = "usd_per_unit." + e.getKey();
            if (!CURRENCY.matcher(e.getKey()).matches()) {
                throw new InvalidRuleException(field, "iso4217", "an ISO 4217 code (three capital letters)",
                        e.getKey());
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || v.decimalValue().signum() <= 0) {
                throw new InvalidRuleException(field, "range", "a positive number", v.toString());
            }
            if (e.getKey().equals("USD") && v.decimalValue().compareTo(BigDecimal.ONE) != 0) {
                throw new InvalidRuleException(field, "range", "1 (one USD is worth 1 USD)", v.toString());
            }
            m.put(e.getKey(), v.decimalValue());
        }
        long version = n.has("version") ? integer(n, "version", "", 1, Long.MAX_VALUE) : 1;
        return new FxTable(m, version);
    }

    /** Parses the one duration form of the rule language: 500ms, 90s, 1m, 24h, 30d (no sums, no zero). */
    public static long durationNanos(String s, String what) throws InvalidRuleException {
        Matcher m = s == null ? null : DURATION.matcher(s);
        if (m == null || !m.matches()) {
            throw new InvalidRuleException(what, "duration",
                    "one positive integer and one unit of ms, s, m, h, d (e.g. 1m, 90s, 30d)", String.valueOf(s));
        }
        long unit = switch (m.group(2)) {
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> NANOS_PER_DAY;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new InvalidRuleException(what, "duration", "at most " + Long.MAX_VALUE / NANOS_PER_DAY + "d", s);
        }
    }

    static long timeOfDayNanos(String hhmm) {
        return (Long.parseLong(hhmm.substring(0, 2)) * 60 + Long.parseLong(hhmm.substring(3))) * 60_000_000_000L;
    }

    private static void unknownKeys(JsonNode n, String prefix, List<String> allowed) throws InvalidRuleException {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw new InvalidRuleException(prefix + k, "unknown_key", "one of " + String.join(", ", allowed), k);
            }
        }
    }

    private static JsonNode required(JsonNode n, String field, String prefix) throws InvalidRuleException {
        JsonNode v = n.get(field);
        if (v == null) {
            throw new InvalidRuleException(prefix + field, "required", "field present", "missing");
        }
        return v;
    }

    private static String requiredText(JsonNode n, String field, String prefix) throws InvalidRuleException {
        JsonNode v = required(n, field, prefix);
        if (!v.isTextual()) {
            throw new InvalidRuleException(prefix + field, "type", "a non-empty string", v.toString());
        }
        if (v.textValue().isBlank()) {
            throw new InvalidRuleException(prefix + field, "non_blank", "a non-blank string", v.toString());
        }
        return v.textValue();
    }

    private static long integer(JsonNode n, String field, String prefix, long min, long max)
            throws InvalidRuleException {
        JsonNode v = required(n, field, prefix);
        if (!v.isIntegralNumber()) {
            throw new InvalidRuleException(prefix + field, "type", "an integer", v.toString());
        }
        if (!v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw new InvalidRuleException(prefix + field, "range", "an integer from " + min + " to " + max,
                    v.toString());
        }
        return v.longValue();
    }

    private static String durationText(JsonNode p, String field) throws InvalidRuleException {
        JsonNode v = required(p, field, "params.");
        return v.isTextual() ? v.textValue() : v.toString();
    }

    private static String hhmm(JsonNode p, String field) throws InvalidRuleException {
        JsonNode v = required(p, field, "params.");
        if (!v.isTextual()) {
            throw new InvalidRuleException("params." + field, "type", "a quoted time \"HH:MM\"", v.toString());
        }
        if (!HHMM.matcher(v.textValue()).matches()) {
            throw new InvalidRuleException("params." + field, "hhmm", "\"HH:MM\" in 24-hour form, 00:00 to 23:59",
                    v.textValue());
        }
        return v.textValue();
    }

    /**
     * The alert-rules records equivalent to config/rules.yaml and config/fx_rates.yaml (versions 1), judged as
     * {@code lakectl rules validate} judges the files; the first problem is thrown, naming file and rule.
     */
    public static List<RuleUpdate> fromYaml(Path rulesFile, Path fxFile) throws IOException, InvalidRuleException {
        List<RuleUpdate> out = new ArrayList<>();
        long offset = 0;
        if (rulesFile != null) {
            for (ObjectNode o : yamlRules(rulesFile)) {
                o.put("version", 1);
                String key = o.get("rule_name").textValue();
                out.add(new RuleUpdate(key, JSON.writeValueAsString(o), 0, offset++));
            }
        }
        if (fxFile != null) {
            JsonNode fx = YAML.readTree(Files.readAllBytes(fxFile));
            if (fx == null || !fx.isObject()) {
                throw new InvalidRuleException(fxFile.toString(), new InvalidRuleException("$", "type",
                        "a mapping with usd_per_unit and version", fx == null ? "nothing" : fx.toString()));
            }
            ObjectNode o = ((ObjectNode) fx).deepCopy();
            if (!o.has("version")) {
                o.put("version", 1);
            }
            String json = JSON.writeValueAsString(o);
            try {
                parseFx(json);
            } catch (InvalidRuleException e) {
                throw new InvalidRuleException(fxFile.toString(), e);
            }
            out.add(new RuleUpdate(FX_KEY, json, 0, offset));
        }
        return out;
    }

    /** The rules of a rules YAML file, each valid, names unique, without the version lakectl manages. */
    static List<ObjectNode> yamlRules(Path rulesFile) throws IOException, InvalidRuleException {
        JsonNode root = YAML.readTree(Files.readAllBytes(rulesFile));
        String file = rulesFile.toString();
        if (root == null || !root.isObject()) {
            throw new InvalidRuleException(file, new InvalidRuleException("$", "type", "a mapping with rules:",
                    root == null ? "nothing" : root.toString()));
        }
        try {
            unknownKeys(root, "", List.of("rules"));
        } catch (InvalidRuleException e) {
            throw new InvalidRuleException(file, e);
        }
        JsonNode list = root.get("rules");
        List<ObjectNode> out = new ArrayList<>();
        if (list == null || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            throw new InvalidRuleException(file, new InvalidRuleException("rules", "type", "a list of rules",
                    list.toString()));
        }
        Set<String> names = new java.util.HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode r = list.get(i);
            String where = file + ": rules[" + i + "]";
            try {
                if (r.has("version")) {
                    throw new InvalidRuleException("version", "unknown_key",
                            "no version (lakectl manages versions: it bumps them when a rule changes)", "version");
                }
                parseRule(null, r);
                if (!names.add(r.get("rule_name").textValue())) {
                    throw new InvalidRuleException("rule_name", "duplicate", "a rule_name used once",
                            r.get("rule_name").textValue());
                }
            } catch (InvalidRuleException e) {
                throw new InvalidRuleException(where, e);
            }
            out.add(((ObjectNode) r).deepCopy());
        }
        return out;
    }
}
