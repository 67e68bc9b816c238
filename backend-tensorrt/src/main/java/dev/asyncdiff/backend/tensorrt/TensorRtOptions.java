package dev.asyncdiff.backend.tensorrt;

import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.spi.BackendOptions;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code tensorrt} backend's options, from {@code backendOptions.tensorrt} in the config or
 * {@code --backend-option KEY=VALUE}:
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>{@value #PROFILE}</td><td>image sides the engines accept, {@code MIN:MAX} or {@code MIN:OPT:MAX}
 *       pixels (also {@code --trt-profile})</td><td>the size each component was split for</td></tr>
 *   <tr><td>{@value #OPT_BATCH}, {@value #MAX_BATCH}</td><td>the batch TensorRT tunes for and the largest
 *       it accepts</td><td>2, 2 (one image, guidance in one batch)</td></tr>
 *   <tr><td>{@value #WORKSPACE_MIB}</td><td>the builder's workspace limit in MiB</td><td>4096</td></tr>
 *   <tr><td>{@value #OPTIMIZATION_LEVEL}</td><td>the builder optimization level, 0 to 5</td><td>3</td></tr>
 *   <tr><td>{@value #ENGINE_CACHE}</td><td>where engines and timing caches are kept</td>
 *       <td>{@code <cache>/tensorrt} beside the split cache</td></tr>
 * </table>
 *
 * @param profile           the sizes engines are built for
 * @param workspaceBytes    the builder's workspace limit
 * @param optimizationLevel the builder optimization level
 * @param engineCache       the engine and timing cache folder
 */
public record TensorRtOptions(ProfileRequest profile, long workspaceBytes, int optimizationLevel, Path engineCache) {
    /** Option key: the image sides engines accept. */
    public static final String PROFILE = "profile";
    /** Option key: the batch TensorRT tunes for. */
    public static final String OPT_BATCH = "optBatch";
    /** Option key: the largest batch. */
    public static final String MAX_BATCH = "maxBatch";
    /** Option key: the builder's workspace in MiB. */
    public static final String WORKSPACE_MIB = "workspaceMiB";
    /** Option key: the builder optimization level. */
    public static final String OPTIMIZATION_LEVEL = "builderOptimizationLevel";
    /** Option key: the engine cache folder. */
    public static final String ENGINE_CACHE = "engineCache";

    private static final List<String> KEYS = List.of(PROFILE, OPT_BATCH, MAX_BATCH, WORKSPACE_MIB,
            OPTIMIZATION_LEVEL, ENGINE_CACHE);
    private static final int MAX_OPTIMIZATION_LEVEL = 5;

    /**
     * Validates the values.
     *
     * @throws IllegalArgumentException naming the option when a value is out of range
     */
    public TensorRtOptions {
        if (profile == null || engineCache == null) {
            throw new IllegalArgumentException("TensorRT options need a profile and an engine cache folder");
        }
        if (workspaceBytes <= 0) {
            throw new IllegalArgumentException("backend option '" + WORKSPACE_MIB + "' must be > 0, was "
                    + (workspaceBytes >> 20));
        }
        if (optimizationLevel < 0 || optimizationLevel > MAX_OPTIMIZATION_LEVEL) {
            throw new IllegalArgumentException("backend option '" + OPTIMIZATION_LEVEL + "' must be 0 to "
                    + MAX_OPTIMIZATION_LEVEL + ", was " + optimizationLevel);
        }
    }

    /**
     * Parses the options; absent keys take their defaults.
     *
     * @throws IllegalArgumentException naming the key and the accepted ones for an unknown key, or the
     *                                  value for a bad one
     */
    public static TensorRtOptions from(BackendOptions options) {
        for (String key : options.options().keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown tensorrt backend option '" + key + "'; expected one of "
                        + KEYS);
            }
        }
        int optBatch = options.intOption(OPT_BATCH, 2);
        int maxBatch = options.intOption(MAX_BATCH, Math.max(2, optBatch));
        String profile = options.options().get(PROFILE);
        ProfileRequest request = profile == null || profile.isBlank()
                ? new ProfileRequest(0, 0, 0, optBatch, maxBatch) : ProfileRequest.parse(profile, optBatch, maxBatch);
        String cache = options.options().get(ENGINE_CACHE);
        Path engineCache = cache == null || cache.isBlank()
                ? GraphSplitter.defaultCacheRoot().resolveSibling("tensorrt") : Path.of(cache.trim());
        return new TensorRtOptions(request, (long) options.intOption(WORKSPACE_MIB, 4096) << 20,
                options.intOption(OPTIMIZATION_LEVEL, 3), engineCache);
    }
}
