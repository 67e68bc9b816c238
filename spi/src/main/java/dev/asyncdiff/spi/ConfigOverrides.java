package dev.asyncdiff.spi;

import java.util.Map;

/**
 * The command-line layer of the configuration, which wins over the config file and the environment:
 * {@code --backend NAME}, {@code --devices LIST} and {@code --backend-option KEY=VALUE}. A null part
 * (or an empty option map) leaves the lower layers' value in place.
 *
 * @param backend        the backend name, or null
 * @param devices        comma-separated devices such as {@code cpu:0,cpu:1}, parsed by {@link ConfigLoader}, or null
 * @param backendOptions options for whichever backend ends up selected; never null
 */
public record ConfigOverrides(String backend, String devices, Map<String, String> backendOptions) {
    /** Copies the options; a null option map means none. */
    public ConfigOverrides {
        backendOptions = backendOptions == null ? Map.of() : Map.copyOf(backendOptions);
    }

    /** No overrides. */
    public static ConfigOverrides none() {
        return new ConfigOverrides(null, null, Map.of());
    }
}
