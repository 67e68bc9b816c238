package dev.asyncdiff.samplers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A diffusers {@code scheduler_config.json}: its snake_case keys read with typed getters that take
 * the sampler's documented default when a key is missing or {@code null}, and fail with an
 * {@link IllegalArgumentException} naming the key and what was expected when a value has the wrong
 * type or is out of range. Immutable and thread-safe.
 */
public final class SchedulerConfig {
    private static final Logger LOG = LoggerFactory.getLogger(SchedulerConfig.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final ObjectNode node;
    private final String source;

    private SchedulerConfig(ObjectNode node, String source) {
        this.node = node;
        this.source = source;
    }

    /**
     * Parses a config from JSON text.
     *
     * @throws IllegalArgumentException when the text is not a JSON object
     */
    public static SchedulerConfig parse(String json) {
        return parse(json, "scheduler config");
    }

    /**
     * Reads and parses a {@code scheduler_config.json} file.
     *
     * @throws IllegalArgumentException when the file is missing, unreadable or not a JSON object
     */
    public static SchedulerConfig read(Path file) {
        if (file == null) {
            throw new IllegalArgumentException("scheduler config path must not be null");
        }
        try {
            return parse(Files.readString(file), file.toString());
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("scheduler config " + file + " does not exist", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read scheduler config " + file + ": " + e.getMessage(), e);
        }
    }

    /** An empty config: every key takes its default. */
    public static SchedulerConfig empty() {
        return new SchedulerConfig(JsonNodeFactory.instance.objectNode(), "scheduler config");
    }

    private static SchedulerConfig parse(String json, String source) {
        if (json == null) {
            throw new IllegalArgumentException(source + ": JSON text must not be null");
        }
        JsonNode tree;
        try {
            tree = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (tree == null || !tree.isObject()) {
            throw new IllegalArgumentException(source + " must be a JSON object, was "
                    + (tree == null ? "empty" : tree.getNodeType()));
        }
        return new SchedulerConfig((ObjectNode) tree, source);
    }

    /** Where the config came from (a file name or "scheduler config"), for messages. */
    public String source() {
        return source;
    }

    /** The {@code _class_name} entry, or {@code null} when absent. */
    public String className() {
        JsonNode value = node.get("_class_name");
        return value == null || value.isNull() ? null : value.asText();
    }

    /** A copy with {@code values} set, replacing what the config had for those keys. */
    public SchedulerConfig with(Map<String, ?> values) {
        ObjectNode copy = node.deepCopy();
        values.forEach((key, value) -> copy.set(key, MAPPER.valueToTree(value)));
        return new SchedulerConfig(copy, source);
    }

    /** A copy with {@code values} set only for keys that are missing or {@code null}. */
    public SchedulerConfig withDefaults(Map<String, ?> values) {
        ObjectNode copy = node.deepCopy();
        values.forEach((key, value) -> {
            if (isAbsent(copy.get(key))) {
                copy.set(key, MAPPER.valueToTree(value));
            }
        });
        return new SchedulerConfig(copy, source);
    }

    /** Whether {@code key} is present with a non-null value. */
    public boolean has(String key) {
        return !isAbsent(node.get(key));
    }

    /** An integer value, or {@code fallback} when missing or null. */
    public int getInt(String key, int fallback) {
        JsonNode value = node.get(key);
        if (isAbsent(value)) {
            return fallback;
        }
        if (!value.canConvertToInt() || !(value.isIntegralNumber()
                || value.isNumber() && value.asDouble() == Math.rint(value.asDouble()))) {
            throw invalid(key, "an integer", value);
        }
        return value.asInt();
    }

    /** A number, or {@code fallback} when missing or null. */
    public double getDouble(String key, double fallback) {
        Double value = getOptionalDouble(key);
        return value == null ? fallback : value;
    }

    /** A number, or {@code null} when missing or null. */
    public Double getOptionalDouble(String key) {
        JsonNode value = node.get(key);
        if (isAbsent(value)) {
            return null;
        }
        if (!value.isNumber()) {
            throw invalid(key, "a number", value);
        }
        return value.asDouble();
    }

    /** A boolean, or {@code fallback} when missing or null. */
    public boolean getBoolean(String key, boolean fallback) {
        JsonNode value = node.get(key);
        if (isAbsent(value)) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw invalid(key, "true or false", value);
        }
        return value.asBoolean();
    }

    /**
     * A string that must be one of {@code allowed}, or {@code fallback} when missing or null.
     *
     * @throws IllegalArgumentException naming the key and the allowed values otherwise
     */
    public String getChoice(String key, String fallback, String... allowed) {
        JsonNode value = node.get(key);
        if (isAbsent(value)) {
            return fallback;
        }
        if (!value.isTextual() || !Arrays.asList(allowed).contains(value.asText())) {
            throw invalid(key, "one of " + String.join(", ", allowed), value);
        }
        return value.asText();
    }

    /** A list of numbers, or {@code null} when missing or null. */
    public double[] getDoubleArray(String key) {
        JsonNode value = node.get(key);
        if (isAbsent(value)) {
            return null;
        }
        if (!value.isArray()) {
            throw invalid(key, "a list of numbers", value);
        }
        double[] out = new double[value.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode element = value.get(i);
            if (!element.isNumber()) {
                throw invalid(key, "a list of numbers (element " + i + ")", element);
            }
            out[i] = element.asDouble();
        }
        return out;
    }

    /** A list of integers, empty when missing or null. */
    public int[] getIntArray(String key) {
        double[] values = getDoubleArray(key);
        if (values == null) {
            return new int[0];
        }
        int[] out = new int[values.length];
        for (int i = 0; i < out.length; i++) {
            if (values[i] != Math.rint(values[i])) {
                throw invalid(key, "a list of integers", node.get(key));
            }
            out[i] = (int) values[i];
        }
        return out;
    }

    /**
     * Logs at debug level the keys this config has that {@code sampler} does not read (keys
     * starting with {@code _} are metadata and never reported). Such keys are legal: a config
     * swapped in from another scheduler carries them.
     */
    public void logUnusedKeys(String sampler, Set<String> known) {
        if (!LOG.isDebugEnabled()) {
            return;
        }
        List<String> unused = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!key.startsWith("_") && !known.contains(key)) {
                unused.add(key);
            }
        }
        if (!unused.isEmpty()) {
            LOG.debug("{}: {} ignores keys {}", source, sampler, new TreeSet<>(unused));
        }
    }

    /** An exception for an out-of-range value of {@code key}. */
    public IllegalArgumentException outOfRange(String key, String expected, Object found) {
        return new IllegalArgumentException(source + ": key '" + key + "' must be " + expected + ", was " + found);
    }

    @Override
    public String toString() {
        return source + " " + node;
    }

    private IllegalArgumentException invalid(String key, String expected, JsonNode found) {
        return outOfRange(key, expected, found);
    }

    private static boolean isAbsent(JsonNode value) {
        return value == null || value.isNull() || value.isMissingNode();
    }
}
