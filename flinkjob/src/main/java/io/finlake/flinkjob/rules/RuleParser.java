package io.finlake.flinkjob.rules;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.finlake.flinkjob.model.RuleUpdate;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads rule and FX records (alert-rules JSON, or the YAML files for replay). */
public final class RuleParser {
    public static final String FX_KEY = "_fx_rates";
    private static final Set<String> SEVERITIES = Set.of("low", "medium", "high", "critical");
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");
    private static final Pattern HHMM = Pattern.compile("([01]?\\d|2[0-4]):([0-5]\\d)(?::([0-5]\\d))?");
    private static final long NANOS_PER_DAY = 86_400_000_000_000L;

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();
    private static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory())
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .disable(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .build();

    private RuleParser() {}

    /** Thrown for a record the job cannot use; the message says what is wrong. */
    public static final class InvalidRuleException extends Exception {
        public InvalidRuleException(String message) {
            super(message);
        }
    }

    public static Rule parseRule(String key, String json) throws InvalidRuleException {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRuleException("rule " + key + " is not JSON: " + e.getOriginalMessage());
        }
        return parseRule(key, n);
    }

    static Rule parseRule(String key, JsonNode n) throws InvalidRuleException {
        if (n == null || !n.isObject()) {
            throw new InvalidRuleException("rule " + key + " must be a JSON object");
        }
        Rule r = new Rule();
        r.name = text(n, "rule_name", key);
        if (r.name == null || r.name.isEmpty()) {
            throw new InvalidRuleException("rule with key " + key + " has no rule_name");
        }
        r.type = text(n, "rule_type", null);
        r.version = n.path("version").asLong(1);
        r.enabled = !n.has("enabled") || n.get("enabled").asBoolean(true);
        r.severity = text(n, "severity", "medium");
        if (!SEVERITIES.contains(r.severity)) {
            throw new InvalidRuleException("rule " + r.name + ": severity " + r.severity + " is not low|medium|high|critical");
        }
        r.description = text(n, "description", "");
        JsonNode p = n.path("params");
        if (r.type == null) {
            throw new InvalidRuleException("rule " + r.name + " has no rule_type");
        }
        switch (r.type) {
            case Rule.THRESHOLD -> {
                r.amountUsd = decimal(p, "amount_usd", r.name);
            }
            case Rule.VELOCITY -> {
                r.count = (int) positiveLong(p, "count", r.name);
                r.windowText = text(p, "window", null);
                r.windowNanos = durationNanos(r.windowText, r.name + ".params.window");
            }
            case Rule.TIME_OF_DAY -> {
                r.startText = text(p, "start", null);
                r.endText = text(p, "end", null);
                r.startNanos = timeOfDayNanos(r.startText, r.name + ".params.start");
                r.endNanos = timeOfDayNanos(r.endText, r.name + ".params.end");
                r.timezone = text(p, "timezone", "UTC");
                try {
                    ZoneId.of(r.timezone);
                } catch (DateTimeException e) {
                    throw new InvalidRuleException("rule " + r.name + ": timezone " + r.timezone + " is not a zone id");
                }
            }
            case Rule.NEW_COUNTRY -> {
                JsonNode mh = p.get("min_history");
                if (mh == null || !mh.canConvertToInt() || mh.asInt() < 0) {
                    throw new InvalidRuleException("rule " + r.name + ": params.min_history must be an integer >= 0");
                }
                r.minHistory = mh.asInt();
                r.lookbackText = text(p, "lookback", null);
                r.lookbackNanos = durationNanos(r.lookbackText, r.name + ".params.lookback");
            }
            default -> throw new InvalidRuleException("rule " + r.name + ": unknown rule_type " + r.type
                    + " (threshold, velocity, time_of_day, new_country)");
        }
        return r;
    }

    public static FxTable parseFx(String json) throws InvalidRuleException {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRuleException("_fx_rates is not JSON: " + e.getOriginalMessage());
        }
        JsonNode rates = n == null ? null : n.get("usd_per_unit");
        if (rates == null || !rates.isObject()) {
            throw new InvalidRuleException("_fx_rates needs usd_per_unit: {CURRENCY: USD per unit}");
        }
        Map<String, BigDecimal> m = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = rates.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            BigDecimal v = asDecimal(e.getValue());
            if (v == null || v.signum() <= 0) {
                throw new InvalidRuleException("_fx_rates." + e.getKey() + " must be a positive number");
            }
            m.put(e.getKey().toUpperCase(Locale.ROOT), v);
        }
        return new FxTable(m, n.path("version").asLong(1));
    }

    /** Parses "1m", "30d", "500ms" (also sums such as "1h30m"). */
    public static long durationNanos(String s, String what) throws InvalidRuleException {
        if (s == null || s.isEmpty()) {
            throw new InvalidRuleException(what + " is missing: write e.g. 1m or 30d");
        }
        Matcher m = DURATION.matcher(s.trim());
        long total = 0;
        int end = 0;
        while (m.find() && m.start() == end) {
            long n = Long.parseLong(m.group(1));
            long unit = switch (m.group(2)) {
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                default -> NANOS_PER_DAY;
            };
            total = Math.addExact(total, Math.multiplyExact(n, unit));
            end = m.end();
        }
        if (end != s.trim().length() || total <= 0) {
            throw new InvalidRuleException(what + ": " + s + " is not a positive duration such as 1m or 30d");
        }
        return total;
    }

    static long timeOfDayNanos(String s, String what) throws InvalidRuleException {
        Matcher m = s == null ? null : HHMM.matcher(s.trim());
        if (m == null || !m.matches()) {
            throw new InvalidRuleException(what + ": " + s + " is not a time \"HH:MM\"");
        }
        long secs = Long.parseLong(m.group(1)) * 3600 + Long.parseLong(m.group(2)) * 60
                + (m.group(3) == null ? 0 : Long.parseLong(m.group(3)));
        if (secs > 86_400) {
            throw new InvalidRuleException(what + ": " + s + " is after 24:00");
        }
        return secs * 1_000_000_000L;
    }

    /** The alert-rules records equivalent to config/rules.yaml and config/fx_rates.yaml (versions default 1). */
    public static List<RuleUpdate> fromYaml(Path rulesFile, Path fxFile) throws IOException, InvalidRuleException {
        List<RuleUpdate> out = new ArrayList<>();
        long offset = 0;
        if (rulesFile != null) {
            JsonNode root = YAML.readTree(Files.readAllBytes(rulesFile));
            JsonNode list = root == null ? null : (root.isArray() ? root : root.get("rules"));
            if (list == null || !list.isArray()) {
                throw new InvalidRuleException(rulesFile + ": expected a list under rules:");
            }
            for (JsonNode r : list) {
                if (!r.isObject()) {
                    throw new InvalidRuleException(rulesFile + ": each rule must be a mapping");
                }
                ObjectNode o = ((ObjectNode) r).deepCopy();
                if (!o.has("version")) {
                    o.put("version", 1);
                }
                String key = o.path("rule_name").asText();
                String json = JSON.writeValueAsString(o);
                parseRule(key, json); // fail fast with the rule's name
                out.add(new RuleUpdate(key, json, 0, offset++));
            }
        }
        if (fxFile != null) {
            JsonNode fx = YAML.readTree(Files.readAllBytes(fxFile));
            if (fx == null || !fx.isObject()) {
                throw new InvalidRuleException(fxFile + ": expected usd_per_unit: and version:");
            }
            ObjectNode o = ((ObjectNode) fx).deepCopy();
            if (!o.has("version")) {
                o.put("version", 1);
            }
            String json = JSON.writeValueAsString(o);
            parseFx(json);
            out.add(new RuleUpdate(FX_KEY, json, 0, offset));
        }
        return out;
    }

    private static String text(JsonNode n, String field, String dflt) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        return v.isValueNode() ? v.asText() : v.toString();
    }

    private static BigDecimal asDecimal(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isNumber()) {
            return v.decimalValue();
        }
        if (v.isTextual()) {
            try {
                return new BigDecimal(v.asText().trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    private static BigDecimal decimal(JsonNode p, String field, String rule) throws InvalidRuleException {
        BigDecimal v = asDecimal(p.get(field));
        if (v == null) {
            throw new InvalidRuleException("rule " + rule + ": params." + field + " must be a number");
        }
        return v;
    }

    private static long positiveLong(JsonNode p, String field, String rule) throws InvalidRuleException {
        BigDecimal v = asDecimal(p.get(field));
        if (v == null || v.signum() <= 0 || v.stripTrailingZeros().scale() > 0 || v.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
            throw new InvalidRuleException("rule " + rule + ": params." + field + " must be a positive integer");
        }
        return v.longValueExact();
    }
}
