package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How a runtime is wired: the backend selected by name, the devices it runs on, and that backend's
 * options (string keys and values such as {@code intraOpThreads=2}). Immutable; validated on
 * construction. {@link ConfigLoader} builds one from a config file, the environment and flags.
 *
 * @param backend          the backend provider name, e.g. {@code onnx}
 * @param devices          the devices, at least one, without duplicates, in the order given
 * @param backendOptions   the selected backend's options
 * @param placement        the parts that run on another backend ({@link BackendPlacement#NONE} for none)
 * @param optionsByBackend the options of the backends {@code placement} names, by backend name
 */
public record RuntimeConfig(String backend, List<Device> devices, Map<String, String> backendOptions,
                            BackendPlacement placement, Map<String, Map<String, String>> optionsByBackend) {
    /** The backend used when none is configured. */
    public static final String DEFAULT_BACKEND = "onnx";

    /** The devices used when none are configured. */
    public static final List<Device> DEFAULT_DEVICES = List.of(Device.CPU);

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /**
     * Validates and copies the parts.
     *
     * @throws IllegalArgumentException naming the part that is missing or malformed
     */
    public RuntimeConfig {
        requireBackendName(backend);
        if (devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("at least one device is required, e.g. cpu:0");
        }
        Set<Device> seen = new HashSet<>();
        for (Device device : devices) {
            if (device == null) {
                throw new IllegalArgumentException("devices must not contain null, was " + devices);
            }
            if (!seen.add(device)) {
                throw new IllegalArgumentException("device " + device + " is listed twice in " + devices);
            }
        }
        devices = List.copyOf(devices);
        if (backendOptions == null) {
            throw new IllegalArgumentException("backendOptions must not be null; use an empty map");
        }
        for (Map.Entry<String, String> option : backendOptions.entrySet()) {
            if (option.getKey() == null || option.getKey().isBlank()) {
                throw new IllegalArgumentException("backend option names must not be blank, was "
                        + backendOptions.keySet());
            }
            if (option.getValue() == null) {
                throw new IllegalArgumentException("backend option '" + option.getKey() + "' has no value");
            }
        }
        backendOptions = Map.copyOf(backendOptions);
        placement = placement == null ? BackendPlacement.NONE : placement;
        Map<String, Map<String, String>> copied = new LinkedHashMap<>();
        if (optionsByBackend != null) {
            optionsByBackend.forEach((name, options) -> copied.put(name, Map.copyOf(options)));
        }
        optionsByBackend = Map.copyOf(copied);
    }

    /** A configuration with every part on {@code backend}. */
    public RuntimeConfig(String backend, List<Device> devices, Map<String, String> backendOptions) {
        this(backend, devices, backendOptions, BackendPlacement.NONE, Map.of());
    }

    /**
     * Returns {@code name} when it is a valid backend name.
     *
     * @throws IllegalArgumentException saying what a name may contain
     */
    static String requireBackendName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("backend name must be letters, digits, '.', '_' or '-' "
                    + "(starting with a letter or digit), was " + (name == null ? "null" : "'" + name + "'"));
        }
        return name;
    }

    /** The default configuration: backend {@code onnx} on {@code cpu:0}, no options. */
    public static RuntimeConfig defaults() {
        return builder().build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** What {@link BackendProvider#open} receives for this configuration. */
    public BackendOptions toBackendOptions() {
        return new BackendOptions(devices, backendOptions);
    }

    /** What the provider named {@code name} receives: the selected backend's options, or that backend's own. */
    public BackendOptions toBackendOptions(String name) {
        return name.equals(backend) ? toBackendOptions()
                : new BackendOptions(devices, optionsByBackend.getOrDefault(name, Map.of()));
    }

    /** Builds a {@link RuntimeConfig}; every part is optional and starts at its default. Not thread-safe. */
    public static final class Builder {
        private String backend = DEFAULT_BACKEND;
        private List<Device> devices = DEFAULT_DEVICES;
        private final Map<String, String> options = new LinkedHashMap<>();
        private BackendPlacement placement = BackendPlacement.NONE;
        private final Map<String, Map<String, String>> optionsByBackend = new LinkedHashMap<>();

        private Builder() {
        }

        /** Runs the parts {@code value} names on their backends. */
        public Builder placement(BackendPlacement value) {
            this.placement = value;
            return this;
        }

        /** The options of a backend that {@link #placement} names, other than the selected one. */
        public Builder options(String backendName, Map<String, String> values) {
            optionsByBackend.put(backendName, Map.copyOf(values));
            return this;
        }

        /** Selects the backend by provider name. */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /** Replaces the devices. */
        public Builder devices(List<Device> list) {
            this.devices = list == null ? null : new ArrayList<>(list);
            return this;
        }

        /** Replaces the devices. */
        public Builder devices(Device... list) {
            return devices(list == null ? null : Arrays.asList(list));
        }

        /** Sets one backend option, replacing an earlier value of the same name. */
        public Builder option(String key, String value) {
            options.put(key, value);
            return this;
        }

        /** Sets several backend options, replacing earlier values of the same names. */
        public Builder options(Map<String, String> values) {
            options.putAll(values);
            return this;
        }

        /**
         * The validated configuration.
         *
         * @throws IllegalArgumentException as {@link RuntimeConfig#RuntimeConfig} does
         */
        public RuntimeConfig build() {
            return new RuntimeConfig(backend, devices, options, placement, optionsByBackend);
        }
    }
}
