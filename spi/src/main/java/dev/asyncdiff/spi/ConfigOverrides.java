package dev.asyncdiff.spi;

import java.util.Map;

/**
 * The command-line layer of the configuration, which wins over the config file and the environment:
 * {@code --backend NAME}, {@code --devices LIST}, {@code --backend-option KEY=VALUE} and
 * {@code --backend-for PART=NAME}. A null part
 * (or an empty option map) leaves the lower layers' value in place.
 *
 * @param backend        the backend name, or null
 * @param devices        comma-separated devices such as {@code cpu:0,cpu:1}, parsed by {@link ConfigLoader}, or null
 * @param backendOptions   options for whichever backend ends up selected; never null
 * @param placement        parts placed on other backends ({@code --backend-for PART=NAME}), over the file's
 * @param optionsByBackend options of named backends (e.g. {@code --trt-profile}), over the file's
 */
public record ConfigOverrides(String backend, String devices, Map<String, String> backendOptions,
                              Map<String, String> placement, Map<String, Map<String, String>> optionsByBackend) {
    /** Copies the maps; a null map means none. */
    public ConfigOverrides {
        backendOptions = backendOptions == null ? Map.of() : Map.copyOf(backendOptions);
        placement = placement == null ? Map.of() : Map.copyOf(placement);
        optionsByBackend = optionsByBackend == null ? Map.of() : Map.copyOf(optionsByBackend);
    }

    /** Overrides of the backend, devices and the selected backend's options only. */
    public ConfigOverrides(String backend, String devices, Map<String, String> backendOptions) {
        this(backend, devices, backendOptions, Map.of(), Map.of());
    }

    /** No overrides. */
    public static ConfigOverrides none() {
        return new ConfigOverrides(null, null, Map.of());
    }
}
