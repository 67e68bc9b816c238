package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import java.util.List;
import java.util.Map;

/**
 * What a backend is opened with: the devices the runtime will use and the backend's own options
 * (string keys and values, e.g. {@code intraOpThreads=2}), as configured.
 */
public record BackendOptions(List<Device> devices, Map<String, String> options) {
    public BackendOptions {
        if (devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("a backend needs at least one device");
        }
        devices = List.copyOf(devices);
        options = Map.copyOf(options);
    }

    /** Options for a single CPU device and nothing else. */
    public static BackendOptions defaults() {
        return new BackendOptions(List.of(Device.CPU), Map.of());
    }

    /**
     * The integer option {@code key}, or {@code fallback} when absent.
     *
     * @throws IllegalArgumentException naming the option when its value is not an integer
     */
    public int intOption(String key, int fallback) {
        String value = options.get(key);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("backend option '" + key + "' must be an integer, was '"
                    + value + "'", e);
        }
    }
}
