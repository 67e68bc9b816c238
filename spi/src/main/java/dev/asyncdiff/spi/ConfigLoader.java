package dev.asyncdiff.spi;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.asyncdiff.api.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link RuntimeConfig} from three layers, later ones winning: a config file, the
 * environment ({@value #ENV_BACKEND}, {@value #ENV_DEVICES}), and command-line flags
 * ({@link ConfigOverrides}). Parts no layer sets take {@link RuntimeConfig}'s defaults.
 *
 * <p>The config file is JSON ({@code .json}) or YAML ({@code .yaml}, {@code .yml}) with the
 * top-level keys {@code backend} (a name), {@code devices} (a list such as {@code [cpu:0, cpu:1]},
 * or one comma-separated string) and {@code backendOptions} (a mapping from backend name to that
 * backend's options, whose values are strings, numbers or booleans) and {@code placement} (parts of the
 * pipeline that run on another backend, {@link BackendPlacement}). Every key is optional; any other key
 * is an error. Only the options of the selected backend and of the placed ones reach the runtime.
 *
 * <p>Environment variables that are unset or blank are ignored. Stateless and thread-safe.
 */
public final class ConfigLoader {
    /** The environment variable that selects the backend by name. */
    public static final String ENV_BACKEND = "ASYNCDIFF_BACKEND";

    /** The environment variable that lists the devices, comma-separated. */
    public static final String ENV_DEVICES = "ASYNCDIFF_DEVICES";

    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);
    private static final String KEY_BACKEND = "backend";
    private static final String KEY_DEVICES = "devices";
    private static final String KEY_OPTIONS = "backendOptions";
    private static final String KEY_PLACEMENT = "placement";
    private static final List<String> KEYS = List.of(KEY_BACKEND, KEY_DEVICES, KEY_OPTIONS, KEY_PLACEMENT);

    private final Map<String, String> environment;

    /** A loader that reads the variables it needs from {@code environment} (e.g. {@link System#getenv()}). */
    public ConfigLoader(Map<String, String> environment) {
        this.environment = Map.copyOf(environment);
    }

    /** A loader over this process's environment. */
    public static ConfigLoader fromSystemEnvironment() {
        return new ConfigLoader(System.getenv());
    }

    /**
     * The configuration from {@code configFile} (null for none), then the environment, then {@code flags}.
     *
     * @throws ConfigException naming the file, variable or flag, and what was expected, when a layer
     *                         cannot be read or holds a bad value
     */
    public RuntimeConfig load(Path configFile, ConfigOverrides flags) {
        Layer merged = Layer.EMPTY;
        if (configFile != null) {
            merged = merged.then(readFile(configFile));
        }
        merged = merged.then(fromEnvironment());
        merged = merged.then(fromFlags(flags == null ? ConfigOverrides.none() : flags));

        String backend = merged.backend() == null ? RuntimeConfig.DEFAULT_BACKEND : merged.backend();
        Map<String, String> options = new LinkedHashMap<>(merged.options().getOrDefault(backend, Map.of()));
        if (flags != null) {
            options.putAll(flags.backendOptions());
        }
        try {
            BackendPlacement placement = new BackendPlacement(merged.placement());
            RuntimeConfig.Builder builder = RuntimeConfig.builder()
                    .backend(backend)
                    .devices(merged.devices() == null ? RuntimeConfig.DEFAULT_DEVICES : merged.devices())
                    .options(options)
                    .placement(placement);
            for (String placed : placement.byPart().values()) {
                if (!placed.equals(backend)) {
                    builder.options(placed, merged.options().getOrDefault(placed, Map.of()));
                }
            }
            RuntimeConfig config = builder.build();
            LOG.debug("runtime configuration: {}", config);
            return config;
        } catch (IllegalArgumentException e) {
            throw new ConfigException("invalid configuration: " + e.getMessage(), e);
        }
    }

    /** The configuration from the environment and {@code flags}, without a config file. */
    public RuntimeConfig load(ConfigOverrides flags) {
        return load(null, flags);
    }

    private Layer fromEnvironment() {
        String backend = nonBlank(environment.get(ENV_BACKEND));
        String devices = nonBlank(environment.get(ENV_DEVICES));
        String envSource = "environment variable ";
        return new Layer(
                backend == null ? null : backendName(backend.trim(), envSource + ENV_BACKEND),
                devices == null ? null : parseDevices(devices, envSource + ENV_DEVICES),
                Map.of(), Map.of());
    }

    private static Layer fromFlags(ConfigOverrides flags) {
        for (String key : flags.backendOptions().keySet()) {
            if (key == null || key.isBlank()) {
                throw new ConfigException("flag --backend-option: option names must not be blank");
            }
        }
        return new Layer(
                flags.backend() == null ? null : backendName(flags.backend().trim(), "flag --backend"),
                flags.devices() == null ? null : parseDevices(flags.devices(), "flag --devices"),
                flags.optionsByBackend(), flags.placement());
    }

    private static Layer readFile(Path file) {
        ObjectMapper mapper = mapperFor(file);
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("config file " + file + " not found"
                    + (Files.exists(file) ? " (it is not a regular file)" : ""));
        }
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new ConfigException("config file " + file + " is not valid "
                    + (mapper instanceof YAMLMapper ? "YAML" : "JSON") + ": " + e.getOriginalMessage()
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"), e);
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
        String source = "config file " + file;
        if (root == null || root.isMissingNode() || root.isNull()) {
            LOG.debug("{} is empty", source);
            return Layer.EMPTY;
        }
        if (!root.isObject()) {
            throw new ConfigException(source + ": expected a mapping with the keys " + String.join(", ", KEYS)
                    + " at the top level, found " + describe(root));
        }
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            String key = entry.getKey();
            if (!KEYS.contains(key)) {
                throw new ConfigException(source + ": unknown key '" + key + "'; expected one of "
                        + String.join(", ", KEYS));
            }
        }
        String backend = null;
        if (root.has(KEY_BACKEND)) {
            JsonNode node = root.get(KEY_BACKEND);
            if (!node.isTextual()) {
                throw new ConfigException(source + ": '" + KEY_BACKEND + "' must be a backend name, found "
                        + describe(node));
            }
            backend = backendName(node.asText().trim(), source);
        }
        List<Device> devices = root.has(KEY_DEVICES) ? fileDevices(root.get(KEY_DEVICES), source) : null;
        Map<String, Map<String, String>> options =
                root.has(KEY_OPTIONS) ? fileOptions(root.get(KEY_OPTIONS), source) : Map.of();
        Map<String, String> placement =
                root.has(KEY_PLACEMENT) ? filePlacement(root.get(KEY_PLACEMENT), source) : Map.of();
        return new Layer(backend, devices, options, placement);
    }

    private static ObjectMapper mapperFor(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".json")) {
            return JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        }
        if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            return YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        }
        throw new ConfigException("config file " + file + ": cannot tell its format; expected a name ending in "
                + ".json, .yaml or .yml");
    }

    private static List<Device> fileDevices(JsonNode node, String source) {
        String where = source + ", key '" + KEY_DEVICES + "'";
        if (node.isTextual()) {
            return parseDevices(node.asText(), where);
        }
        if (!node.isArray() || node.isEmpty()) {
            throw new ConfigException(where + ": expected a non-empty list of devices such as [cpu:0, cpu:1], found "
                    + describe(node));
        }
        List<String> texts = new ArrayList<>();
        for (JsonNode element : node) {
            if (!element.isTextual()) {
                throw new ConfigException(where + ": expected device strings such as cpu:0, found "
                        + describe(element));
            }
            texts.add(element.asText());
        }
        return parseDevices(texts, where);
    }

    private static Map<String, Map<String, String>> fileOptions(JsonNode node, String source) {
        if (!node.isObject()) {
            throw new ConfigException(source + ": '" + KEY_OPTIONS + "' must map backend names to their options, "
                    + "e.g. {onnx: {intraOpThreads: 2}}, found " + describe(node));
        }
        Map<String, Map<String, String>> byBackend = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> backend : node.properties()) {
            String path = KEY_OPTIONS + "." + backend.getKey();
            if (!backend.getValue().isObject()) {
                throw new ConfigException(source + ": '" + path + "' must map option names to values, found "
                        + describe(backend.getValue()));
            }
            Map<String, String> options = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> option : backend.getValue().properties()) {
                JsonNode value = option.getValue();
                if (!value.isValueNode() || value.isNull()) {
                    throw new ConfigException(source + ": '" + path + "." + option.getKey()
                            + "' must be a string, number or boolean, found " + describe(value));
                }
                options.put(option.getKey(), value.asText());
            }
            byBackend.put(backend.getKey(), Map.copyOf(options));
        }
        return byBackend;
    }

    private static Map<String, String> filePlacement(JsonNode node, String source) {
        if (!node.isObject()) {
            throw new ConfigException(source + ": '" + KEY_PLACEMENT + "' must map parts to backend names, e.g. "
                    + "{denoiser: tensorrt, vae: onnx, components.1.backend: onnx}, found " + describe(node));
        }
        Map<String, String> placement = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> part : node.properties()) {
            if (!part.getValue().isTextual()) {
                throw new ConfigException(source + ": '" + KEY_PLACEMENT + "." + part.getKey()
                        + "' must be a backend name, found " + describe(part.getValue()));
            }
            placement.put(part.getKey(), part.getValue().asText());
        }
        return placement;
    }

    private static List<Device> parseDevices(String commaSeparated, String source) {
        return parseDevices(List.of(commaSeparated.split(",", -1)), source);
    }

    private static List<Device> parseDevices(List<String> texts, String source) {
        List<Device> devices = new ArrayList<>();
        Set<Device> seen = new HashSet<>();
        for (String text : texts) {
            if (text.isBlank()) {
                throw new ConfigException("empty device in " + texts + " (from " + source
                        + "); expected a comma-separated list such as cpu:0,cpu:1");
            }
            Device device;
            try {
                device = Device.parse(text);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage() + " (from " + source + ")", e);
            }
            if (!seen.add(device)) {
                throw new ConfigException("device " + device + " is listed twice (from " + source + ")");
            }
            devices.add(device);
        }
        return List.copyOf(devices);
    }

    private static String backendName(String name, String source) {
        try {
            return RuntimeConfig.requireBackendName(name);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage() + " (from " + source + ")", e);
        }
    }

    private static String nonBlank(String value) {
        return value == null || value.isBlank() ? null : value;
    }

    private static String describe(JsonNode node) {
        if (node.isObject()) {
            return "a mapping";
        }
        if (node.isArray()) {
            return "a list";
        }
        if (node.isNull()) {
            return "nothing (null)";
        }
        return "'" + node.asText() + "' (" + node.getNodeType().name().toLowerCase(Locale.ROOT) + ")";
    }

    /** One layer's settings; null means "not set here". Options are keyed by backend name. */
    private record Layer(String backend, List<Device> devices, Map<String, Map<String, String>> options,
                         Map<String, String> placement) {
        static final Layer EMPTY = new Layer(null, null, Map.of(), Map.of());

        /** This layer with {@code later}'s settings on top. */
        Layer then(Layer later) {
            Map<String, Map<String, String>> mergedOptions = new LinkedHashMap<>(options);
            later.options().forEach((backendName, values) -> mergedOptions.merge(backendName, values, (a, b) -> {
                Map<String, String> both = new LinkedHashMap<>(a);
                both.putAll(b);
                return both;
            }));
            Map<String, String> mergedPlacement = new LinkedHashMap<>(placement);
            mergedPlacement.putAll(later.placement());
            return new Layer(
                    later.backend() != null ? later.backend() : backend,
                    later.devices() != null ? later.devices() : devices,
                    mergedOptions, mergedPlacement);
        }
    }
}
