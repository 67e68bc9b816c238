package dev.asyncdiff.cli;

import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.ConfigLoader;
import dev.asyncdiff.spi.ConfigOverrides;
import dev.asyncdiff.spi.RuntimeConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The runtime options every command that runs models shares, as a picocli mixin
 * ({@code @Mixin RuntimeOptions runtime;}): {@code --config FILE}, {@code --backend NAME},
 * {@code --devices LIST} and {@code --backend-option KEY=VALUE}. They feed {@link ConfigLoader}:
 * the config file, then {@code ASYNCDIFF_BACKEND} / {@code ASYNCDIFF_DEVICES}, then these flags.
 */
public final class RuntimeOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "Runtime config file (.json, .yaml or .yml): backend, devices, backendOptions.")
    Path configFile;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend provider (default: onnx); wins over ASYNCDIFF_BACKEND and the config file.")
    String backend;

    @Option(names = "--devices", paramLabel = "LIST",
            description = "Comma-separated devices, e.g. cpu:0,cpu:1 or cuda:0,cuda:1 (default: cpu:0); "
                    + "wins over ASYNCDIFF_DEVICES and the config file.")
    String devices;

    @Option(names = "--backend-option", paramLabel = "KEY=VALUE",
            description = "An option for the selected backend, e.g. intraOpThreads=2; repeatable; wins over "
                    + "the config file's backendOptions.")
    Map<String, String> backendOptions = new LinkedHashMap<>();

    /**
     * The configuration from the config file, {@code environment} and these flags.
     *
     * @throws dev.asyncdiff.spi.ConfigException naming the file, variable or flag that holds a bad value
     */
    public RuntimeConfig toConfig(Map<String, String> environment) {
        return new ConfigLoader(environment).load(configFile, new ConfigOverrides(backend, devices, backendOptions));
    }

    /** The configuration from the config file, this process's environment and these flags. */
    public RuntimeConfig toConfig() {
        return toConfig(System.getenv());
    }

    /** A runtime for {@link #toConfig()} with the providers on the class path. */
    public AsyncDiffRuntime runtime() {
        return AsyncDiffRuntime.create(toConfig());
    }
}
