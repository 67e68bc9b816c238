package dev.asyncdiff.examples.ddpm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;

/**
 * The keys of a diffusers {@code scheduler_config.json} a sampler reads: typed getters that take
 * the documented default when a key is missing or {@code null} and fail with an
 * {@link IllegalArgumentException} naming the key otherwise. Immutable and thread-safe.
 */
final class SchedulerKeys {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final String sampler;
    private final JsonNode root;

    private SchedulerKeys(String sampler, JsonNode root) {
        this.sampler = sampler;
        this.root = root;
    }

    /**
     * Parses {@code json} for {@code sampler} (named in messages).
     *
     * @throws IllegalArgumentException when the text is not a JSON object
     */
    static SchedulerKeys parse(String sampler, String json) {
        if (json == null) {
            throw new IllegalArgumentException(sampler + ": the scheduler config text must not be null");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(sampler + ": the scheduler config is not valid JSON: "
                    + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(sampler + ": the scheduler config must be a JSON object, was "
                    + (root == null ? "empty" : root.getNodeType()));
        }
        return new SchedulerKeys(sampler, root);
    }

    int getInt(String key, int fallback) {
        JsonNode value = value(key);
        if (value == null) {
            return fallback;
        }
        if (!value.isNumber() || !value.canConvertToInt() || value.asDouble() != Math.rint(value.asDouble())) {
            throw invalid(key, "an integer", value);
        }
        return value.asInt();
    }

    double getDouble(String key, double fallback) {
        JsonNode value = value(key);
        if (value == null) {
            return fallback;
        }
        if (!value.isNumber()) {
            throw invalid(key, "a number", value);
        }
        return value.asDouble();
    }

    boolean getBoolean(String key, boolean fallback) {
        JsonNode value = value(key);
        if (value == null) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw invalid(key, "true or false", value);
        }
        return value.asBoolean();
    }

    /** A string that must be one of {@code allowed}, or {@code fallback} when missing. */
    String getChoice(String key, String fallback, String... allowed) {
        JsonNode value = value(key);
        if (value == null) {
            return fallback;
        }
        if (!value.isTextual() || !Arrays.asList(allowed).contains(value.asText())) {
            throw invalid(key, allowed.length == 1 ? allowed[0] + " (the only value " + sampler + " supports)"
                    : "one of " + String.join(", ", allowed), value);
        }
        return value.asText();
    }

    /** A list of numbers, or null when missing. */
    double[] getDoubles(String key) {
        JsonNode value = value(key);
        if (value == null) {
            return null;
        }
        if (!value.isArray()) {
            throw invalid(key, "a list of numbers", value);
        }
        double[] out = new double[value.size()];
        for (int i = 0; i < out.length; i++) {
            if (!value.get(i).isNumber()) {
                throw invalid(key, "a list of numbers (element " + i + ")", value.get(i));
            }
            out[i] = value.get(i).asDouble();
        }
        return out;
    }

    /** An exception naming {@code key}, what it must be, and the value it has. */
    IllegalArgumentException outOfRange(String key, String expected, Object actual) {
        return new IllegalArgumentException(sampler + ": scheduler config key '" + key + "' must be " + expected
                + ", was " + actual);
    }

    private JsonNode value(String key) {
        JsonNode value = root.get(key);
        return value == null || value.isNull() ? null : value;
    }

    private IllegalArgumentException invalid(String key, String expected, JsonNode value) {
        return outOfRange(key, expected, value.toString());
    }
}
