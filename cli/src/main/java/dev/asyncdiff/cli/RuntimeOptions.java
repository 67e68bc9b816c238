package dev.asyncdiff.cli;

import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.ConfigLoader;
import dev.asyncdiff.spi.ConfigOverrides;
import dev.asyncdiff.spi.PluginPath;
import dev.asyncdiff.spi.RuntimeConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The runtime options every command that runs models shares, as a picocli mixin
 * ({@code @Mixin RuntimeOptions runtime;}): {@code --config FILE}, {@code --backend NAME},
 * {@code --devices LIST}, {@code --backend-option KEY=VALUE}, {@code --backend-for PART=NAME},
 * {@code --trt-profile MIN:MAX} and {@code --plugins DIR}. They feed
 * {@link ConfigLoader}: the config file, then {@code ASYNCDIFF_BACKEND} / {@code ASYNCDIFF_DEVICES},
 * then these flags; plugin folders come from {@code ASYNCDIFF_PLUGINS} and {@code --plugins}.
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

    @Option(names = "--backend-for", paramLabel = "PART=NAME",
            description = "Runs a part of the pipeline on another backend: denoiser, textEncoder, vae, controlnet, "
                    + "imageEncoder or components.N (one split component), e.g. denoiser=tensorrt or "
                    + "components.1=onnx; repeatable; wins over the config file's placement.")
    Map<String, String> placement = new LinkedHashMap<>();

    @Option(names = "--trt-profile", paramLabel = "MIN:MAX",
            description = "Image sides in pixels the TensorRT engines accept, MIN:MAX or MIN:OPT:MAX, e.g. 512:1024 "
                    + "(the tensorrt backend's 'profile' option; default: the size each component was split for).")
    String trtProfile;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "A folder of plugin jars (adapters, samplers, strategies, backends, communicators); "
                    + "repeatable; added to the folders in ASYNCDIFF_PLUGINS.")
    List<Path> pluginFolders = new ArrayList<>();

    /**
     * The configuration from the config file, {@code environment} and these flags.
     *
     * @throws dev.asyncdiff.spi.ConfigException naming the file, variable or flag that holds a bad value
     */
    public RuntimeConfig toConfig(Map<String, String> environment) {
        Map<String, Map<String, String>> named = trtProfile == null ? Map.of()
                : Map.of("tensorrt", Map.of("profile", trtProfile));
        return new ConfigLoader(environment).load(configFile,
                new ConfigOverrides(backend, devices, backendOptions, placement, named));
    }

    /** The configuration from the config file, this process's environment and these flags. */
    public RuntimeConfig toConfig() {
        return toConfig(System.getenv());
    }

    /** A runtime for {@link #toConfig()} with the providers on the class path and in the plugin folders. */
    public AsyncDiffRuntime runtime() {
        return AsyncDiffRuntime.create(toConfig(), providerLoader(System.getenv()));
    }

    /**
     * The class loader providers are found with: this program's, plus the jars in the folders of
     * {@code ASYNCDIFF_PLUGINS} and {@code --plugins}.
     *
     * @throws dev.asyncdiff.spi.ConfigException naming the folder and where it came from when it is missing
     */
    public ClassLoader providerLoader(Map<String, String> environment) {
        return providerLoader(pluginFolders, environment);
    }

    /** The class loader over this program's and the jars of {@code ASYNCDIFF_PLUGINS} and {@code flagFolders}. */
    static ClassLoader providerLoader(List<Path> flagFolders, Map<String, String> environment) {
        List<Path> jars = new ArrayList<>(PluginPath.jars(PluginPath.parse(environment.get(PluginPath.ENV_PLUGINS)),
                "environment variable " + PluginPath.ENV_PLUGINS));
        jars.addAll(PluginPath.jars(flagFolders, "flag --plugins"));
        return PluginPath.classLoader(jars, RuntimeOptions.class.getClassLoader());
    }
}
